package fleet

import (
	"testing"
	"time"

	"github.com/hashgate/hashgate/switcher/device"
)

// Polls of hung rigs never take every worker: with 4 workers and 8 hung
// rigs being polled, at most 3 polls are in flight and a curtail of a
// prompt rig runs at once on the worker kept for commands.
func TestPollsLeaveWorkersForCommands(t *testing.T) {
	s := newFW(t)
	rc := &recorder{}
	cfg := testConfig(rc)
	cfg.Workers, cfg.PollInterval = 4, 100*time.Millisecond
	hung := rigs(s, "hung", 8, device.StateUnknown, &device.Options{Password: device.NewSecret("pw"), Timeout: 10 * time.Second})
	for _, m := range hung {
		s.with(m.Name, func(r *fwRig) { r.hung = true })
	}
	prompt := rigs(s, "prompt", 1, device.StateUnknown, options("pw"))
	f := newFleet(t, cfg)
	f.SetRigs(append(hung, prompt...))
	f.Start()
	waitUntil(t, 3*time.Second, "3 polls of hung rigs in flight", func() bool { return f.Stats().InFlight >= 3 })
	if got := f.Stats().InFlight; got > 3 {
		t.Fatalf("%d calls in flight with 4 workers polling hung rigs, want at most 3 (one kept for commands)", got)
	}
	start := time.Now()
	f.Curtail("prompt0")
	waitUntil(t, 3*time.Second, "the prompt rig's curtail outcome", func() bool { return len(rc.of("prompt0")) > 0 })
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("curtail of a prompt rig took %v while hung rigs held polls, want it at once", took)
	}
	if o := rc.of("prompt0")[0]; !o.Accepted {
		t.Errorf("prompt rig's curtail: %+v, want accepted", o)
	}
}
