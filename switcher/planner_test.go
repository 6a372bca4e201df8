package switcher

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func grp(name string, prio int, jth, rigKW, idleKW float64) *Group {
	return &Group{Name: name, Priority: prio, EfficiencyJTH: jth, RigKW: rigKW, IdleKW: idleKW, Actuator: ActuatorStratum}
}

func pol(capacity float64) *Policy {
	return &Policy{
		SiteCapacityKW: capacity,
		Default:        Group{Name: DefaultGroupName, RigKW: 3, EfficiencyJTH: 30, Actuator: ActuatorStratum},
	}
}

func mining(name string, g *Group) Rig {
	return Rig{Name: name, Group: g, State: RigMining, Connected: true}
}

func parked(name string, g *Group) Rig {
	return Rig{Name: name, Group: g, State: RigParked, Connected: true}
}

func pending(name string, g *Group) Rig {
	return Rig{Name: name, Group: g, State: RigPending, Connected: true}
}

func since(r Rig, t time.Time) Rig { r.Since = t; return r }

func ai(kw float64) []Allocation { return []Allocation{{AIKW: kw, Reason: "test"}} }

func names(as []Action) []string {
	if len(as) == 0 {
		return nil
	}
	return Names(as)
}

func reasons(as []Action) map[string]string {
	m := map[string]string{}
	for _, a := range as {
		m[a.Name] = a.Reason
	}
	return m
}

// apply does what the caller does with a plan: rigs change state at now
// (curtailed rigs reconnect at once and are held), the ramp window and the
// allocation stack are persisted.
func apply(in Input, p Plan) Input {
	out := in
	out.Rigs = slices.Clone(in.Rigs)
	for _, a := range p.Curtail {
		r := &out.Rigs[a.Rig]
		acted(r)
		r.State, r.Since = RigParked, p.At
	}
	for _, a := range p.Park {
		r := &out.Rigs[a.Rig]
		r.State, r.Since = RigParked, p.At
	}
	for _, a := range p.Resume {
		r := &out.Rigs[a.Rig]
		acted(r)
		r.State, r.Since, r.KnownMining = RigMining, p.At, false
	}
	out.Ramp = p.Ramp
	out.Allocations = p.Allocations
	return out
}

// acted does what the switcher does with a rig's device evidence when it
// acts on it (before its state changes): readings from before the command
// no longer count, and the draw measured while it mined stays its mining
// draw.
func acted(r *Rig) {
	if r.HasMeasured && (r.DeviceHashing || (r.State == RigMining && !r.WontWake)) {
		r.ReportedKW = r.MeasuredKW
	}
	r.HasMeasured, r.MeasuredKW, r.DeviceHashing, r.WontWake = false, 0, false, false
}

func mustNoActions(t *testing.T, p Plan) {
	t.Helper()
	if p.Actions() != 0 {
		t.Fatalf("want no actions, got curtail %v resume %v park %v", names(p.Curtail), names(p.Resume), names(p.Park))
	}
}

func TestPlanOrder(t *testing.T) {
	hi := grp("hi", 10, 30, 1, 0)
	hiEff := grp("hi-eff", 10, 20, 1, 0)
	lo := grp("lo", 0, 15, 1, 0) // best J/TH, lowest priority
	neg := grp("neg", -5, 10, 1, 0)
	rigs := []Rig{
		mining("lo-a", lo), mining("hi-z", hi), mining("neg-a", neg), mining("hi-a", hi),
		mining("hiEff-b", hiEff), mining("dflt", nil), mining("hiEff-a", hiEff),
	}
	in := Input{Policy: pol(0), Rigs: slices.Clone(rigs), Allocations: ai(0)}
	// Budget 0: everything is curtailed, tail first.
	p := MakePlan(in, t0)
	want := []string{"hiEff-a", "hiEff-b", "hi-a", "hi-z", "lo-a", "dflt", "neg-a"} // default: priority 0, 30 J/TH
	got := names(p.Curtail)
	slices.Reverse(got)
	if !slices.Equal(got, want) {
		t.Fatalf("curtail order reversed = %v, want %v", got, want)
	}
	// Order with the default group resolved sorts the same way.
	sorted := slices.Clone(rigs)
	for i := range sorted {
		if sorted[i].Group == nil {
			sorted[i].Group = &in.Policy.Default
		}
	}
	Order(sorted)
	var sortedNames []string
	for _, r := range sorted {
		sortedNames = append(sortedNames, r.Name)
	}
	if !slices.Equal(sortedNames, want) {
		t.Fatalf("Order = %v, want %v", sortedNames, want)
	}
	// Ties: the same name keeps its input order (duplicate connections).
	dup := []Rig{mining("x", hi), mining("x", hi), mining("x", hi)}
	dup[0].ReportedKW, dup[1].ReportedKW, dup[2].ReportedKW = 1, 2, 3
	Order(dup)
	if dup[0].ReportedKW != 1 || dup[1].ReportedKW != 2 || dup[2].ReportedKW != 3 {
		t.Fatalf("Order is not stable on equal keys: %+v; want dup[0].ReportedKW == 1, dup[1].ReportedKW == 2, dup[2].ReportedKW == 3", dup)
	}
	p = MakePlan(Input{Policy: pol(0), Rigs: dup, Allocations: ai(0)}, t0)
	if len(p.Curtail) != 3 || p.Curtail[0].Rig != 2 || p.Curtail[2].Rig != 0 {
		t.Fatalf("duplicate names: curtail %+v, want indexes 2,1,0", p.Curtail)
	}
	if CompareRigs(&rigs[1], &rigs[3]) <= 0 { // hi-z after hi-a
		t.Fatalf("CompareRigs(%s, %s) = %d, want > 0 (the name breaks the tie)", rigs[1].Name, rigs[3].Name, CompareRigs(&rigs[1], &rigs[3]))
	}
}

// TestPlanOrderRandom: the planner's internal sort keys agree with
// CompareRigs, including names that share long prefixes, differ only past
// 16 bytes, are prefixes of each other, repeat, or hold bytes ≥ 0x80, and
// negative priorities and zero J/TH.
func TestPlanOrderRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	parts := []string{"", "a", "b", "acct.", "acct.s19-hall-b-", "x\x00", "\xff", "é", "0", "00", "-"}
	for iter := range 500 {
		var groups []*Group
		for range 1 + rng.IntN(4) {
			jth := float64(rng.IntN(3)) * 12.5 * float64(1-2*rng.IntN(2)) // -0 too
			groups = append(groups, grp("g", rng.IntN(5)-2, jth, 1, 0))
		}
		prefix := parts[rng.IntN(len(parts))]
		var rigs []Rig
		for range rng.IntN(60) {
			name := prefix
			for range rng.IntN(6) {
				name += parts[rng.IntN(len(parts))]
			}
			rigs = append(rigs, mining(name, groups[rng.IntN(len(groups))]))
		}
		p := MakePlan(Input{Policy: pol(0), Rigs: rigs}, t0) // budget 0: all curtailed, tail first
		sorted := slices.Clone(rigs)
		for i := range sorted {
			sorted[i].ReportedKW = float64(i + 1) // tag with the input index
		}
		Order(sorted)
		if len(p.Curtail) != len(rigs) {
			t.Fatalf("iter %d: curtailed %d of %d; want len(p.Curtail) == len(rigs)", iter, len(p.Curtail), len(rigs))
		}
		for k, a := range p.Curtail {
			want := int(sorted[len(sorted)-1-k].ReportedKW) - 1
			if a.Rig != want {
				t.Fatalf("iter %d: position %d from the tail is rig %d %q, Order says %d %q (want that one)", iter, k, a.Rig, a.Name, want, rigs[want].Name)
			}
		}
	}
	for s, want := range map[RigState]string{RigOffline: "offline", RigMining: "mining", RigParked: "parked", RigPending: "pending", 9: "unknown"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q, want %q", s, s.String(), want)
		}
	}
}

