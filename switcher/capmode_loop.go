package switcher

import (
	"math"
	"time"

	"github.com/hashgate/hashgate/switcher/meter"
)

// maxMeters bounds the meters kept: the configured ones, and readings of
// meters not configured (named by whoever hands them in) up to it.
const maxMeters = 256

func newCapMode(caps []CapSetting, specs []meter.Spec, now time.Time) capMode {
	cm := capMode{caps: caps, started: now, meters: make(map[string]*meterState, len(specs))}
	for _, sp := range specs {
		cm.meters[sp.Name] = &meterState{spec: sp}
	}
	return cm
}

// capInForceLocked is the cap in force at now and where it comes from:
// the API's top setting when it is above 0, else the policy's.
func (s *Switcher) capInForceLocked(now time.Time) (kw float64, source string) {
	if top := capTop(s.cm.caps, now); top >= 0 && s.cm.caps[top].CapKW > 0 {
		return s.cm.caps[top].CapKW, "api"
	}
	if c := s.policy.Cap.SiteCapKW; c > 0 {
		return c, "policy"
	}
	return 0, ""
}

// capUpdateLocked brings cap mode up to now: the cap in force (an until
// that passed, a policy reload), the fail-safe, and the cap budget. It
// marks the plan stale when it must be re-made.
func (s *Switcher) capUpdateLocked(now time.Time) {
	if top := capTop(s.cm.caps, now); top < len(s.cm.caps)-1 {
		s.cm.caps, s.dirty = s.cm.caps[:top+1], true // settings whose until passed
	}
	if kw, src := s.capInForceLocked(now); kw != s.cm.capKW || src != s.cm.capSource {
		s.headLocked(Event{Kind: EventCap, Reason: "cap in force changed: " + capChangeWhy(src, s.cm.capSource),
			Fields: map[string]any{"cap_kw": kw, "was_kw": s.cm.capKW, "source": src}})
		s.cm.capKW, s.cm.capSource, s.cm.track = kw, src, capTrack{}
		s.stale, s.planWhy = true, "cap"
	}
	s.failsafeLocked(now)
	s.capBudgetLocked(now)
}

func capChangeWhy(src, was string) string {
	switch {
	case was == "api":
		return "the API's setting ended (its until passed)"
	case src == "api":
		return "an API setting returned (the one above it ended)"
	}
	return "the policy's site_cap_kw changed"
}

// nonMiningLocked is the measured non-mining load: the `ai` meters' sum
// when every one is fresh, else the `site` meters' sum minus the mining
// load (the `mining` meters', else the plan's). ok false: not known.
func (s *Switcher) nonMiningLocked(now time.Time) (kw float64, source string, ok bool) {
	if ai, n, fresh := s.meterSumLocked(meter.AI, now); n > 0 && fresh {
		return max(ai, 0), meter.AI, true
	}
	site, n, fresh := s.meterSumLocked(meter.Site, now)
	if n == 0 || !fresh {
		return 0, "", false
	}
	mining, mn, mfresh := s.meterSumLocked(meter.Mining, now)
	if mn == 0 || !mfresh {
		mining = s.last.LoadAfterKW
	}
	return max(site-mining, 0), meter.Site, true
}

// meterSumLocked sums the last good readings of the meters that measure
// what; n is how many there are, fresh whether all are.
func (s *Switcher) meterSumLocked(what string, now time.Time) (sum float64, n int, fresh bool) {
	fresh = true
	for _, m := range s.cm.meters {
		if m.spec.Measures != what {
			continue
		}
		n++
		sum += m.good.KW
		fresh = fresh && m.fresh(now)
	}
	return sum, n, fresh
}

