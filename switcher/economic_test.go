package switcher

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The break-even math against figures computed by hand:
// B = (H/1000 × (1 − fee)) / (J/TH × 0.024) × 1000 − other.
func TestBreakEven(t *testing.T) {
	tests := []struct {
		name                    string
		hashprice, jth, fee, oc float64
		want                    float64 // NaN: none
	}{
		{"S21 17.5 J/TH at 50", 50, 17.5, 0, 0, 119.047619},     // 0.05 / 0.42 × 1000
		{"S19j Pro 29.5 J/TH at 50", 50, 29.5, 0, 0, 70.621469}, // 0.05 / 0.708 × 1000
		{"fee 2% and 5 USD/MWh other", 50, 29.5, 2, 5, 64.209040},
		{"100 USD/PH/day, 20 J/TH", 100, 20, 0, 0, 208.333333},  // 0.1 / 0.48 × 1000
		{"S9 98 J/TH at 45", 45, 98, 0, 0, 19.132653},           // 0.045 / 2.352 × 1000
		{"other costs above revenue", 50, 98, 0, 25, -3.741497}, // 21.258503 − 25
		{"no hashprice", 0, 20, 0, 0, math.NaN()},
		{"no J/TH", 50, 0, 0, 0, math.NaN()},
		{"negative J/TH", 50, -1, 0, 0, math.NaN()},
		{"NaN hashprice", math.NaN(), 20, 0, 0, math.NaN()},
		{"infinite J/TH", 50, math.Inf(1), 0, 0, math.NaN()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := BreakEvenUSDPerMWh(tc.hashprice, tc.jth, tc.fee, tc.oc)
			switch {
			case math.IsNaN(tc.want) && !math.IsNaN(got):
				t.Errorf("%s: got %v, want NaN", tc.name, got)
			case !math.IsNaN(tc.want) && !(math.Abs(got-tc.want) < 1e-5):
				t.Errorf("%s: got %.6f USD/MWh, want %.6f", tc.name, got, tc.want)
			}
		})
	}
}

func TestHysteresisBand(t *testing.T) {
	tests := []struct {
		pct, abs, be         float64
		wantAbove, wantBelow float64
	}{
		{5, 0, 70.621469, 74.152542, 67.090395},
		{0, 0, 100, 100, 100},
		{0, 3, 100, 103, 97},
		{10, 2, 100, 112, 88},
		{10, 0, -20, -18, -22}, // the band is around |B|
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("pct=%v,abs=%v", tc.pct, tc.abs), func(t *testing.T) {
			e := &EconomicPolicy{HysteresisPct: tc.pct, HysteresisUSDPerMWh: tc.abs}
			above, below := hysteresisBand(e, tc.be)
			if math.Abs(above-tc.wantAbove) > 1e-5 || math.Abs(below-tc.wantBelow) > 1e-5 {
				t.Errorf("band(%v%% + %v, B %v) = (%.6f, %.6f), want (%.6f, %.6f)", tc.pct, tc.abs, tc.be, above, below, tc.wantAbove, tc.wantBelow)
			}
		})
	}
}