func TestPlanCurtail(t *testing.T) {
	a, b, c, d := grp("a", 4, 30, 3, 0), grp("b", 3, 30, 3, 0), grp("c", 2, 30, 3, 0), grp("d", 1, 30, 3, 0)
	four := []Rig{mining("a", a), mining("b", b), mining("c", c), mining("d", d)}
	idle := func(kw float64) []Rig {
		rs := slices.Clone(four)
		for i := range rs {
			g := *rs[i].Group
			g.IdleKW = kw
			rs[i].Group = &g
		}
		return rs
	}
	big := grp("big", 2, 30, 5, 0)
	small := grp("small", 3, 30, 1, 0)
	smallTail := grp("small-tail", 1, 30, 1, 0)
	tests := []struct {
		name           string
		capacity       float64
		reserve        float64
		ai             float64
		rigs           []Rig
		curtail        []string
		load, after    float64
		budget         float64
		compliant      bool
		curtailReasons string
	}{
		{name: "under budget", capacity: 12, ai: 0, rigs: four, load: 12, after: 12, budget: 12, compliant: true},
		{name: "one rig over", capacity: 12, ai: 1, rigs: four, curtail: []string{"d"}, load: 12, after: 9, budget: 11, compliant: true},
		{name: "exactly at budget after one", capacity: 12, ai: 3, rigs: four, curtail: []string{"d"}, load: 12, after: 9, budget: 9, compliant: true},
		{name: "two from the tail", capacity: 12, ai: 4, rigs: four, curtail: []string{"d", "c"}, load: 12, after: 6, budget: 8, compliant: true},
		{name: "reserve", capacity: 12, reserve: 4, rigs: four, curtail: []string{"d", "c"}, load: 12, after: 6, budget: 8, compliant: true},
		{name: "reserve and ai", capacity: 12, reserve: 2, ai: 2, rigs: four, curtail: []string{"d", "c"}, load: 12, after: 6, budget: 8, compliant: true},
		// idle 1: curtailing saves 2, so budget 10 needs one rig and 9 needs two.
		{name: "idle: saves rig-idle", capacity: 12, ai: 2, rigs: idle(1), curtail: []string{"d"}, load: 12, after: 10, budget: 10, compliant: true},
		{name: "idle: second rig needed", capacity: 12, ai: 3, rigs: idle(1), curtail: []string{"d", "c"}, load: 12, after: 8, budget: 9, compliant: true},
		{name: "idle: all curtailed still over", capacity: 12, ai: 9, rigs: idle(1), curtail: []string{"d", "c", "b", "a"}, load: 12, after: 4, budget: 3, compliant: false},
		{name: "parked idle in load", capacity: 12, ai: 3, rigs: append(idle(1)[:3:3], parked("p", grp("p", 0, 30, 3, 1))),
			curtail: []string{"c"}, load: 10, after: 8, budget: 9, compliant: true},
		// AI above capacity: the budget is 0, not -5, and the site is not
		// compliant even with every rig off.
		{name: "negative budget", capacity: 5, ai: 10, rigs: four, curtail: []string{"d", "c", "b", "a"}, load: 12, after: 0, budget: 0, compliant: false},
		// small(1) big(5) small-tail(1), budget 5.5: the tail goes, then big must
		// go; with big gone the small tail rig fits again and keeps mining.
		{name: "unneeded tail rig kept", capacity: 5.5, rigs: []Rig{mining("s", small), mining("B", big), mining("t", smallTail)},
			curtail: []string{"B"}, load: 7, after: 2, budget: 5.5, compliant: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			po := pol(tc.capacity)
			po.ReserveKW = tc.reserve
			p := MakePlan(Input{Policy: po, Rigs: tc.rigs, Allocations: ai(tc.ai)}, t0)
			if got := names(p.Curtail); !slices.Equal(got, tc.curtail) {
				t.Errorf("curtail %v, want %v", got, tc.curtail)
			}
			if p.LoadKW != tc.load || p.LoadAfterKW != tc.after || p.MiningBudgetKW != tc.budget || p.Compliant != tc.compliant {
				t.Errorf("load %v→%v budget %v compliant %v, want %v→%v %v %v", p.LoadKW, p.LoadAfterKW, p.MiningBudgetKW, p.Compliant, tc.load, tc.after, tc.budget, tc.compliant)
			}
			for _, a := range p.Curtail {
				if a.Reason != ReasonOverBudget {
					t.Errorf("%s: reason %q; want a.Reason == ReasonOverBudget", a.Name, a.Reason)
				}
			}
			if len(p.Resume)+len(p.Park) != 0 {
				t.Errorf("unexpected resume %v park %v", names(p.Resume), names(p.Park))
			}
		})
	}
}

func TestPlanResume(t *testing.T) {
	a, b, c := grp("a", 3, 30, 3, 0.5), grp("b", 2, 30, 3, 0.5), grp("c", 1, 30, 3, 0.5)
	big := grp("big", 5, 30, 6, 0)
	tests := []struct {
		name     string
		capacity float64
		rigs     []Rig
		resume   []string
		deferred map[string]string
		after    float64
	}{
		{name: "all fit", capacity: 100, rigs: []Rig{parked("c", c), parked("a", a), parked("b", b)},
			resume: []string{"a", "b", "c"}, deferred: map[string]string{}, after: 9},
		// load 1.5 idle; room 7: a (+2.5) b (+2.5) fit, c does not (room 2).
		{name: "head while it fits", capacity: 8.5, rigs: []Rig{parked("c", c), parked("a", a), parked("b", b)},
			resume: []string{"a", "b"}, deferred: map[string]string{"c": ReasonNoFit}, after: 6.5},
		{name: "nothing fits", capacity: 4.5, rigs: []Rig{parked("c", c), parked("a", a), mining("b", b)},
			deferred: map[string]string{"a": ReasonNoFit, "c": ReasonNoFit}, after: 4},
		// big (6) heads the order but does not fit room 5; a smaller one further down does.
		{name: "smaller rig below fits", capacity: 5, rigs: []Rig{parked("big", big), parked("a", a), parked("b", b)},
			resume: []string{"a"}, deferred: map[string]string{"big": ReasonNoFit, "b": ReasonNoFit}, after: 3.5},
		{name: "disconnected parked rig is not resumed", capacity: 100,
			rigs:   []Rig{{Name: "a", Group: a, State: RigParked}, parked("b", b)},
			resume: []string{"b"}, deferred: map[string]string{}, after: 3.5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Policy: pol(tc.capacity), Rigs: tc.rigs, Allocations: ai(0)}
			p := MakePlan(in, t0)
			if got := names(p.Resume); !slices.Equal(got, tc.resume) {
				t.Errorf("resume %v, want %v", got, tc.resume)
			}
			if got := reasons(p.Deferred); !reflect.DeepEqual(got, tc.deferred) {
				t.Errorf("deferred %v, want %v", got, tc.deferred)
			}
			if p.LoadAfterKW != tc.after || len(p.Curtail) != 0 {
				t.Errorf("load after %v (want %v), curtail %v", p.LoadAfterKW, tc.after, names(p.Curtail))
			}
			for _, r := range p.Resume {
				if r.Reason != ReasonFits {
					t.Errorf("%s resumed for %q; want r.Reason == ReasonFits", r.Name, r.Reason)
				}
			}
			mustNoActions(t, MakePlan(apply(in, p), t0))
		})
	}
}

// Resuming is strictly head first: a small rig below one that waits for
// the ramp does not slip into what is left of the window.
func TestPlanRampHeadFirst(t *testing.T) {
	big := grp("big", 5, 30, 3, 0)
	small := grp("small", 1, 30, 1, 0)
	po := pol(100)
	po.RampUpKWPerMin = 4
	in := Input{Policy: po, Allocations: ai(0), Rigs: []Rig{parked("a", big), parked("b", big), parked("s", small)}}
	p := MakePlan(in, t0)
	if !slices.Equal(names(p.Resume), []string{"a"}) || reasons(p.Deferred)["b"] != ReasonRampLimit || reasons(p.Deferred)["s"] != ReasonRampLimit {
		t.Fatalf("resume %v deferred %v", names(p.Resume), p.Deferred)
	}
	in = apply(in, p)
	if p = MakePlan(in, t0.Add(time.Minute)); !slices.Equal(names(p.Resume), []string{"b", "s"}) {
		t.Fatalf("next minute: resume %v; want slices.Equal(names(p.Resume), []string{\"b\", \"s\"})", names(p.Resume))
	}
}

