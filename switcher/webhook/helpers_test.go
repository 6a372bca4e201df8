package webhook

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/emu"
	emuhook "github.com/hashgate/hashgate/internal/emu/webhook"
	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/switcher/device"
)

const testSecret = "hmac-key-do-not-print"

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

type world struct {
	dev *emu.Device
	rig *emuhook.Rig
	tgt *device.Target
}

func newWorld(t *testing.T, cfg emuhook.Config) *world {
	t.Helper()
	checkLeaks(t)
	dev := emu.NewDevice(emu.Config{MiningW: 3000, SleepingW: 15, HashrateTHs: 100})
	if cfg.Secret == "" {
		cfg.Secret = testSecret
	}
	rig, err := emuhook.Start(dev, cfg)
	if err != nil {
		t.Fatalf("start receiver: %v", err)
	}
	t.Cleanup(func() { _ = rig.Close() })
	opts := &device.Options{URL: "http://" + rig.Addr() + "/hook/tok-in-path", Secret: device.NewSecret(testSecret), Timeout: 2 * time.Second}
	return &world{dev: dev, rig: rig, tgt: &device.Target{Rig: "pdu-7", Address: "10.1.2.3", Options: opts}}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}
