package braiins

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/emu"
	emubraiins "github.com/hashgate/hashgate/internal/emu/braiins"
	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/switcher/device"
)

const testPassword = "s3cret-pass-word"

// checkLeaks fails the test if goroutines started during it outlive it.
func checkLeaks(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		var now int
		if err := sim.Poll(5*time.Second, func() bool { now = runtime.NumGoroutine(); return now <= before }); err != nil {
			t.Errorf("goroutines: got %d after the test, want at most %d as before it", now, before)
		}
	})
}

// world is one emulated miner and a target pointing at it.
type world struct {
	dev *emu.Device
	rig *emubraiins.Rig
	tgt *device.Target
}

func newWorld(t *testing.T, cfg emubraiins.Config) *world {
	t.Helper()
	checkLeaks(t)
	dev := emu.NewDevice(emu.Config{MiningW: 3250, SleepingW: 40, HashrateTHs: 110, Pools: []string{"stratum+tcp://pool.example:3333"}})
	if cfg.Password == "" {
		cfg.Password = testPassword
	}
	rig, err := emubraiins.Start(dev, cfg)
	if err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(func() { _ = rig.Close() })
	opts := &device.Options{User: "root", Password: device.NewSecret(testPassword), Timeout: 2 * time.Second}
	return &world{dev: dev, rig: rig, tgt: &device.Target{Rig: "rig-1", Address: rig.Addr(), Options: opts}}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}