func TestPlanRamp(t *testing.T) {
	g := grp("g", 1, 30, 3, 0)
	var rigs []Rig
	for i := range 10 {
		rigs = append(rigs, parked(fmt.Sprintf("r%02d", i), g))
	}
	po := pol(100)
	po.RampUpKWPerMin = 7 // two 3 kW rigs a minute
	in := Input{Policy: po, Rigs: rigs, Allocations: ai(0)}

	// Successive calls on a simulated clock, every 20 s.
	type step struct {
		at      time.Duration
		resumed int
		eta     float64
	}
	want := []step{
		{0, 2, 240}, {20 * time.Second, 0, 220}, {40 * time.Second, 0, 200},
		{60 * time.Second, 2, 180}, {80 * time.Second, 0, 160}, {100 * time.Second, 0, 140},
		{120 * time.Second, 2, 120}, {180 * time.Second, 2, 60}, {200 * time.Second, 0, 40},
		{240 * time.Second, 2, 0}, {300 * time.Second, 0, 0},
	}
	var order []string
	for _, w := range want {
		now := t0.Add(w.at)
		p := MakePlan(in, now)
		if len(p.Resume) != w.resumed || p.ETASeconds != w.eta {
			t.Fatalf("t+%v: resumed %v eta %v, want %d eta %v", w.at, names(p.Resume), p.ETASeconds, w.resumed, w.eta)
		}
		for _, d := range p.Deferred {
			if d.Reason != ReasonRampLimit {
				t.Fatalf("t+%v: %s deferred for %q; want d.Reason == ReasonRampLimit", w.at, d.Name, d.Reason)
			}
		}
		if p.Ramp.ResumedKW > po.RampUpKWPerMin {
			t.Fatalf("t+%v: window holds %v kW; want p.Ramp.ResumedKW <= po.RampUpKWPerMin", w.at, p.Ramp.ResumedKW)
		}
		if w.resumed > 0 && !p.Ramp.WindowStart.Equal(now) {
			t.Fatalf("t+%v: window start %v; want !(w.resumed > 0 && !p.Ramp.WindowStart.Equal(now))", w.at, p.Ramp.WindowStart)
		}
		order = append(order, names(p.Resume)...)
		in = apply(in, p)
	}
	wantOrder := []string{"r00", "r01", "r02", "r03", "r04", "r05", "r06", "r07", "r08", "r09"}
	if !slices.Equal(order, wantOrder) {
		t.Fatalf("resume order %v; want slices.Equal(order, wantOrder)", order)
	}

	// Curtailing is not rate limited: AI takes everything at once.
	in.Allocations = ai(100)
	p := MakePlan(in, t0.Add(301*time.Second))
	if len(p.Curtail) != 10 || !p.Compliant {
		t.Fatalf("curtail %v compliant %v; want len(p.Curtail) == 10, p.Compliant", names(p.Curtail), p.Compliant)
	}

	// A rig bigger than the ramp comes back alone in an empty window.
	po2 := pol(100)
	po2.RampUpKWPerMin = 2
	in = Input{Policy: po2, Rigs: []Rig{parked("a", g), parked("b", g)}, Allocations: ai(0)}
	p = MakePlan(in, t0)
	if !slices.Equal(names(p.Resume), []string{"a"}) || p.ETASeconds != 60 {
		t.Fatalf("oversize: resume %v eta %v; want slices.Equal(names(p.Resume), []string{\"a\"}), p.ETASeconds == 60", names(p.Resume), p.ETASeconds)
	}
	in = apply(in, p)
	if p = MakePlan(in, t0.Add(59*time.Second)); len(p.Resume) != 0 {
		t.Fatalf("oversize: second rig in the same window: %v; want len(p.Resume) == 0", names(p.Resume))
	}
	if p = MakePlan(in, t0.Add(60*time.Second)); !slices.Equal(names(p.Resume), []string{"b"}) {
		t.Fatalf("oversize: next window resume %v; want slices.Equal(names(p.Resume), []string{\"b\"})", names(p.Resume))
	}

	// No limit configured: all at once.
	in = Input{Policy: pol(100), Rigs: rigs, Allocations: ai(0)}
	if p = MakePlan(in, t0); len(p.Resume) != 10 || p.ETASeconds != 0 || p.Ramp != (RampState{WindowStart: t0, ResumedKW: 30}) {
		t.Fatalf("unlimited: resume %d eta %v ramp %+v; want len(p.Resume) == 10, p.ETASeconds == 0, p.Ramp == (RampState{WindowStart: t0, ResumedKW: 30})", len(p.Resume), p.ETASeconds, p.Ramp)
	}

	// An expired window with nothing resumed is dropped.
	in = Input{Policy: po, Rigs: []Rig{mining("m", g)}, Allocations: ai(0), Ramp: RampState{WindowStart: t0, ResumedKW: 6}}
	if p = MakePlan(in, t0.Add(30*time.Second)); p.Ramp != in.Ramp {
		t.Fatalf("current window not carried: %+v; want p.Ramp == in.Ramp", p.Ramp)
	}
	if p = MakePlan(in, t0.Add(time.Minute)); p.Ramp != (RampState{}) {
		t.Fatalf("expired window kept: %+v; want p.Ramp == (RampState{})", p.Ramp)
	}
	// A window that starts after now (the clock went back) is closed.
	in = Input{Policy: po, Rigs: []Rig{parked("p", g)}, Allocations: ai(0), Ramp: RampState{WindowStart: t0.Add(time.Hour), ResumedKW: 6}}
	if p = MakePlan(in, t0); len(p.Resume) != 1 || p.Ramp != (RampState{WindowStart: t0, ResumedKW: 3}) {
		t.Fatalf("window in the future: resume %v ramp %+v; want len(p.Resume) == 1, p.Ramp == (RampState{WindowStart: t0, ResumedKW: 3})", names(p.Resume), p.Ramp)
	}
}

func TestPlanMinOff(t *testing.T) {
	hi, lo := grp("hi", 2, 30, 3, 0), grp("lo", 1, 30, 3, 0)
	po := pol(3)
	po.MinOff = 5 * time.Minute
	in := Input{Policy: po, Allocations: ai(0), Rigs: []Rig{
		since(parked("hi", hi), t0.Add(-time.Minute)), // in min_off until 12:04:00
		parked("lo", lo), // parked long ago
	}}
	p := MakePlan(in, t0)
	// hi keeps its room: lo, which would fit alone, does not take it.
	if len(p.Resume) != 0 {
		t.Fatalf("resume %v during min_off; want len(p.Resume) == 0", names(p.Resume))
	}
	if got := reasons(p.Deferred); got["hi"] != "min_off until 12:04:00" || got["lo"] != ReasonNoFit {
		t.Fatalf("deferred %v; want got[\"hi\"] == \"min_off until 12:04:00\", got[\"lo\"] == ReasonNoFit", got)
	}
	if p.ETASeconds != 240 {
		t.Fatalf("eta %v, want 240", p.ETASeconds)
	}
	if p = MakePlan(in, t0.Add(4*time.Minute-time.Nanosecond)); len(p.Resume) != 0 {
		t.Fatalf("resumed before min_off ended: %v; want len(p.Resume) == 0", names(p.Resume))
	}
	p = MakePlan(in, t0.Add(4*time.Minute))
	if !slices.Equal(names(p.Resume), []string{"hi"}) || p.ETASeconds != 0 {
		t.Fatalf("after min_off: resume %v eta %v; want slices.Equal(names(p.Resume), []string{\"hi\"}), p.ETASeconds == 0", names(p.Resume), p.ETASeconds)
	}
	// min_off is measured from Since; zero Since is long ago.
	in.Rigs[0].Since = time.Time{}
	if p = MakePlan(in, t0); !slices.Equal(names(p.Resume), []string{"hi"}) {
		t.Fatalf("zero Since: resume %v; want slices.Equal(names(p.Resume), []string{\"hi\"})", names(p.Resume))
	}
	// A curtailed rig then waits min_off before it comes back.
	in = Input{Policy: po, Allocations: ai(3), Rigs: []Rig{mining("hi", hi)}}
	p = MakePlan(in, t0)
	in = apply(in, p)
	in.Allocations = ai(0)
	if p = MakePlan(in, t0.Add(time.Minute)); len(p.Resume) != 0 || p.Deferred[0].Reason != "min_off until 12:05:00" {
		t.Fatalf("curtailed rig: resume %v deferred %v; want len(p.Resume) == 0, p.Deferred[0].Reason == \"min_off until 12:05:00\"", names(p.Resume), p.Deferred)
	}
}

func TestPlanMinOn(t *testing.T) {
	a, b, c, d := grp("a", 4, 30, 3, 0), grp("b", 3, 30, 3, 0), grp("c", 2, 30, 3, 0), grp("d", 1, 30, 3, 0)
	po := pol(12)
	po.MinOn = 5 * time.Minute
	rigs := func(dSince time.Time) []Rig {
		return []Rig{mining("a", a), mining("b", b), mining("c", c), since(mining("d", d), dSince)}
	}
	recent := t0.Add(-time.Minute)
	tests := []struct {
		name    string
		dSince  time.Time
		ai      float64
		curtail []string
		reasons []string
	}{
		{name: "protected tail skipped", dSince: recent, ai: 3, curtail: []string{"c"}, reasons: []string{ReasonOverBudget}},
		{name: "protected tail skipped twice", dSince: recent, ai: 6, curtail: []string{"c", "b"}, reasons: []string{ReasonOverBudget, ReasonOverBudget}},
		{name: "breach: protected curtailed last", dSince: recent, ai: 10,
			curtail: []string{"c", "b", "a", "d"}, reasons: []string{ReasonOverBudget, ReasonOverBudget, ReasonOverBudget, ReasonMinOnOverride}},
		{name: "min_on over", dSince: t0.Add(-5 * time.Minute), ai: 3, curtail: []string{"d"}, reasons: []string{ReasonOverBudget}},
		{name: "zero since", ai: 3, curtail: []string{"d"}, reasons: []string{ReasonOverBudget}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Policy: po, Rigs: rigs(tc.dSince), Allocations: ai(tc.ai)}
			p := MakePlan(in, t0)
			if got := names(p.Curtail); !slices.Equal(got, tc.curtail) {
				t.Fatalf("curtail %v, want %v", got, tc.curtail)
			}
			for i, a := range p.Curtail {
				if a.Reason != tc.reasons[i] {
					t.Errorf("%s: reason %q, want %q", a.Name, a.Reason, tc.reasons[i])
				}
			}
			if !p.Compliant {
				t.Errorf("not compliant: %v > %v; want p.Compliant", p.LoadAfterKW, p.MiningBudgetKW)
			}
			mustNoActions(t, MakePlan(apply(in, p), t0))
		})
	}
	// Two protected rigs, one must go: the tail one goes, the other is kept.
	in := Input{Policy: po, Allocations: ai(9), Rigs: []Rig{
		mining("a", a), mining("b", b), since(mining("c", c), recent), since(mining("d", d), recent)}}
	p := MakePlan(in, t0)
	if got := names(p.Curtail); !slices.Equal(got, []string{"b", "a", "d"}) {
		t.Fatalf("curtail %v, want [b a d]", got)
	}
}

