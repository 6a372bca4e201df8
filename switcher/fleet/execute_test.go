package fleet

import (
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/switcher/device"
)

func TestLyingRigUnverifiedWithEvidenceAndRetried(t *testing.T) {
	s := newFW(t)
	rc := &recorder{}
	cfg := testConfig(rc)
	cfg.PollInterval = 50 * time.Millisecond
	cfg.VerifyWithin = 100 * time.Millisecond
	cfg.RetryEvery = 200 * time.Millisecond
	f := newFleet(t, cfg)
	f.SetRigs(rigs(s, "liar", 1, device.StateUnknown, options("pw")))
	s.with("liar0", func(r *fwRig) { r.lying = true })
	f.Start()
	f.Curtail("liar0")
	waitUntil(t, 10*time.Second, "a second unverified curtail", func() bool { return len(rc.of("liar0")) >= 2 })
	o := rc.of("liar0")[0]
	if !o.Accepted || o.Verified || o.Evidence == nil || !o.Evidence.Hashing(1, 100) ||
		!strings.Contains(o.Err, "still hashing") || o.Attempts != 1 {
		t.Fatalf("outcome: got %+v, want accepted, unverified, hashing evidence, 1 attempt", o)
	}
	if o.Took < cfg.VerifyWithin {
		t.Fatalf("took %v, want at least the verify window %v", o.Took, cfg.VerifyWithin)
	}
	o2 := rc.of("liar0")[1]
	if gap := o2.At.Sub(o.At); gap < cfg.RetryEvery {
		t.Fatalf("re-commanded %v after the first outcome, want at least RetryEvery %v", gap, cfg.RetryEvery)
	}
	if st := f.Stats(); st.UnverifiedCurtails < 2 || st.Reconciles < 1 {
		t.Fatalf("stats: got %+v, want >=2 unverified curtails, >=1 reconcile", st)
	}
}

func TestAuthNotRetriedUntilNewOptions(t *testing.T) {
	s := newFW(t)
	rc := &recorder{}
	cfg := testConfig(rc)
	cfg.PollInterval = 30 * time.Millisecond
	cfg.RetryEvery = 30 * time.Millisecond
	f := newFleet(t, cfg)
	bad := rigs(s, "a", 1, device.StateUnknown, options("s3cret-wrong"))
	f.SetRigs(bad)
	f.Start()
	f.Curtail("a0")
	waitUntil(t, 5*time.Second, "the outcome", func() bool { return len(rc.of("a0")) == 1 })
	waitUntil(t, 5*time.Second, "more polls", func() bool { return f.Stats().Reads >= 5 })
	o := rc.of("a0")[0]
	if o.Accepted || o.Attempts != 1 || !strings.Contains(o.Err, device.ErrAuth.Error()) || strings.Contains(o.Err, "s3cret") {
		t.Fatalf("outcome: got %+v, want unaccepted after 1 attempt, credentials error without the password", o)
	}
	f.Curtail("a0")
	if o := rc.of("a0"); len(o) != 2 || o[1].Attempts != 0 {
		t.Fatalf("second curtail: got %+v, want an immediate outcome with 0 attempts", o)
	}
	if n := s.snapshot("a0").curtails + len(s.eventsCopy()); n != 1 {
		t.Fatalf("got %d commands reaching the rig, want 1", n)
	}
	good := rigs(s, "a", 1, device.StateSleeping, options("pw"))
	f.SetRigs(good)
	waitUntil(t, 5*time.Second, "a verified curtail with new options", func() bool {
		return rc.count(func(o device.Outcome) bool { return o.Verified && o.Rig == "a0" }) == 1
	})
}

func TestBusyRetriedWithBackoff(t *testing.T) {
	s := newFW(t)
	rc := &recorder{}
	f := newFleet(t, testConfig(rc))
	f.SetRigs(rigs(s, "b", 1, device.StateUnknown, options("pw")))
	s.with("b0", func(r *fwRig) { r.busyLeft = 2 })
	f.Start()
	f.Curtail("b0")
	waitUntil(t, 5*time.Second, "the outcome", func() bool { return len(rc.of("b0")) == 1 })
	if o := rc.of("b0")[0]; !o.Verified || o.Attempts != 3 {
		t.Fatalf("outcome: got %+v, want verified after 3 attempts", o)
	}
	if st := f.Stats(); st.Retries != 2 {
		t.Fatalf("got %d retries, want 2", st.Retries)
	}
}

