package fleet

import (
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/switcher/device"
)

func TestCurtailsRunBeforeResumes(t *testing.T) {
	s := newFW(t)
	rc := &recorder{}
	cfg := testConfig(rc)
	cfg.Workers = 1
	f := newFleet(t, cfg)
	set := rigs(s, "r", 10, device.StateUnknown, options("pw"))
	f.SetRigs(set)
	for i := range 5 { // resumes asked first
		f.Resume(set[i].Name)
	}
	for i := 5; i < 10; i++ {
		f.Curtail(set[i].Name)
	}
	f.Start()
	waitUntil(t, 10*time.Second, "10 outcomes", func() bool {
		return rc.count(func(device.Outcome) bool { return true }) >= 10
	})
	ev := s.eventsCopy()
	lastCurtail, firstResume := -1, len(ev)
	for i, e := range ev {
		if e.verb == "curtail" {
			lastCurtail = i
		} else if e.verb == "resume" && i < firstResume {
			firstResume = i
		}
	}
	if lastCurtail > firstResume {
		t.Fatalf("curtail #%d after resume #%d: got order %v, want every curtail first", lastCurtail, firstResume, ev)
	}
	if n := rc.count(func(o device.Outcome) bool { return o.Verified }); n != 10 {
		t.Fatalf("got %d verified outcomes, want 10: %+v", n, rc.outcomes)
	}
}

func TestLatestQueuedIntentWins(t *testing.T) {
	s := newFW(t)
	rc := &recorder{}
	cfg := testConfig(rc)
	cfg.Workers = 1
	f := newFleet(t, cfg)
	f.SetRigs(rigs(s, "r", 2, device.StateUnknown, options("pw")))
	f.Curtail("r0")
	f.Resume("r0")
	f.Curtail("r1")
	f.Resume("r1")
	f.Curtail("r1")
	if got := f.Stats(); got.QueueCurtail != 1 || got.QueueResume != 1 {
		t.Fatalf("queues: got curtail %d resume %d, want one each (one pending intent per rig)", got.QueueCurtail, got.QueueResume)
	}
	f.Start()
	waitUntil(t, 5*time.Second, "verified outcomes", func() bool {
		return rc.count(func(o device.Outcome) bool { return o.Verified }) == 2
	})
	if a, b := s.snapshot("r0"), s.snapshot("r1"); a.curtails != 0 || a.resumes != 1 || b.curtails != 1 || b.resumes != 0 {
		t.Fatalf("commands run: r0 %d curtails %d resumes, r1 %d/%d; want r0 0/1, r1 1/0",
			a.curtails, a.resumes, b.curtails, b.resumes)
	}
	o := rc.of("r0")
	if len(o) != 2 || o[0].Action != device.ActionCurtail || !strings.HasPrefix(o[0].Err, Superseded) || o[0].Attempts != 0 {
		t.Fatalf("r0 outcomes: got %+v, want a superseded curtail (0 attempts) then the resume", o)
	}
}

func TestNewerIntentRunsAfterTheCallInFlight(t *testing.T) {
	s := newFW(t)
	rc := &recorder{}
	f := newFleet(t, testConfig(rc))
	f.SetRigs(rigs(s, "r", 1, device.StateUnknown, options("pw")))
	s.with("r0", func(r *fwRig) { r.delay = 150 * time.Millisecond })
	f.Start()
	f.Curtail("r0")
	waitUntil(t, 5*time.Second, "the curtail in flight", func() bool { return s.snapshot("r0").inCall == 1 })
	f.Resume("r0")
	f.Curtail("r0")
	f.Resume("r0")
	waitUntil(t, 5*time.Second, "a verified resume", func() bool {
		return rc.count(func(o device.Outcome) bool { return o.Verified && o.Action == device.ActionResume }) == 1
	})
	got := s.snapshot("r0")
	if got.curtails != 1 || got.resumes != 1 || got.sleeping || got.maxInCall != 1 {
		t.Fatalf("rig: got %d curtails %d resumes sleeping=%v max calls at once %d; want 1, 1, false, 1",
			got.curtails, got.resumes, got.sleeping, got.maxInCall)
	}
	o := rc.of("r0")
	if len(o) != 2 || !o[0].Accepted || !strings.HasPrefix(o[0].Err, Superseded) {
		t.Fatalf("outcomes: got %+v, want the accepted curtail superseded, then the resume", o)
	}
}

func TestRemovedRigsLoseQueuedWork(t *testing.T) {
	s := newFW(t)
	rc := &recorder{}
	cfg := testConfig(rc)
	cfg.Workers = 1
	f := newFleet(t, cfg)
	set := rigs(s, "r", 6, device.StateUnknown, options("pw"))
	f.SetRigs(set)
	for _, m := range set {
		f.Curtail(m.Name)
	}
	f.SetRigs(set[:1])
	if got := f.Stats(); got.QueueCurtail != 1 || got.Rigs != 1 {
		t.Fatalf("after removal: got %d queued, %d rigs; want 1, 1", got.QueueCurtail, got.Rigs)
	}
	f.Start()
	waitUntil(t, 5*time.Second, "r0's outcome", func() bool { return len(rc.of("r0")) == 1 })
	for _, m := range set[1:] {
		if n := s.snapshot(m.Name).curtails; n != 0 {
			t.Fatalf("removed rig %s: got %d curtails, want 0", m.Name, n)
		}
	}
}

func TestMonitorOnlyNeverCommanded(t *testing.T) {
	s := newFW(t)
	rc := &recorder{}
	cfg := testConfig(rc)
	cfg.PollInterval = 50 * time.Millisecond
	f := newFleet(t, cfg)
	set := rigs(s, "m", 1, device.StateSleeping, options("pw"))
	set[0].MonitorOnly = true
	f.SetRigs(set)
	f.Start()
	f.Curtail("m0")
	f.Curtail("m0")
	waitUntil(t, 5*time.Second, "two polls", func() bool { return s.snapshot("m0").reads >= 2 })
	o := rc.of("m0")
	if len(o) != 2 || o[0].Err == "" || o[0].Accepted {
		t.Fatalf("outcomes: got %+v, want two unaccepted with Err", o)
	}
	if got := s.snapshot("m0"); got.curtails != 0 {
		t.Fatalf("monitor-only rig: got %d curtails, want 0", got.curtails)
	}
}