func TestPlanEmergency(t *testing.T) {
	a, b, c, d := grp("a", 4, 30, 3, 0), grp("b", 3, 30, 3, 0), grp("c", 2, 30, 3, 0), grp("d", 1, 30, 3, 0)
	po := pol(12)
	po.MinOn = 5 * time.Minute
	po.RampUpKWPerMin = 100
	recent := t0.Add(-time.Minute)
	in := Input{Policy: po, Rigs: []Rig{
		mining("a", a), mining("b", b), mining("c", c), since(mining("d", d), recent), pending("new", grp("e", 0, 30, 3, 0)),
	}}
	in.Allocations = PushAllocation(nil, Allocation{AIKW: 3, Reason: "normal"}, t0)
	// Without emergency min_on protects d.
	if p := MakePlan(in, t0); !slices.Equal(names(p.Curtail), []string{"c"}) {
		t.Fatalf("normal: curtail %v; want slices.Equal(names(p.Curtail), []string{\"c\"})", names(p.Curtail))
	}
	in.Allocations = PushAllocation(in.Allocations, Allocation{AIKW: 3, Reason: "grid event", Emergency: true}, t0)
	p := MakePlan(in, t0)
	if !p.Emergency || !slices.Equal(names(p.Curtail), []string{"d"}) || p.Curtail[0].Reason != ReasonEmergency {
		t.Fatalf("emergency: curtail %+v; want p.Emergency, slices.Equal(names(p.Curtail), []string{\"d\"}), p.Curtail[0].Reason == ReasonEmergency", p.Curtail)
	}
	// The rig that connected is parked at once: no room.
	if got := names(p.Park); !slices.Equal(got, []string{"new"}) {
		t.Fatalf("emergency: park %v; want slices.Equal(got, []string{\"new\"})", got)
	}
	in = apply(in, p)

	// AI goes away but the emergency allocation stays in force: nothing
	// resumes, and a rig that connects now waits (pending) too.
	in.Rigs = append(in.Rigs, pending("newer", grp("f", 0, 40, 3, 0)))
	po.SiteCapacityKW = 20 // room for all three
	in.Allocations = PushAllocation(in.Allocations, Allocation{AIKW: 0, Reason: "grid event over", Emergency: true}, t0.Add(time.Minute))
	p = MakePlan(in, t0.Add(10*time.Minute))
	if len(p.Resume) != 0 || len(p.Park) != 0 || p.ETASeconds != 0 {
		t.Fatalf("held: resume %v park %v eta %v; want len(p.Resume) == 0, len(p.Park) == 0, p.ETASeconds == 0", names(p.Resume), names(p.Park), p.ETASeconds)
	}
	if got := reasons(p.Deferred); got["d"] != ReasonEmergencyHold || got["new"] != ReasonEmergencyHold || got["newer"] != ReasonEmergencyHold {
		t.Fatalf("held: deferred %v; want got[\"d\"] == ReasonEmergencyHold, got[\"new\"] == ReasonEmergencyHold, got[\"newer\"] == ReasonEmergencyHold", got)
	}
	// The next non-emergency allocation releases the hold.
	in.Allocations = PushAllocation(in.Allocations, Allocation{AIKW: 0, Reason: "back to normal"}, t0.Add(11*time.Minute))
	p = MakePlan(in, t0.Add(11*time.Minute))
	if p.Emergency || !slices.Equal(names(p.Resume), []string{"d", "new", "newer"}) {
		t.Fatalf("released: resume %v deferred %v; want !p.Emergency, slices.Equal(names(p.Resume), []string{\"d\", \"new\", \"newer\"})", names(p.Resume), p.Deferred)
	}

	// An emergency with until gives way to the normal allocation before it,
	// and so releases the hold.
	in = Input{Policy: po, Rigs: []Rig{parked("a", a)}}
	in.Allocations = PushAllocation(nil, Allocation{AIKW: 0, Reason: "normal"}, t0)
	in.Allocations = PushAllocation(in.Allocations, Allocation{AIKW: 0, Reason: "drill", Emergency: true, Until: t0.Add(time.Hour)}, t0)
	if p = MakePlan(in, t0.Add(59*time.Minute)); len(p.Resume) != 0 {
		t.Fatalf("drill: resumed %v; want len(p.Resume) == 0", names(p.Resume))
	}
	if p = MakePlan(in, t0.Add(time.Hour)); len(p.Resume) != 1 || p.Emergency {
		t.Fatalf("drill over: resume %v; want len(p.Resume) == 1, !p.Emergency", names(p.Resume))
	}
}

func TestPlanUntil(t *testing.T) {
	g := grp("g", 1, 30, 1, 0)
	var rigs []Rig
	for i := range 10 {
		rigs = append(rigs, mining(fmt.Sprintf("r%d", i), g))
	}
	po := pol(10)
	base := Allocation{AIKW: 2, Reason: "base"}
	burst := Allocation{AIKW: 6, Reason: "training burst", Until: t0.Add(10 * time.Minute)}
	spike := Allocation{AIKW: 9, Reason: "spike", Until: t0.Add(5 * time.Minute)}
	stack := PushAllocation(nil, base, t0)
	stack = PushAllocation(stack, burst, t0)
	stack = PushAllocation(stack, spike, t0)
	if len(stack) != 3 {
		t.Fatalf("stack %v; want len(stack) == 3", stack)
	}
	tests := []struct {
		at    time.Duration
		ai    float64
		depth int
	}{
		{0, 9, 3}, {5*time.Minute - 1, 9, 3}, {5 * time.Minute, 6, 2}, {10*time.Minute - 1, 6, 2}, {10 * time.Minute, 2, 1}, {100 * time.Hour, 2, 1},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint("t+", tc.at), func(t *testing.T) {
			p := MakePlan(Input{Policy: po, Rigs: rigs, Allocations: stack}, t0.Add(tc.at))
			if p.AIKW != tc.ai || p.Allocation.AIKW != tc.ai || len(p.Allocations) != tc.depth || p.MiningBudgetKW != 10-tc.ai {
				t.Errorf("t+%v: ai %v depth %d budget %v, want ai %v depth %d", tc.at, p.AIKW, len(p.Allocations), p.MiningBudgetKW, tc.ai, tc.depth)
			}
			if len(p.Curtail) != int(tc.ai) {
				t.Errorf("t+%v: curtail %d rigs, want %v", tc.at, len(p.Curtail), tc.ai)
			}
		})
	}
	// Nothing in force: AI takes nothing.
	p := MakePlan(Input{Policy: po, Rigs: rigs, Allocations: []Allocation{burst}}, t0.Add(time.Hour))
	if p.AIKW != 0 || len(p.Allocations) != 0 || p.Allocation != (Allocation{}) || len(p.Curtail) != 0 {
		t.Fatalf("expired alone: %+v; want p.AIKW == 0, len(p.Allocations) == 0, p.Allocation == (Allocation{}), len(p.Curtail) == 0", p.Allocation)
	}

	// PushAllocation: the same request is a no-op; no until replaces the stack;
	// allocations that gave way are dropped before pushing.
	same := burst
	same.Who, same.At = "someone else", t0.Add(time.Second)
	if got := PushAllocation(stack[:2], same, t0.Add(time.Second)); len(got) != 2 || got[1].Who != "" {
		t.Fatalf("same request pushed: %+v; want len(got) == 2, got[1].Who == \"\"", got)
	}
	if got := PushAllocation(stack, Allocation{AIKW: 1}, t0); len(got) != 1 || got[0].AIKW != 1 {
		t.Fatalf("no until did not replace: %+v; want len(got) == 1, got[0].AIKW == 1", got)
	}
	later := Allocation{AIKW: 4, Until: t0.Add(2 * time.Hour)}
	got := PushAllocation(stack, later, t0.Add(6*time.Minute)) // spike gone, burst in force
	if len(got) != 3 || got[1].Reason != "training burst" || got[2].AIKW != 4 {
		t.Fatalf("push over expired: %+v; want len(got) == 3, got[1].Reason == \"training burst\", got[2].AIKW == 4", got)
	}
	if stack[2].Reason != "spike" {
		t.Fatalf("PushAllocation's input: stack[2].Reason %q, want spike (unmodified)", stack[2].Reason)
	}
}

func TestPlanPins(t *testing.T) {
	a, b, c, d := grp("a", 4, 30, 3, 0), grp("b", 3, 30, 3, 0), grp("c", 2, 30, 3, 0), grp("d", 1, 30, 3, 0)
	pin := func(r Rig, p Pin) Rig { r.Pin = p; return r }
	po := pol(12)
	po.MinOff = 5 * time.Minute
	po.MinOn = 5 * time.Minute
	tests := []struct {
		name      string
		ai        float64
		rigs      []Rig
		curtail   []string
		resume    []string
		park      []string
		deferred  map[string]string
		compliant bool
	}{
		{name: "pinned on tail kept", ai: 3,
			rigs:    []Rig{mining("a", a), mining("b", b), mining("c", c), pin(mining("d", d), PinOn)},
			curtail: []string{"c"}, deferred: map[string]string{}, compliant: true},
		{name: "pinned on breach: not compliant", ai: 10,
			rigs:    []Rig{pin(mining("a", a), PinOn), mining("b", b), mining("c", c), pin(mining("d", d), PinOn)},
			curtail: []string{"c", "b"}, deferred: map[string]string{}, compliant: false},
		{name: "pinned on parked resumed, others make room", ai: 3,
			rigs:    []Rig{mining("a", a), mining("b", b), mining("c", c), pin(parked("d", d), PinOn)},
			curtail: []string{"c"}, resume: []string{"d"}, deferred: map[string]string{}, compliant: true},
		{name: "pinned on parked waits min_off", ai: 0,
			rigs:     []Rig{mining("a", a), pin(since(parked("d", d), t0.Add(-time.Minute)), PinOn)},
			deferred: map[string]string{"d": "min_off until 12:04:00"}, compliant: true},
		{name: "pinned on pending admitted", ai: 9,
			rigs:    []Rig{mining("a", a), pin(pending("d", d), PinOn)},
			curtail: []string{"a"}, resume: []string{"d"}, deferred: map[string]string{}, compliant: true},
		{name: "pinned off mining curtailed with room and min_on", ai: 0,
			rigs:    []Rig{pin(since(mining("a", a), t0.Add(-time.Second)), PinOff), mining("b", b)},
			curtail: []string{"a"}, deferred: map[string]string{}, compliant: true},
		{name: "pinned off parked never resumed", ai: 0,
			rigs:     []Rig{pin(parked("a", a), PinOff), parked("b", b)},
			resume:   []string{"b"},
			deferred: map[string]string{"a": ReasonPinnedOff}, compliant: true},
		{name: "pinned off pending parked", ai: 0,
			rigs: []Rig{pin(pending("a", a), PinOff)},
			park: []string{"a"}, deferred: map[string]string{}, compliant: true},
		{name: "auto is no pin", ai: 3,
			rigs:    []Rig{mining("a", a), pin(mining("d", d), "auto")},
			curtail: nil, deferred: map[string]string{}, compliant: true},
		{name: "auto is no pin, over", ai: 7,
			rigs:    []Rig{mining("a", a), pin(mining("d", d), "auto")},
			curtail: []string{"d"}, deferred: map[string]string{}, compliant: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Policy: po, Rigs: tc.rigs, Allocations: ai(tc.ai)}
			p := MakePlan(in, t0)
			if got := names(p.Curtail); !slices.Equal(got, tc.curtail) {
				t.Errorf("curtail %v, want %v", got, tc.curtail)
			}
			if got := names(p.Resume); !slices.Equal(got, tc.resume) {
				t.Errorf("resume %v, want %v", got, tc.resume)
			}
			if got := names(p.Park); !slices.Equal(got, tc.park) {
				t.Errorf("park %v, want %v", got, tc.park)
			}
			if got := reasons(p.Deferred); !reflect.DeepEqual(got, tc.deferred) {
				t.Errorf("deferred %v, want %v", got, tc.deferred)
			}
			if p.Compliant != tc.compliant {
				t.Errorf("compliant %v (%v / %v); want p.Compliant == tc.compliant", p.Compliant, p.LoadAfterKW, p.MiningBudgetKW)
			}
			for _, r := range p.Curtail {
				if in.Rigs[r.Rig].Pin == PinOff && r.Reason != ReasonPinnedOff {
					t.Errorf("%s: reason %q; want !(in.Rigs[r.Rig].Pin == PinOff && r.Reason != ReasonPinnedOff)", r.Name, r.Reason)
				}
			}
			for _, r := range p.Resume {
				if in.Rigs[r.Rig].Pin == PinOn && r.Reason != ReasonPinnedOn {
					t.Errorf("%s: reason %q; want !(in.Rigs[r.Rig].Pin == PinOn && r.Reason != ReasonPinnedOn)", r.Name, r.Reason)
				}
			}
			mustNoActions(t, MakePlan(apply(in, p), t0))
		})
	}
}

