package switcher

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/switcher/device"
	evidencelog "github.com/hashgate/hashgate/switcher/evidence"
	"github.com/hashgate/hashgate/switcher/meter"
)

const bigPolicy = `
site_capacity_kw = 200000.0
ramp_up_kw_per_min = 100000000.0
min_off = "0s"
min_on = "0s"

[[group]]
name = "a"
workers = ["a-*"]
rig_kw = 3.0
idle_kw = 0.1
efficiency_j_th = 20.0
priority = 10
actuator = "stratum"
pools_bound = true
`

// bigSwitcher is a switcher with n rigs connected and mining.
func bigSwitcher(b *testing.B, n int) (*Switcher, *fakeClock, *recorder) {
	b.Helper()
	dir := b.TempDir()
	pol, err := ParsePolicy(filepath.Join(dir, "policy.toml"), []byte(bigPolicy))
	if err != nil {
		b.Fatal(err)
	}
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	rec := &recorder{last: map[string]time.Time{}}
	s, err := New(Config{StatePath: filepath.Join(dir, "state.json"), AuditPath: filepath.Join(dir, "audit.jsonl"), Now: clk.Now}, pol, rec, rec)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	for i := range n {
		s.RigConnected(fmt.Sprintf("a-%05d", i), fmt.Sprintf("10.%d.%d.%d:4028", i>>16, (i>>8)&255, i&255))
	}
	s.step()
	return s, clk, rec
}

// BenchmarkEvidenceStep50k: the evidence part of one step at 50,000
// rigs, 25,000 of them just curtailed (watched): a sample (the status)
// and the watch pass. Logs the decision's own cost (its rig list
// written and fsynced under the lock) once.
func BenchmarkEvidenceStep50k(b *testing.B) {
	s, clk, _ := bigSwitcher(b, 50000)
	t0 := time.Now()
	plan, _, err := s.Allocate(AllocationRequest{AIKW: 200000 - 25000*3, Reason: "bench"}, "bench")
	if err != nil {
		b.Fatal(err)
	}
	took := time.Since(t0)
	s.mu.Lock()
	watched := len(s.ev.watch)
	s.mu.Unlock()
	b.Logf("allocation curtailing %d of 50,000 rigs took %v, its rig list written and fsynced included; %d rigs watched", len(plan.Curtail), took, watched)
	b.ResetTimer()
	for range b.N {
		clk.Advance(time.Second)
		s.evidenceStep(clk.Now())
	}
}

// BenchmarkEvidenceParts50k times the parts of the evidence step at
// 50,000 rigs, 25,000 just curtailed and 25,000 admitted before (all
// watched, none confirmed: the worst case), and the decision's rig list
// of 50,000 rigs written and fsynced.
func BenchmarkEvidenceParts50k(b *testing.B) {
	s, clk, _ := bigSwitcher(b, 50000)
	if _, _, err := s.Allocate(AllocationRequest{AIKW: 200000 - 25000*3, Reason: "bench"}, "bench"); err != nil {
		b.Fatal(err)
	}
	rigs := make([]evidencelog.RigAction, 50000)
	for i := range rigs {
		rigs[i] = evidencelog.RigAction{Rig: fmt.Sprintf("a-%05d", i), Group: "a", Action: evidencelog.ActionCurtail}
	}
	t0 := time.Now()
	if err := s.ev.log.Decision(1<<40, clk.Now(), rigs); err != nil {
		b.Fatal(err)
	}
	decision := time.Since(t0)
	var st, wp time.Duration
	b.ResetTimer()
	for range b.N {
		clk.Advance(time.Second)
		t0 := time.Now()
		_ = s.sample()
		t1 := time.Now()
		s.mu.Lock()
		s.watchPassLocked(clk.Now())
		s.mu.Unlock()
		st, wp = st+t1.Sub(t0), wp+time.Since(t1)
	}
	n := time.Duration(b.N)
	b.Logf("sample (the status) %v, watch pass %v per interval; a 50,000-rig list written and fsynced %v", st/n, wp/n, decision)
}

// evReport is the report of seq, and its rig by name.
func evReport(t *testing.T, s *Switcher, seq uint64) (evidencelog.Report, map[string]evidencelog.ReportRig) {
	t.Helper()
	rep, err := s.Report(seq)
	if err != nil {
		t.Fatal(err)
	}
	rigs := map[string]evidencelog.ReportRig{}
	for _, r := range rep.Rigs {
		rigs[r.Rig] = r
	}
	return rep, rigs
}

