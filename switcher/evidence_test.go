package switcher

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	evidencelog "github.com/hashgate/hashgate/switcher/evidence"
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
