package api

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Economic curtailment (the policy's [economic]; switcher/economic.go):
// the power price, each group's break-even and whether it is curtailed
// for the price. Exported while [economic] is enabled; the groups are the
// policy's (and default), so series do not come and go.
var (
	descPrice         = desc("power_price_usd_per_mwh", "The last power price read (USD/MWh), while [economic] is enabled and once one has been read; hashgate_power_price_stale says whether it is still in force.")
	descPriceStale    = desc("power_price_stale", "1 while the power price is older than price_stale_after (or none was read yet): economic curtailment is stopped and every group released.")
	descBreakEven     = desc("group_breakeven_usd_per_mwh", "Each group's break-even power price (USD/MWh): hashprice/1000 × (1 − pool fee) per TH/s per day over J/TH × 0.024 kWh, × 1000, less other costs. Present while a hashprice is known.", "group")
	descEconCurtailed = desc("group_economic_curtailed", "1 while the group is curtailed because the power price is above its break-even (plus hysteresis).", "group")
)

func init() {
	allDescriptions = append(allDescriptions, descPrice, descPriceStale, descBreakEven, descEconCurtailed)
}

// collectEconomic exports the price and the groups' break-evens.
func collectEconomic(pw *Power, gauge func(*prometheus.Desc, float64, ...string)) {
	ec := pw.Economic
	if ec == nil {
		return
	}
	if ec.PriceUSDPerMWh != nil {
		gauge(descPrice, *ec.PriceUSDPerMWh)
	}
	gauge(descPriceStale, b2f(ec.PriceUSDPerMWh == nil || ec.PriceStale))
	for _, g := range ec.Groups {
		if g.BreakEvenUSDPerMWh != nil {
			gauge(descBreakEven, *g.BreakEvenUSDPerMWh, g.Name)
		}
		gauge(descEconCurtailed, b2f(g.Curtailed), g.Name)
	}
}