// A curtailed firmware rig: its connection closing (Stratum), its device
// read asleep (device, with its power), then read hashing past the
// verification window (a failure: the newest evidence, so the rig's
// status is failed). A resumed one: its first share after the resume.
func TestEvidenceConfirmationsAndFailures(t *testing.T) {
	x := newFw(t)
	for i, n := range []string{"f-1", "f-2", "f-3"} {
		x.s.RigConnected(n, fmt.Sprintf("10.0.1.%d:4028", i+1))
	}
	x.s.step()
	x.allocate(t, 75) // budget 25: f-3 goes
	seq := x.s.LastEventSeq()
	t0 := x.clk.Now()
	x.s.RigDisconnected("f-3") // the Stratum park closes its connection
	x.clk.Advance(10 * time.Second)
	x.read("f-3", device.StateSleeping, 60, 0)
	x.s.step()
	_, rigs := evReport(t, x.s, seq)
	r := rigs["f-3"]
	if len(rigs) != 1 || r.Status != "confirmed" || r.Stratum == nil || r.Stratum.Detail != "connection closed" ||
		r.Device == nil || r.Device.State != "sleeping" || *r.Device.PowerW != 60 || r.Device.SecondsAfter != 10 {
		t.Fatalf("f-3 after its close and a reading asleep: %+v (stratum %+v, device %+v); want confirmed by both, asleep at 60 W 10 s after",
			r, r.Stratum, r.Device)
	}
	x.clk.Advance(2 * time.Minute) // past the verification window
	x.read("f-3", device.StateMining, 3100, 95)
	x.clk.Advance(time.Second)
	x.s.step()
	_, rigs = evReport(t, x.s, seq)
	if r := rigs["f-3"]; r.Status != "failed" || r.Failure == nil || !strings.HasPrefix(r.Failure.Detail, "curtail_failed") || r.Device == nil {
		t.Fatalf("f-3 read hashing after the window: %+v (failure %+v); want failed (curtail_failed), the device confirmation kept", r, r.Failure)
	}
	x.clk.Advance(time.Second)
	x.read("f-3", device.StateSleeping, 58, 0) // asleep again: the newest evidence confirms
	x.s.step()
	if _, rigs = evReport(t, x.s, seq); rigs["f-3"].Status != "confirmed" {
		t.Fatalf("f-3 read asleep after the failure: status %s; want confirmed", rigs["f-3"].Status)
	}

	// Asleep, it fits again: a plan resumes it (the tick's or the
	// allocation's), and its resume event names that decision.
	x.allocate(t, 0)
	resumed, err := x.s.LatestEvents(1, EventFilter{Kinds: []string{EventResume}, Rig: "f-3"})
	if err != nil || len(resumed) != 1 {
		t.Fatalf("no resume of f-3: %v", err)
	}
	back := resumed[0].Cause
	x.clk.Advance(4 * time.Second)
	x.rec.setShare("f-3", x.clk.Now())
	x.clk.Advance(time.Second)
	x.s.step()
	_, rigs = evReport(t, x.s, back)
	if r := rigs["f-3"]; r.Action != "resume" || r.Status != "confirmed" || r.Stratum == nil || r.Stratum.SecondsAfter != 4 {
		t.Fatalf("f-3 resumed, a share 4 s later: %+v (stratum %+v); want a confirmed resume, its share 4 s after", r, r.Stratum)
	}
	if rep, _ := evReport(t, x.s, seq); rep.Event.Time.Sub(t0) != 0 || rep.RigCounts.Total != 1 {
		t.Errorf("the curtail's report: event at %v, %d rigs; want %v, 1", rep.Event.Time, rep.RigCounts.Total, t0)
	}
}

// A sample keeps the meters' good, fresh readings (by their spec's
// stale_after) and sums those that measure mining.
func TestSampleOfMeters(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ai := 812.5
	st := Status{MiningLoadKW: 400, MiningBudgetKW: 450, CapKW: 1500, AIKWMeasured: &ai, Meters: map[string]meter.Reading{
		"hall-1": {Meter: "hall-1", Measures: meter.Mining, KW: 210, At: now.Add(-time.Second)},
		"hall-2": {Meter: "hall-2", Measures: meter.Mining, KW: 190.5, At: now.Add(-2 * time.Second)},
		"hall-3": {Meter: "hall-3", Measures: meter.Mining, KW: 99, At: now.Add(-time.Minute)}, // stale
		"gpus":   {Meter: "gpus", Measures: meter.AI, KW: 812.5, At: now},
		"site":   {Meter: "site", Measures: meter.Site, Err: "connect 10.0.0.5:502: connection refused", At: now},
	}}
	specs := []meter.Spec{{Name: "hall-1", StaleAfter: 10 * time.Second}, {Name: "hall-2", StaleAfter: 10 * time.Second},
		{Name: "hall-3", StaleAfter: 10 * time.Second}, {Name: "gpus", StaleAfter: 10 * time.Second}}
	sm := sampleOf(&st, specs, now)
	if sm.MiningMeterKW == nil || *sm.MiningMeterKW != 400.5 || len(sm.Meters) != 3 || sm.Meters["gpus"] != 812.5 {
		t.Fatalf("sample: mining meters %v, meters %v; want 400.5 (hall-1 + hall-2), hall-1, hall-2 and gpus", sm.MiningMeterKW, sm.Meters)
	}
	if sm.LoadKW() != 400.5 || sm.MiningKW != 400 || sm.CapKW != 1500 || *sm.AIKWMeasured != 812.5 {
		t.Errorf("sample %+v: want the mining meters' 400.5 kW as its load, counted 400, cap 1500, AI 812.5", sm)
	}
	if sm := sampleOf(&Status{MiningLoadKW: 400}, nil, now); sm.MiningMeterKW != nil || sm.LoadKW() != 400 || sm.Meters != nil {
		t.Errorf("no meters: %+v; want the counted load", sm)
	}
}
