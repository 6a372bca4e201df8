package braiins

import (
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/emu"
	emubraiins "github.com/hashgate/hashgate/internal/emu/braiins"
	"github.com/hashgate/hashgate/switcher/device"
	"github.com/hashgate/hashgate/switcher/device/devicetest"
)

const testPassword = "s3cret-pass-word"

// world is one emulated miner and a target pointing at it.
type world struct {
	dev *emu.Device
	rig *emubraiins.Rig
	tgt *device.Target
}

func newWorld(t *testing.T, cfg emubraiins.Config) *world {
	t.Helper()
	devicetest.CheckLeaks(t)
	if cfg.Password == "" {
		cfg.Password = testPassword
	}
	dev, rig := devicetest.Start(t, emu.Config{MiningW: 3250, SleepingW: 40, HashrateTHs: 110, Pools: []string{"stratum+tcp://pool.example:3333"}}, emu.Faults{}, emubraiins.Start, cfg)
	opts := &device.Options{User: "root", Password: device.NewSecret(testPassword), Timeout: 2 * time.Second}
	return &world{dev: dev, rig: rig, tgt: &device.Target{Rig: "rig-1", Address: rig.Addr(), Options: opts}}
}
