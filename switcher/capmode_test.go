package switcher

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/switcher/meter"
)

// capPolicy is a site of 1000 kW with 20 kW reserve and 10 kW rigs
// (1 kW parked), cap keys added by the test.
func capTestPolicy(t *testing.T, dir, extra string) *Policy {
	t.Helper()
	src := `
site_capacity_kw = 1000.0
reserve_kw = 20.0
ramp_up_kw_per_min = 100000.0
min_off = "0s"
min_on = "0s"
` + extra + `
[[group]]
name = "a"
workers = ["a-*"]
rig_kw = 10.0
idle_kw = 1.0
efficiency_j_th = 20.0
actuator = "stratum"
pools_bound = true
`
	pol, err := ParsePolicy(filepath.Join(dir, "policy.toml"), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return pol
}

func newCapSwitcher(t *testing.T, dir string, clk *fakeClock, pol *Policy, meters ...meter.Spec) (*Switcher, *recorder) {
	t.Helper()
	rec := &recorder{last: map[string]time.Time{}}
	s, err := New(Config{StatePath: filepath.Join(dir, "state.json"), AuditPath: filepath.Join(dir, "audit.jsonl"),
		Now: clk.Now, Meters: meters}, pol, rec, rec)
	if err != nil {
		t.Fatal(err)
	}
	return s, rec
}

func connectRigs(s *Switcher, n int) {
	for i := range n {
		s.RigConnected(fmt.Sprintf("a-%03d", i), "10.0.0.1:1")
	}
}

// The planner's budget is the tightest of the allocation's and the
// limits', and the plan names the rule that bound it.
func TestPlanBudgetLimits(t *testing.T) {
	pol := &Policy{SiteCapacityKW: 1000, ReserveKW: 20, RampUpKWPerMin: 1e6, Default: Group{Name: "default", RigKW: 10, IdleKW: 1}}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	alloc := []Allocation{{AIKW: 300, Reason: "x", At: now}}
	for _, c := range []struct {
		name      string
		allocs    []Allocation
		limits    []BudgetLimit
		budget    float64
		rule      string
		capKW     float64
		curtailed int
	}{
		{"no limit", nil, nil, 980, BudgetRuleAllocation, 0, 0},
		{"allocation", alloc, nil, 680, BudgetRuleAllocation, 0, 0},
		{"cap tighter", alloc, []BudgetLimit{{Rule: BudgetRuleCap, KW: 455.5, CapKW: 900}}, 455.5, BudgetRuleCap, 900, 17},
		{"cap looser", alloc, []BudgetLimit{{Rule: BudgetRuleCap, KW: 700, CapKW: 1200}}, 680, BudgetRuleAllocation, 1200, 0},
		{"cap equal: allocation named", alloc, []BudgetLimit{{Rule: BudgetRuleCap, KW: 680, CapKW: 1000}}, 680, BudgetRuleAllocation, 1000, 0},
		{"cap without a figure", alloc, []BudgetLimit{{Rule: BudgetRuleCap, KW: -1, CapKW: 1000}}, 680, BudgetRuleAllocation, 1000, 0},
		{"failsafe tightest", alloc, []BudgetLimit{{Rule: BudgetRuleCap, KW: 455.5, CapKW: 900}, {Rule: BudgetRuleFailsafe, KW: 100}}, 100, BudgetRuleFailsafe, 900, 56},
		{"failsafe looser than cap", nil, []BudgetLimit{{Rule: BudgetRuleCap, KW: 50, CapKW: 900}, {Rule: BudgetRuleFailsafe, KW: 100}}, 50, BudgetRuleCap, 900, 60},
		{"failsafe at 0", nil, []BudgetLimit{{Rule: BudgetRuleFailsafe, KW: 0}}, 0, BudgetRuleFailsafe, 0, 60},
	} {
		t.Run(c.name, func(t *testing.T) {
			rigs := make([]Rig, 60) // 600 kW mining
			for i := range rigs {
				rigs[i] = Rig{Name: fmt.Sprintf("r%02d", i), State: RigMining, Connected: true}
			}
			p := MakePlan(Input{Policy: pol, Rigs: rigs, Allocations: c.allocs, Limits: c.limits}, now)
			if p.MiningBudgetKW != c.budget || p.BudgetRule != c.rule || p.CapKW != c.capKW {
				t.Errorf("budget %v rule %q cap %v, want %v %q %v", p.MiningBudgetKW, p.BudgetRule, p.CapKW, c.budget, c.rule, c.capKW)
			}
			// 60 rigs of 10 kW, 1 kW parked: all of them parked still draw 60.
			if len(p.Curtail) != c.curtailed || (p.LoadAfterKW > p.MiningBudgetKW && c.curtailed < len(rigs)) {
				t.Errorf("curtailed %d (load after %v), want %d within %v", len(p.Curtail), p.LoadAfterKW, c.curtailed, p.MiningBudgetKW)
			}
		})
	}
}

// The non-mining load comes from the ai meters (summed), else the site
// meters minus the mining meters, else minus the plan's load.
func TestCapNonMiningSources(t *testing.T) {
	ai1 := meter.Spec{Name: "ai-1", Measures: meter.AI, StaleAfter: 5 * time.Second}
	ai2 := meter.Spec{Name: "ai-2", Measures: meter.AI, StaleAfter: 5 * time.Second}
	site := meter.Spec{Name: "site", Measures: meter.Site, StaleAfter: 5 * time.Second}
	mining := meter.Spec{Name: "halls", Measures: meter.Mining, StaleAfter: 5 * time.Second}
	type rd struct {
		name string
		kw   float64
		age  time.Duration
		err  string
	}
	for _, c := range []struct {
		name     string
		specs    []meter.Spec
		readings []rd
		nm       float64
		src      string
		ok       bool
	}{
		{"two ai meters summed", []meter.Spec{ai1, ai2}, []rd{{"ai-1", 100, 0, ""}, {"ai-2", 150, time.Second, ""}}, 250, "ai", true},
		{"one ai meter stale, no site", []meter.Spec{ai1, ai2}, []rd{{"ai-1", 100, 0, ""}, {"ai-2", 150, 6 * time.Second, ""}}, 0, "", false},
		{"ai never read", []meter.Spec{ai1}, nil, 0, "", false},
		{"failed read keeps the last good one", []meter.Spec{ai1}, []rd{{"ai-1", 120, 2 * time.Second, ""}, {"ai-1", 0, time.Second, "timeout"}}, 120, "ai", true},
		{"site minus mining meter", []meter.Spec{site, mining}, []rd{{"site", 700, 0, ""}, {"halls", 450, 0, ""}}, 250, "site", true},
		{"site minus the plan's load", []meter.Spec{site}, []rd{{"site", 700, 0, ""}}, 700 - 300, "site", true},
		{"stale ai, site instead", []meter.Spec{ai1, site}, []rd{{"ai-1", 100, 9 * time.Second, ""}, {"site", 700, 0, ""}}, 400, "site", true},
		{"below 0 is 0", []meter.Spec{site, mining}, []rd{{"site", 400, 0, ""}, {"halls", 450, 0, ""}}, 0, "site", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			s, _ := newCapSwitcher(t, dir, clk, capTestPolicy(t, dir, "site_cap_kw = 900.0\nfailsafe_after = \"1h\""), c.specs...)
			defer s.Close()
			connectRigs(s, 30) // 300 kW as planned
			s.step()
			clk.Advance(10 * time.Second)
			for _, r := range c.readings {
				s.MeterReading(meter.Reading{Meter: r.name, KW: r.kw, At: clk.Now().Add(-r.age), Err: r.err})
			}
			s.mu.Lock()
			nm, src, ok := s.nonMiningLocked(clk.Now())
			s.mu.Unlock()
			if nm != c.nm || src != c.src || ok != c.ok {
				t.Errorf("non-mining %v from %q ok %v, want %v from %q ok %v", nm, src, ok, c.nm, c.src, c.ok)
			}
		})
	}
}