// The planner's step: rigs of an uneconomic group are curtailed (mining),
// parked (pending) or kept parked (parked, deferred), whatever the budget;
// pins win; the other groups are planned as before.
func TestPlanUneconomic(t *testing.T) {
	eff, old := grp("eff", 10, 17.5, 10, 1), grp("old", 10, 29.5, 10, 1)
	p := pol(1000)
	const why = ReasonUneconomic + "price 90.00 USD/MWh above break-even 70.62 USD/MWh"
	pinned := mining("old-pinned", old)
	pinned.Pin = PinOn
	pinnedOff := parked("old-off", old)
	pinnedOff.Pin = PinOff
	in := Input{Policy: p, Rigs: []Rig{
		mining("eff-1", eff), parked("eff-2", eff), pending("eff-3", eff),
		mining("old-1", old), mining("old-2", old), parked("old-3", old), pending("old-4", old),
		pinned, pinnedOff,
	}, Uneconomic: map[string]string{"old": why}}
	plan := MakePlan(in, t0)
	if got, want := names(plan.Curtail), []string{"old-2", "old-1"}; !slices.Equal(got, want) {
		t.Errorf("curtail: got %v, want %v (tail first)", got, want)
	}
	for _, acts := range [][]Action{plan.Curtail, plan.Park} {
		for _, a := range acts {
			if a.Reason != why {
				t.Errorf("%s: reason %q, want %q", a.Name, a.Reason, why)
			}
		}
	}
	if got, want := names(plan.Park), []string{"old-4"}; !slices.Equal(got, want) {
		t.Errorf("park: got %v, want %v", got, want)
	}
	if got, want := names(plan.Resume), []string{"eff-2", "eff-3"}; !slices.Equal(got, want) {
		t.Errorf("resume: got %v, want %v (the other group plans as before)", got, want)
	}
	def := reasons(plan.Deferred)
	if def["old-3"] != why {
		t.Errorf("old-3 deferred with %q, want %q", def["old-3"], why)
	}
	if def["old-off"] != ReasonPinnedOff {
		t.Errorf("old-off deferred with %q, want %q (its pin's reason)", def["old-off"], ReasonPinnedOff)
	}
	for _, list := range [][]Action{plan.Curtail, plan.Park, plan.Deferred} {
		for _, a := range list {
			if a.Name == "old-pinned" {
				t.Errorf("pinned-on rig acted on: %+v; want a.Name != \"old-pinned\"", a)
			}
		}
	}
	// Without the field, the same input plans as before: nothing curtailed.
	in.Uneconomic = nil
	if plan := MakePlan(in, t0); len(plan.Curtail) != 0 || len(plan.Resume) != 4 {
		t.Errorf("without Uneconomic: curtail %v, resume %v; want none and 4", names(plan.Curtail), names(plan.Resume))
	}
}

// The default group is named DefaultGroupName in Input.Uneconomic.
func TestPlanUneconomicDefaultGroup(t *testing.T) {
	p := pol(1000)
	in := Input{Policy: p, Rigs: []Rig{mining("x-1", nil), mining("x-2", nil)},
		Uneconomic: map[string]string{DefaultGroupName: ReasonUneconomic + "test"}}
	if got := names(MakePlan(in, t0).Curtail); !slices.Equal(got, []string{"x-2", "x-1"}) {
		t.Errorf("curtail: got %v, want [x-2 x-1]", got)
	}
}

// An offline rig known as mining in an uneconomic group keeps no room: a
// parked rig of another group takes it.
func TestPlanUneconomicKnownOffline(t *testing.T) {
	a, b := grp("a", 20, 20, 10, 0), grp("b", 10, 30, 10, 0)
	p := pol(10)
	known := Rig{Name: "a-1", Group: a, State: RigOffline, KnownMining: true}
	in := Input{Policy: p, Rigs: []Rig{known, parked("b-1", b)}}
	if got := names(MakePlan(in, t0).Resume); len(got) != 0 {
		t.Fatalf("without Uneconomic: resumed %v, want none (a-1's room is kept)", got)
	}
	in.Uneconomic = map[string]string{"a": ReasonUneconomic + "test"}
	if got := names(MakePlan(in, t0).Resume); !slices.Equal(got, []string{"b-1"}) {
		t.Errorf("with a uneconomic: resumed %v, want [b-1]", got)
	}
}

const economicPolicy = `
site_capacity_kw = 100.0
ramp_up_kw_per_min = 1000.0
min_off = "0s"
min_on = "0s"

[[group]]
name = "eff"
workers = ["eff-*"]
rig_kw = 10.0
idle_kw = 1.0
efficiency_j_th = 17.5
priority = 10
actuator = "stratum"
pools_bound = true

[[group]]
name = "old"
workers = ["old-*"]
rig_kw = 10.0
idle_kw = 1.0
efficiency_j_th = 29.5
priority = 10
actuator = "stratum"
pools_bound = true

[[group]]
name = "hosted"
workers = ["hosted-*"]
rig_kw = 10.0
idle_kw = 1.0
efficiency_j_th = 98.0
actuator = "stratum"
pools_bound = true
economic = false

[default]
economic = false

[economic]
enabled = true
hashprice_usd_per_ph_day = 50.0
hysteresis_pct = 5.0
min_hold = "10m"
price_stale_after = "30m"
`

