package switcher

import (
	"slices"
	"time"
)

// planner is one MakePlan call in progress: the input, the rigs in plan
// order, the running load and the plan being built. Each step of the
// package comment's "One order" is one method; MakePlan calls them in turn.
// It lives on MakePlan's stack and is never kept.
type planner struct {
	rigs      []Rig
	pol       *Policy
	now       time.Time
	emergency bool
	budget    int64     // mining budget, milliwatts
	load      int64     // the load the plan is made with, as actions are taken
	ord       []planRig // plan order: head first
	plan      Plan

	// The ramp window (see the package comment's "Ramp").
	rampCap, rampUsed int64
	rampStart         time.Time
	// Once a rig waits for the ramp, rigs below it wait too, even if their
	// smaller draw would fit what is left of the window: resuming goes
	// strictly from the head of the order, and the head is never starved.
	rampBlocked bool
	rampWanted  []int64 // deltas deferred by the ramp, in order

	// min_off: the reason names the end; the latest end bounds the ETA.
	minOffEnd, minOffAt time.Time
	minOffReason        string
}

// newPlanner reads the allocation in force, the budget and the ramp
// window, then orders the rigs.
func newPlanner(in Input, now time.Time) planner {
	pol := in.Policy
	if pol == nil {
		panic("switcher: MakePlan needs a policy")
	}
	top := inForce(in.Allocations, now)
	var alloc Allocation
	if top >= 0 {
		alloc = in.Allocations[top]
	}
	pl := planner{rigs: in.Rigs, pol: pol, now: now, emergency: alloc.Emergency}
	// An allocation above what the site has leaves mining nothing, not
	// less than nothing (a negative budget would be reported as such); the
	// site is still not compliant, whatever mining does.
	pl.budget = max(planUnits(pol.SiteCapacityKW)-planUnits(pol.ReserveKW)-planUnits(alloc.AIKW), 0)
	rule, capKW := tightestLimit(&pl.budget, in.Limits)
	pl.plan = Plan{
		At:             now,
		Allocation:     alloc,
		Allocations:    in.Allocations[:top+1],
		Emergency:      alloc.Emergency,
		CapacityKW:     pol.SiteCapacityKW,
		ReserveKW:      pol.ReserveKW,
		AIKW:           alloc.AIKW,
		MiningBudgetKW: planKW(pl.budget),
		BudgetRule:     rule,
		CapKW:          capKW,
	}
	pl.order()

	pl.rampCap = planUnits(pol.RampUpKWPerMin)
	pl.rampStart, pl.rampUsed = in.Ramp.WindowStart, planUnits(in.Ramp.ResumedKW)
	if pl.rampStart.IsZero() || now.Before(pl.rampStart) || !now.Before(pl.rampStart.Add(rampWindow)) {
		pl.rampStart, pl.rampUsed = time.Time{}, 0
	}
	return pl
}

// order makes one pass over the rigs in input order (draws, flags, sort
// keys), sorts them once and records the load before the plan.
func (pl *planner) order() {
	rigs, pol := pl.rigs, pl.pol
	n := len(rigs)
	byIdx := make([]planRig, n)
	keys := make([]planKey, n)
	var load, leftKW, counted int64
	var estW float64
	common := planCommonPrefix(rigs)
	var lastGroup *Group
	var prioKey, jthKey uint64
	var idle, rigKW int64
	for i := range rigs {
		r := &rigs[i]
		g := r.Group
		if g == nil {
			g = &pol.Default
		}
		if g != lastGroup {
			lastGroup = g
			prioKey, jthKey = planPrioKey(g.Priority), planFloatKey(g.EfficiencyJTH)
			idle, rigKW = planDraw(g.IdleKW), planDraw(g.RigKW)
		}
		keys[i] = planKey{prio: prioKey, jth: jthKey, idx: int32(i),
			pre: [2]uint64{planNamePrefix(r.Name, common), planNamePrefix(r.Name, common+8)}}
		p := &byIdx[i]
		p.idx, p.state, p.idle, p.full = int32(i), r.State, idle, rigKW
		c := p.fill(r, g, pol, pl.now)
		if r.State == RigParked && p.count == CountedLeftWhileParked {
			leftKW += p.full
		}
		load += p.draw
		counted += c
		if r.HashrateTHs > 0 {
			estW += r.HashrateTHs * g.EfficiencyJTH
		}
	}
	slices.SortFunc(keys, func(a, b planKey) int { return planCompareKeys(rigs, &a, &b) })
	pl.ord = make([]planRig, n)
	for pos := range keys {
		pl.ord[pos] = byIdx[keys[pos].idx]
	}
	pl.load = load
	pl.plan.LoadKW = planKW(load)
	pl.plan.CountedLoadKW = planKW(counted)
	pl.plan.LoadEstKW = estW / 1000
	pl.plan.LeftWhileParkedKW = planKW(leftKW)
}

