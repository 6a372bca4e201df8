package switcher

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newBoundedSwitcher(t *testing.T, dir string, clk *fakeClock, rec *recorder, perNet int, forget time.Duration) *Switcher {
	t.Helper()
	pol, err := ParsePolicy(filepath.Join(dir, "policy.toml"), []byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{StatePath: filepath.Join(dir, "state.json"), AuditPath: filepath.Join(dir, "audit.jsonl"),
		Now: clk.Now, LeftGrace: time.Minute, ForgetAfter: forget, MaxOfflinePerNetwork: perNet}, pol, rec, rec)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// A churn of unique worker names from one network (the probe: unique 8 KB
// names) keeps at most max_offline_rigs_per_network records of it, and
// none of names no record is kept for; rigs of other networks, and a
// pinned rig of the same one, are untouched, and the state file stays
// small.
func TestUniqueNamesStayBounded(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	rec := &recorder{last: map[string]time.Time{}}
	s := newBoundedSwitcher(t, dir, clk, rec, 50, 24*time.Hour)
	defer s.Close()

	// A real rig elsewhere, and one pinned off on the attacked network.
	s.RigConnected("a-real", "192.168.1.5:4000")
	s.RigConnected("a-pinned", "10.9.9.9:4000")
	if _, _, err := s.SetPin("a-pinned", "off", "maintenance", "ops"); err != nil {
		t.Fatal(err)
	}
	s.RigDisconnected("a-pinned")

	long := strings.Repeat("x", 8<<10)
	for i := range 2000 {
		name := fmt.Sprintf("a-%05d-%s", i, strings.Repeat("y", 200))
		remote := fmt.Sprintf("10.9.9.%d:%d", i%250+1, 1000+i)
		s.RigConnected(name, remote)
		s.RigDisconnected(name)
		if s.RigConnected(long+name, remote) {
			t.Fatalf("a %d-byte name: got admitted, want refused", len(long+name))
		}
		s.RigDisconnected(long + name)
		clk.Advance(time.Millisecond)
	}
	s.step()
	rigs := s.Rigs()
	if len(rigs) > 52 {
		t.Fatalf("%d rig records after 2000 unique names from one /24 with a cap of 50 (want ≤ 50 of it + 2)", len(rigs))
	}
	names := map[string]bool{}
	for _, r := range rigs {
		names[r.Name] = true
		if len(r.Name) > MaxRigName {
			t.Errorf("a record of a %d-byte name was kept; want len(r.Name) <= MaxRigName", len(r.Name))
		}
	}
	if !names["a-real"] || !names["a-pinned"] {
		t.Errorf("the real rig or the pinned one was forgotten: %v; want names[\"a-real\"], names[\"a-pinned\"]", names)
	}
	// The newest names are the ones kept.
	if !names[fmt.Sprintf("a-%05d-%s", 1999, strings.Repeat("y", 200))] {
		t.Errorf("records: got %d names without the newest (a-01999-…), want the oldest forgotten first", len(names))
	}
	if got := s.Counters().RigsRefusedName.Load(); got != 2000 {
		t.Errorf("refused for the name: %d, want 2000", got)
	}
	if got := s.Counters().RigsForgotten.Load(); got < 1950 {
		t.Errorf("forgotten: %d, want ≥ 1950", got)
	}
	if sz := fileSize(t, filepath.Join(dir, "state.json")); sz > 64<<10 {
		t.Errorf("state file is %d bytes after the churn, want ≤ 64 KiB", sz)
	}
	// One summary, not a line per name.
	evs, _ := s.Events(0, 10000)
	summaries := 0
	for _, e := range evs {
		if e.Kind == EventForget || e.Kind == EventRigsRefused {
			summaries++
		}
	}
	if summaries != 2 {
		t.Errorf("%d forget/refused events for the churn, want 2 summaries", summaries)
	}
}

// When every offline record of a network is worth keeping (parked rigs
// that left), a new name from it is not admitted; a known rig still is.
func TestFullNetworkRefusesNewNames(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	rec := &recorder{last: map[string]time.Time{}}
	s := newBoundedSwitcher(t, dir, clk, rec, 3, 24*time.Hour)
	defer s.Close()
	for i := range 3 {
		n := fmt.Sprintf("a-%d", i)
		s.RigConnected(n, "10.0.0.1:1")
		if _, _, err := s.SetPin(n, "off", "test", "ops"); err != nil {
			t.Fatal(err)
		}
		s.RigDisconnected(n)
	}
	if s.RigConnected("a-new", "10.0.0.2:1") {
		t.Fatalf("a-new on a full network: got admitted at once (%+v), want it held", rigStatus(s, "a-new"))
	}
	if r := rigStatus(s, "a-new"); r.Name != "" {
		t.Fatalf("a new name from a network full of records worth keeping got a record: %+v; want r.Name == \"\"", r)
	}
	if got := s.Counters().RigsRefusedNetwork.Load(); got != 1 {
		t.Errorf("refused for a full network: %d, want 1", got)
	}
	s.RigConnected("a-0", "10.0.0.1:2") // known: always let in
	if r := rigStatus(s, "a-0"); !r.Connected {
		t.Errorf("a known rig of a full network was not let in: %+v; want r.Connected", r)
	}
	if s.RigConnected("b-1", "10.0.1.1:1"); rigStatus(s, "b-1").Name == "" {
		t.Errorf("b-1 of another network: got %+v (refused), want it let in", rigStatus(s, "b-1"))
	}
}

// An offline record with nothing worth keeping goes forget_after after it
// went offline; pinned, parked and connected ones stay.
func TestForgetAfter(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	rec := &recorder{last: map[string]time.Time{}}
	s := newBoundedSwitcher(t, dir, clk, rec, 0, time.Hour)
	defer s.Close()
	for _, n := range []string{"a-gone", "a-pinned", "a-parked", "a-here"} {
		s.RigConnected(n, "10.0.0.1:1")
	}
	s.step() // all admitted: mining
	if _, _, err := s.SetPin("a-pinned", "on", "", "ops"); err != nil {
		t.Fatal(err)
	}
	// 40 kW mining on a budget of 35: the tail (a-parked; a-pinned is
	// pinned on) is curtailed, with no pin.
	if _, _, err := s.Allocate(AllocationRequest{AIKW: 65, Reason: "test"}, "desk"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a-gone", "a-pinned", "a-parked"} {
		s.RigDisconnected(n)
	}
	if st := rigStatus(s, "a-parked").State; st != "parked" {
		t.Fatalf("a-parked is %s; want st == \"parked\"", st)
	}
	clk.Advance(59 * time.Minute)
	s.step()
	if rigStatus(s, "a-gone").Name == "" {
		t.Fatalf("a-gone after 59 min: got %+v (no record), want it kept until forget_after", rigStatus(s, "a-gone"))
	}
	clk.Advance(2 * time.Minute)
	s.step()
	if r := rigStatus(s, "a-gone"); r.Name != "" {
		t.Errorf("a rig offline longer than forget_after is still known: %+v; want r.Name == \"\"", r)
	}
	for _, n := range []string{"a-pinned", "a-parked", "a-here"} {
		if rigStatus(s, n).Name == "" {
			t.Errorf("%s was forgotten; it holds a pin, a park or a connection; want rigStatus(s, n).Name != \"\"", n)
		}
	}
	st, err := loadState(filepath.Join(dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.Rigs["a-gone"]; ok || len(st.Rigs) != 3 {
		t.Errorf("the state file still has the forgotten rig: %d rigs; want !ok, len(st.Rigs) == 3", len(st.Rigs))
	}
}

// Forget drops an offline rig whatever it holds, audited with who; a
// connected or unknown one is refused.
func TestForgetRig(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	rec := &recorder{last: map[string]time.Time{}}
	s := newTestSwitcher(t, dir, clk, rec)
	defer s.Close()
	s.RigConnected("a-1", "10.0.0.1:1")
	s.RigConnected("a-2", "10.0.0.1:2")
	s.step()
	if _, _, err := s.SetPin("a-1", "off", "", "ops"); err != nil {
		t.Fatal(err)
	}
	s.RigDisconnected("a-1")
	clk.Advance(2 * time.Minute)
	s.step()
	if f := flagsOf(s, "a-1"); !strings.Contains(strings.Join(f, ","), FlagLeftWhileParked) {
		t.Fatalf("a-1 flags %v, want left_while_parked", f)
	}
	if _, err := s.Forget("a-2", "desk"); !errors.Is(err, ErrRigConnected) {
		t.Errorf("forgetting a connected rig: %v, want ErrRigConnected", err)
	}
	if _, err := s.Forget("nope", "desk"); !errors.Is(err, ErrUnknownRig) {
		t.Errorf("forgetting an unknown rig: %v, want ErrUnknownRig", err)
	}
	was, err := s.Forget("a-1", "desk")
	if err != nil {
		t.Fatal(err)
	}
	if was.State != "parked" || was.Pin != "off" {
		t.Errorf("was %+v, want parked, pinned off", was)
	}
	if rigStatus(s, "a-1").Name != "" {
		t.Errorf("a-1 after Forget: got %+v, want no record", rigStatus(s, "a-1"))
	}
	evs, _ := s.Events(0, 100)
	last := evs[len(evs)-1]
	if last.Kind != EventForget || last.Who != "desk" || last.Rig != "a-1" {
		t.Errorf("last event %+v, want forget of a-1 by desk", last)
	}
	st, _ := loadState(filepath.Join(dir, "state.json"))
	if r, ok := st.Rigs["a-1"]; ok {
		t.Errorf("the state file after Forget: got a-1 %+v, want none", r)
	}
}

// A state file written before the bounds (the probe's: unique 8 KB names)
// is bounded at load: the names no record is kept for go (pinned ones
// stay: ops made them), and the file shrinks at the first save.
func TestOldStateFileIsBounded(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st := &persistedState{Version: 1, Rigs: map[string]persistedRig{}}
	long := strings.Repeat("z", 8<<10)
	for i := range 500 {
		st.Rigs[fmt.Sprintf("%s-%d", long, i)] = persistedRig{State: "offline", Since: now.Add(-time.Minute)}
	}
	for i := range 300 {
		st.Rigs[fmt.Sprintf("a-%d", i)] = persistedRig{State: "offline", Since: now.Add(-time.Duration(i) * time.Minute)}
	}
	st.Rigs[long+"-pinned"] = persistedRig{State: "offline", Pin: PinOff}
	st.Rigs["a-stale"] = persistedRig{State: "offline", Since: now.Add(-48 * time.Hour)}
	b, _ := json.Marshal(st)
	path := filepath.Join(dir, "state.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	before := fileSize(t, path)
	clk := &fakeClock{t: now}
	rec := &recorder{last: map[string]time.Time{}}
	s := newBoundedSwitcher(t, dir, clk, rec, 100, 24*time.Hour)
	defer s.Close()
	rigs := s.Rigs()
	// 100 in all (the old file has no networks: one cap for all): the
	// pinned long name and the 99 newest a-* (smallest i).
	if len(rigs) != 100 {
		t.Fatalf("%d records after loading 802, want 100 (the cap, the pinned rig kept)", len(rigs))
	}
	if rigStatus(s, long+"-pinned").Name == "" || rigStatus(s, "a-0").Name == "" {
		t.Errorf("after the cap: pinned rig %q, a-0 %q; want both kept", rigStatus(s, long+"-pinned").Name, rigStatus(s, "a-0").Name)
	}
	if rigStatus(s, "a-stale").Name != "" {
		t.Errorf("a-stale, older than forget_after: got %+v, want dropped", rigStatus(s, "a-stale"))
	}
	s.step()
	if after := fileSize(t, path); after > before/20 {
		t.Errorf("state file %d bytes after load and save, was %d: want it to shrink", after, before)
	}
}
