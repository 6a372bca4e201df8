package api

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hashgate/hashgate/switcher"
)

// Cap mode, the fail-safe and the meters.
var (
	descSiteCap      = desc("power_site_cap_kw", "The site cap in force (cap mode: the policy's site_cap_kw or PUT /api/v1/cap); 0: no cap mode.")
	descAIMeasured   = desc("power_ai_kw_measured", "The measured non-mining load cap mode steers by (the ai meters, else site minus mining); absent when no meter gives it.")
	descSiteLoad     = desc("power_site_load_kw", "The measured load of the whole site (the site meters, else ai + mining meters); absent when no meter gives it.")
	descBudgetRule   = desc("power_budget_rule", "1 for the rule the mining budget comes from (allocation: capacity - reserve - AI; cap: cap - measured non-mining - reserve; failsafe: safe_budget_kw), 0 for the others.", "rule")
	descFailsafe     = desc("failsafe", "1 while the mining budget is the policy's safe_budget_kw because an input the power loop needs is stale (a meter cap mode reads, or the power desk's heartbeat).")
	descFailsafeInfo = desc("failsafe_info", "1 while the fail-safe is on, with its cause (\"heartbeat\", \"meter NAME stale\"); absent otherwise.", "reason")
	descMeterKW      = desc("meter_kw", "Each meter's last good reading, kW (absent until it gave one).", "meter", "measures")
	descMeterStale   = desc("meter_stale", "1 while a meter's last good reading is older than its stale_after (or it gave none).", "meter", "measures")
	descMeterAge     = desc("meter_reading_age_seconds", "Seconds since each meter's last good reading (absent until it gave one).", "meter", "measures")
	descCapReplans   = desc("cap_replans_total", "Meter readings that moved the cap budget enough to call for a plan (past the dead band, or the load no longer fitting).")
	budgetRules      = []string{switcher.BudgetRuleAllocation, switcher.BudgetRuleCap, switcher.BudgetRuleFailsafe}
)

func init() {
	allDescriptions = append(allDescriptions, descSiteCap, descAIMeasured, descSiteLoad, descBudgetRule,
		descFailsafe, descFailsafeInfo, descMeterKW, descMeterStale, descMeterAge, descCapReplans)
}

// collectCap exports cap mode from the power section.
func (h *Handler) collectCap(pw *Power, cs *switcher.Counters, gauge func(*prometheus.Desc, float64, ...string), counter func(*prometheus.Desc, uint64, ...string)) {
	gauge(descSiteCap, pw.CapKW)
	if pw.AIKWMeasured != nil {
		gauge(descAIMeasured, *pw.AIKWMeasured)
	}
	if pw.SiteLoadKW != nil {
		gauge(descSiteLoad, *pw.SiteLoadKW)
	}
	for _, r := range budgetRules {
		gauge(descBudgetRule, b2f(pw.BudgetRule == r), r)
	}
	gauge(descFailsafe, b2f(pw.Failsafe))
	if pw.Failsafe {
		gauge(descFailsafeInfo, 1, pw.FailsafeReason)
	}
	now := h.cfg.Now()
	for _, m := range pw.Meters {
		gauge(descMeterStale, b2f(m.Stale), m.Name, m.Measures)
		if m.KW != nil {
			gauge(descMeterKW, *m.KW, m.Name, m.Measures)
			gauge(descMeterAge, max(now.Sub(m.At).Seconds(), 0), m.Name, m.Measures)
		}
	}
	counter(descCapReplans, cs.CapReplans.Load())
}
