package emu_test

import (
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/emu"
)

// Commands are counted whether or not a fault makes the device ignore
// them; Lying ignores sleeps, NoWake ignores wakes.
func TestDeviceCommandsAndFaults(t *testing.T) {
	d := emu.NewDevice(emu.Config{MiningW: 3000, SleepingW: 50, HashrateTHs: 100})
	d.SetFaults(emu.Faults{Lying: true})
	d.Curtail()
	if s := d.Peek(); !s.Mining || s.PowerW != 3000 {
		t.Errorf("lying device after Curtail: got %+v, want still mining at 3000 W", s)
	}
	d.SetFaults(emu.Faults{NoWake: true})
	d.Curtail()
	d.Resume()
	if s := d.Peek(); s.Mining || s.PowerW != 50 || s.HashrateTHs != 0 {
		t.Errorf("NoWake device after Curtail, Resume: got %+v, want asleep at 50 W", s)
	}
	d.SetFaults(emu.Faults{})
	d.Resume()
	if s := d.Peek(); !s.Mining {
		t.Errorf("honest device after Resume: got %+v, want mining", s)
	}
	if c := d.Calls(); c.Curtails != 2 || c.Resumes != 2 || c.Reads != 0 {
		t.Errorf("calls: got %+v, want 2 curtails, 2 resumes, 0 reads (Peek is not counted)", c)
	}
}

// With a RestartDelay the change lands only once the delay has passed.
func TestDeviceRestartDelay(t *testing.T) {
	now := time.Unix(1000, 0)
	d := emu.NewDevice(emu.Config{Now: func() time.Time { return now }})
	d.SetFaults(emu.Faults{RestartDelay: 20 * time.Second})
	d.Curtail()
	if !d.Read().Mining || !d.Pending() {
		t.Fatalf("right after Curtail: got mining=%v pending=%v, want mining, pending", d.Read().Mining, d.Pending())
	}
	now = now.Add(20 * time.Second)
	if d.Read().Mining || d.Pending() {
		t.Errorf("20 s later: got mining=%v pending=%v, want asleep, settled", d.Read().Mining, d.Pending())
	}
}
