package switcher

import (
	"fmt"
	"math"
	"time"

	"github.com/hashgate/hashgate/config/tomlfile"
)

// The policy's [economic] table (economic curtailment, economic.go) and a
// group's `economic` key. Everything about them in the policy is here.

// EconomicPolicy is the [economic] table after validation. The zero
// value (no table) is economic curtailment off.
type EconomicPolicy struct {
	Enabled bool
	// HashpriceUSDPerPHDay is the hashprice in USD per PH/s per day
	// (hashrateindex's unit); 0: none configured, only the hashprice
	// read from the config's [price] hashprice_url (SetHashprice) is used.
	// A fresh read one wins over it.
	HashpriceUSDPerPHDay float64
	// HashpriceStaleAfter: a hashprice read longer ago than this is no
	// longer used (the configured one is, if any).
	HashpriceStaleAfter time.Duration
	// The hysteresis band around a group's break-even B: curtailed when
	// the price rises above B + m, released when it falls below B − m,
	// where m = |B| × HysteresisPct/100 + HysteresisUSDPerMWh.
	HysteresisPct       float64
	HysteresisUSDPerMWh float64
	// MinHold: a group stays curtailed (or released) at least this long
	// after its last change, whatever the price does.
	MinHold time.Duration
	// PriceStaleAfter: a price older than this stops economic
	// curtailment (every group is released).
	PriceStaleAfter time.Duration
	// PoolFeePct is taken off the hashprice; OtherCostUSDPerMWh (other
	// costs that scale with energy) off the break-even.
	PoolFeePct         float64
	OtherCostUSDPerMWh float64
}

// Defaults of the [economic] table's keys.
const (
	DefaultHysteresisPct       = 5.0
	DefaultEconomicMinHold     = 15 * time.Minute
	DefaultPriceStaleAfter     = 30 * time.Minute
	DefaultHashpriceStaleAfter = 48 * time.Hour
)

var economicKeys = []string{"enabled", "hashprice_usd_per_ph_day", "hashprice_stale_after", "hysteresis_pct",
	"hysteresis_usd_per_mwh", "min_hold", "price_stale_after", "pool_fee_pct", "other_cost_usd_per_mwh"}

// economic reads the [economic] table into p.Economic. Keys: enabled
// (false), hashprice_usd_per_ph_day (none; > 0 when written),
// hashprice_stale_after (48h), hysteresis_pct (5, 0 to < 100),
// hysteresis_usd_per_mwh (0, ≥ 0), min_hold (15m, ≥ 0), price_stale_after
// (30m, > 0), pool_fee_pct (0, 0 to < 100), other_cost_usd_per_mwh (0, ≥ 0).
//
// Without the table p.Economic is the zero value: off.
func (d policyDecoder) economic(root map[string]any, p *Policy) {
	m, ok := d.Table(root, "", "economic")
	if !ok {
		return
	}
	e := &p.Economic
	*e = EconomicPolicy{HysteresisPct: DefaultHysteresisPct, MinHold: DefaultEconomicMinHold,
		PriceStaleAfter: DefaultPriceStaleAfter, HashpriceStaleAfter: DefaultHashpriceStaleAfter}
	const tp = "economic"
	d.Unknown(tp, m, economicKeys)
	d.Bool(m, tp, "enabled", &e.Enabled)
	if d.Float(m, tp, "hashprice_usd_per_ph_day", &e.HashpriceUSDPerPHDay) {
		d.positive(tp+".hashprice_usd_per_ph_day", e.HashpriceUSDPerPHDay)
	}
	d.Duration(m, tp, "hashprice_stale_after", &e.HashpriceStaleAfter)
	if d.Float(m, tp, "hysteresis_pct", &e.HysteresisPct) {
		d.percent(tp+".hysteresis_pct", e.HysteresisPct)
	}
	if d.Float(m, tp, "hysteresis_usd_per_mwh", &e.HysteresisUSDPerMWh) {
		d.nonNegative(tp+".hysteresis_usd_per_mwh", e.HysteresisUSDPerMWh)
	}
	d.DurationOrZero(m, tp, "min_hold", &e.MinHold)
	d.Duration(m, tp, "price_stale_after", &e.PriceStaleAfter)
	if d.Float(m, tp, "pool_fee_pct", &e.PoolFeePct) {
		d.percent(tp+".pool_fee_pct", e.PoolFeePct)
	}
	if d.Float(m, tp, "other_cost_usd_per_mwh", &e.OtherCostUSDPerMWh) {
		d.nonNegative(tp+".other_cost_usd_per_mwh", e.OtherCostUSDPerMWh)
	}
}

// percent checks that v, at path, is a percentage from 0 up to (not
// including) 100.
func (d policyDecoder) percent(path string, v float64) bool {
	if v >= 0 && v < 100 {
		return true
	}
	d.Errorf(path, "%s: must be a percentage from 0 to below 100, got %s", path, tomlfile.FormatFloat(v))
	return false
}

// groupEconomic reads a group's `economic` key: false exempts its rigs
// from economic curtailment (true, the default, changes nothing).
func (d policyDecoder) groupEconomic(m map[string]any, gp string, g *Group) {
	on := true
	if d.Bool(m, gp, "economic", &on) {
		g.EconomicExempt = !on
	}
}

// diffEconomic lists what changed in the [economic] table, for Diff.
func diffEconomic(o, n *EconomicPolicy) []string {
	var out []string
	if o.Enabled != n.Enabled {
		out = append(out, fmt.Sprintf("economic.enabled %t -> %t", o.Enabled, n.Enabled))
	}
	for _, f := range []struct {
		key      string
		old, new float64
	}{
		{"hashprice_usd_per_ph_day", o.HashpriceUSDPerPHDay, n.HashpriceUSDPerPHDay},
		{"hysteresis_pct", o.HysteresisPct, n.HysteresisPct},
		{"hysteresis_usd_per_mwh", o.HysteresisUSDPerMWh, n.HysteresisUSDPerMWh},
		{"pool_fee_pct", o.PoolFeePct, n.PoolFeePct},
		{"other_cost_usd_per_mwh", o.OtherCostUSDPerMWh, n.OtherCostUSDPerMWh},
	} {
		if f.old != f.new && !(math.IsNaN(f.old) && math.IsNaN(f.new)) {
			out = append(out, fmt.Sprintf("economic.%s %s -> %s", f.key, kw(f.old), kw(f.new)))
		}
	}
	for _, f := range []struct {
		key      string
		old, new time.Duration
	}{
		{"min_hold", o.MinHold, n.MinHold},
		{"price_stale_after", o.PriceStaleAfter, n.PriceStaleAfter},
		{"hashprice_stale_after", o.HashpriceStaleAfter, n.HashpriceStaleAfter},
	} {
		if f.old != f.new {
			out = append(out, fmt.Sprintf("economic.%s %v -> %v", f.key, f.old, f.new))
		}
	}
	return out
}
