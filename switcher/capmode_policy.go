package switcher

import (
	"time"

	"github.com/hashgate/hashgate/config/tomlfile"
)

// Cap mode's and the fail-safe's policy keys (capmode.go). Every one is
// optional; the defaults make a policy without them behave as before:
// no cap, no heartbeat, and meters that only inform.
const (
	// DefaultCapHoldUp is cap_hold_up: the headroom under the cap must
	// have held this long before the budget rises (curtailing is at once).
	DefaultCapHoldUp = 4 * time.Second
	// DefaultCapDeadBandFraction is cap_dead_band_kw when left out, as a
	// fraction of the cap in force.
	DefaultCapDeadBandFraction = 0.005
	// DefaultFailsafeHold is failsafe_hold: the inputs must have been good
	// this long before the fail-safe ends.
	DefaultFailsafeHold = 30 * time.Second
)

// capPolicyKeys are the top-level keys cap mode adds to the policy file.
var capPolicyKeys = []string{"site_cap_kw", "safe_budget_kw", "cap_dead_band_kw", "cap_hold_up",
	"failsafe_after", "failsafe_hold", "heartbeat_timeout"}

func init() { policyKeys = append(policyKeys, capPolicyKeys...) }

// CapPolicy is the policy's cap mode and fail-safe (Policy.Cap).
type CapPolicy struct {
	// SiteCapKW is site_cap_kw: the site's limit at the meter, kW; 0: no
	// cap mode (PUT /api/v1/cap may still set one).
	SiteCapKW float64
	// SafeBudgetKW is safe_budget_kw: the mining budget while the
	// fail-safe is on (default 0: every rig that can be is curtailed).
	SafeBudgetKW float64
	// DeadBandKW is cap_dead_band_kw; DeadBandSet says it was written
	// (else 0.5% of the cap in force): a rise of the cap budget smaller
	// than it is ignored, and a fall smaller than it re-plans only when
	// the load no longer fits.
	DeadBandKW  float64
	DeadBandSet bool
	// HoldUp is cap_hold_up (default 10s).
	HoldUp time.Duration
	// FailsafeAfter is failsafe_after: how long an input the loop needs
	// may be stale before the fail-safe applies (default 0: at once).
	FailsafeAfter time.Duration
	// FailsafeHold is failsafe_hold (default 30s).
	FailsafeHold time.Duration
	// HeartbeatTimeout is heartbeat_timeout: the power desk's heartbeat
	// (POST /api/v1/heartbeat) must come this often or the fail-safe
	// applies; 0 (the default): no heartbeat is expected.
	HeartbeatTimeout time.Duration
}

// deadBand is the dead band for a cap of capKW.
func (c *CapPolicy) deadBand(capKW float64) float64 {
	if c.DeadBandSet {
		return c.DeadBandKW
	}
	return DefaultCapDeadBandFraction * capKW
}

func (c *CapPolicy) deadBandText() string {
	if c.DeadBandSet {
		return kw(c.DeadBandKW)
	}
	return "0.5% of the cap"
}

// capPolicy reads the cap keys of the policy's root table into p.Cap.
func (d policyDecoder) capPolicy(root map[string]any, p *Policy) {
	c := CapPolicy{HoldUp: DefaultCapHoldUp, FailsafeHold: DefaultFailsafeHold}
	if d.Float(root, "", "site_cap_kw", &c.SiteCapKW) && d.nonNegative("site_cap_kw", c.SiteCapKW) &&
		c.SiteCapKW > 0 && c.SiteCapKW <= p.ReserveKW {
		d.Errorf("site_cap_kw", "site_cap_kw: %s is not above reserve_kw (%s); mining would never have a kW under the cap (0 turns cap mode off)",
			tomlfile.FormatFloat(c.SiteCapKW), tomlfile.FormatFloat(p.ReserveKW))
	}
	if d.Float(root, "", "safe_budget_kw", &c.SafeBudgetKW) {
		d.nonNegative("safe_budget_kw", c.SafeBudgetKW)
	}
	if d.Float(root, "", "cap_dead_band_kw", &c.DeadBandKW) {
		c.DeadBandSet = d.nonNegative("cap_dead_band_kw", c.DeadBandKW)
	}
	d.DurationOrZero(root, "", "cap_hold_up", &c.HoldUp)
	d.DurationOrZero(root, "", "failsafe_after", &c.FailsafeAfter)
	d.DurationOrZero(root, "", "failsafe_hold", &c.FailsafeHold)
	d.DurationOrZero(root, "", "heartbeat_timeout", &c.HeartbeatTimeout)
	p.Cap = c
}

// diff lists the cap keys that changed from old to c, for Policy.Diff.
func (c *CapPolicy) diff(old *CapPolicy) []string {
	var out []string
	for _, f := range []struct {
		key      string
		old, new float64
	}{
		{"site_cap_kw", old.SiteCapKW, c.SiteCapKW},
		{"safe_budget_kw", old.SafeBudgetKW, c.SafeBudgetKW},
	} {
		if f.old != f.new {
			out = append(out, f.key+" "+kw(f.old)+" -> "+kw(f.new))
		}
	}
	if o, n := old.deadBandText(), c.deadBandText(); o != n {
		out = append(out, "cap_dead_band_kw "+o+" -> "+n)
	}
	for _, f := range []struct {
		key      string
		old, new time.Duration
	}{
		{"cap_hold_up", old.HoldUp, c.HoldUp},
		{"failsafe_after", old.FailsafeAfter, c.FailsafeAfter},
		{"failsafe_hold", old.FailsafeHold, c.FailsafeHold},
		{"heartbeat_timeout", old.HeartbeatTimeout, c.HeartbeatTimeout},
	} {
		if f.old != f.new {
			out = append(out, f.key+" "+f.old.String()+" -> "+f.new.String())
		}
	}
	return out
}