func TestPlanAdmission(t *testing.T) {
	g := grp("g", 1, 30, 3, 0.25)
	hi := grp("hi", 5, 30, 3, 0.25)
	po := pol(100)
	po.RampUpKWPerMin = 3 // one rig (2.75 added) a minute
	known := func(name string, grp *Group) Rig { r := pending(name, grp); r.KnownMining = true; return r }

	// After a restart: rigs known as mining are readmitted at once, past the ramp.
	in := Input{Policy: po, Allocations: ai(0), Rigs: []Rig{
		known("k1", g), known("k2", g), known("k3", g), known("k4", g), pending("new1", g), pending("new2", g),
	}}
	p := MakePlan(in, t0)
	if got := names(p.Resume); !slices.Equal(got, []string{"k1", "k2", "k3", "k4", "new1"}) {
		t.Fatalf("restart: resume %v; want slices.Equal(got, []string{\"k1\", \"k2\", \"k3\", \"k4\", \"new1\"})", got)
	}
	for _, r := range p.Resume[:4] {
		if r.Reason != ReasonReadmitted {
			t.Fatalf("%s: %q; want r.Reason == ReasonReadmitted", r.Name, r.Reason)
		}
	}
	if p.Resume[4].Reason != ReasonAdmitted || p.Ramp.ResumedKW != 2.75 {
		t.Fatalf("new rig: %q, ramp %+v; want p.Resume[4].Reason == ReasonAdmitted, p.Ramp.ResumedKW == 2.75", p.Resume[4].Reason, p.Ramp)
	}
	// The second new rig waits its turn: it stays pending, deferred for the ramp.
	if len(p.Park) != 0 || reasons(p.Deferred)["new2"] != ReasonRampLimit || p.ETASeconds != 60 {
		t.Fatalf("restart: park %v deferred %v eta %v; want len(p.Park) == 0, reasons(p.Deferred)[\"new2\"] == ReasonRampLimit, p.ETASeconds == 60", names(p.Park), p.Deferred, p.ETASeconds)
	}
	in = apply(in, p)
	if p = MakePlan(in, t0.Add(time.Minute)); !slices.Equal(names(p.Resume), []string{"new2"}) {
		t.Fatalf("next minute: resume %v; want slices.Equal(names(p.Resume), []string{\"new2\"})", names(p.Resume))
	}

	// A rig mining when its connection closed (a pool failover asking
	// miners to reconnect, say) is readmitted as such, not "after restart".
	back := known("back", g)
	back.KnownByReconnect = true
	p = MakePlan(Input{Policy: po, Allocations: ai(0), Rigs: []Rig{known("k", g), back}}, t0)
	got := map[string]string{}
	for _, r := range p.Resume {
		got[r.Name] = r.Reason
	}
	if got["k"] != ReasonReadmitted || got["back"] != ReasonReconnected {
		t.Fatalf("readmission reasons %v, want k %q and back %q", got, ReasonReadmitted, ReasonReconnected)
	}

	// A rig that connects while the budget is used up is parked at once,
	// known as mining or not.
	po2 := pol(6)
	in = Input{Policy: po2, Allocations: ai(0), Rigs: []Rig{mining("m1", g), mining("m2", g), pending("late", g), known("k", g)}}
	p = MakePlan(in, t0)
	if got := names(p.Park); !slices.Equal(got, []string{"k", "late"}) || len(p.Resume) != 0 {
		t.Fatalf("no budget: park %v resume %v; want slices.Equal(got, []string{\"k\", \"late\"}), len(p.Resume) == 0", got, names(p.Resume))
	}
	for _, a := range p.Park {
		if a.Reason != ReasonNoFit {
			t.Fatalf("%s parked for %q; want a.Reason == ReasonNoFit", a.Name, a.Reason)
		}
	}
	in = apply(in, p)
	mustNoActions(t, MakePlan(in, t0))

	// A new rig higher in the order takes its turn before a parked rig below it.
	in = Input{Policy: pol(3.5), Allocations: ai(0), Rigs: []Rig{parked("p", g), pending("n", hi)}}
	p = MakePlan(in, t0)
	if !slices.Equal(names(p.Resume), []string{"n"}) || reasons(p.Deferred)["p"] != ReasonNoFit {
		t.Fatalf("order: resume %v deferred %v; want slices.Equal(names(p.Resume), []string{\"n\"}), reasons(p.Deferred)[\"p\"] == ReasonNoFit", names(p.Resume), p.Deferred)
	}

	// An offline rig known as mining keeps its room for its readmission.
	off := Rig{Name: "k", Group: hi, State: RigOffline, KnownMining: true}
	in = Input{Policy: pol(3.5), Allocations: ai(0), Rigs: []Rig{parked("p", g), off}}
	p = MakePlan(in, t0)
	if len(p.Resume) != 0 || reasons(p.Deferred)["p"] != ReasonNoFit || p.LoadKW != 0.25 {
		t.Fatalf("offline known: resume %v deferred %v load %v; want len(p.Resume) == 0, reasons(p.Deferred)[\"p\"] == ReasonNoFit, p.LoadKW == 0.25", names(p.Resume), p.Deferred, p.LoadKW)
	}
	in.Rigs[1].KnownMining = false // its grace is over
	if p = MakePlan(in, t0); !slices.Equal(names(p.Resume), []string{"p"}) {
		t.Fatalf("offline, grace over: resume %v; want slices.Equal(names(p.Resume), []string{\"p\"})", names(p.Resume))
	}

	// ... even when the parked rig stands above it in the order (after a
	// restart, a rig parked before it does not take a mining rig's place).
	lo := grp("lo", 0, 30, 3, 0.25)
	in = Input{Policy: pol(3.5), Allocations: ai(0), Rigs: []Rig{parked("p", hi), {Name: "k", Group: lo, State: RigOffline, KnownMining: true}}}
	if p = MakePlan(in, t0); len(p.Resume) != 0 || reasons(p.Deferred)["p"] != ReasonNoFit {
		t.Fatalf("offline known below a parked rig: resume %v deferred %v; want len(p.Resume) == 0, reasons(p.Deferred)[\"p\"] == ReasonNoFit", names(p.Resume), p.Deferred)
	}
}

