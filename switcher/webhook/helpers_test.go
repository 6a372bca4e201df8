package webhook

import (
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/emu"
	emuhook "github.com/hashgate/hashgate/internal/emu/webhook"
	"github.com/hashgate/hashgate/switcher/device"
	"github.com/hashgate/hashgate/switcher/device/devicetest"
)

const testSecret = "hmac-key-do-not-print"

type world struct {
	dev *emu.Device
	rig *emuhook.Rig
	tgt *device.Target
}

func newWorld(t *testing.T, cfg emuhook.Config) *world {
	t.Helper()
	devicetest.CheckLeaks(t)
	if cfg.Secret == "" {
		cfg.Secret = testSecret
	}
	dev, rig := devicetest.Start(t, emu.Config{MiningW: 3000, SleepingW: 15, HashrateTHs: 100}, emu.Faults{}, emuhook.Start, cfg)
	opts := &device.Options{URL: "http://" + rig.Addr() + "/hook/tok-in-path", Secret: device.NewSecret(testSecret), Timeout: 2 * time.Second}
	return &world{dev: dev, rig: rig, tgt: &device.Target{Rig: "pdu-7", Address: "10.1.2.3", Options: opts}}
}
