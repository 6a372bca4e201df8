package switcher

// How the load is counted for reporting and compliance, beside the load
// the plan is made with: see the power accounting in the package comment
// (doc.go). Kept apart from the planner's passes, which only call countAs
// per rig and countAfter once.

import (
	"fmt"
	"time"
)

// CountedAs is how a rig's draw is counted in the reported load.
type CountedAs uint8

// How rigs are counted. Parked includes pending (held without work at
// admission): both are connected rigs given no job.
const (
	CountedOffline          CountedAs = iota // 0 kW: not connected, not parked
	CountedMining                            // rig_kw (or the draw it reports)
	CountedParkedBound                       // idle_kw: its group has pools_bound
	CountedParkedVerified                    // idle_kw: a device readback shows it idle
	CountedParkedUnverified                  // rig_kw: nothing shows it is not hashing elsewhere
	CountedLeftWhileParked                   // rig_kw: parked, left, not back (planned so too)
	CountedReleased                          // 0 kW: left longer than release_vanished_after
	CountedCurtailFailed                     // rig_kw: parked, but it kept submitting shares
	CountedDeviceHashing                     // measured or rig_kw, planned so too: not mining as we see it, but its device hashes
	CountedResumeFailed                      // measured or idle_kw: resumed, its device did not wake
	NumCountedAs
)

var countedNames = [NumCountedAs]string{"offline", "mining", "parked_bound", "parked_verified",
	"parked_unverified", "left_while_parked", "released", "curtail_failed", "device_hashing", "resume_failed"}

func (c CountedAs) String() string {
	if c < NumCountedAs {
		return countedNames[c]
	}
	return "unknown"
}

// CountedLoad is the rigs counted one way and their counted draw.
type CountedLoad struct {
	Rigs int     `json:"rigs"`
	KW   float64 `json:"kw"`
}

// ParksUnverified is the number of rigs held without work, after the
// plan, that count at their full draw: for want of evidence the park
// holds, or because they kept submitting after it (curtail_failed).
func (p *Plan) ParksUnverified() int {
	return p.Counted[CountedParkedUnverified].Rigs + p.Counted[CountedCurtailFailed].Rigs
}

// UnverifiedExtraKW is how much more the reported load is than the
// planned one: the unverified parks at rig_kw rather than idle_kw.
func (p *Plan) UnverifiedExtraKW() float64 {
	return planKW(planUnits(p.CountedLoadAfterKW) - planUnits(p.LoadAfterKW))
}

// OverAllocated says whether the allocation in force gives the AI more than
// the site has (capacity − reserve): the mining budget is 0 and the site is
// not compliant, whatever mining does.
func (p *Plan) OverAllocated() bool {
	return planUnits(p.CapacityKW)-planUnits(p.ReserveKW)-planUnits(p.AIKW) < 0
}

// NotCompliantReason says why the reported load is over the budget ("" when
// it is not): the planned load itself (nothing left to curtail), or parks
// without evidence, which the plan does not curtail more for.
func (p *Plan) NotCompliantReason() string {
	if p.CountedCompliant {
		return ""
	}
	if p.OverAllocated() {
		return fmt.Sprintf("not compliant: the AI allocation (%s kW) and the reserve (%s kW) exceed the site's capacity (%s kW); mining has 0 kW",
			kw(p.AIKW), kw(p.ReserveKW), kw(p.CapacityKW))
	}
	n := p.ParksUnverified()
	unverified := fmt.Sprintf("%d parks unverified (counted at rig_kw, +%s kW)", n, kw(p.UnverifiedExtraKW()))
	if f := p.Counted[CountedCurtailFailed].Rigs; f > 0 {
		unverified = fmt.Sprintf("%d parks unverified, %d of them still submitting shares (curtail_failed) (counted at rig_kw, +%s kW)",
			n, f, kw(p.UnverifiedExtraKW()))
	}
	if p.Compliant {
		return fmt.Sprintf("not compliant: %s: load %s kW over the budget %s kW; if the parks hold it is %s kW. "+
			"Curtailing more would not stop a rig hashing on another pool, so the plan counts them at idle_kw. "+
			"Set pools_bound = true on groups whose rigs have only hashgate as pool (or whose network blocks others), "+
			"or verify by device readback",
			unverified, kw(p.CountedLoadAfterKW), kw(p.MiningBudgetKW), kw(p.LoadAfterKW))
	}
	why := fmt.Sprintf("not compliant: load %s kW over the budget %s kW even as planned: nothing left to curtail "+
		"(rigs pinned on, the idle_kw of parked rigs, or parked rigs that left counted at rig_kw)", kw(p.CountedLoadAfterKW), kw(p.MiningBudgetKW))
	if n > 0 {
		why += "; and " + unverified
	}
	return why
}

