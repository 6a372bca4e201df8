package devicetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/switcher/device"
)

// The scenarios below are what every driver must do against its
// emulator; each driver's test starts the rig (with the fault named) and
// adds its own checks on the errors and readings they return.

// HangTimesOut: with the rig hung (emu.Faults.Hang) and tgt's timeout
// set here to 200ms, Curtail and Read each fail, retryably and not as
// ErrAuth, within HangBound. It returns each call's error by name
// ("curtail", "read").
func HangTimesOut(t *testing.T, d device.Driver, tgt *device.Target) map[string]error {
	t.Helper()
	tgt.Options.Timeout = 200 * time.Millisecond
	errs := map[string]error{}
	for name, call := range map[string]func() error{
		"curtail": func() error { return d.Curtail(context.Background(), tgt) },
		"read":    func() error { _, err := d.Read(context.Background(), tgt); return err },
	} {
		start := time.Now()
		err := call()
		took := time.Since(start)
		if err == nil || errors.Is(err, device.ErrAuth) || !device.Retryable(err) {
			t.Errorf("%s on a hung rig: got %v, want a retryable timeout error", name, err)
		}
		if took > HangBound {
			t.Errorf("%s on a hung rig: took %v, want under %v (the 200ms timeout, with room for a loaded machine)", name, took, HangBound)
		}
		errs[name] = err
	}
	return errs
}

// Lying: a rig that answers ok to a curtail and keeps mining
// (emu.Faults.Lying). Curtail returns nil (the rig said ok), and the
// reading after it says mining and hashing; it is returned for the
// driver's own checks.
func Lying(t *testing.T, d device.Driver, tgt *device.Target) device.Reading {
	t.Helper()
	if err := d.Curtail(context.Background(), tgt); err != nil {
		t.Fatalf("Curtail of a lying rig: got %v, want nil (it says ok)", err)
	}
	r, err := d.Read(context.Background(), tgt)
	if err != nil {
		t.Fatalf("Read of a lying rig: %v", err)
	}
	if r.State != device.StateMining || !r.Hashing(1, 500) {
		t.Fatalf("lying rig after curtail: got %+v, want still mining and hashing", r)
	}
	return r
}

// SlowRestart: a rig whose miner takes delay to restart
// (emu.Faults.RestartDelay). The read right after Curtail still says
// mining (the old state); within 3s a read says sleeping, not before
// delay. asleep, when not nil, adds the driver's checks on that read.
func SlowRestart(t *testing.T, d device.Driver, tgt *device.Target, delay time.Duration, asleep func(device.Reading) bool) {
	t.Helper()
	start := time.Now()
	if err := d.Curtail(context.Background(), tgt); err != nil {
		t.Fatalf("Curtail: %v", err)
	}
	r, err := d.Read(context.Background(), tgt)
	if err != nil || r.State != device.StateMining || (r.HasHashrate && r.HashrateTHs == 0) {
		t.Fatalf("read during the restart: got %+v, %v; want still mining (the old state)", r, err)
	}
	sim.Eventually(t, 3*time.Second, func() bool {
		r, err := d.Read(context.Background(), tgt)
		return err == nil && r.State == device.StateSleeping && (asleep == nil || asleep(r))
	}, "sleeping after a %v restart", delay)
	if took := time.Since(start); took < delay {
		t.Errorf("sleeping after %v, want not before the %v restart", took, delay)
	}
}

// Unreachable: a Read of a rig whose port is closed fails with a
// retryable error (not ErrAuth) that does not show tgt's password. It
// sets tgt's address to a closed one and returns the error.
func Unreachable(t *testing.T, d device.Driver, tgt *device.Target) error {
	t.Helper()
	tgt.Address = ClosedAddr(t)
	_, err := d.Read(context.Background(), tgt)
	pw := ""
	if tgt.Options != nil {
		pw = tgt.Options.Password.Reveal()
	}
	if err == nil || errors.Is(err, device.ErrAuth) || !device.Retryable(err) || (pw != "" && strings.Contains(err.Error(), pw)) {
		t.Errorf("read of a closed port: got %v, want a retryable network error without the password", err)
	}
	return err
}
