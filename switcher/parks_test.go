package switcher

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// unboundPolicy is testPolicy without pools_bound: its rigs may have
// backup pools that are not hashgate.
var unboundPolicy = strings.Replace(testPolicy, "pools_bound = true\n", "", 1)

func newUnboundSwitcher(t *testing.T, clk *fakeClock, rec *recorder) *Switcher {
	t.Helper()
	dir := t.TempDir()
	pol, err := ParsePolicy(filepath.Join(dir, "policy.toml"), []byte(unboundPolicy))
	if err != nil {
		t.Fatal(err)
	}
	if pol.Groups[0].PoolsBound {
		t.Fatalf("unboundPolicy group %s: PoolsBound %v, want false", pol.Groups[0].Name, pol.Groups[0].PoolsBound)
	}
	s, err := New(Config{StatePath: filepath.Join(dir, "state.json"), AuditPath: filepath.Join(dir, "audit.jsonl"),
		Now: clk.Now, CurtailGrace: 30 * time.Second, ResumeGrace: time.Minute, LeftGrace: time.Minute}, pol, rec, rec)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A rig parked through Stratum with nothing to show the park holds is
// counted at rig_kw: the status says not compliant and why, the plan does
// not curtail more for it, and a device readback or pools_bound makes it
// count at idle_kw.
func TestUnverifiedParksCounted(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	rec := &recorder{last: map[string]time.Time{}}
	s := newUnboundSwitcher(t, clk, rec)
	defer s.Close()
	for _, n := range []string{"a-1", "a-2", "a-3"} {
		s.RigConnected(n, "r")
	}
	s.step()
	if st := s.Status(); !st.Compliant || st.MiningLoadKW != 30 || st.NotCompliantReason != "" {
		t.Fatalf("three mining rigs on 100 kW: %+v; want st.Compliant, st.MiningLoadKW == 30, st.NotCompliantReason == \"\"", st)
	}
	// Budget 20: one rig is parked (30 → 21 planned) ... and a second
	// (→ 12). Counted, both parks are at rig_kw: 30 kW.
	allocSeq := s.LastEventSeq()
	plan, _, err := s.Allocate(AllocationRequest{AIKW: 80, Reason: "test"}, "desk")
	if err != nil || len(plan.Curtail) != 2 {
		t.Fatalf("plan %v err %v; want err == nil, len(plan.Curtail) == 2", Names(plan.Curtail), err)
	}
	st := s.Status()
	if st.Compliant || !st.PlannedCompliant || st.MiningLoadKW != 30 || st.MiningLoadPlannedKW != 12 || st.ParksUnverified != 2 || st.CompliantSince != (time.Time{}) {
		t.Fatalf("want not compliant (30 kW counted, 12 planned, 2 parks unverified), got %+v", st)
	}
	if !strings.Contains(st.NotCompliantReason, "2 parks unverified") || !strings.Contains(st.NotCompliantReason, "pools_bound") {
		t.Fatalf("reason %q", st.NotCompliantReason)
	}
	if c := st.Counted["parked_unverified"]; c.Rigs != 2 || c.KW != 20 {
		t.Fatalf("counted split %+v; want c.Rigs == 2, c.KW == 20", st.Counted)
	}
	parkedRig := plan.Curtail[0].Name
	if r := rigStatus(s, parkedRig); r.CountedAs != "parked_unverified" || r.CountedKW != 10 {
		t.Fatalf("%s counted %s %v kW, want parked_unverified 10", parkedRig, r.CountedAs, r.CountedKW)
	}
	// The planner does not chase the counted load: the next rounds curtail
	// nothing more (the third rig keeps mining).
	clk.Advance(time.Second)
	s.step()
	s.step()
	if r := rigStatus(s, "a-1"); r.State != "mining" {
		t.Fatalf("a-1 %s: curtailed for parks it cannot stop; want r.State == \"mining\"", r.State)
	}
	evs, _ := s.Events(0, 0)
	for _, e := range evs {
		if (e.Kind == EventPlan || e.Kind == EventAllocation) && e.Seq > allocSeq && e.Fields["compliant"] != false {
			t.Fatalf("audit plan event says compliant: %+v; want !((e.Kind == EventPlan || e.Kind == EventAllocation) && e.Seq > allocSeq && e.Fields[\"compliant\"] != false)", e.Fields)
		}
	}

	// A device readback of both parks: verified, compliant.
	for _, a := range plan.Curtail {
		if err := s.SetDeviceIdle(a.Name, true); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetDeviceIdle("nope", true); !errors.Is(err, ErrUnknownRig) {
		t.Fatalf("SetDeviceIdle of an unknown rig: %v", err)
	}
	s.step()
	if st := s.Status(); !st.Compliant || st.MiningLoadKW != 12 || st.ParksVerified != 2 || st.ParksUnverified != 0 || st.NotCompliantReason != "" {
		t.Fatalf("after readbacks: %+v", st)
	}
	if r := rigStatus(s, parkedRig); r.CountedAs != "parked_verified" || r.CountedKW != 1 {
		t.Fatalf("%s counted %s %v kW, want parked_verified 1", parkedRig, r.CountedAs, r.CountedKW)
	}
	// A readback that is not idle takes it back.
	if err := s.SetDeviceIdle(parkedRig, false); err != nil {
		t.Fatal(err)
	}
	s.step()
	if st := s.Status(); st.Compliant || st.ParksUnverified != 1 || st.MiningLoadKW != 21 {
		t.Fatalf("after a busy readback: %+v; want !st.Compliant, st.ParksUnverified == 1, st.MiningLoadKW == 21", st)
	}

	// The ops declare the group bound: every park holds.
	bound, err := ParsePolicy("policy.toml", []byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	s.SetPolicy(bound, bound.Diff(s.Policy()))
	s.step()
	if st := s.Status(); !st.Compliant || st.ParksBound != 1 || st.ParksVerified != 1 || st.MiningLoadKW != 12 {
		t.Fatalf("bound: %+v; want st.Compliant, st.ParksBound == 1, st.ParksVerified == 1, st.MiningLoadKW == 12", st)
	}
}

// Any submit from a parked rig after the grace is evidence it still
// works, a rejected one too (cpuminer hashes its last job after each
// reconnect, and every such share is stale): curtail_failed.
func TestRejectedSubmitsFlagCurtailFailed(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	rec := &recorder{last: map[string]time.Time{}, submit: map[string]time.Time{}}
	s := newTestSwitcher(t, t.TempDir(), clk, rec)
	defer s.Close()
	for _, n := range []string{"a-1", "a-2"} {
		s.RigConnected(n, "r")
		rec.setShare(n, clk.Now())
	}
	s.step()
	plan, _, err := s.Allocate(AllocationRequest{AIKW: 89, Reason: "test"}, "desk") // budget 11: one goes
	if err != nil || len(plan.Curtail) != 1 {
		t.Fatalf("plan %v err %v; want err == nil, len(plan.Curtail) == 1", Names(plan.Curtail), err)
	}
	gone := plan.Curtail[0].Name
	// Within the grace: work in flight, no flag.
	clk.Advance(10 * time.Second)
	rec.mu.Lock()
	rec.submit[gone] = clk.Now()
	rec.mu.Unlock()
	s.step()
	if f := flagsOf(s, gone); slices.Contains(f, FlagCurtailFailed) {
		t.Fatalf("flagged within the grace: %v; want !slices.Contains(f, FlagCurtailFailed)", f)
	}
	// Past it: only rejected submits, no accepted share.
	clk.Advance(30 * time.Second)
	rec.mu.Lock()
	rec.submit[gone] = clk.Now()
	rec.mu.Unlock()
	s.step()
	if f := flagsOf(s, gone); !slices.Contains(f, FlagCurtailFailed) {
		t.Fatalf("flags %v, want curtail_failed after rejected submits past the grace", f)
	}
	// It is hashing: counted at rig_kw although its group is pools_bound.
	if r := rigStatus(s, gone); r.CountedAs != "curtail_failed" || r.CountedKW != 10 {
		t.Fatalf("%s counted %s %v kW, want curtail_failed 10", gone, r.CountedAs, r.CountedKW)
	}
	if st := s.Status(); st.Compliant || st.MiningLoadKW != 20 || st.ParksUnverified != 1 || !strings.Contains(st.NotCompliantReason, "still submitting") {
		t.Fatalf("status with a curtail_failed park: %+v", st)
	}
}