// SetCap: a repeat is a no-op, the cap survives a restart, an until
// returns to the cap below it, and 0 returns to the policy's.
func TestSetCapPersistsAndReturns(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	pol := capTestPolicy(t, dir, "site_cap_kw = 900.0")
	ai := meter.Spec{Name: "ai", Measures: meter.AI, StaleAfter: time.Hour}
	s, _ := newCapSwitcher(t, dir, clk, pol, ai)
	connectRigs(s, 90)
	s.MeterReading(meter.Reading{Meter: "ai", KW: 300, At: clk.Now()})
	s.step()
	if st := s.Status(); st.CapKW != 900 || st.MiningBudgetKW != 580 || st.BudgetRule != BudgetRuleCap {
		t.Fatalf("policy cap: cap %v budget %v rule %q, want 900, 580 (900-300-20), cap", st.CapKW, st.MiningBudgetKW, st.BudgetRule)
	}
	if _, _, err := s.SetCap(CapRequest{CapKW: -1, Reason: "x"}, "desk"); err == nil {
		t.Fatal("negative cap accepted")
	}
	plan, changed, err := s.SetCap(CapRequest{CapKW: 700, Reason: "substation limit"}, "desk")
	if err != nil || !changed || plan.MiningBudgetKW != 380 || plan.BudgetRule != BudgetRuleCap || plan.CapKW != 700 {
		t.Fatalf("SetCap 700: changed %v err %v budget %v rule %q cap %v, want true nil 380 cap 700", changed, err, plan.MiningBudgetKW, plan.BudgetRule, plan.CapKW)
	}
	// 90 rigs of 10 kW (1 kW parked): under 580, 57 mining (570 + 33);
	// under 380, 35 (350 + 55 = 405 > 380): 34 (340 + 56 = 396)... the
	// plan decides; what matters is that the load fits.
	if plan.LoadAfterKW > plan.MiningBudgetKW || len(plan.Curtail) == 0 {
		t.Fatalf("SetCap 700: load after %v curtailed %d, want some curtailed and within %v", plan.LoadAfterKW, len(plan.Curtail), plan.MiningBudgetKW)
	}
	if _, changed, err := s.SetCap(CapRequest{CapKW: 700, Reason: "substation limit"}, "desk"); err != nil || changed {
		t.Fatalf("repeat: changed %v err %v, want false nil", changed, err)
	}
	caps := eventsOf(t, s, EventCap)
	if len(caps) != 1 || caps[0].Who != "desk" || caps[0].Reason != "substation limit" || caps[0].Fields["cap_kw"] != 700.0 {
		t.Fatalf("cap events %+v, want one by desk with reason and cap_kw 700", caps)
	}
	until := clk.Now().Add(time.Hour)
	if _, _, err := s.SetCap(CapRequest{CapKW: 600, Reason: "dispatch", Until: until}, "grid"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// A restart keeps both settings; the top one is in force.
	s2, _ := newCapSwitcher(t, dir, clk, pol, ai)
	defer s2.Close()
	s2.MeterReading(meter.Reading{Meter: "ai", KW: 300, At: clk.Now()})
	s2.step()
	if st := s2.Status(); st.CapKW != 600 || st.Cap == nil || st.Cap.Who != "grid" || !st.Cap.Until.Equal(until) {
		t.Fatalf("after restart: cap %v setting %+v, want 600 by grid until %v", st.CapKW, st.Cap, until)
	}
	clk.Advance(time.Hour)
	s2.step()
	if st := s2.Status(); st.CapKW != 700 || st.MiningBudgetKW != 380 {
		t.Fatalf("after until: cap %v budget %v, want 700 and 380", st.CapKW, st.MiningBudgetKW)
	}
	if _, changed, err := s2.SetCap(CapRequest{CapKW: 0, Reason: "lifted"}, "desk"); err != nil || !changed {
		t.Fatalf("cap 0: changed %v err %v", changed, err)
	}
	s2.step()
	if st := s2.Status(); st.CapKW != 900 || st.Cap != nil {
		t.Fatalf("after cap 0: cap %v setting %+v, want the policy's 900 and no setting", st.CapKW, st.Cap)
	}
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := loadState(filepath.Join(dir, "state.json"))
	if err != nil || len(st.Caps) != 0 {
		t.Fatalf("state caps %+v err %v, want none after cap 0 (%s)", st.Caps, err, b)
	}
}

// A cap that cannot be saved is applied and answered as not persisted.
func TestSetCapNotPersisted(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s, _ := newCapSwitcher(t, dir, clk, capTestPolicy(t, dir, ""))
	defer s.Close()
	s.step()
	// The state path becomes a directory: every save fails.
	s.mu.Lock()
	s.cfg.StatePath = dir
	s.mu.Unlock()
	_, changed, err := s.SetCap(CapRequest{CapKW: 500, Reason: "x"}, "desk")
	var np *NotPersistedError
	if !changed || !errors.As(err, &np) {
		t.Fatalf("changed %v err %v, want applied and a NotPersistedError", changed, err)
	}
	if st := s.Status(); st.CapKW != 500 || st.StateError == "" {
		t.Fatalf("cap %v state error %q, want 500 in force and the error shown", st.CapKW, st.StateError)
	}
	s.mu.Lock()
	s.cfg.StatePath = filepath.Join(dir, "state.json")
	s.mu.Unlock()
}

// The cap keys: defaults, errors at FILE:LINE:COL with "did you mean",
// and the reload diff.
func TestCapPolicyKeys(t *testing.T) {
	base := "site_capacity_kw = 1000.0\nreserve_kw = 20.0\n"
	p, err := ParsePolicy("p.toml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if want := (CapPolicy{HoldUp: DefaultCapHoldUp, FailsafeHold: DefaultFailsafeHold}); p.Cap != want {
		t.Fatalf("defaults %+v, want %+v", p.Cap, want)
	}
	if got := p.Cap.deadBand(900); got != 4.5 {
		t.Fatalf("default dead band of a 900 kW cap %v, want 4.5 (0.5%%)", got)
	}
	for _, c := range []struct{ src, want string }{
		{"site_cpa_kw = 900.0", `p.toml:3:1: unknown key "site_cpa_kw" (did you mean "site_cap_kw"?)`},
		{"site_cap_kw = -5.0", "p.toml:3:1: site_cap_kw: must be a finite number, 0 or more, got -5"},
		{"site_cap_kw = 20.0", "p.toml:3:1: site_cap_kw: 20 is not above reserve_kw (20)"},
		{`cap_hold_up = "soon"`, "p.toml:3:1: cap_hold_up: "},
		{`failsafe_after = "-1s"`, `p.toml:3:1: failsafe_after: must not be negative, got "-1s"`},
		{`heartbeat_timeout = 30`, "p.toml:3:1: heartbeat_timeout: "},
		{"safe_budget_kw = inf", "p.toml:3:1: safe_budget_kw: must be a finite number"},
	} {
		_, err := ParsePolicy("p.toml", []byte(base+c.src+"\n"))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.src, err, c.want)
		}
	}
	q, err := ParsePolicy("p.toml", []byte(base+"site_cap_kw = 900.0\ncap_dead_band_kw = 2.0\nheartbeat_timeout = \"30s\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"site_cap_kw 0 -> 900", "cap_dead_band_kw 0.5% of the cap -> 2", "heartbeat_timeout 0s -> 30s"}
	if got := q.Diff(p); !slices.Equal(got, want) {
		t.Errorf("diff %q, want %q", got, want)
	}
}

// A policy reload that changes site_cap_kw changes the cap in force at
// the next tick, with a cap event that names no one.
func TestCapPolicyReload(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s, _ := newCapSwitcher(t, dir, clk, capTestPolicy(t, dir, ""), meter.Spec{Name: "ai", Measures: meter.AI, StaleAfter: time.Hour})
	defer s.Close()
	connectRigs(s, 90)
	s.MeterReading(meter.Reading{Meter: "ai", KW: 300, At: clk.Now()})
	s.step()
	if st := s.Status(); st.CapKW != 0 || st.BudgetRule != BudgetRuleAllocation || st.MiningBudgetKW != 980 {
		t.Fatalf("no cap: cap %v rule %q budget %v, want 0 allocation 980", st.CapKW, st.BudgetRule, st.MiningBudgetKW)
	}
	s.SetPolicy(capTestPolicy(t, dir, "site_cap_kw = 800.0"), nil)
	clk.Advance(time.Second)
	s.step()
	st := s.Status()
	if st.CapKW != 800 || st.BudgetRule != BudgetRuleCap || st.MiningBudgetKW != 480 || st.MiningLoadKW > 480 {
		t.Fatalf("after the reload: cap %v rule %q budget %v load %v, want 800 cap 480 ≤480", st.CapKW, st.BudgetRule, st.MiningBudgetKW, st.MiningLoadKW)
	}
	evs := eventsOf(t, s, EventCap)
	if len(evs) != 1 || evs[0].Who != "" || evs[0].Fields["source"] != "policy" || evs[0].Fields["cap_kw"] != 800.0 {
		t.Fatalf("cap events %+v, want one from the policy, 800 kW, no who", evs)
	}
}