func TestDeadPortFailsAfterAttempts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	_ = ln.Close()
	rc := &recorder{}
	cfg := testConfig(rc)
	cfg.PollInterval = 20 * time.Millisecond
	f := newFleet(t, cfg)
	f.SetRigs([]device.Managed{{Name: "d0", Firmware: fw, Address: dead, Options: options("pw"), Want: device.StateSleeping}})
	f.Start()
	f.Curtail("d0")
	waitUntil(t, 5*time.Second, "the outcome", func() bool { return len(rc.of("d0")) == 1 })
	if o := rc.of("d0")[0]; o.Accepted || o.Attempts != 3 || o.Err == "" {
		t.Fatalf("outcome: got %+v, want unaccepted after 3 attempts with Err", o)
	}
	if st := f.Stats(); st.Failures != 1 {
		t.Fatalf("got %d failures, want 1", st.Failures)
	}
	waitUntil(t, 5*time.Second, "a poll", func() bool { return f.Stats().Reads >= 3 })
	if r, ok := rc.lastOf("d0"); !ok || r.State != device.StateUnreachable || r.At.IsZero() {
		t.Fatalf("reading of a dead rig: got %+v, want State unreachable with its time", r)
	}
	if st := f.Stats(); st.ReadErrors != st.Reads || st.Commands != 1 {
		t.Fatalf("stats: got %+v, want every read failed and no command to an unreachable rig", st)
	}
}

// TestCloseStopsHungCalls: Close returns promptly with calls hung on
// rigs that never answer, and leaves no goroutine behind.
func TestCloseStopsHungCalls(t *testing.T) {
	s := newFW(t)
	base := runtime.NumGoroutine()
	rc := &recorder{}
	cfg := testConfig(rc)
	cfg.Workers = 4
	cfg.PollInterval = 20 * time.Millisecond
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	opt := options("pw")
	opt.Timeout = time.Hour
	set := rigs(s, "h", 8, device.StateUnknown, opt)
	for _, m := range set {
		s.with(m.Name, func(r *fwRig) { r.hung = true })
	}
	f.SetRigs(set)
	f.Start()
	for _, m := range set {
		f.Curtail(m.Name)
	}
	waitUntil(t, 5*time.Second, "4 calls in flight", func() bool { return f.Stats().InFlight == 4 })
	start := time.Now()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Close took %v with hung calls, want well under their 1h timeout", took)
	}
	waitUntil(t, 5*time.Second, "goroutines back to the baseline", func() bool { return runtime.NumGoroutine() <= base })
	all := func(device.Outcome) bool { return true }
	n := rc.count(all)
	_ = f.Close() // twice is fine
	if got := rc.count(all); got != n {
		t.Fatalf("callbacks after Close: got %d outcomes, want %d", got, n)
	}
}

func TestConfigRefusedAndDefaulted(t *testing.T) {
	drv := map[string]device.Driver{fw: testDriver{fw}}
	for name, c := range map[string]Config{
		"no drivers":        {},
		"misnamed driver":   {Drivers: map[string]device.Driver{"other": testDriver{fw}}},
		"negative interval": {Drivers: drv, PollInterval: -time.Second},
		"negative workers":  {Drivers: drv, Workers: -1},
		"max under min":     {Drivers: drv, BackoffMin: time.Minute, BackoffMax: time.Second},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("%s: got no error, want refused", name)
		}
	}
	f, err := New(Config{Drivers: drv})
	if err != nil {
		t.Fatal(err)
	}
	if f.cfg.PollInterval != DefaultPollInterval || f.cfg.Workers != DefaultWorkers || f.cfg.VerifyWithin != DefaultVerifyWithin {
		t.Fatalf("defaults: got interval %v workers %d window %v", f.cfg.PollInterval, f.cfg.Workers, f.cfg.VerifyWithin)
	}
	_ = f.Close()
}