// fill sets p's flags, count and draw from r (p.idx, state, idle and full
// are set from the group) and returns the draw r is counted at.
func (p *planRig) fill(r *Rig, g *Group, pol *Policy, now time.Time) (counted int64) {
	if r.ReportedKW > 0 {
		p.full = planDraw(r.ReportedKW)
	}
	if r.Connected || r.ByDevice {
		p.flags |= planConnected
	}
	switch r.Pin {
	case PinOn:
		p.flags |= planPinOn
	case PinOff:
		p.flags |= planPinOff
	}
	if r.KnownMining {
		p.flags |= planKnown
	}
	p.count = countAs(r, g, pol.ReleaseVanishedAfter, now)
	if r.HasMeasured {
		p.flags |= planMeasured
		p.draw, counted = measuredDraws(p.count, planDraw(r.MeasuredKW), &p.full)
	} else {
		p.draw, counted = countedDraws(p.count, p.full, p.idle)
	}
	if p.count == CountedDeviceHashing {
		p.flags |= planHashing
	}
	switch {
	case p.count == CountedMining:
		if pol.MinOn > 0 && !r.Since.IsZero() && now.Before(r.Since.Add(pol.MinOn)) {
			p.flags |= planMinOn
		}
	case r.State == RigParked:
		if pol.MinOff > 0 && !r.Since.IsZero() && now.Before(r.Since.Add(pol.MinOff)) {
			p.flags |= planMinOff
		}
	}
	return counted
}

func (pl *planner) action(p *planRig, reason string) Action {
	return Action{Rig: int(p.idx), Name: pl.rigs[p.idx].Name, Reason: reason}
}

// rampFits says whether resuming d more fits the ramp window; once one rig
// does not, none below it does (see rampBlocked).
func (pl *planner) rampFits(d int64) bool {
	if pl.rampBlocked {
		return false
	}
	ok := pl.rampCap <= 0 || pl.rampUsed == 0 || pl.rampUsed+d <= pl.rampCap
	pl.rampBlocked = !ok
	return ok
}

// rampTake counts a resume of d in the window, opening it if none is.
func (pl *planner) rampTake(d int64) {
	if pl.rampStart.IsZero() {
		pl.rampStart = pl.now
	}
	pl.rampUsed += d
}

// minOffWait is the reason p waits for min_off; it notes the latest end.
func (pl *planner) minOffWait(p *planRig) string {
	end := pl.rigs[p.idx].Since.Add(pl.pol.MinOff)
	if end.After(pl.minOffEnd) {
		pl.minOffEnd = end
	}
	if pl.minOffReason == "" || !end.Equal(pl.minOffAt) {
		pl.minOffAt, pl.minOffReason = end, ReasonMinOff+end.Format("15:04:05")
	}
	return pl.minOffReason
}

// deferRig puts p on the deferred list with why.
func (pl *planner) deferRig(p *planRig, why string) {
	p.act = planDefer
	pl.plan.Deferred = append(pl.plan.Deferred, pl.action(p, why))
}

// resume puts p on the resume list with why and adds its delta d.
func (pl *planner) resume(p *planRig, d int64, why string) {
	p.act = planResume
	pl.load += d
	pl.plan.Resume = append(pl.plan.Resume, pl.action(p, why))
}

// waits defers p, a resume of d the plan wants, if it must wait: for an
// emergency hold, min_off or (unless it is a readmission) the ramp, checked
// in that order.
func (pl *planner) waits(p *planRig, d int64, readmit bool) bool {
	switch {
	case pl.emergency:
		pl.deferRig(p, ReasonEmergencyHold)
	case p.is(planMinOff):
		pl.deferRig(p, pl.minOffWait(p))
	case !readmit && !pl.rampFits(d):
		pl.rampWanted = append(pl.rampWanted, d)
		pl.deferRig(p, ReasonRampLimit)
	default:
		return false
	}
	return true
}

// pinnedOff is step 1: curtail mining rigs pinned off, tail first.
func (pl *planner) pinnedOff() {
	for pos := len(pl.ord) - 1; pos >= 0; pos-- {
		p := &pl.ord[pos]
		if p.is(planPinOff) && p.mining() {
			p.act = planCurtail
			pl.load -= p.draw - p.idle
			pl.plan.Curtail = append(pl.plan.Curtail, pl.action(p, ReasonPinnedOff))
		}
	}
}

// pinnedOn is step 2: resume parked and pending rigs pinned on, head
// first, budget aside; they still wait for an emergency hold, min_off and
// the ramp.
func (pl *planner) pinnedOn() {
	for pos := range pl.ord {
		p := &pl.ord[pos]
		if !p.is(planPinOn) || !p.held() {
			continue
		}
		d := p.full - p.draw
		readmit := p.state == RigPending && p.is(planKnown)
		if pl.waits(p, d, readmit) {
			continue
		}
		if !readmit {
			pl.rampTake(d)
		}
		pl.resume(p, d, ReasonPinnedOn)
	}
}