func TestPlanDisconnect(t *testing.T) {
	g := grp("g", 1, 30, 3, 0.5)
	lo := grp("lo", 0, 30, 3, 0.5)
	po := pol(100)
	po.ReleaseVanishedAfter = 10 * time.Minute
	left := func(name string, away time.Duration) Rig {
		return Rig{Name: name, Group: g, State: RigParked, LeftWhileParked: true, AwaySince: t0.Add(-away)}
	}
	tests := []struct {
		name    string
		release time.Duration
		rigs    []Rig
		load    float64
		leftKW  float64
	}{
		{name: "mining rig disconnected counts 0", rigs: []Rig{mining("m", g), {Name: "x", Group: g, State: RigMining}}, load: 3},
		{name: "offline counts 0", rigs: []Rig{mining("m", g), {Name: "x", Group: g, State: RigOffline}}, load: 3},
		{name: "pending disconnected counts 0", rigs: []Rig{mining("m", g), {Name: "x", Group: g, State: RigPending}}, load: 3},
		{name: "parked reconnecting counts idle", rigs: []Rig{mining("m", g), {Name: "x", Group: g, State: RigParked}}, load: 3.5},
		{name: "left while parked counts rig_kw", release: 10 * time.Minute, rigs: []Rig{mining("m", g), left("x", 5*time.Minute)}, load: 6, leftKW: 3},
		{name: "released after release_vanished_after", release: 10 * time.Minute, rigs: []Rig{mining("m", g), left("x", 10*time.Minute)}, load: 3},
		{name: "release 0: never released", release: 0, rigs: []Rig{mining("m", g), left("x", 1000*time.Hour)}, load: 6, leftKW: 3},
		{name: "no AwaySince: never released", release: time.Minute, rigs: []Rig{mining("m", g), {Name: "x", Group: g, State: RigParked, LeftWhileParked: true}}, load: 6, leftKW: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			po := pol(100)
			po.ReleaseVanishedAfter = tc.release
			p := MakePlan(Input{Policy: po, Rigs: tc.rigs, Allocations: ai(0)}, t0)
			if p.LoadKW != tc.load || p.LeftWhileParkedKW != tc.leftKW {
				t.Fatalf("load %v left %v, want %v %v", p.LoadKW, p.LeftWhileParkedKW, tc.load, tc.leftKW)
			}
			if p.Actions() != 0 {
				t.Fatalf("acted on a disconnected rig: curtail %v resume %v park %v; want p.Actions() == 0", names(p.Curtail), names(p.Resume), names(p.Park))
			}
		})
	}
	// Effect on a plan: a vanished parked rig still counts, so another rig goes;
	// once released (or a mining rig disconnects) the room comes back.
	po.ReleaseVanishedAfter = 10 * time.Minute
	in := Input{Policy: po, Allocations: ai(93.5), Rigs: []Rig{mining("m", g), mining("tail", lo), left("x", 5*time.Minute)}}
	p := MakePlan(in, t0)
	if !slices.Equal(names(p.Curtail), []string{"tail"}) {
		t.Fatalf("vanished counted: curtail %v (load %v budget %v); want slices.Equal(names(p.Curtail), []string{\"tail\"})", names(p.Curtail), p.LoadKW, p.MiningBudgetKW)
	}
	if p = MakePlan(in, t0.Add(5*time.Minute)); len(p.Curtail) != 0 || p.LoadKW != 6 {
		t.Fatalf("vanished released: curtail %v load %v; want len(p.Curtail) == 0, p.LoadKW == 6", names(p.Curtail), p.LoadKW)
	}
	in = Input{Policy: po, Allocations: ai(93.5), Rigs: []Rig{mining("m", g), parked("p", lo), {Name: "gone", Group: g, State: RigMining}}}
	if p = MakePlan(in, t0); !slices.Equal(names(p.Resume), []string{"p"}) {
		t.Fatalf("disconnected mining rig: resume %v (load %v); want slices.Equal(names(p.Resume), []string{\"p\"})", names(p.Resume), p.LoadKW)
	}
}

// A rig held without work through Stratum counts at rig_kw in the reported
// load unless its group is pools_bound or a device readback shows it idle;
// the plan itself still counts it at idle_kw, so such rigs never make it
// curtail more, and the status explains the gap.
func TestPlanCountsUnverifiedParks(t *testing.T) {
	free := grp("free", 1, 30, 3, 0.5) // backup pools may be anything
	bound := grp("bound", 2, 30, 3, 0.5)
	bound.PoolsBound = true
	po := pol(100)
	po.ReleaseVanishedAfter = 10 * time.Minute
	verified := parked("f-verified", free)
	verified.VerifiedIdle = true
	away := Rig{Name: "f-away", Group: free, State: RigParked} // kicked, reconnecting
	left := Rig{Name: "f-left", Group: free, State: RigParked, LeftWhileParked: true, AwaySince: t0.Add(-time.Minute)}
	gone := Rig{Name: "f-gone", Group: free, State: RigParked, LeftWhileParked: true, AwaySince: t0.Add(-time.Hour)}
	failed := parked("b-failed", bound) // bound, but it kept submitting after the park
	failed.CurtailFailed = true
	rigs := []Rig{
		mining("b-mining", bound), parked("b-parked", bound), parked("f-parked", free), pending("f-pending", free),
		verified, away, left, gone, {Name: "f-offline", Group: free, State: RigOffline}, failed,
	}
	want := map[CountedAs]CountedLoad{
		CountedMining:           {1, 3},
		CountedParkedBound:      {1, 0.5},
		CountedParkedVerified:   {1, 0.5},
		CountedParkedUnverified: {3, 9}, // parked, pending and away: rig_kw
		CountedLeftWhileParked:  {1, 3},
		CountedReleased:         {1, 0},
		CountedOffline:          {1, 0},
		CountedCurtailFailed:    {1, 3},
	}
	// Budget 10: planned 3 + 0.5 × 6 + 3 = 9 fits (no room to resume a
	// 2.5 kW rig: the pending one is parked); counted 3 + 0.5 × 2 + 9 + 3
	// + 3 = 19 does not, and nothing more is curtailed for it.
	in := Input{Policy: po, Allocations: ai(90), Rigs: rigs}
	p := MakePlan(in, t0)
	if len(p.Curtail)+len(p.Resume) != 0 || !slices.Equal(names(p.Park), []string{"f-pending"}) {
		t.Fatalf("want only f-pending parked, got curtail %v resume %v park %v", names(p.Curtail), names(p.Resume), names(p.Park))
	}
	if p.LoadKW != 9 || p.LoadAfterKW != 9 || !p.Compliant {
		t.Fatalf("planned load %v / %v compliant %v, want 9, compliant", p.LoadKW, p.LoadAfterKW, p.Compliant)
	}
	if p.CountedLoadKW != 19 || p.CountedLoadAfterKW != 19 || p.CountedCompliant {
		t.Fatalf("counted load %v / %v compliant %v, want 19, not compliant", p.CountedLoadKW, p.CountedLoadAfterKW, p.CountedCompliant)
	}
	for c, l := range p.Counted {
		if w := want[CountedAs(c)]; l != w {
			t.Errorf("counted as %s: %+v, want %+v", CountedAs(c), l, w)
		}
	}
	if p.ParksUnverified() != 4 || p.UnverifiedExtraKW() != 10 {
		t.Fatalf("parks unverified %d (+%v kW), want 4 (+10)", p.ParksUnverified(), p.UnverifiedExtraKW())
	}
	why := p.NotCompliantReason()
	for _, part := range []string{"4 parks unverified, 1 of them still submitting shares (curtail_failed)", "+10 kW", "load 19 kW over the budget 10 kW", "if the parks hold it is 9 kW", "pools_bound = true"} {
		if !strings.Contains(why, part) {
			t.Errorf("reason %q lacks %q; want strings.Contains(why, part)", why, part)
		}
	}
	// Each rig by CountRig, as the API shows it: the same rule.
	for _, r := range rigs {
		c, kw := CountRig(po, &r, t0)
		if l := want[c]; l.Rigs == 0 {
			t.Errorf("%s counted as %s, not in the plan's split; want l.Rigs != 0", r.Name, c)
		}
		if r.Name == "f-parked" && (c != CountedParkedUnverified || kw != 3) {
			t.Errorf("f-parked: %s %v kW, want parked_unverified 3 kW", c, kw)
		}
		if r.Name == "b-parked" && (c != CountedParkedBound || kw != 0.5) {
			t.Errorf("b-parked: %s %v kW, want parked_bound 0.5 kW", c, kw)
		}
		if r.Name == "b-failed" && (c != CountedCurtailFailed || kw != 3) {
			t.Errorf("b-failed: %s %v kW, want curtail_failed 3 kW", c, kw)
		}
	}

	// Curtailing an unbound rig lowers the planned load, not the counted
	// one (it may take its backup pool); a bound one lowers both.
	in = Input{Policy: po, Allocations: ai(94.5), Rigs: []Rig{mining("b-1", bound), mining("f-1", free)}}
	p = MakePlan(in, t0)
	if !slices.Equal(names(p.Curtail), []string{"f-1"}) || p.LoadAfterKW != 3.5 || p.CountedLoadAfterKW != 6 || !p.Compliant || p.CountedCompliant {
		t.Fatalf("unbound curtail: curtail %v planned %v counted %v compliant %v/%v", names(p.Curtail), p.LoadAfterKW, p.CountedLoadAfterKW, p.Compliant, p.CountedCompliant)
	}
	in.Allocations = ai(97) // budget 3: both go
	p = MakePlan(in, t0)
	if len(p.Curtail) != 2 || p.LoadAfterKW != 1 || p.CountedLoadAfterKW != 3.5 || p.Counted[CountedParkedBound].Rigs != 1 {
		t.Fatalf("both curtailed: %v planned %v counted %v split %+v; want len(p.Curtail) == 2, p.LoadAfterKW == 1, p.CountedLoadAfterKW == 3.5, p.Counted[CountedParkedBound].Rigs == 1", names(p.Curtail), p.LoadAfterKW, p.CountedLoadAfterKW, p.Counted)
	}
	// Over budget as planned too (a pinned-on rig): the reason says so.
	on := mining("b-on", bound)
	on.Pin = PinOn
	p = MakePlan(Input{Policy: po, Allocations: ai(98), Rigs: []Rig{on}}, t0)
	if why := p.NotCompliantReason(); p.Compliant || !strings.Contains(why, "even as planned") || strings.Contains(why, "unverified") {
		t.Fatalf("pinned on over budget: compliant %v reason %q; want !p.Compliant, strings.Contains(why, \"even as planned\"), !strings.Contains(why, \"unverified\")", p.Compliant, why)
	}
	if p = MakePlan(Input{Policy: po, Allocations: ai(0), Rigs: rigs}, t0); p.NotCompliantReason() != "" || !p.CountedCompliant {
		t.Fatalf("within budget: reason %q; want p.NotCompliantReason() == \"\", p.CountedCompliant", p.NotCompliantReason())
	}
}