// capBudgetLocked recomputes the cap budget from the meters and marks
// the plan stale when the new budget calls for a plan: the load no
// longer fits, or the budget moved by the dead band or more.
func (s *Switcher) capBudgetLocked(now time.Time) {
	if s.cm.capKW <= 0 {
		s.cm.track, s.cm.nmSource = capTrack{}, ""
		return
	}
	nm, src, ok := s.nonMiningLocked(now)
	if !ok {
		// The last budget holds until the fail-safe takes over (it
		// resets the track when it does).
		s.cm.nmSource = ""
		return
	}
	s.cm.nonMining, s.cm.nmSource = nm, src
	s.miningExcessLocked(now, src)
	pol := &s.policy.Cap
	band := pol.deadBand(s.cm.capKW)
	raw := max(s.cm.capKW-nm-s.policy.ReserveKW-s.cm.excess, 0)
	raw = s.settlingRawLocked(raw, now)
	if !s.cm.track.update(raw, band, pol.HoldUp, now) || s.stale {
		return
	}
	b := s.budgetLocked(now)
	if d := math.Abs(b - s.last.MiningBudgetKW); !s.planned || b < s.last.LoadAfterKW || (d > 0 && d >= band) {
		s.stale, s.planWhy = true, "cap"
		s.counters.CapReplans.Add(1)
	}
}

// capSettle: meters are compared with the plan's load only this long
// after the last plan that acted (parked rigs stop, resumed ones start,
// and the meters read them).
const capSettle = 10 * time.Second

// miningExcessLocked updates how much more the mining load measures
// than the plan's load (never less than 0): from the `mining` meters,
// else `site` − `ai`; 0 when the non-mining load is itself site − the
// plan's load (the feedback is then in it) or nothing measures mining.
func (s *Switcher) miningExcessLocked(now time.Time, nmSource string) {
	measured, at, ok := s.measuredMiningLocked(now)
	switch {
	case !ok || (nmSource == meter.Site && !s.hasFreshLocked(meter.Mining, now)):
		s.cm.excess = 0
	case at.Sub(s.cm.actedAt) >= capSettle:
		s.cm.excess = max(measured-s.last.LoadAfterKW, 0)
	}
}

// measuredMiningLocked is the mining load as measured: the `mining`
// meters' sum, else `site` − `ai`; at is the oldest reading it takes.
func (s *Switcher) measuredMiningLocked(now time.Time) (kw float64, at time.Time, ok bool) {
	if s.hasFreshLocked(meter.Mining, now) {
		kw, _, _ = s.meterSumLocked(meter.Mining, now)
		return kw, s.oldestGoodLocked(meter.Mining), true
	}
	if s.hasFreshLocked(meter.Site, now) && s.hasFreshLocked(meter.AI, now) {
		site, _, _ := s.meterSumLocked(meter.Site, now)
		ai, _, _ := s.meterSumLocked(meter.AI, now)
		at = s.oldestGoodLocked(meter.Site)
		if a := s.oldestGoodLocked(meter.AI); a.Before(at) {
			at = a
		}
		return site - ai, at, true
	}
	return 0, time.Time{}, false
}

func (s *Switcher) hasFreshLocked(what string, now time.Time) bool {
	_, n, fresh := s.meterSumLocked(what, now)
	return n > 0 && fresh
}

func (s *Switcher) oldestGoodLocked(what string) time.Time {
	var at time.Time
	for _, m := range s.cm.meters {
		if m.spec.Measures == what && (at.IsZero() || m.good.At.Before(at)) {
			at = m.good.At
		}
	}
	return at
}

// budgetLocked is the mining budget a plan made now would have.
func (s *Switcher) budgetLocked(now time.Time) float64 {
	var ai float64
	if top := inForce(s.allocs, now); top >= 0 {
		ai = s.allocs[top].AIKW
	}
	pol := s.policy
	b := max(planUnits(pol.SiteCapacityKW)-planUnits(pol.ReserveKW)-planUnits(ai), 0)
	tightestLimit(&b, s.capLimitsLocked())
	return planKW(b)
}