// countAs is how rig r, in group g, is counted now. rel is the policy's
// release_vanished_after.
func countAs(r *Rig, g *Group, rel time.Duration, now time.Time) CountedAs {
	connected := r.Connected || r.Reached
	if r.DeviceHashing && r.State != RigMining {
		return CountedDeviceHashing
	}
	switch r.State {
	case RigMining:
		switch {
		case r.DeviceHashing:
			return CountedMining
		case r.WontWake:
			return CountedResumeFailed
		case connected:
			return CountedMining
		}
	case RigParked:
		if !connected && r.LeftWhileParked {
			if rel > 0 && !r.AwaySince.IsZero() && !now.Before(r.AwaySince.Add(rel)) {
				return CountedReleased
			}
			return CountedLeftWhileParked
		}
		return heldAs(r, g)
	case RigPending:
		if connected {
			return heldAs(r, g)
		}
	}
	return CountedOffline
}

// heldAs is how a rig held without work is counted: what shows the hold,
// or that it does not hold.
func heldAs(r *Rig, g *Group) CountedAs {
	switch {
	case r.CurtailFailed:
		return CountedCurtailFailed
	case r.VerifiedIdle:
		return CountedParkedVerified
	case g.PoolsBound:
		return CountedParkedBound
	}
	return CountedParkedUnverified
}

// countedDraws are a rig's planned and counted draws when counted as c,
// without a measured draw (see measuredDraws).
func countedDraws(c CountedAs, full, idle int64) (planned, counted int64) {
	switch c {
	case CountedMining, CountedLeftWhileParked, CountedDeviceHashing:
		return full, full
	case CountedParkedBound, CountedParkedVerified, CountedResumeFailed:
		return idle, idle
	case CountedParkedUnverified, CountedCurtailFailed:
		return idle, full
	}
	return 0, 0
}

// measuredDraws applies a measured draw m to a rig counted as c: it is
// the draw now, planned and counted, whatever c; a rig that draws its
// full power now (mining, device_hashing) has m as its full draw, so
// curtailing it saves m − idle_kw (a parked rig counts at idle_kw until a
// reading after the curtail shows what it draws).
func measuredDraws(c CountedAs, m int64, full *int64) (planned, counted int64) {
	if c == CountedMining || c == CountedDeviceHashing {
		*full = m
	}
	return m, m
}

// CountRig is how rig r is counted now under pol, and its counted draw in
// kW (the same rule MakePlan reports with).
func CountRig(pol *Policy, r *Rig, now time.Time) (CountedAs, float64) {
	g := r.Group
	if g == nil {
		g = &pol.Default
	}
	c := countAs(r, g, pol.ReleaseVanishedAfter, now)
	full, idle := planDraw(g.RigKW), planDraw(g.IdleKW)
	if r.ReportedKW > 0 {
		full = planDraw(r.ReportedKW)
	}
	var counted int64
	if r.HasMeasured {
		_, counted = measuredDraws(c, planDraw(r.MeasuredKW), &full)
	} else {
		_, counted = countedDraws(c, full, idle)
	}
	return c, planKW(counted)
}

// countAfter fills the plan's counted load: each rig as it will be once
// the plan is applied (a curtailed or parked rig is held without work, a
// resumed one mines).
func (plan *Plan) countAfter(ord []planRig, rigs []Rig, pol *Policy, budget int64) {
	var total, pinnedOn int64
	var by [NumCountedAs]int64
	for pos := range ord {
		p := &ord[pos]
		c := p.count
		switch p.act {
		case planResume:
			c = CountedMining
		case planCurtail, planPark:
			r := &rigs[p.idx]
			g := r.Group
			if g == nil {
				g = &pol.Default
			}
			c = heldAs(r, g)
		}
		var d int64
		if p.is(planMeasured) && (p.act != planResume && p.act != planCurtail) {
			d = p.draw // its measured draw, unchanged by the plan (a park holds it as it was)
		} else {
			_, d = countedDraws(c, p.full, p.idle)
		}
		total += d
		by[c] += d
		plan.Counted[c].Rigs++
		if c == CountedMining && p.is(planPinOn) {
			pinnedOn += d
		}
	}
	plan.PinnedOnKW = planKW(pinnedOn)
	for c := range by {
		plan.Counted[c].KW = planKW(by[c])
	}
	plan.CountedLoadAfterKW = planKW(total)
	plan.CountedCompliant = total <= budget
}