func TestPlanReportedKW(t *testing.T) {
	a, b := grp("a", 2, 30, 3.25, 0.25), grp("b", 1, 30, 3.25, 0.25)
	po := pol(6)
	r := mining("b", b)
	r.ReportedKW = 2.5
	in := Input{Policy: po, Allocations: ai(0), Rigs: []Rig{mining("a", a), r}}
	p := MakePlan(in, t0)
	// 3.25 + 2.5 = 5.75 ≤ 6: compliant with the reported figure (6.5 with rig_kw).
	if p.LoadKW != 5.75 || len(p.Curtail) != 0 {
		t.Fatalf("load %v curtail %v; want p.LoadKW == 5.75, len(p.Curtail) == 0", p.LoadKW, names(p.Curtail))
	}
	in.Allocations = ai(0.5) // budget 5.5: curtail b saves 2.5 − 0.25
	p = MakePlan(in, t0)
	if !slices.Equal(names(p.Curtail), []string{"b"}) || p.LoadAfterKW != 3.5 {
		t.Fatalf("curtail %v after %v; want slices.Equal(names(p.Curtail), []string{\"b\"}), p.LoadAfterKW == 3.5", names(p.Curtail), p.LoadAfterKW)
	}
	// Resuming costs the reported draw too: room 2.5 fits b (2.25) only by its report.
	pb := parked("b", b)
	pb.ReportedKW = 2.5
	in = Input{Policy: pol(5.75), Allocations: ai(0), Rigs: []Rig{mining("a", a), pb}}
	if p = MakePlan(in, t0); !slices.Equal(names(p.Resume), []string{"b"}) || p.LoadAfterKW != 5.75 {
		t.Fatalf("resume %v after %v; want slices.Equal(names(p.Resume), []string{\"b\"}), p.LoadAfterKW == 5.75", names(p.Resume), p.LoadAfterKW)
	}
	pb.ReportedKW = 0
	in.Rigs[1] = pb
	if p = MakePlan(in, t0); len(p.Resume) != 0 {
		t.Fatalf("rig_kw: resume %v; want len(p.Resume) == 0", names(p.Resume))
	}
	// The hashrate estimate is reported, never used.
	r = mining("a", a)
	r.HashrateTHs = 100 // 100 TH/s × 30 J/TH = 3 kW
	p = MakePlan(Input{Policy: pol(0), Allocations: ai(0), Rigs: []Rig{r}}, t0)
	if p.LoadEstKW != 3 || p.LoadKW != 3.25 || len(p.Curtail) != 1 {
		t.Fatalf("estimate %v load %v curtail %v; want p.LoadEstKW == 3, p.LoadKW == 3.25, len(p.Curtail) == 1", p.LoadEstKW, p.LoadKW, names(p.Curtail))
	}
}

// randomInput builds a small random fleet and policy.
func randomInput(rng *rand.Rand, now time.Time) Input {
	var groups []*Group
	for i := range 1 + rng.IntN(4) {
		groups = append(groups, grp(fmt.Sprintf("g%d", i), rng.IntN(3), float64(20+rng.IntN(3)*5),
			float64(1+rng.IntN(6))*0.75, float64(rng.IntN(3))*0.125))
		groups[i].PoolsBound = rng.IntN(2) == 0
	}
	po := pol(float64(rng.IntN(120)))
	po.ReserveKW = float64(rng.IntN(3))
	po.RampUpKWPerMin = float64(rng.IntN(4) * 5)
	po.MinOff = time.Duration(rng.IntN(3)) * time.Minute
	po.MinOn = time.Duration(rng.IntN(3)) * time.Minute
	po.ReleaseVanishedAfter = time.Duration(rng.IntN(2)) * 5 * time.Minute
	ago := func() time.Time {
		if rng.IntN(4) == 0 {
			return time.Time{}
		}
		return now.Add(-time.Duration(rng.IntN(240)) * time.Second)
	}
	var rigs []Rig
	for i := range rng.IntN(40) {
		r := Rig{Name: fmt.Sprintf("r%02d", rng.IntN(30)+i%3), Since: ago(), Connected: rng.IntN(8) != 0}
		if rng.IntN(10) != 0 {
			r.Group = groups[rng.IntN(len(groups))]
		}
		r.State = RigState(rng.IntN(4))
		switch rng.IntN(10) {
		case 0:
			r.Pin = PinOn
		case 1:
			r.Pin = PinOff
		}
		if rng.IntN(4) == 0 {
			r.ReportedKW = float64(rng.IntN(8)) * 0.5
		}
		r.KnownMining = rng.IntN(4) == 0
		r.VerifiedIdle = rng.IntN(6) == 0
		r.CurtailFailed = r.State == RigParked && rng.IntN(6) == 0
		if r.State == RigParked && !r.Connected {
			r.LeftWhileParked = rng.IntN(2) == 0
			r.AwaySince = ago()
		}
		// The firmware side: reached by the inventory or a device,
		// measured, hashing whatever the state, not waking.
		if rng.IntN(6) == 0 {
			r.Reached = true
			r.ByDevice = rng.IntN(2) == 0
		}
		r.DeviceHashing = rng.IntN(8) == 0
		if rng.IntN(4) == 0 {
			r.HasMeasured, r.MeasuredKW = true, float64(1+rng.IntN(8))*0.5
			if held := r.State == RigParked || r.State == RigPending; held && !r.DeviceHashing {
				// Not hashing: about its idle draw (the switcher's rule,
				// with its margin).
				g := r.Group
				if g == nil {
					g = &po.Default
				}
				r.MeasuredKW = g.IdleKW * float64(rng.IntN(4)) / 2
			}
		}
		r.WontWake = r.State == RigMining && rng.IntN(8) == 0
		rigs = append(rigs, r)
	}
	in := Input{Policy: po, Rigs: rigs}
	for range rng.IntN(4) {
		a := Allocation{AIKW: float64(rng.IntN(100)), Emergency: rng.IntN(5) == 0}
		if rng.IntN(2) == 0 {
			a.Until = now.Add(time.Duration(rng.IntN(600)-120) * time.Second)
		}
		in.Allocations = append(in.Allocations, a)
	}
	if rng.IntN(2) == 0 {
		in.Ramp = RampState{WindowStart: now.Add(-time.Duration(rng.IntN(90)) * time.Second), ResumedKW: float64(rng.IntN(10))}
	}
	return in
}

func cloneInput(in Input) Input {
	out := in
	out.Rigs = slices.Clone(in.Rigs)
	out.Allocations = slices.Clone(in.Allocations)
	return out
}

