package main

import (
	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/switcher"
	"github.com/hashgate/hashgate/switcher/meter"
)

// siteWarnings are what `hashgate check` says of the config and the
// policy together: each is valid alone, but the pair does not do what
// it seems to (policy nil: none in force).
func siteWarnings(cfg *config.Config, policy *switcher.Policy) []string {
	var w []string
	economic := policy != nil && policy.Economic.Enabled
	if cfg.Price.Source != "" && !economic {
		w = append(w, "[price] is read, but the policy's [economic] is not enabled: the price is shown, never acted on")
	}
	if economic && cfg.Price.Source == "" && cfg.MQTT == nil {
		w = append(w, `the policy's [economic] is enabled, but no price comes in (no [price] table, no [mqtt] for {"price_usd_per_mwh": N}): economic curtailment waits for one`)
	}
	if policy != nil && policy.Cap.SiteCapKW > 0 && !hasLoopMeter(cfg.Meters) {
		w = append(w, "site_cap_kw is set, but no [[meters]] measures ai or site: cap mode cannot follow the cap, and the fail-safe (safe_budget_kw) applies from the start")
	}
	return w
}

// hasLoopMeter reports whether a meter gives cap mode its non-mining load.
func hasLoopMeter(ms []config.Meter) bool {
	for _, m := range ms {
		if m.Measures == meter.AI || m.Measures == meter.Site {
			return true
		}
	}
	return false
}
