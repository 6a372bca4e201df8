package switcher

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// newVanishNeverSwitcher is a test switcher under the contract's default
// release_vanished_after (0: a parked rig that left is never released).
func newVanishNeverSwitcher(t *testing.T, dir string, clk *fakeClock, rec *recorder) *Switcher {
	t.Helper()
	pol, err := ParsePolicy(filepath.Join(dir, "policy.toml"), []byte(strings.Replace(testPolicy, `release_vanished_after = "10m"`, "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if pol.ReleaseVanishedAfter != 0 {
		t.Fatalf("release_vanished_after %v, want the default 0", pol.ReleaseVanishedAfter)
	}
	s, err := New(Config{StatePath: filepath.Join(dir, "state.json"), AuditPath: filepath.Join(dir, "audit.jsonl"),
		Now: clk.Now, CurtailGrace: 30 * time.Second, ResumeGrace: time.Minute, LeftGrace: time.Minute}, pol, rec, rec)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// wantRig fails unless rig name is in state with counted_as and no flags.
func wantRig(t *testing.T, s *Switcher, name, state, countedAs string, kw float64) {
	t.Helper()
	r := rigStatus(s, name)
	if r.State != state || r.CountedAs != countedAs || r.CountedKW != kw || len(r.Flags) != 0 {
		t.Fatalf("%s: want %s, counted %s %v kW, no flags; got %s, counted %s %v kW, flags %v",
			name, state, countedAs, kw, r.State, r.CountedAs, r.CountedKW, r.Flags)
	}
}

// Names parked at admission (never given work) that then disconnect are
// offline, count nothing and are forgotten after forget_after: they do
// not become left_while_parked at rig_kw and curtail the site for good
// (the review's repro: 5 junk names, 48 h later 55 kW planned against 50
// and every real rig curtailed). A rig curtailed FROM mining that leaves
// still is left_while_parked.
func TestAdmissionParkedNamesLeaveNoLoad(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	rec := &recorder{last: map[string]time.Time{}}
	s := newVanishNeverSwitcher(t, dir, clk, rec)
	defer s.Close()
	for i := range 5 {
		s.RigConnected(fmt.Sprintf("a-real-%d", i), fmt.Sprintf("10.0.0.%d:1", i+1))
	}
	s.step()
	// Budget 60: the 5 real rigs (50 kW) leave no room for another.
	if _, _, err := s.Allocate(AllocationRequest{AIKW: 40, Reason: "test"}, "desk"); err != nil {
		t.Fatal(err)
	}
	junk := []string{"a-junk-0", "a-junk-1", "a-junk-2", "a-junk-3", "a-junk-4"}
	for _, n := range junk {
		s.RigConnected(n, "192.0.2.7:1")
	}
	clk.Advance(time.Second)
	s.step()
	for _, n := range junk {
		if r := rigStatus(s, n); r.State != "parked" {
			t.Fatalf("%s: want parked at admission (no room), got %s", n, r.State)
		}
	}
	for _, n := range junk {
		s.RigDisconnected(n)
	}
	clk.Advance(2 * time.Minute) // past left_grace
	s.step()
	for _, n := range junk {
		wantRig(t, s, n, "offline", "offline", 0)
	}
	if st := s.Status(); st.MiningLoadPlannedKW != 50 || st.MiningLoadKW != 50 || st.Curtailed != 0 {
		t.Fatalf("after the junk left: want planned 50 kW, counted 50 kW, 0 curtailed; got planned %v, counted %v, %d curtailed",
			st.MiningLoadPlannedKW, st.MiningLoadKW, st.Curtailed)
	}
	clk.Advance(48 * time.Hour) // past forget_after (24h)
	s.step()
	for _, r := range s.Rigs() {
		if strings.HasPrefix(r.Name, "a-junk") {
			t.Fatalf("%s still kept 48 h after it left: %+v; want !strings.HasPrefix(r.Name, \"a-junk\")", r.Name, r)
		}
		if r.State != "mining" {
			t.Fatalf("%s: want mining, got %s", r.Name, r.State)
		}
	}
	if got := s.Counters().RigsForgotten.Load(); got != 5 {
		t.Fatalf("forgotten %d records, want the 5 junk names", got)
	}

	// A rig curtailed from mining may hash on a backup pool once it
	// leaves: left_while_parked, at rig_kw.
	plan, _, err := s.Allocate(AllocationRequest{AIKW: 55, Reason: "test"}, "desk") // budget 45: one goes
	if err != nil || len(plan.Curtail) != 1 {
		t.Fatalf("want one rig curtailed, got %v (err %v)", Names(plan.Curtail), err)
	}
	gone := plan.Curtail[0].Name
	s.RigDisconnected(gone)
	clk.Advance(61 * time.Second)
	s.step()
	if r := rigStatus(s, gone); r.State != "parked" || !slices.Contains(r.Flags, FlagLeftWhileParked) || r.CountedAs != "left_while_parked" || r.CountedKW != 10 {
		t.Fatalf("%s curtailed from mining and gone: want parked, left_while_parked at 10 kW; got %s %v counted %s %v kW",
			gone, r.State, r.Flags, r.CountedAs, r.CountedKW)
	}
}

// restartFrom opens a second switcher on dir's files (the first is
// closed: a restart).
func restartFrom(t *testing.T, s *Switcher, dir string, clk *fakeClock, rec *recorder) *Switcher {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return newVanishNeverSwitcher(t, dir, clk, rec)
}

// The state file says which parks were curtailed from mining: after a
// restart a rig held at admission is offline (it goes through admission
// again, and leaving counts nothing), one curtailed from mining is parked
// and left_while_parked if it does not come back. A file written before
// held_at_admission loads every park as curtailed from mining.
func TestRestartRemembersWhyRigsWereParked(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	rec := &recorder{last: map[string]time.Time{}}
	s := newVanishNeverSwitcher(t, dir, clk, rec)
	for i := range 5 {
		s.RigConnected(fmt.Sprintf("a-real-%d", i), "10.0.0.1:1")
	}
	s.step()
	// Budget 59: no room for a-held (delta 9 kW, 59 - 50 - its idle 1 = 8 left).
	if _, _, err := s.Allocate(AllocationRequest{AIKW: 41, Reason: "test"}, "desk"); err != nil {
		t.Fatal(err)
	}
	s.RigConnected("a-held", "10.0.0.9:1")
	clk.Advance(time.Second)
	s.step()
	plan, _, err := s.Allocate(AllocationRequest{AIKW: 55, Reason: "test"}, "desk") // budget 45: one real rig goes
	if err != nil || len(plan.Curtail) != 1 {
		t.Fatalf("want one rig curtailed, got %v (err %v)", Names(plan.Curtail), err)
	}
	curtailed := plan.Curtail[0].Name
	if r := rigStatus(s, "a-held"); r.State != "parked" {
		t.Fatalf("a-held: want parked at admission, got %s", r.State)
	}
	s2 := restartFrom(t, s, dir, clk, rec)
	var file persistedState
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err == nil {
		err = json.Unmarshal(b, &file)
	}
	if err != nil {
		t.Fatal(err)
	}
	if !file.Rigs["a-held"].HeldAtAdmission || file.Rigs[curtailed].HeldAtAdmission {
		t.Fatalf("state file: want held_at_admission on a-held only; got a-held %+v, %s %+v", file.Rigs["a-held"], curtailed, file.Rigs[curtailed])
	}
	wantRig(t, s2, "a-held", "offline", "offline", 0)
	clk.Advance(61 * time.Second) // neither comes back
	s2.step()
	wantRig(t, s2, "a-held", "offline", "offline", 0)
	if r := rigStatus(s2, curtailed); !slices.Contains(r.Flags, FlagLeftWhileParked) || r.CountedKW != 10 {
		t.Fatalf("%s (curtailed from mining) away after a restart: want left_while_parked at 10 kW, got %v %v kW", curtailed, r.Flags, r.CountedKW)
	}
	// Back, a-held goes through admission again (no room: parked).
	if s2.RigConnected("a-held", "10.0.0.9:1") {
		t.Fatalf("a-held with no room: got admitted (%+v), want parked", rigStatus(s2, "a-held"))
	}
	s2.step()
	if r := rigStatus(s2, "a-held"); r.State != "parked" {
		t.Fatalf("a-held back: want parked at admission, got %s", r.State)
	}

	// A file written before held_at_admission: the same parks, no field.
	s2.RigDisconnected("a-held")
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	b, _ = os.ReadFile(filepath.Join(dir, "state.json"))
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	rigs := raw["rigs"].(map[string]any)
	rigs["a-old"] = map[string]any{"state": "parked", "since": clk.Now()}
	if b, err = json.Marshal(raw); err != nil || strings.Contains(string(b), "held_at_admission") {
		t.Fatalf("old file: %v %s; want err == nil, !strings.Contains(string(b), \"held_at_admission\")", err, b)
	}
	if err := os.WriteFile(filepath.Join(dir, "state.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	s3 := newVanishNeverSwitcher(t, dir, clk, rec)
	defer s3.Close()
	clk.Advance(61 * time.Second)
	s3.step()
	if r := rigStatus(s3, "a-old"); r.State != "parked" || !slices.Contains(r.Flags, FlagLeftWhileParked) {
		t.Fatalf("a-old, parked in a file without held_at_admission, away: want parked, left_while_parked (the safe side); got %s %v", r.State, r.Flags)
	}
}

// A rig parked before a restart that keeps submitting after it is flagged
// curtail_failed and parked again: the curtail check counts from the load
// (the curtail time is not in the state file).
func TestParkedRigSubmittingAfterRestartFlagged(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	rec := &recorder{last: map[string]time.Time{}, submit: map[string]time.Time{}}
	s := newTestSwitcher(t, dir, clk, rec)
	for _, n := range []string{"a-1", "a-2"} {
		s.RigConnected(n, "r")
	}
	s.step()
	plan, _, err := s.Allocate(AllocationRequest{AIKW: 89, Reason: "test"}, "desk") // budget 11: one goes
	if err != nil || len(plan.Curtail) != 1 {
		t.Fatalf("want one rig curtailed, got %v (err %v)", Names(plan.Curtail), err)
	}
	gone := plan.Curtail[0].Name
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	s2 := newTestSwitcher(t, dir, clk, rec)
	defer s2.Close()
	if s2.RigConnected(gone, "r") {
		t.Fatalf("%s parked before the restart was admitted; want !s2.RigConnected(gone, \"r\")", gone)
	}
	parks := len(rec.parks)
	submit := func(d time.Duration) {
		clk.Advance(d)
		rec.mu.Lock()
		rec.submit[gone] = clk.Now()
		rec.mu.Unlock()
		s2.step()
	}
	submit(10 * time.Second) // within the grace: work in flight
	if f := flagsOf(s2, gone); slices.Contains(f, FlagCurtailFailed) {
		t.Fatalf("flagged within the grace after the restart: %v; want !slices.Contains(f, FlagCurtailFailed)", f)
	}
	submit(30 * time.Second)
	if f := flagsOf(s2, gone); !slices.Contains(f, FlagCurtailFailed) {
		t.Fatalf("%s submits 40 s after the restart: want curtail_failed, got flags %v", gone, f)
	}
	if len(rec.parks) != parks+1 || rec.parks[len(rec.parks)-1] != gone {
		t.Fatalf("want %s parked again, got parks %v", gone, rec.parks[parks:])
	}
}