// checkPlan asserts what must hold of every plan.
func checkPlan(t *testing.T, in Input, p Plan, now time.Time) {
	t.Helper()
	seen := map[int]string{}
	mark := func(list string, as []Action) {
		for _, a := range as {
			if prev, dup := seen[a.Rig]; dup {
				t.Fatalf("rig %d (%s) in %s and %s", a.Rig, a.Name, prev, list)
			}
			seen[a.Rig] = list
			if in.Rigs[a.Rig].Name != a.Name || a.Reason == "" {
				t.Fatalf("%s: bad action %+v; want in.Rigs[a.Rig].Name == a.Name, a.Reason != \"\"", list, a)
			}
		}
	}
	mark("curtail", p.Curtail)
	mark("resume", p.Resume)
	mark("park", p.Park)
	mark("deferred", p.Deferred)
	for _, a := range p.Curtail {
		r := in.Rigs[a.Rig]
		if r.State != RigMining || !(r.Connected || r.ByDevice) || r.Pin == PinOn {
			t.Fatalf("curtailed %+v; want r.State == RigMining, (r.Connected || r.ByDevice), r.Pin != PinOn", r)
		}
	}
	for _, a := range p.Resume {
		r := in.Rigs[a.Rig]
		if !(r.Connected || r.ByDevice) || (r.State != RigParked && r.State != RigPending) || r.Pin == PinOff || p.Emergency {
			t.Fatalf("resumed %+v (emergency %v); want (r.Connected || r.ByDevice), !(r.State != RigParked && r.State != RigPending), r.Pin != PinOff, !p.Emergency", r, p.Emergency)
		}
		if r.State == RigParked && in.Policy.MinOff > 0 && !r.Since.IsZero() && now.Before(r.Since.Add(in.Policy.MinOff)) {
			t.Fatalf("resumed in min_off %+v", r)
		}
	}
	for _, a := range p.Park {
		if r := in.Rigs[a.Rig]; r.State != RigPending || !(r.Connected || r.ByDevice) {
			t.Fatalf("parked %+v; want r.State == RigPending, (r.Connected || r.ByDevice)", r)
		}
	}
	if p.MiningBudgetKW < 0 {
		t.Fatalf("negative mining budget %v; want p.MiningBudgetKW >= 0", p.MiningBudgetKW)
	}
	// Compliant: mining within its budget, and the AI within the site.
	if p.Compliant != (p.LoadAfterKW <= p.MiningBudgetKW+1e-9 && p.AIKW+p.ReserveKW <= p.CapacityKW+1e-9) {
		t.Fatalf("compliant %v with %v / %v; want p.Compliant == (p.LoadAfterKW <= p.MiningBudgetKW+1e-9 && p.AIKW+p.ReserveKW <= p.CapacityKW+1e-9)", p.Compliant, p.LoadAfterKW, p.MiningBudgetKW)
	}
	if !p.Compliant {
		// Only pinned-on rigs, idle draw, vanished rigs and rigs whose
		// curtailing saves nothing (asleep already: resume_failed, or
		// measured so) may be left over budget.
		for i, r := range in.Rigs {
			saves := !(r.WontWake && !r.DeviceHashing) && !r.HasMeasured
			if r.State == RigMining && (r.Connected || r.ByDevice) && r.Pin != PinOn && seen[i] != "curtail" && saves {
				t.Fatalf("not compliant but %s keeps mining; want !(r.State == RigMining && (r.Connected || r.ByDevice) && r.Pin != PinOn && seen[i] != \"curtail\" && saves)", r.Name)
			}
		}
	}
	// Without pins, resumes never break the budget.
	pinnedOn := false
	for _, a := range p.Resume {
		pinnedOn = pinnedOn || in.Rigs[a.Rig].Pin == PinOn
	}
	if len(p.Resume) > 0 && !pinnedOn && !p.Compliant {
		t.Fatalf("plan resumes %v into a breach (compliant %v, none pinned on), want no resume while not compliant", p.Resume, p.Compliant)
	}
	// The counted load: every rig once, the planned load plus each
	// unverified park's rig_kw − idle_kw, never less than planned.
	var rigsCounted int
	var countedKW float64
	for _, l := range p.Counted {
		rigsCounted += l.Rigs
		countedKW += l.KW
	}
	if rigsCounted != len(in.Rigs) || math.Abs(countedKW-p.CountedLoadAfterKW) > 1e-6 {
		t.Fatalf("counted split %+v: %d rigs %v kW, want %d rigs %v kW", p.Counted, rigsCounted, countedKW, len(in.Rigs), p.CountedLoadAfterKW)
	}
	if p.CountedLoadAfterKW < p.LoadAfterKW-1e-9 || (p.ParksUnverified() == 0 && math.Abs(p.CountedLoadAfterKW-p.LoadAfterKW) > 1e-9) {
		t.Fatalf("counted %v, planned %v, %d unverified parks", p.CountedLoadAfterKW, p.LoadAfterKW, p.ParksUnverified())
	}
	if p.CountedCompliant != (p.CountedLoadAfterKW <= p.MiningBudgetKW+1e-9 && !p.OverAllocated()) || (p.CountedCompliant && !p.Compliant) ||
		p.CountedCompliant != (p.NotCompliantReason() == "") {
		t.Fatalf("counted compliant %v planned %v (%v, %v / %v), reason %q", p.CountedCompliant, p.Compliant, p.CountedLoadAfterKW, p.LoadAfterKW, p.MiningBudgetKW, p.NotCompliantReason())
	}
	if p.Ramp.ResumedKW > 0 && p.Ramp.WindowStart.After(now) {
		t.Fatalf("ramp window in the future %+v; want !(p.Ramp.ResumedKW > 0 && p.Ramp.WindowStart.After(now))", p.Ramp)
	}
}

func TestPlanIdempotentRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 3000 {
		now := t0.Add(time.Duration(iter) * time.Second)
		in := randomInput(rng, now)
		orig := cloneInput(in)
		p := MakePlan(in, now)
		if !reflect.DeepEqual(in, orig) {
			t.Fatalf("iter %d: MakePlan modified its input; want reflect.DeepEqual(in, orig)", iter)
		}
		if again := MakePlan(in, now); !reflect.DeepEqual(p, again) {
			t.Fatalf("iter %d: same input, different plan:\n%+v\n%+v; want reflect.DeepEqual(p, again)", iter, p, again)
		}
		checkPlan(t, in, p, now)

		// Apply, then plan again at the same instant: nothing more to do.
		next := apply(in, p)
		q := MakePlan(next, now)
		if q.Actions() != 0 {
			t.Fatalf("iter %d: replanning acts: curtail %v resume %v park %v\nfirst: %+v\ninput: %+v; want q.Actions() == 0", iter,
				q.Curtail, q.Resume, q.Park, p, in)
		}
		if q.CountedLoadKW != p.CountedLoadAfterKW || q.Counted != p.Counted || q.CountedCompliant != p.CountedCompliant {
			t.Fatalf("iter %d: after apply counted %v %+v (want %v %+v)", iter, q.CountedLoadKW, q.Counted, p.CountedLoadAfterKW, p.Counted)
		}
		if q.LoadKW != p.LoadAfterKW || q.Compliant != p.Compliant || q.Ramp != p.Ramp {
			t.Fatalf("iter %d: after apply load %v (want %v) compliant %v ramp %+v/%+v", iter, q.LoadKW, p.LoadAfterKW, q.Compliant, q.Ramp, p.Ramp)
		}

		// And over a few minutes of simulated time the plans stay sane.
		for step := range 8 {
			now = now.Add(time.Duration(1+rng.IntN(90)) * time.Second)
			if step == 4 && len(next.Allocations) > 0 {
				next.Allocations = PushAllocation(next.Allocations, Allocation{AIKW: float64(rng.IntN(100))}, now)
			}
			p := MakePlan(next, now)
			checkPlan(t, next, p, now)
			next = apply(next, p)
		}
	}
}

// TestPlanRampRandom: across successive plans the resumed load within any
// ramp window never exceeds the limit (barring a single oversized rig).
func TestPlanRampRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for iter := range 300 {
		now := t0
		in := randomInput(rng, now)
		in.Policy.RampUpKWPerMin = float64(5 + rng.IntN(10))
		in.Ramp = RampState{}
		type ev struct {
			at time.Time
			kw float64
		}
		var evs []ev
		for range 20 {
			p := MakePlan(in, now)
			for _, a := range p.Resume {
				r := in.Rigs[a.Rig]
				if r.State == RigPending && r.KnownMining { // readmitted, not ramp limited
					continue
				}
				g := r.Group
				if g == nil {
					g = &in.Policy.Default
				}
				full, from := g.RigKW, g.IdleKW
				if r.ReportedKW > 0 {
					full = r.ReportedKW
				}
				switch {
				case r.DeviceHashing && r.HasMeasured: // already drawing it
					full, from = r.MeasuredKW, r.MeasuredKW
				case r.DeviceHashing:
					from = full
				case r.HasMeasured: // resuming adds what it does not draw yet
					from = r.MeasuredKW
				}
				evs = append(evs, ev{now, full - from})
			}
			in = apply(in, p)
			now = now.Add(time.Duration(1+rng.IntN(40)) * time.Second)
		}
		// Windows open at a resume; sum each window's resumes.
		for i := 0; i < len(evs); {
			start, sum, k := evs[i].at, 0.0, 0
			for i < len(evs) && evs[i].at.Before(start.Add(time.Minute)) {
				sum += evs[i].kw
				i++
				k++
			}
			if k > 1 && sum > in.Policy.RampUpKWPerMin+1e-9 {
				t.Fatalf("iter %d: %v kW resumed in the window from %v (limit %v); want !(k > 1 && sum > in.Policy.RampUpKWPerMin+1e-9)", iter, sum, start, in.Policy.RampUpKWPerMin)
			}
		}
	}
}

func TestPlanNilPolicyPanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "policy") {
			t.Fatalf("recover %v; want r != nil, strings.Contains(fmt.Sprint(r), \"policy\")", r)
		}
	}()
	MakePlan(Input{}, t0)
}

// benchInput: 50,000 rigs in 100 groups; AI takes enough to curtail about a
// tenth of the fleet, and some parked and pending rigs wait.
func benchInput(nRigs, nGroups int) Input {
	rng := rand.New(rand.NewPCG(5, 6))
	po := pol(0)
	po.MinOn, po.MinOff = 5*time.Minute, 5*time.Minute
	po.RampUpKWPerMin = 2000
	groups := make([]*Group, nGroups)
	for i := range groups {
		model := [...]string{"s19", "s19xp", "m30s", "s21", "ks3"}[i%5]
		groups[i] = grp(fmt.Sprintf("%s-hall-%c", model, 'a'+i/5), i%10, 20+float64(i%17), 3+float64(i%5)*0.25, 0.12)
	}
	rigs := make([]Rig, nRigs)
	var load float64
	for i := range rigs {
		g := groups[rng.IntN(nGroups)]
		r := Rig{Name: fmt.Sprintf("acct.%s-%04d", g.Name, i%10000), Group: g, Connected: true}
		switch x := rng.IntN(100); {
		case x < 80:
			r.State = RigMining
			load += g.RigKW
		case x < 92:
			r.State = RigParked
		case x < 96:
			r.State = RigPending
		default:
			r.State = RigOffline
			r.Connected = false
		}
		r.Since = t0.Add(-time.Duration(rng.IntN(3600)) * time.Second)
		rigs[i] = r
	}
	po.SiteCapacityKW = load
	return Input{Policy: po, Rigs: rigs, Allocations: ai(load / 10)}
}

func BenchmarkPlan(b *testing.B) {
	in := benchInput(50_000, 100)
	p := MakePlan(in, t0)
	b.ReportMetric(float64(len(p.Curtail)), "curtail/op")
	b.ReportAllocs()
	for b.Loop() {
		MakePlan(in, t0)
	}
}

func BenchmarkPlanResume(b *testing.B) {
	in := benchInput(50_000, 100)
	in.Allocations = ai(0)
	in.Policy.SiteCapacityKW *= 1.2
	p := MakePlan(in, t0)
	b.ReportMetric(float64(len(p.Resume)), "resume/op")
	b.ReportMetric(float64(len(p.Deferred)), "deferred/op")
	b.ReportAllocs()
	for b.Loop() {
		MakePlan(in, t0)
	}
}