// overBudget is step 3: curtail from the tail until the load fits, rigs
// within min_on only if the others do not suffice; then keep mining any
// rig curtailed on the way that is no longer needed, head first.
func (pl *planner) overBudget() {
	if pl.load <= pl.budget {
		return
	}
	var cut []int32 // positions in ord, in curtail order
	minOnFrom := -1 // cut[minOnFrom:] came from the min_on pass
	for pass := 0; pass < 2 && pl.load > pl.budget; pass++ {
		if pass == 1 {
			minOnFrom = len(cut)
		}
		for pos := len(pl.ord) - 1; pos >= 0 && pl.load > pl.budget; pos-- {
			p := &pl.ord[pos]
			if p.act != planNone || !p.mining() || p.is(planPinOn) {
				continue
			}
			if protected := !pl.emergency && p.is(planMinOn); protected != (pass == 1) {
				continue
			}
			p.act = planCurtail
			pl.load -= p.draw - p.idle
			cut = append(cut, int32(pos))
		}
	}
	// Keep mining any rig no longer needed, min_on ones first, head first.
	for k := len(cut) - 1; k >= 0; k-- {
		p := &pl.ord[cut[k]]
		if d := p.draw - p.idle; pl.load+d <= pl.budget {
			p.act = planNone
			pl.load += d
		}
	}
	for k, pos := range cut {
		p := &pl.ord[pos]
		if p.act != planCurtail {
			continue
		}
		reason := ReasonOverBudget
		if pl.emergency {
			reason = ReasonEmergency
		} else if minOnFrom >= 0 && k >= minOnFrom {
			reason = ReasonMinOnOverride
		}
		pl.plan.Curtail = append(pl.plan.Curtail, pl.action(p, reason))
	}
}

// admit is step 4: resume and admit from the head while it fits. Rigs
// that were mining before (offline KnownMining) have their room kept
// first, head first: they had that power when the connection or the
// process went away, and no parked or new rig takes it, wherever it stands
// in the order.
func (pl *planner) admit() {
	room := pl.budget - pl.load
	for pos := range pl.ord {
		p := &pl.ord[pos]
		if p.act == planNone && !p.is(planPinOn) && p.state == RigOffline && p.is(planKnown) && p.full <= room {
			room -= p.full // kept for its readmission
		}
	}
	for pos := range pl.ord {
		p := &pl.ord[pos]
		if p.act != planNone || p.is(planPinOn) || !p.live() {
			continue
		}
		room = pl.admitRig(p, room)
	}
}

// readmitReason says why a pending rig known as mining is readmitted:
// it was mining before a restart, or when its connection closed.
func (pl *planner) readmitReason(p *planRig) string {
	if pl.rigs[p.idx].KnownByReconnect {
		return ReasonReconnected
	}
	return ReasonReadmitted
}

// admitRig decides one parked or pending rig of step 4 and returns the
// room left. The first check that applies gives the reason: pinned off,
// does not fit budget, emergency hold, min_off, ramp limit.
func (pl *planner) admitRig(p *planRig, room int64) int64 {
	pending := p.state == RigPending
	d := p.full - p.draw
	var why string
	switch {
	case p.is(planPinOff):
		why = ReasonPinnedOff
	case d > room:
		why = ReasonNoFit
	}
	if why != "" {
		if pending {
			// Held as it was: its draw does not change (a firmware rig's
			// device is put to sleep as well; its readings say when).
			p.act = planPark
			pl.plan.Park = append(pl.plan.Park, pl.action(p, why))
		} else {
			pl.deferRig(p, why)
		}
		return room
	}
	// It fits: from here on its room is taken, now or later.
	room -= d
	readmit := pending && p.is(planKnown)
	if pl.waits(p, d, readmit) {
		return room
	}
	switch {
	case readmit:
		pl.resume(p, d, pl.readmitReason(p))
	case pending:
		pl.rampTake(d)
		pl.resume(p, d, ReasonAdmitted)
	default:
		pl.rampTake(d)
		pl.resume(p, d, ReasonFits)
	}
	return room
}

// finish records the load after the plan, compliance and the ramp window
// to carry to the next plan.
func (pl *planner) finish() {
	plan := &pl.plan
	plan.LoadAfterKW = planKW(pl.load)
	plan.Compliant = pl.load <= pl.budget
	plan.countAfter(pl.ord, pl.rigs, pl.pol, pl.budget)
	if plan.OverAllocated() {
		plan.Compliant, plan.CountedCompliant = false, false
	}
	if pl.rampUsed > 0 {
		plan.Ramp = RampState{WindowStart: pl.rampStart, ResumedKW: planKW(pl.rampUsed)}
	}
}

// eta estimates when the deferred resumes are done: the later of the last
// min_off end and the ramp window that takes the last of the ramp-deferred
// load. 0 under an emergency hold (nothing is wanted then).
func (pl *planner) eta() {
	if pl.emergency {
		return
	}
	var eta time.Duration
	if !pl.minOffEnd.IsZero() {
		eta = pl.minOffEnd.Sub(pl.now)
	}
	if len(pl.rampWanted) > 0 && pl.rampCap > 0 {
		// Pack the waiting load into the windows after this one.
		t, used := pl.rampStart.Add(rampWindow), int64(0)
		for _, d := range pl.rampWanted {
			if used > 0 && used+d > pl.rampCap {
				t, used = t.Add(rampWindow), 0
			}
			used += d
		}
		eta = max(eta, t.Sub(pl.now))
	}
	pl.plan.ETASeconds = eta.Seconds()
}
