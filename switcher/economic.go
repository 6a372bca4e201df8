package switcher

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Economic curtailment (optional, the policy's [economic] table): a group
// of rigs whose break-even power price is below the price now is parked,
// with hysteresis and a minimum hold; the budget logic is unchanged.
//
// # The break-even price
//
// The hashprice is in USD per PH/s per day (the industry's unit, e.g.
// hashrateindex's hashprice: what 1 PH/s of hashrate earns in a day).
//
//	revenue per TH/s per day  R = hashprice / 1000 × (1 − pool_fee_pct/100)   USD
//	energy per TH/s per day   E = J/TH × 86400 s / 3.6e6 J/kWh = J/TH × 0.024 kWh
//	break-even power price    B = R / E × 1000 − other_cost_usd_per_mwh       USD/MWh
//
// Worked example: hashprice 50 USD/PH/day, no fee, no other cost.
// An S21 group at 17.5 J/TH: R = 0.05 USD, E = 17.5 × 0.024 = 0.42 kWh,
// B = 0.05 / 0.42 × 1000 = 119.05 USD/MWh. An S19j Pro group at 29.5
// J/TH: E = 0.708 kWh, B = 70.62 USD/MWh. With pool_fee_pct 2 and
// other_cost_usd_per_mwh 5 the S19j Pro's B is 0.049 / 0.708 × 1000 − 5
// = 64.21 USD/MWh.
//
// # Hysteresis and hold
//
// With m = |B| × hysteresis_pct/100 + hysteresis_usd_per_mwh, a group is
// curtailed when the price rises above B + m, and released when it falls
// below B − m; between the two it stays as it is. Either change waits
// until min_hold has passed since the group's last change. In the example
// (hysteresis_pct 5, no fee) at a price of 90 USD/MWh the S19j Pro group
// (B 70.62, curtailed above 74.15) is curtailed and the S21 group is not;
// the S19j Pro group mines again once the price is below 67.09 and
// min_hold has passed since it was curtailed.
//
// # Stale or missing inputs
//
// A price older than price_stale_after (by its At; the reader's failed
// reads leave the last good price ageing), no price yet, no hashprice (none
// configured and none read fresh), or [economic] disabled: economic
// curtailment stops at once, min_hold aside, and every group it curtailed
// is released (its rigs mine again by the normal rules: budget, min_off,
// ramp). The status says why (EconomicStatus.Note), the audit log has a
// price_stale event when the price goes stale and an economic_release
// event per group released, with the reason.
//
// A rig pinned on is never curtailed for the price; min_on does not hold
// an economic curtail (min_hold is its guard against flapping). The
// groups' state is not persisted: after a restart no group is curtailed
// until the first price arrives (the reader reads at once).

// ReasonUneconomic prefixes the plan's reason for a rig of a group
// curtailed for the price: "uneconomic: price 142.00 USD/MWh above
// break-even 98.10 USD/MWh".
const ReasonUneconomic = "uneconomic: "

// Audit event kinds of economic curtailment.
const (
	EventEconomicCurtail = "economic_curtail" // a group curtailed for the price
	EventEconomicRelease = "economic_release" // a group released: price below, stale, disabled
	EventPriceStale      = "price_stale"      // the price went stale: economic curtailment stopped
	EventPriceFresh      = "price_fresh"      // a fresh price again after price_stale
)

func init() {
	EventKinds = append(EventKinds, EventEconomicCurtail, EventEconomicRelease, EventPriceStale, EventPriceFresh)
	decisionKinds = append(decisionKinds, EventEconomicCurtail, EventEconomicRelease, EventPriceStale, EventPriceFresh)
}

// kWhPerTHDayPerJTH is the energy 1 TH/s at 1 J/TH takes in a day:
// 86400 s / 3.6e6 J/kWh.
const kWhPerTHDayPerJTH = 86400.0 / 3.6e6

// BreakEvenUSDPerMWh is the power price at which a rig at jPerTH J/TH
// earns what its power costs (see the package's economic comment): NaN
// when jPerTH or the hashprice is not a positive number.
func BreakEvenUSDPerMWh(hashpriceUSDPerPHDay, jPerTH, poolFeePct, otherUSDPerMWh float64) float64 {
	if !(jPerTH > 0) || !(hashpriceUSDPerPHDay > 0) || math.IsInf(jPerTH, 0) {
		return math.NaN()
	}
	revenue := hashpriceUSDPerPHDay / 1000 * (1 - poolFeePct/100) // USD per TH/s per day
	energy := jPerTH * kWhPerTHDayPerJTH                          // kWh per TH/s per day
	return revenue/energy*1000 - otherUSDPerMWh
}

// hysteresisBand is the price above which a group of break-even be is
// curtailed and the one below which it is released.
func hysteresisBand(e *EconomicPolicy, be float64) (curtailAbove, releaseBelow float64) {
	m := math.Abs(be)*e.HysteresisPct/100 + e.HysteresisUSDPerMWh
	return be + m, be - m
}

// HashpriceReading is the hashprice now, read from the config's [price]
// hashprice_url.
type HashpriceReading struct {
	USDPerPHDay float64
	At          time.Time
	Source      string
	Err         string // non-empty: the read failed (the last good one ages)
}

// econState is the switcher's economic curtailment: its inputs and each
// group's state. Guarded by Switcher.mu.
type econState struct {
	price    PriceReading // the last good reading (At zero: none)
	priceErr string       // the last read's error; "" after a good one
	hash     HashpriceReading
	hashErr  string
	stale    bool   // the price was stale at the last evaluation (price_stale written)
	note     string // why economic curtailment is not acting ("" when it is)
	groups   map[string]*econGroup
	// restartGrace: until then a price restored from the state file
	// counts as fresh, though older than price_stale_after, while a first
	// reading after the restart is awaited (economic_state.go).
	restartGrace time.Time
}

// econGroup is one group's economic state.
type econGroup struct {
	curtailed bool
	since     time.Time // its last change; zero: none yet
	breakEven float64
}

// SetPrice takes one reading of the power price (from the [price] reader,
// or the grid's MQTT subscriber: {"price_usd_per_mwh": N}). A failed read
// (Err) or a price that is not a finite number keeps the last good one,
// which ages; a reading older than the one held is ignored. Negative
// prices are prices.
func (s *Switcher) SetPrice(p PriceReading) {
	now := s.cfg.Now()
	if p.At.IsZero() {
		p.At = now
	}
	if p.Err == "" && (math.IsNaN(p.USDPerMWh) || math.IsInf(p.USDPerMWh, 0)) {
		p.Err = fmt.Sprintf("price is not a finite number: %v", p.USDPerMWh)
	}
	s.mu.Lock()
	e := &s.econ
	switch {
	case p.Err != "":
		e.priceErr = p.Err
	case p.At.Before(e.price.At):
	default:
		e.price, e.priceErr = p, ""
	}
	changed := s.economicLocked(now)
	s.mu.Unlock()
	if changed {
		s.poke()
	}
}

// SetHashprice takes one reading of the hashprice (see HashpriceReading).
func (s *Switcher) SetHashprice(h HashpriceReading) {
	now := s.cfg.Now()
	if h.At.IsZero() {
		h.At = now
	}
	if h.Err == "" && !(h.USDPerPHDay > 0 && !math.IsInf(h.USDPerPHDay, 0)) {
		h.Err = fmt.Sprintf("hashprice must be a finite number greater than 0, got %v", h.USDPerPHDay)
	}
	s.mu.Lock()
	e := &s.econ
	switch {
	case h.Err != "":
		e.hashErr = h.Err
	case h.At.Before(e.hash.At):
	default:
		e.hash, e.hashErr = h, ""
	}
	changed := s.economicLocked(now)
	s.mu.Unlock()
	if changed {
		s.poke()
	}
}

// hashpriceLocked is the hashprice in force and where it comes from: a
// fresh read one, else the policy's; 0 for none.
func (s *Switcher) hashpriceLocked(now time.Time) (float64, string) {
	e, pol := &s.econ, &s.policy.Economic
	if !e.hash.At.IsZero() && now.Sub(e.hash.At) <= pol.HashpriceStaleAfter {
		return e.hash.USDPerPHDay, e.hash.Source
	}
	if pol.HashpriceUSDPerPHDay > 0 {
		return pol.HashpriceUSDPerPHDay, "policy"
	}
	return 0, ""
}

// priceFreshLocked reports whether the price held is in force at now.
func (s *Switcher) priceFreshLocked(now time.Time) bool {
	at := s.econ.price.At
	return !at.IsZero() && (now.Sub(at) <= s.policy.Economic.PriceStaleAfter || now.Before(s.econ.restartGrace))
}

// economicLocked re-decides every group from the inputs at now, writes an
// audit event per group that changed (and one when the price goes stale or
// fresh), and marks the plan stale when a group changed. It reports
// whether one did.
func (s *Switcher) economicLocked(now time.Time) (changed bool) {
	e, pol := &s.econ, &s.policy.Economic
	if e.groups == nil {
		e.groups = map[string]*econGroup{}
	}
	hp, hpSource := s.hashpriceLocked(now)
	fresh := s.priceFreshLocked(now)
	var evs []Event
	e.note = ""
	switch {
	case !pol.Enabled:
		e.note = "economic curtailment is not enabled in the policy"
	case e.price.At.IsZero():
		e.note = "no power price read yet"
	case !fresh:
		e.note = fmt.Sprintf("power price stale: last read at %s, older than price_stale_after (%v)",
			e.price.At.UTC().Format(time.RFC3339), pol.PriceStaleAfter)
	case hp == 0:
		e.note = "no hashprice: none configured (hashprice_usd_per_ph_day) and none read"
	}
	if pol.Enabled && !e.price.At.IsZero() && fresh == e.stale {
		e.stale = !fresh
		ev := Event{Kind: EventPriceFresh, Reason: "a fresh power price again: economic curtailment resumes", Fields: s.priceFieldsLocked()}
		if e.stale {
			ev.Kind, ev.Reason = EventPriceStale, e.note+": economic curtailment stopped"
		}
		evs = append(evs, ev)
	}
	seen := make(map[string]bool, len(s.policy.Groups)+1)
	for i := -1; i < len(s.policy.Groups); i++ {
		g := &s.policy.Default
		if i >= 0 {
			g = &s.policy.Groups[i]
		}
		seen[g.Name] = true
		if ev, ok := s.decideGroupLocked(g, hp, hpSource, now); ok {
			evs = append(evs, ev)
		}
	}
	for _, name := range sortedKeys(e.groups) {
		if !seen[name] {
			if e.groups[name].curtailed {
				evs = append(evs, Event{Kind: EventEconomicRelease, Reason: "group no longer in the policy", Fields: map[string]any{"group": name}})
			}
			delete(e.groups, name)
		}
	}
	for _, ev := range evs {
		changed = changed || ev.Kind == EventEconomicCurtail || ev.Kind == EventEconomicRelease
		// Changes are rare (min_hold apart per group): one line each.
		l := s.log.Info()
		if ev.Kind == EventPriceStale {
			l = s.log.Warn()
		}
		l.Str("event", ev.Kind).Interface("group", ev.Fields["group"]).Interface("price_usd_per_mwh", ev.Fields["price_usd_per_mwh"]).
			Interface("breakeven_usd_per_mwh", ev.Fields["breakeven_usd_per_mwh"]).Msg(ev.Reason)
	}
	if changed {
		s.stale, s.dirty = true, true // the groups curtailed are in the state file
		if s.planWhy == "" {
			s.planWhy = "economic"
		}
	}
	s.events(evs)
	return changed
}

// decideGroupLocked decides one group (see the hysteresis and hold above)
// and returns the audit event of its change, if it changed.
func (s *Switcher) decideGroupLocked(g *Group, hp float64, hpSource string, now time.Time) (Event, bool) {
	e, pol := &s.econ, &s.policy.Economic
	st := e.groups[g.Name]
	if st == nil {
		st = &econGroup{}
		e.groups[g.Name] = st
	}
	st.breakEven = BreakEvenUSDPerMWh(hp, g.EfficiencyJTH, pol.PoolFeePct, pol.OtherCostUSDPerMWh)
	price := e.price.USDPerMWh
	held := !st.since.IsZero() && now.Sub(st.since) < pol.MinHold
	above, below := hysteresisBand(pol, st.breakEven)
	var why string
	switch {
	case st.curtailed && g.EconomicExempt:
		why = "group exempt (economic = false)"
	case st.curtailed && e.note != "":
		why = e.note
	case st.curtailed && !held && price < below:
		why = fmt.Sprintf("price %.2f USD/MWh below break-even %.2f USD/MWh less hysteresis (%.2f)", price, st.breakEven, below)
	case !st.curtailed && e.note == "" && !g.EconomicExempt && !held && price > above:
		why = uneconomicWhy(price, st.breakEven)
	default:
		return Event{}, false
	}
	st.curtailed, st.since = !st.curtailed, now
	kind := EventEconomicRelease
	if st.curtailed {
		kind = EventEconomicCurtail
	}
	f := s.priceFieldsLocked()
	f["group"], f["efficiency_j_th"] = g.Name, g.EfficiencyJTH
	if !math.IsNaN(st.breakEven) {
		f["breakeven_usd_per_mwh"] = round2(st.breakEven)
		f["hashprice_usd_per_ph_day"], f["hashprice_source"] = hp, hpSource
	}
	return Event{Kind: kind, Reason: why, Fields: f}, true
}

// priceFieldsLocked are the price's audit fields.
func (s *Switcher) priceFieldsLocked() map[string]any {
	p := s.econ.price
	return map[string]any{"price_usd_per_mwh": p.USDPerMWh, "price_at": p.At.UTC(), "price_source": p.Source}
}

// heldWhyLocked is why a curtailed group's rigs stay parked: the price
// above break-even; within the hysteresis band (and where it must fall
// to); or below the band, held by min_hold until its end.
func (s *Switcher) heldWhyLocked(st *econGroup, price float64) string {
	_, below := hysteresisBand(&s.policy.Economic, st.breakEven)
	switch {
	case price > st.breakEven:
		return uneconomicWhy(price, st.breakEven)
	case price >= below:
		return fmt.Sprintf("price %.2f USD/MWh within the hysteresis band of break-even %.2f USD/MWh (released below %.2f)", price, st.breakEven, below)
	}
	end := st.since.Add(s.policy.Economic.MinHold)
	return fmt.Sprintf("price %.2f USD/MWh below break-even %.2f USD/MWh; min_hold until %s", price, st.breakEven, end.Format("15:04:05"))
}

func uneconomicWhy(price, be float64) string {
	return fmt.Sprintf("price %.2f USD/MWh above break-even %.2f USD/MWh", price, be)
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// uneconomicLocked is the planner's Input.Uneconomic: the groups
// curtailed for the price, by name, with the reason their rigs are
// parked (the price and break-even now); nil when none.
func (s *Switcher) uneconomicLocked() map[string]string {
	var out map[string]string
	price := s.econ.price.USDPerMWh
	for name, st := range s.econ.groups {
		if !st.curtailed {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[name] = ReasonUneconomic + s.heldWhyLocked(st, price)
	}
	return out
}

// uneconomic is the planner's step 2b: rigs of the groups in groups
// (Input.Uneconomic: group name → reason) are curtailed if mining and kept
// parked if held, tail first; a pinned-on or pinned-off rig is left to its
// pin's step. An offline rig known as mining has no room kept for it (it
// is parked when it comes back).
func (pl *planner) uneconomic(groups map[string]string) {
	if len(groups) == 0 {
		return
	}
	var last *Group
	var reason string
	var hit, looked bool
	for pos := len(pl.ord) - 1; pos >= 0; pos-- {
		p := &pl.ord[pos]
		if p.act != planNone || p.is(planPinOn) || p.is(planPinOff) {
			continue
		}
		// The first rig looked at (not the last in order: it may be
		// pinned) looks its group up even when that is the default (nil).
		if g := pl.rigs[p.idx].Group; g != last || !looked {
			last, looked = g, true
			name := DefaultGroupName
			if g != nil {
				name = g.Name
			}
			reason, hit = groups[name]
		}
		switch {
		case !hit:
		case p.mining():
			p.act = planCurtail
			pl.load -= p.draw - p.idle
			pl.plan.Curtail = append(pl.plan.Curtail, pl.action(p, reason))
		case p.live() && p.state == RigPending:
			p.act = planPark
			pl.plan.Park = append(pl.plan.Park, pl.action(p, reason))
		case p.live():
			pl.deferRig(p, reason)
		case p.state == RigOffline && p.is(planKnown):
			p.act = planDefer // no room kept, listed nowhere
		}
	}
}

// EconomicStatus is economic curtailment as the API shows it.
type EconomicStatus struct {
	Enabled bool `json:"enabled"`
	// Active: curtailing for the price now (enabled, a fresh price and a
	// hashprice); Note says why not.
	Active bool   `json:"active"`
	Note   string `json:"note,omitempty"`
	// The last good price (nil: none yet), when and where it was read,
	// whether it is stale, and the last read's error.
	PriceUSDPerMWh *float64  `json:"price_usd_per_mwh"`
	PriceAt        time.Time `json:"price_at,omitzero"`
	PriceSource    string    `json:"price_source,omitempty"`
	PriceStale     bool      `json:"price_stale"`
	PriceError     string    `json:"price_error,omitempty"`
	// The hashprice in force (nil: none) and where from ("policy", or
	// the reader's source); the last hashprice read's error.
	HashpriceUSDPerPHDay *float64        `json:"hashprice_usd_per_ph_day"`
	HashpriceSource      string          `json:"hashprice_source,omitempty"`
	HashpriceError       string          `json:"hashprice_error,omitempty"`
	Groups               []EconomicGroup `json:"groups"`
}

// EconomicGroup is one policy group's break-even and state.
type EconomicGroup struct {
	Name          string  `json:"name"`
	EfficiencyJTH float64 `json:"efficiency_j_th"`
	// BreakEvenUSDPerMWh is nil without a hashprice; CurtailAbove and
	// ReleaseBelow are its hysteresis band.
	BreakEvenUSDPerMWh *float64  `json:"breakeven_usd_per_mwh"`
	CurtailAbove       *float64  `json:"curtail_above_usd_per_mwh,omitempty"`
	ReleaseBelow       *float64  `json:"release_below_usd_per_mwh,omitempty"`
	Exempt             bool      `json:"exempt,omitempty"`
	Curtailed          bool      `json:"curtailed"`
	Since              time.Time `json:"since,omitzero"` // its last change
}

// Economic reports economic curtailment now (groups in policy order, the
// default last).
func (s *Switcher) Economic() EconomicStatus {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	e, pol := &s.econ, &s.policy.Economic
	st := EconomicStatus{Enabled: pol.Enabled, Note: e.note, PriceError: e.priceErr, HashpriceError: e.hashErr}
	st.Active = pol.Enabled && e.note == ""
	if !e.price.At.IsZero() {
		p := e.price.USDPerMWh
		st.PriceUSDPerMWh, st.PriceAt, st.PriceSource = &p, e.price.At.UTC(), e.price.Source
		st.PriceStale = !s.priceFreshLocked(now)
	}
	hp, src := s.hashpriceLocked(now)
	if hp > 0 {
		st.HashpriceUSDPerPHDay, st.HashpriceSource = &hp, src
	}
	groups := make([]*Group, 0, len(s.policy.Groups)+1)
	for i := range s.policy.Groups {
		groups = append(groups, &s.policy.Groups[i])
	}
	groups = append(groups, &s.policy.Default)
	for _, g := range groups {
		eg := EconomicGroup{Name: g.Name, EfficiencyJTH: g.EfficiencyJTH, Exempt: g.EconomicExempt}
		if be := BreakEvenUSDPerMWh(hp, g.EfficiencyJTH, pol.PoolFeePct, pol.OtherCostUSDPerMWh); !math.IsNaN(be) {
			above, below := hysteresisBand(pol, be)
			be, above, below = round2(be), round2(above), round2(below)
			eg.BreakEvenUSDPerMWh, eg.CurtailAbove, eg.ReleaseBelow = &be, &above, &below
		}
		if gs := e.groups[g.Name]; gs != nil {
			eg.Curtailed, eg.Since = gs.curtailed, gs.since
		}
		st.Groups = append(st.Groups, eg)
	}
	return st
}

// economicStatusLocked fills the Status's price (while in force) and the
// groups curtailed for it.
func (s *Switcher) economicStatusLocked(st *Status, now time.Time) {
	if s.policy.Economic.Enabled && s.priceFreshLocked(now) {
		p := s.econ.price.USDPerMWh
		st.PriceUSDPerMWh = &p
	}
	for _, name := range sortedKeys(s.econ.groups) {
		if s.econ.groups[name].curtailed {
			st.EconomicGroups = append(st.EconomicGroups, name)
		}
	}
}
