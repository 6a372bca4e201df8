package switcher

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder is an Actuator and ShareSource for the switcher's own tests:
// it records what the switcher asked for and answers share times the test
// sets.
type recorder struct {
	mu     sync.Mutex
	parks  []string
	resume []string
	last   map[string]time.Time
	// submit: the last submit of each rig that the proxy rejected (an
	// accepted share, in last, is a submit too).
	submit map[string]time.Time
}

func (r *recorder) Park(rig string) error {
	r.mu.Lock()
	r.parks = append(r.parks, rig)
	r.mu.Unlock()
	return nil
}

func (r *recorder) Resume(rig string) error {
	r.mu.Lock()
	r.resume = append(r.resume, rig)
	r.mu.Unlock()
	return nil
}

func (r *recorder) LastShare(rig string) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last[rig]
}

func (r *recorder) LastSubmit(rig string) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.submit[rig].After(r.last[rig]) {
		return r.submit[rig]
	}
	return r.last[rig]
}

func (r *recorder) HashrateTHs(string) float64 { return 0 }

func (r *recorder) setShare(rig string, t time.Time) {
	r.mu.Lock()
	r.last[rig] = t
	r.mu.Unlock()
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const testPolicy = `
site_capacity_kw = 100.0
ramp_up_kw_per_min = 1000.0
min_off = "0s"
min_on = "0s"
release_vanished_after = "10m"

[[group]]
name = "a"
workers = ["a-*"]
rig_kw = 10.0
idle_kw = 1.0
efficiency_j_th = 20.0
priority = 10
actuator = "stratum"
pools_bound = true
`

func newTestSwitcher(t *testing.T, dir string, clk *fakeClock, rec *recorder) *Switcher {
	t.Helper()
	pol, err := ParsePolicy(filepath.Join(dir, "policy.toml"), []byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{StatePath: filepath.Join(dir, "state.json"), AuditPath: filepath.Join(dir, "audit.jsonl"),
		Now: clk.Now, CurtailGrace: 30 * time.Second, ResumeGrace: time.Minute, LeftGrace: time.Minute}, pol, rec, rec)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func flagsOf(s *Switcher, name string) []string { return rigStatus(s, name).Flags }

// Shares after a curtail flag the rig curtail_failed and park it again;
// a resumed rig that sends nothing is flagged resume_failed.
func TestVerificationFlags(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	rec := &recorder{last: map[string]time.Time{}}
	s := newTestSwitcher(t, dir, clk, rec)
	defer s.Close()
	for _, n := range []string{"a-1", "a-2", "a-3"} {
		if s.RigConnected(n, "10.0.0.1:1") {
			t.Fatalf("%s admitted before a plan; want !s.RigConnected(n, \"10.0.0.1:1\")", n)
		}
	}
	s.step()
	if got := rec.resume; !slices.Equal(got, []string{"a-1", "a-2", "a-3"}) {
		t.Fatalf("admitted %v; want slices.Equal(got, []string{\"a-1\", \"a-2\", \"a-3\"})", got)
	}
	clk.Advance(time.Second)
	for _, n := range []string{"a-1", "a-2", "a-3"} {
		rec.setShare(n, clk.Now())
	}
	// AI takes 80 kW: budget 20: two rigs must go (30 -> 12).
	plan, _, err := s.Allocate(AllocationRequest{AIKW: 80, Reason: "test"}, "desk")
	if err != nil || len(plan.Curtail) != 2 {
		t.Fatalf("plan %v err %v; want err == nil, len(plan.Curtail) == 2", Names(plan.Curtail), err)
	}
	curtailed := Names(plan.Curtail)
	if !slices.Equal(rec.parks, curtailed) {
		t.Fatalf("parked %v, planned %v; want slices.Equal(rec.parks, curtailed)", rec.parks, curtailed)
	}
	// One of them keeps sending shares past the grace.
	clk.Advance(40 * time.Second)
	rec.setShare(curtailed[0], clk.Now())
	s.step()
	if f := flagsOf(s, curtailed[0]); !slices.Contains(f, FlagCurtailFailed) {
		t.Fatalf("flags %v, want curtail_failed", f)
	}
	if f := flagsOf(s, curtailed[1]); slices.Contains(f, FlagCurtailFailed) {
		t.Fatalf("quiet rig flagged %v; want !slices.Contains(f, FlagCurtailFailed)", f)
	}
	if n := rec.parks[len(rec.parks)-1]; n != curtailed[0] || len(rec.parks) != 3 {
		t.Fatalf("curtail_failed rig not parked again: %v; want n == curtailed[0], len(rec.parks) == 3", rec.parks)
	}
	if n := s.Counters().CurtailFailed.Load(); n != 1 {
		t.Fatalf("curtail_failed counter %d, want 1", n)
	}
	// Give the power back; the resumed rigs send nothing for a minute.
	if _, _, err := s.Allocate(AllocationRequest{AIKW: 0, Reason: "back"}, "desk"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(61 * time.Second)
	s.step()
	for _, n := range curtailed {
		if f := flagsOf(s, n); !slices.Contains(f, FlagResumeFailed) {
			t.Fatalf("%s: flags %v, want resume_failed", n, f)
		}
	}
	// A share clears it.
	rec.setShare(curtailed[1], clk.Now())
	s.step()
	if f := flagsOf(s, curtailed[1]); slices.Contains(f, FlagResumeFailed) {
		t.Fatalf("flag kept after a share: %v; want !slices.Contains(f, FlagResumeFailed)", f)
	}
	evs, _ := s.Events(0, 0)
	kinds := map[string]int{} // per-rig events by kind, summaries as kind+"*"
	for _, e := range evs {
		if e.Rig == "" {
			kinds[e.Kind+"*"]++
		} else {
			kinds[e.Kind]++
		}
	}
	// Two rigs flagged in one pass: one summary event after their own.
	// The allocations carry their plans; the first tick admitted 3 rigs.
	want := map[string]int{EventCurtailFail: 1, EventResumeFail: 2, EventResumeFail + "*": 1,
		EventAllocation + "*": 2, EventPlan + "*": 1, EventCurtail: 2, EventResume: 5, EventStart + "*": 1}
	if !maps.Equal(kinds, want) {
		t.Fatalf("events %v, want %v", kinds, want)
	}
}

// A parked rig that leaves is counted at full power (it may hash on a
// backup pool) until release_vanished_after; one that comes back is not.
func TestLeftWhileParked(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	rec := &recorder{last: map[string]time.Time{}}
	s := newTestSwitcher(t, dir, clk, rec)
	defer s.Close()
	for _, n := range []string{"a-1", "a-2"} {
		s.RigConnected(n, "r")
	}
	s.step()
	plan, _, _ := s.Allocate(AllocationRequest{AIKW: 89, Reason: "x"}, "desk") // budget 11: one rig
	if len(plan.Curtail) != 1 {
		t.Fatalf("curtail %v; want len(plan.Curtail) == 1", Names(plan.Curtail))
	}
	gone := plan.Curtail[0].Name
	s.RigDisconnected(gone) // parking closed it; it never comes back
	clk.Advance(61 * time.Second)
	s.step()
	if f := flagsOf(s, gone); !slices.Contains(f, FlagLeftWhileParked) {
		t.Fatalf("flags %v; want slices.Contains(f, FlagLeftWhileParked)", f)
	}
	// Counted at rig_kw: 10 (the miner) + 10 (the one gone) > budget 11,
	// so the remaining rig is curtailed too: 1 + 10.
	if st := s.Status(); st.MiningLoadKW != 11 || st.Curtailed != 2 {
		t.Fatalf("status %+v; want st.MiningLoadKW == 11, st.Curtailed == 2", st)
	}
	// After release_vanished_after it counts 0 and the other comes back.
	clk.Advance(10 * time.Minute)
	s.step()
	s.step()
	if st := s.Status(); st.MiningLoadKW != 10 || st.Curtailed != 1 {
		t.Fatalf("after release: %+v; want st.MiningLoadKW == 10, st.Curtailed == 1", st)
	}
}

// The state survives a crash: no Close, a new Switcher on the same files.
func TestStateSurvivesCrash(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	rec := &recorder{last: map[string]time.Time{}}
	s := newTestSwitcher(t, dir, clk, rec)
	for _, n := range []string{"a-1", "a-2", "a-3"} {
		s.RigConnected(n, "r")
	}
	s.step()
	if _, _, err := s.SetPin("a-1", "on", "vip", "ops"); err != nil {
		t.Fatal(err)
	}
	plan, _, _ := s.Allocate(AllocationRequest{AIKW: 80, Reason: "x", Until: clk.Now().Add(time.Hour)}, "desk")
	parked := Names(plan.Curtail)
	if len(parked) != 2 || slices.Contains(parked, "a-1") {
		t.Fatalf("curtail %v (a-1 is pinned on); want len(parked) == 2, !slices.Contains(parked, \"a-1\")", parked)
	}
	// Crash: the audit log file is left open, the state file is what was
	// last written. A second switcher starts from the files.
	st, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil || len(st) == 0 {
		t.Fatalf("state file: %v", err)
	}
	s2 := newTestSwitcher(t, dir, clk, rec)
	defer s2.Close()
	defer s.audit.Close()
	for _, n := range []string{"a-1", "a-2", "a-3"} {
		got := s2.RigConnected(n, "r")
		if slices.Contains(parked, n) && got {
			t.Fatalf("%s was parked and is admitted after the crash; want !(slices.Contains(parked, n) && got)", n)
		}
	}
	s2.step()
	rigs := map[string]RigStatus{}
	for _, r := range s2.Rigs() {
		rigs[r.Name] = r
	}
	for _, n := range parked {
		if rigs[n].State != "parked" {
			t.Fatalf("%s: %s after restart; want rigs[n].State == \"parked\"", n, rigs[n].State)
		}
	}
	if rigs["a-1"].State != "mining" || rigs["a-1"].Pin != "on" {
		t.Fatalf("a-1 after restart: %+v; want rigs[\"a-1\"].State == \"mining\", rigs[\"a-1\"].Pin == \"on\"", rigs["a-1"])
	}
	if stt := s2.Status(); stt.AIKW != 80 || stt.Allocation == nil || stt.Allocation.Until.IsZero() {
		t.Fatalf("allocation lost: %+v; want stt.AIKW == 80, stt.Allocation != nil, !stt.Allocation.Until.IsZero()", stt)
	}
	// The until still works after the restart.
	clk.Advance(time.Hour + time.Second)
	s2.step()
	if stt := s2.Status(); stt.AIKW != 0 {
		t.Fatalf("until not honoured after restart: %+v; want stt.AIKW == 0", stt)
	}
	// The audit log continues its sequence.
	evs, _ := s2.Events(0, 0)
	for i := 1; i < len(evs); i++ {
		if evs[i].Seq != evs[i-1].Seq+1 {
			t.Fatalf("audit sequence broken at %d: %d after %d; want evs[i].Seq == evs[i-1].Seq+1", i, evs[i].Seq, evs[i-1].Seq)
		}
	}
}

func TestAuditRotationAndPaging(t *testing.T) {
	dir := t.TempDir()
	a, err := OpenAuditLog(filepath.Join(dir, "a.jsonl"), 2000, 3)
	if err != nil {
		t.Fatal(err)
	}
	a.maxCache = 20 // force reads from the files
	for i := range 100 {
		if _, err := a.Append(Event{Kind: EventPin, Rig: "r", Fields: map[string]any{"i": i}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "a.jsonl.3")); err != nil {
		t.Fatalf("not rotated: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a.jsonl.4")); err == nil {
		t.Fatalf("rotated files: got a.jsonl.4 (%v), want at most 3", dirNames(t, dir))
	}
	evs, err := a.Events(95, 3)
	if err != nil || len(evs) != 3 || evs[0].Seq != 96 || evs[2].Seq != 98 {
		t.Fatalf("page after 95: %v %v; want err == nil, len(evs) == 3, evs[0].Seq == 96, evs[2].Seq == 98", evs, err)
	}
	// Older than the cache: read from the rotated files, oldest first.
	old, err := a.Events(0, 5)
	if err != nil || len(old) != 5 || old[0].Seq >= old[4].Seq {
		t.Fatalf("oldest page: %v %v; want err == nil, len(old) == 5, old[0].Seq < old[4].Seq", old, err)
	}
	a.Close()
	// Reopened, the sequence continues.
	b, err := OpenAuditLog(filepath.Join(dir, "a.jsonl"), 2000, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	e, _ := b.Append(Event{Kind: EventPin})
	if e.Seq != 101 {
		t.Fatalf("sequence after reopen: %d; want e.Seq == 101", e.Seq)
	}
}

// A settled site is not re-planned on every tick (a plan of 50,000 rigs
// costs ~30 ms); a change, or time running out, makes the next tick plan.
func TestPlansOnlyWhenNeeded(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	rec := &recorder{last: map[string]time.Time{}}
	s := newTestSwitcher(t, dir, clk, rec)
	defer s.Close()
	s.RigConnected("a-1", "r")
	s.step()
	plans := s.Counters().Plans.Load()
	for range 5 {
		clk.Advance(time.Second)
		s.step()
	}
	if got := s.Counters().Plans.Load(); got != plans {
		t.Fatalf("settled site planned %d times in 5 ticks; want got == plans", got-plans)
	}
	s.RigConnected("a-2", "r")
	s.step()
	if got := s.Counters().Plans.Load(); got != plans+1 {
		t.Fatalf("a new rig did not make a plan (%d); want got == plans+1", got-plans)
	}
	if rs := s.Rigs(); rs[1].State != "mining" {
		t.Fatalf("a-2: %s; want rs[1].State == \"mining\"", rs[1].State)
	}
	clk.Advance(idleReplan)
	s.step()
	if got := s.Counters().Plans.Load(); got != plans+2 {
		t.Fatalf("no safety re-plan after %v; want got == plans+2", idleReplan)
	}
}

// A rig pinned off before it ever connected (in for maintenance, not yet
// plugged back in) is parked the moment it authorizes, also after a
// restart; until then it is offline and counts nothing. A pin back to
// auto on a rig never seen, and a name that is empty or too long, are
// refused and change nothing.
func TestPinBeforeFirstConnect(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	rec := &recorder{last: map[string]time.Time{}}
	s := newTestSwitcher(t, dir, clk, rec)
	s.RigConnected("a-1", "r")
	s.step()
	for _, name := range []string{"a-9", "a-8"} {
		plan, waiting, err := s.SetPin(name, "off", "maintenance", "ops")
		if err != nil || !waiting || len(plan.Curtail)+len(plan.Park) != 0 {
			t.Fatalf("pin %s off before it connected: waiting %v, err %v, plan %+v; want err == nil, waiting, len(plan.Curtail)+len(plan.Park) == 0", name, waiting, err, plan)
		}
	}
	// Saved at once, as any pin: a crash right after it keeps it.
	if st, err := os.ReadFile(filepath.Join(dir, "state.json")); err != nil || !strings.Contains(string(st), `"a-8":{"state":"offline"`) || !strings.Contains(string(st), `"pinned_ahead":true`) {
		t.Fatalf("state file after the pins: %s, %v", st, err)
	}
	if _, _, err := s.SetPin("a-7", "auto", "", "ops"); !errors.Is(err, ErrUnknownRig) {
		t.Fatalf("auto on a rig never seen: %v, want ErrUnknownRig", err)
	}
	for _, name := range []string{"", strings.Repeat("x", MaxRigName+1), "a-\xff", "a-\x1b[31m"} {
		if _, _, err := s.SetPin(name, "off", "", "ops"); err == nil {
			t.Fatalf("a pin made a record for %q; want err != nil", name)
		}
	}
	// The longest name allowed, pinned and forgotten again (auto before it
	// ever connected): no record is left.
	long := "a-" + strings.Repeat("x", MaxRigName-2)
	if _, waiting, err := s.SetPin(long, "on", "", "ops"); err != nil || !waiting {
		t.Fatalf("pin of a %d-byte name: waiting %v, %v; want err == nil, waiting", len(long), waiting, err)
	}
	if _, waiting, err := s.SetPin(long, "auto", "", "ops"); err != nil || waiting {
		t.Fatalf("auto on a rig pinned ahead (forgotten, nothing waits): waiting %v, %v; want err == nil, !waiting", waiting, err)
	}
	if rs := rigStatus(s, long); rs.Name != "" {
		t.Fatalf("a rig pinned ahead then back to auto is still known: %+v; want rs.Name == \"\"", rs)
	}
	// A second pin while it waits still says so (off, then off again with
	// a new reason).
	if _, waiting, err := s.SetPin("a-8", "off", "fans on order", "ops"); err != nil || !waiting {
		t.Fatalf("second pin of a waiting rig: waiting %v, %v; want err == nil, waiting", waiting, err)
	}
	rigs := map[string]RigStatus{}
	for _, r := range s.Rigs() {
		rigs[r.Name] = r
	}
	if len(rigs) != 3 || rigs["a-9"].State != "offline" || rigs["a-9"].Pin != "off" || rigs["a-9"].Group != "a" {
		t.Fatalf("rigs after the pins: %+v; want len(rigs) == 3, rigs[\"a-9\"].State == \"offline\", rigs[\"a-9\"].Pin == \"off\", rigs[\"a-9\"].Group == \"a\"", rigs)
	}
	if _, waiting, err := s.SetPin("a-5", "on", "", "ops"); err != nil || !waiting {
		t.Fatalf("pin a-5 on before it connected: waiting %v, err %v; want err == nil, waiting", waiting, err)
	}
	if _, waiting, err := s.SetPin("a-1", "auto", "", "ops"); err != nil || waiting {
		t.Fatalf("pin of the connected a-1: waiting %v, err %v; want err == nil, !waiting", waiting, err)
	}
	if st := s.Status(); st.MiningLoadKW != 10 || st.Curtailed != 0 {
		t.Fatalf("status: %+v (the waiting rigs, pinned on or off, count nothing); want st.MiningLoadKW == 10, st.Curtailed == 0", st)
	}
	// A budget for one rig: a-1 keeps it, the absent a-5 pinned on takes none.
	if plan, _, _ := s.Allocate(AllocationRequest{AIKW: 89, Reason: "x"}, "desk"); len(plan.Curtail) != 0 {
		t.Fatalf("budget 11 kW with a-1 mining and a-5 pinned on but absent: curtail %v; want len(plan.Curtail) == 0", Names(plan.Curtail))
	}
	s.Allocate(AllocationRequest{AIKW: 0, Reason: "x"}, "desk") // room for every rig again: only its pin parks a-9

	if s.RigConnected("a-9", "r") {
		t.Fatalf("a-9 pinned off, connecting: got admitted (%+v), want parked", rigStatus(s, "a-9"))
	}
	s.step()
	if rs := rigStatus(s, "a-9"); rs.State != "parked" {
		t.Fatalf("a-9 after it connected: %+v; want rs.State == \"parked\"", rs)
	}

	// a-8 connects only after a restart: its pin was saved.
	s.Close()
	s2 := newTestSwitcher(t, dir, clk, rec)
	defer s2.Close()
	if s2.RigConnected("a-8", "r") {
		t.Fatalf("a-8 pinned off before the restart: got admitted after it (%+v), want parked", rigStatus(s2, "a-8"))
	}
	s2.step()
	if rs := rigStatus(s2, "a-8"); rs.State != "parked" || rs.Pin != "off" {
		t.Fatalf("a-8 after the restart: %+v; want rs.State == \"parked\", rs.Pin == \"off\"", rs)
	}
	evs, _ := s2.Events(0, 0)
	waiting := 0
	for _, ev := range evs {
		if ev.Kind == EventPin && ev.Fields["waiting_for_rig"] == true {
			waiting++
		}
	}
	if waiting != 5 { // a-9, a-8 twice, the long name once (then forgotten), a-5
		t.Fatalf("%d pin events say the rig was waiting, want 5", waiting)
	}
}

// rigStatus is one rig's line of s.Rigs(); zero if it has none.
func rigStatus(s *Switcher, name string) RigStatus {
	for _, r := range s.Rigs() {
		if r.Name == name {
			return r
		}
	}
	return RigStatus{}
}

// dirNames lists the names in dir, for failure messages.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name()
	}
	return names
}
