package devicetest

import (
	"context"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/emu"
	"github.com/hashgate/hashgate/switcher/device"
)

// Rig is one emulated rig and the target that reaches it.
type Rig struct {
	Dev    *emu.Device
	Target *device.Target
}

// ManyRigsOneDriver curtails 100 rigs at once through one driver, 10 of
// them hung (start(true) starts a rig with emu.Faults.Hang): every
// healthy curtail must land, and the healthy rigs must all finish
// before the hung ones have even timed out (a hung rig costs only its
// own call). start must give each target its own Options.
func ManyRigsOneDriver(t *testing.T, d device.Driver, start func(hang bool) Rig) {
	const n, hung = 100, 10
	const hungTimeout = 3 * time.Second
	rigs := make([]Rig, n)
	for i := range rigs {
		rigs[i] = start(i < hung)
		rigs[i].Target.Options.Timeout = 20 * time.Second
		if i < hung {
			rigs[i].Target.Options.Timeout = hungTimeout
		}
	}
	type result struct {
		i   int
		err error
		at  time.Duration
	}
	start0 := time.Now()
	results := make(chan result, n)
	for i := range rigs {
		go func(i int) {
			err := d.Curtail(context.Background(), rigs[i].Target)
			results <- result{i, err, time.Since(start0)}
		}(i)
	}
	var healthyDone time.Duration
	for range rigs {
		r := <-results
		switch {
		case r.i < hung && r.err == nil:
			t.Errorf("hung rig %d: got nil error", r.i)
		case r.i >= hung && r.err != nil:
			t.Errorf("healthy rig %d: got %v, want nil", r.i, r.err)
		case r.i >= hung && r.at > healthyDone:
			healthyDone = r.at
		}
	}
	if healthyDone >= hungTimeout {
		t.Errorf("healthy rigs done after %v, want before the hung rigs' %v timeout", healthyDone, hungTimeout)
	}
	for i := hung; i < n; i++ {
		if s := rigs[i].Dev.Peek(); s.Mining {
			t.Fatalf("rig %d still mining after an accepted curtail", i)
		}
	}
	t.Logf("%d healthy rigs curtailed concurrently in %v; %d hung ones failed at their own timeout", n-hung, healthyDone, hung)
}
