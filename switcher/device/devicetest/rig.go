package devicetest

import (
	"context"
	"testing"

	"github.com/hashgate/hashgate/internal/emu"
	"github.com/hashgate/hashgate/switcher/device"
)

// Emulator is a started firmware emulator (an internal/emu/<firmware>
// Rig).
type Emulator interface {
	Addr() string
	Close() error
}

// Start makes an emulated device from cfg with faults, starts a
// firmware emulator on it (start is the emulator package's Start, c its
// Config) and closes the emulator when tb ends.
func Start[C any, R Emulator](tb testing.TB, cfg emu.Config, faults emu.Faults, start func(*emu.Device, C) (R, error), c C) (*emu.Device, R) {
	tb.Helper()
	dev := emu.NewDevice(cfg)
	dev.SetFaults(faults)
	r, err := start(dev, c)
	if err != nil {
		tb.Fatalf("start emulator: %v", err)
	}
	tb.Cleanup(func() { _ = r.Close() })
	return dev, r
}

// Read reads tgt through d, failing the test on an error.
func Read(t *testing.T, d device.Driver, tgt *device.Target) device.Reading {
	t.Helper()
	r, err := d.Read(context.Background(), tgt)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return r
}
