package switcher

import (
	"time"

	"github.com/hashgate/hashgate/switcher/meter"
)

// Cap mode: the site has a limit at its meter (the policy's site_cap_kw,
// or one set through PUT /api/v1/cap, which wins until it ends or is set
// to 0), and the mining budget follows
//
//	cap − measured non-mining load − reserve_kw
//
// where the non-mining load is the sum of the `ai` meters, else the
// `site` meters minus the measured mining load (the `mining` meters, else
// the load the plan is made with: each rig's device-measured draw where
// known, else the policy's figures). The tighter of that and the
// allocation's budget (capacity − reserve − AI) wins; the plan names the
// rule (Plan.BudgetRule).
//
// So that rigs do not flap, the cap budget the planner gets moves down at
// once (the cap is a hard limit) but up only once the headroom has held
// for cap_hold_up, and then to the least headroom seen over that hold; a
// rise smaller than the dead band (cap_dead_band_kw, default 0.5% of
// the cap) is ignored. A reading re-plans only when the load no longer fits
// or the budget moved by the dead band or more: not every reading makes
// a plan. Resumes still wait for ramp_up_kw_per_min.
//
// The fail-safe (capmode_failsafe.go) replaces the cap budget by
// safe_budget_kw when an input the loop needs is stale.

// Budget rules (Plan.BudgetRule).
const (
	BudgetRuleAllocation = "allocation"
	BudgetRuleCap        = "cap"
	BudgetRuleFailsafe   = "failsafe"
)

// Event kinds of cap mode.
const (
	// EventCap: the cap in force was set (PUT /api/v1/cap, with who and
	// reason) or changed by itself (an until passed, a policy reload).
	EventCap = "cap"
	// EventFailsafe: the fail-safe began (fields state "entered", cause)
	// or ended (state "exited", the cause it had, how long it lasted).
	EventFailsafe = "failsafe"
)

// Cap and fail-safe events are decisions: kept in memory like allocations.
func init() {
	EventKinds = append(EventKinds, EventCap, EventFailsafe)
	decisionKinds = append(decisionKinds, EventCap, EventFailsafe)
}

// BudgetLimit is a bound on the mining budget besides the allocation.
type BudgetLimit struct {
	Rule  string  // BudgetRuleCap or BudgetRuleFailsafe
	KW    float64 // the mining budget it allows; < 0: no figure yet
	CapKW float64 // the cap it comes from (BudgetRuleCap)
}

// tightestLimit lowers *budget (planner units) to the tightest limit and
// says which rule bounds it (an allocation that is as tight wins) and the
// cap in force among the limits.
func tightestLimit(budget *int64, limits []BudgetLimit) (rule string, capKW float64) {
	rule = BudgetRuleAllocation
	for _, l := range limits {
		if l.CapKW > 0 {
			capKW = l.CapKW
		}
		if l.KW < 0 {
			continue // no figure yet
		}
		if u := planUnits(l.KW); u < *budget {
			*budget, rule = u, l.Rule
		}
	}
	return rule, capKW
}

// CapSetting is one PUT /api/v1/cap, as the state file keeps it.
type CapSetting struct {
	CapKW  float64   `json:"cap_kw"`
	Reason string    `json:"reason"`
	Who    string    `json:"who,omitempty"`
	At     time.Time `json:"at"`
	Until  time.Time `json:"until,omitzero"`
}

func (c CapSetting) inForce(now time.Time) bool { return c.Until.IsZero() || now.Before(c.Until) }

func (c CapSetting) sameRequest(o CapSetting) bool {
	return c.CapKW == o.CapKW && c.Reason == o.Reason && c.Until.Equal(o.Until)
}

// capTop is the index of the setting in force at now, -1 for none.
func capTop(stack []CapSetting, now time.Time) int {
	for i := len(stack) - 1; i >= 0; i-- {
		if stack[i].inForce(now) {
			return i
		}
	}
	return -1
}

// pushCap is the stack after c at now, as PushAllocation does it: a
// setting without until replaces the stack, one with until goes on top
// of the one in force, which returns then. stack is not modified.
func pushCap(stack []CapSetting, c CapSetting, now time.Time) []CapSetting {
	top := capTop(stack, now)
	stack = stack[:top+1]
	if top >= 0 && stack[top].sameRequest(c) {
		return stack
	}
	if c.Until.IsZero() {
		if c.CapKW == 0 {
			return nil // back to the policy's
		}
		return []CapSetting{c}
	}
	return append(stack[:len(stack):len(stack)], c)
}

// capMode is the switcher's cap and fail-safe state (under Switcher.mu).
type capMode struct {
	caps      []CapSetting // set through the API, oldest first (persisted)
	capKW     float64      // the cap in force as of the last update
	capSource string       // "policy" or "api"
	track     capTrack
	nonMining float64 // as of the last good figure
	nmSource  string  // "ai", "site" ("" while unknown)
	started   time.Time
	meters    map[string]*meterState
	heartbeat time.Time // the last one
	// actedAt: the last plan that acted; excess: how much more the
	// mining meters (or site − ai) measured than the plan's load, in
	// the last reading taken capSettle after it (capmode_loop.go).
	actedAt time.Time
	excess  float64
	// settleMax: the most mining load counted, before or after a plan,
	// since capSettle before actedAt (capmode_settle.go).
	settleMax float64
	fs        failsafe
}

// meterState is one meter as the switcher knows it.
type meterState struct {
	spec meter.Spec
	last meter.Reading // the last reading, good or not
	good meter.Reading // the last good one (zero At: none)
}

// staleAfter is how old a good reading may be; a meter configured
// without it gets three intervals, else 10s.
func (m *meterState) staleAfter() time.Duration {
	switch {
	case m.spec.StaleAfter > 0:
		return m.spec.StaleAfter
	case m.spec.Interval > 0:
		return 3 * m.spec.Interval
	}
	return 10 * time.Second
}

// fresh: a good reading no older than staleAfter at now.
func (m *meterState) fresh(now time.Time) bool {
	return !m.good.At.IsZero() && now.Sub(m.good.At) <= m.staleAfter()
}

// capTrack is the cap budget the planner gets, with its hold.
type capTrack struct {
	set     bool
	budget  float64
	upSince time.Time // the raw budget has been above budget + dead band since
	upMin   float64   // the least raw budget since upSince
}

// update moves the tracked budget toward raw at now and reports whether
// it changed: down at once, up once raw has stayed above budget + band
// for hold (to the least raw seen meanwhile).
func (t *capTrack) update(raw, band float64, hold time.Duration, now time.Time) bool {
	switch {
	case !t.set:
		t.set, t.budget, t.upSince = true, raw, time.Time{}
		return true
	case raw < t.budget:
		t.budget, t.upSince = raw, time.Time{}
		return true
	case raw <= t.budget+band:
		t.upSince = time.Time{}
		return false
	case t.upSince.IsZero():
		t.upSince, t.upMin = now, raw
	default:
		t.upMin = min(t.upMin, raw)
	}
	if now.Sub(t.upSince) < hold {
		return false
	}
	t.budget, t.upSince = t.upMin, time.Time{}
	return true
}