// capLimitsLocked are the limits for the planner's input.
func (s *Switcher) capLimitsLocked() []BudgetLimit {
	var ls []BudgetLimit
	if s.cm.capKW > 0 {
		l := BudgetLimit{Rule: BudgetRuleCap, KW: -1, CapKW: s.cm.capKW}
		if s.cm.track.set {
			l.KW = s.cm.track.budget
		}
		ls = append(ls, l)
	}
	if s.cm.fs.on {
		ls = append(ls, BudgetLimit{Rule: BudgetRuleFailsafe, KW: s.policy.Cap.SafeBudgetKW})
	}
	return ls
}

// MeterReading takes one reading of a meter (good or failed). A meter
// not configured is kept too (up to maxMeters), as its reading says
// what it measures. A reading older than the last one is dropped.
func (s *Switcher) meterReading(r meter.Reading) {
	now := s.cfg.Now()
	if r.At.IsZero() {
		r.At = now
	}
	s.mu.Lock()
	m := s.cm.meters[r.Meter]
	if m == nil {
		if len(s.cm.meters) >= maxMeters {
			s.mu.Unlock()
			return
		}
		m = &meterState{spec: meter.Spec{Name: r.Meter, Measures: r.Measures}}
		s.cm.meters[r.Meter] = m
	}
	if r.At.Before(m.last.At) {
		s.mu.Unlock()
		return
	}
	m.last = r
	if r.OK() && !math.IsNaN(r.KW) && !math.IsInf(r.KW, 0) {
		m.good = r
	}
	s.capUpdateLocked(now)
	poke := s.stale
	s.mu.Unlock()
	if poke {
		s.poke()
	}
}

// setCap is SetCap once the request is valid.
func (s *Switcher) setCap(req CapRequest, who string) (plan Plan, changed bool, err error) {
	now := s.cfg.Now()
	c := CapSetting{CapKW: positiveZero(req.CapKW), Reason: req.Reason, Who: who, At: now.UTC(), Until: req.Until}
	s.mu.Lock()
	top := capTop(s.cm.caps, now)
	same := top >= 0 && s.cm.caps[top].sameRequest(c)
	if (same || (top < 0 && c.CapKW == 0 && c.Until.IsZero())) && s.planned {
		plan = s.last
		s.mu.Unlock()
		return plan, false, nil
	}
	was := s.cm.capKW
	s.cm.caps = pushCap(s.cm.caps, c, now)
	s.cm.capKW, s.cm.capSource = s.capInForceLocked(now)
	s.cm.track = capTrack{} // a new cap applies at once, both ways
	s.failsafeLocked(now)
	s.capBudgetLocked(now)
	fields := map[string]any{"cap_kw": c.CapKW, "cap_in_force_kw": s.cm.capKW, "was_kw": was, "source": s.cm.capSource}
	if !c.Until.IsZero() {
		fields["until"] = c.Until
	}
	plan, acts := s.planLocked(now, "cap", &Event{Kind: EventCap, Who: who, Reason: req.Reason, Fields: fields})
	s.dirty = true
	err = s.persistLocked()
	s.mu.Unlock()
	s.apply(acts)
	return plan, true, err
}

// heartbeat is Heartbeat.
func (s *Switcher) heartbeat(who string) {
	now := s.cfg.Now()
	s.mu.Lock()
	s.cm.heartbeat = now
	s.log.Debug().Str("who", who).Msg("heartbeat")
	s.failsafeLocked(now)
	poke := s.stale
	s.mu.Unlock()
	if poke {
		s.poke()
	}
}

// waitsOnTime: some deferral may end with time alone (the ramp, min_off,
// an emergency hold). Parked rigs that stay parked for want of room or by
// a pin do not: what would give them room (a rig leaving, the budget
// rising, a reading) marks the plan stale. In cap mode there always are
// such rigs, and a plan of 50,000 rigs every tick for them would cost
// the loop a tenth of a core.
func waitsOnTime(deferred []Action) bool {
	for _, a := range deferred {
		if a.Reason != ReasonNoFit && a.Reason != ReasonPinnedOff {
			return true
		}
	}
	return false
}
