package switcher

import (
	"slices"
	"testing"
	"time"
)

// A rig curtailed once and resumed, that later reconnects and is held at
// admission, is judged from the hold: its shares from before it are no
// evidence of mining while held (they flagged it curtail_failed, counted
// at rig_kw, when the check used the old curtail's time).
func TestHeldAfterAnOldCurtailIsNotFlagged(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	rec := &recorder{last: map[string]time.Time{}, submit: map[string]time.Time{}}
	s := newTestSwitcher(t, dir, clk, rec)
	defer s.Close()
	for _, n := range []string{"a-1", "a-2"} {
		s.RigConnected(n, "r")
	}
	s.step()
	plan, _, err := s.Allocate(AllocationRequest{AIKW: 89, Reason: "t"}, "desk")
	if err != nil || len(plan.Curtail) != 1 {
		t.Fatalf("curtail: %v %v; want err == nil, len(plan.Curtail) == 1", Names(plan.Curtail), err)
	}
	gone := plan.Curtail[0].Name
	clk.Advance(time.Minute)
	plan, _, err = s.Allocate(AllocationRequest{AIKW: 0, Reason: "t"}, "desk")
	if err != nil || len(plan.Resume) != 1 {
		t.Fatalf("resume: %v %v; want err == nil, len(plan.Resume) == 1", Names(plan.Resume), err)
	}
	clk.Advance(time.Minute)
	rec.setShare(gone, clk.Now()) // mines after the resume
	s.step()
	s.RigDisconnected(gone)
	clk.Advance(time.Hour) // past known-mining grace
	s.step()
	if _, _, err := s.Allocate(AllocationRequest{AIKW: 89, Reason: "t"}, "desk"); err != nil {
		t.Fatal(err)
	}
	s.RigConnected(gone, "r")
	clk.Advance(time.Second)
	s.step()
	clk.Advance(time.Second)
	s.step()
	r := rigStatus(s, gone)
	if r.State != "parked" || slices.Contains(r.Flags, FlagCurtailFailed) {
		t.Fatalf("%s held at admission, nothing submitted since: state %s flags %v counted %s %v kW; want parked without curtail_failed", gone, r.State, r.Flags, r.CountedAs, r.CountedKW)
	}
}