func newEconomicSwitcher(t *testing.T, clk *fakeClock, rec *recorder) *Switcher {
	t.Helper()
	dir := t.TempDir()
	pol, err := ParsePolicy(filepath.Join(dir, "policy.toml"), []byte(economicPolicy))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{StatePath: filepath.Join(dir, "state.json"), AuditPath: filepath.Join(dir, "audit.jsonl"),
		Now: clk.Now}, pol, rec, rec)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func eventsOf(t *testing.T, s *Switcher, kind string) []Event {
	t.Helper()
	evs, err := s.QueryEvents(0, 0, EventFilter{Kinds: []string{kind}})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func (r *recorder) taken() (parks, resumes []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	parks, resumes = r.parks, r.resume
	r.parks, r.resume = nil, nil
	return parks, resumes
}

// A real switcher: a price above one group's break-even (plus hysteresis)
// curtails that group and only it, with the reason in the plan; a price
// back below break-even minus hysteresis resumes it once min_hold has
// passed; a stale price releases it at once.
func TestSwitcherEconomic(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	rec := &recorder{last: map[string]time.Time{}}
	s := newEconomicSwitcher(t, clk, rec)
	defer s.Close()
	all := []string{"eff-1", "eff-2", "hosted-1", "old-1", "old-2"}
	for _, n := range all {
		s.RigConnected(n, "10.0.0.1:1")
	}
	s.step()
	if _, res := rec.taken(); len(res) != len(all) {
		t.Fatalf("admitted %v, want all %d (no price yet)", res, len(all))
	}
	if st := s.Status(); st.PriceUSDPerMWh != nil || len(st.EconomicGroups) != 0 {
		t.Fatalf("before a price: status price %v groups %v, want none", st.PriceUSDPerMWh, st.EconomicGroups)
	}

	// 90 USD/MWh: old (B 70.62, curtailed above 74.15) goes; eff (B
	// 119.05) and hosted (exempt; B 21.26) stay.
	clk.Advance(time.Second)
	s.SetPrice(PriceReading{USDPerMWh: 90, Source: "test"})
	s.step()
	parks, _ := rec.taken()
	if want := []string{"old-2", "old-1"}; !slices.Equal(parks, want) {
		t.Fatalf("parked %v, want %v", parks, want)
	}
	const why = ReasonUneconomic + "price 90.00 USD/MWh above break-even 70.62 USD/MWh"
	for _, a := range s.last.Curtail {
		if a.Reason != why {
			t.Errorf("%s curtailed with %q, want %q", a.Name, a.Reason, why)
		}
	}
	st := s.Status()
	if st.PriceUSDPerMWh == nil || *st.PriceUSDPerMWh != 90 || !slices.Equal(st.EconomicGroups, []string{"old"}) {
		t.Errorf("status: price %v groups %v, want 90 and [old]", st.PriceUSDPerMWh, st.EconomicGroups)
	}
	curt := eventsOf(t, s, EventEconomicCurtail)
	if len(curt) != 1 || curt[0].Fields["group"] != "old" || curt[0].Fields["breakeven_usd_per_mwh"] != 70.62 || curt[0].Fields["price_usd_per_mwh"] != 90.0 {
		t.Fatalf("economic_curtail events: got %+v, want one for old at 90 vs 70.62", curt)
	}

	// The same price again, and one inside the band: no new event.
	clk.Advance(time.Minute)
	s.SetPrice(PriceReading{USDPerMWh: 90, Source: "test"})
	s.SetPrice(PriceReading{USDPerMWh: 70, Source: "test"})
	s.step()
	if d, want := reasons(s.last.Deferred)["old-2"], ReasonUneconomic+"price 70.00 USD/MWh within the hysteresis band of break-even 70.62 USD/MWh (released below 67.09)"; d != want {
		t.Errorf("old-2 deferred at 70 with %q, want %q", d, want)
	}
	// Below the band (67.09) but within min_hold: still curtailed.
	clk.Advance(time.Minute)
	s.SetPrice(PriceReading{USDPerMWh: 60, Source: "test"})
	s.step()
	if parks, res := rec.taken(); len(parks)+len(res) != 0 {
		t.Fatalf("within the band and the hold: parked %v resumed %v, want nothing", parks, res)
	}
	if n := len(eventsOf(t, s, EventEconomicCurtail)) + len(eventsOf(t, s, EventEconomicRelease)); n != 1 {
		t.Errorf("economic events after the hold's prices: %d, want still 1", n)
	}
	if d := reasons(s.last.Deferred); !strings.HasPrefix(d["old-1"], ReasonUneconomic) || !strings.Contains(d["old-1"], "min_hold") {
		t.Errorf("old-1 deferred with %q, want %q…min_hold…", d["old-1"], ReasonUneconomic)
	}

	// min_hold (10m) passed since the curtail: released, resumed.
	clk.Advance(8 * time.Minute)
	s.step()
	_, res := rec.taken()
	if slices.Sort(res); !slices.Equal(res, []string{"old-1", "old-2"}) {
		t.Fatalf("after the hold at 60: resumed %v, want [old-1 old-2]", res)
	}
	rel := eventsOf(t, s, EventEconomicRelease)
	if len(rel) != 1 || rel[0].Fields["group"] != "old" || !strings.Contains(rel[0].Reason, "below break-even 70.62") {
		t.Fatalf("economic_release events: got %+v, want one for old, below break-even", rel)
	}
	if st := s.Status(); len(st.EconomicGroups) != 0 {
		t.Errorf("status groups after release: %v, want none", st.EconomicGroups)
	}

	// Curtailed again (hold passed), then the price goes stale: released
	// at once, hold or not, and said in the status and the audit log.
	clk.Advance(10 * time.Minute)
	s.SetPrice(PriceReading{USDPerMWh: 200, Source: "test"})
	s.step()
	if parks, _ := rec.taken(); len(parks) != 4 {
		t.Fatalf("at 200 USD/MWh parked %v, want eff and old (4 rigs; hosted exempt)", parks)
	}
	clk.Advance(31 * time.Minute)
	s.step()
	if _, res := rec.taken(); len(res) != 4 {
		t.Fatalf("stale price: resumed %v, want the 4 rigs", res)
	}
	stale := eventsOf(t, s, EventPriceStale)
	if len(stale) != 1 || !strings.Contains(stale[0].Reason, "stale") {
		t.Errorf("price_stale events: got %+v, want one", stale)
	}
	if rel := eventsOf(t, s, EventEconomicRelease); len(rel) != 3 || !strings.Contains(rel[2].Reason, "stale") {
		t.Errorf("releases: got %d (last %+v), want 3, the last for a stale price", len(rel), rel[len(rel)-1])
	}
	st = s.Status()
	ec := s.Economic()
	if st.PriceUSDPerMWh != nil || ec.Active || !ec.PriceStale || !strings.Contains(ec.Note, "stale") {
		t.Errorf("stale: status price %v, economic active %v stale %v note %q; want nil, false, true, a note on staleness",
			st.PriceUSDPerMWh, ec.Active, ec.PriceStale, ec.Note)
	}
	// A fresh price again: price_fresh; the groups released for the
	// stale price are held released for min_hold, then curtailed.
	s.SetPrice(PriceReading{USDPerMWh: 200, Source: "test"})
	if n := len(eventsOf(t, s, EventPriceFresh)); n != 1 {
		t.Errorf("price_fresh events: %d, want 1", n)
	}
	if st := s.Status(); len(st.EconomicGroups) != 0 {
		t.Errorf("fresh 200 within min_hold of the stale release: groups %v, want none", st.EconomicGroups)
	}
	clk.Advance(10 * time.Minute)
	s.SetPrice(PriceReading{USDPerMWh: 200, Source: "test"})
	if st := s.Status(); !slices.Equal(st.EconomicGroups, []string{"eff", "old"}) {
		t.Errorf("fresh 200 after min_hold: groups %v, want [eff old]", st.EconomicGroups)
	}
}

// A failed read or a non-finite price keeps the last good price; an
// older reading is ignored; a read hashprice wins over the policy's.
func TestSwitcherPriceInputs(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	rec := &recorder{last: map[string]time.Time{}}
	s := newEconomicSwitcher(t, clk, rec)
	defer s.Close()
	s.SetPrice(PriceReading{USDPerMWh: 50, Source: "a"})
	s.SetPrice(PriceReading{Err: "connection refused", Source: "a"})
	s.SetPrice(PriceReading{USDPerMWh: math.NaN(), Source: "a"})
	s.SetPrice(PriceReading{USDPerMWh: 80, At: clk.Now().Add(-time.Hour), Source: "a"})
	ec := s.Economic()
	if ec.PriceUSDPerMWh == nil || *ec.PriceUSDPerMWh != 50 || !strings.Contains(ec.PriceError, "not a finite number") {
		t.Errorf("price %v error %q, want 50 and the NaN's error", ec.PriceUSDPerMWh, ec.PriceError)
	}
	if ec.HashpriceSource != "policy" || *ec.HashpriceUSDPerPHDay != 50 {
		t.Errorf("hashprice %v from %q, want 50 from policy", *ec.HashpriceUSDPerPHDay, ec.HashpriceSource)
	}
	s.SetHashprice(HashpriceReading{USDPerPHDay: 100, Source: "http://hp"})
	ec = s.Economic()
	var old *EconomicGroup
	for i := range ec.Groups {
		if ec.Groups[i].Name == "old" {
			old = &ec.Groups[i]
		}
	}
	if ec.HashpriceSource != "http://hp" || old == nil || old.BreakEvenUSDPerMWh == nil || *old.BreakEvenUSDPerMWh != 141.24 {
		t.Errorf("read hashprice: source %q, old group %+v; want http://hp and break-even 141.24", ec.HashpriceSource, old)
	}
	s.SetHashprice(HashpriceReading{USDPerPHDay: -3, Source: "http://hp"})
	if ec := s.Economic(); ec.HashpriceError == "" || *ec.HashpriceUSDPerPHDay != 100 {
		t.Errorf("bad hashprice: error %q, hashprice %v; want an error and 100 kept", ec.HashpriceError, *ec.HashpriceUSDPerPHDay)
	}
}

// Disabling [economic] by a policy reload releases the groups at once.
func TestSwitcherEconomicDisabled(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	rec := &recorder{last: map[string]time.Time{}}
	s := newEconomicSwitcher(t, clk, rec)
	defer s.Close()
	s.RigConnected("old-1", "10.0.0.1:1")
	s.SetPrice(PriceReading{USDPerMWh: 100, Source: "t"})
	s.step()
	if parks, res := rec.taken(); len(res) != 0 || len(parks) != 0 {
		t.Fatalf("old-1 at 100: parked %v resumed %v, want it held (pending rig parked)", parks, res)
	}
	if got := reasons(s.last.Park)["old-1"]; !strings.HasPrefix(got, ReasonUneconomic) {
		t.Fatalf("old-1 park reason %q, want %q…", got, ReasonUneconomic)
	}
	p, err := ParsePolicy("p.toml", []byte(strings.Replace(economicPolicy, "enabled = true", "enabled = false", 1)))
	if err != nil {
		t.Fatal(err)
	}
	s.SetPolicy(p, nil)
	clk.Advance(time.Second)
	s.step()
	if _, res := rec.taken(); !slices.Equal(res, []string{"old-1"}) {
		t.Errorf("after disabling: resumed %v, want [old-1]", res)
	}
	if rel := eventsOf(t, s, EventEconomicRelease); len(rel) != 1 || !strings.Contains(rel[0].Reason, "not enabled") {
		t.Errorf("release events %+v, want one saying not enabled", rel)
	}
}

// BenchmarkPlanUneconomic is BenchmarkPlan with a third of the groups
// curtailed for the price: the step costs one pass over the order.
func BenchmarkPlanUneconomic(b *testing.B) {
	in := benchInput(50_000, 100)
	seen := map[string]bool{}
	for i := range in.Rigs {
		if g := in.Rigs[i].Group; g != nil && len(seen) < 33 {
			seen[g.Name] = true
		}
	}
	in.Uneconomic = map[string]string{}
	for name := range seen {
		in.Uneconomic[name] = ReasonUneconomic + "price 142.00 USD/MWh above break-even 98.10 USD/MWh"
	}
	p := MakePlan(in, t0)
	b.ReportMetric(float64(len(p.Curtail)), "curtail/op")
	b.ReportAllocs()
	for b.Loop() {
		MakePlan(in, t0)
	}
}

// The default group (a nil Group) is curtailed for the price even when
// the last rig in order is pinned on and so skipped by the step.
func TestPlanUneconomicDefaultGroupAfterAPin(t *testing.T) {
	p := pol(1000)
	pinned := mining("x-3", nil)
	pinned.Pin = PinOn
	in := Input{Policy: p, Rigs: []Rig{mining("x-1", nil), mining("x-2", nil), pinned},
		Uneconomic: map[string]string{DefaultGroupName: ReasonUneconomic + "test"}}
	if got := names(MakePlan(in, t0).Curtail); !slices.Equal(got, []string{"x-2", "x-1"}) {
		t.Errorf("curtail: got %v, want [x-2 x-1] (x-3 pinned on)", got)
	}
}
