package api_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/hashgate/hashgate/switcher"
)

// The power price and economic curtailment in the status and metrics:
// at 90 USD/MWh and a hashprice of 50 USD/PH/day, the default group (30
// J/TH, break-even 69.44) is curtailed and hall-a (20 J/TH, 104.17) is not.
func TestPriceStatusAndMetrics(t *testing.T) {
	e := start(t, envOpts{policy: testPolicy + "\n[economic]\nenabled = true\nhashprice_usd_per_ph_day = 50.0\nmin_hold = \"0s\"\n"})
	e.steady()
	e.sw.SetPrice(switcher.PriceReading{USDPerMWh: 90, Source: "test"})
	e.eventually("the default group curtailed for the price (31 kW)", func() (bool, any) {
		p := e.status().Power
		return slices.Equal(p.EconomicGroups, []string{"default"}) && p.MiningLoadKW == 31,
			fmt.Sprintf("economic groups %v, load %v kW", p.EconomicGroups, p.MiningLoadKW)
	})
	p := e.status().Power
	if p.PriceUSDPerMWh == nil || *p.PriceUSDPerMWh != 90 || p.Economic == nil || !p.Economic.Active {
		t.Fatalf("power: price %v economic %+v, want 90 and active", p.PriceUSDPerMWh, p.Economic)
	}
	be := map[string]float64{}
	for _, g := range p.Economic.Groups {
		if g.BreakEvenUSDPerMWh != nil {
			be[g.Name] = *g.BreakEvenUSDPerMWh
		}
	}
	if be["hall-a"] != 104.17 || be["default"] != 69.44 {
		t.Errorf("break-evens %v, want hall-a 104.17 and default 69.44", be)
	}
	_, data := e.do("GET", "/api/v1/status", "", nil)
	var raw struct {
		Power map[string]json.RawMessage `json:"power"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"price_usd_per_mwh": "90", "economic_curtailed_groups": `["default"]`} {
		if got := string(raw.Power[k]); got != want {
			t.Errorf("status power.%s: got %s, want %s", k, got, want)
		}
	}
	m := e.series()
	for k, want := range map[string]float64{
		"hashgate_power_price_usd_per_mwh":                      90,
		"hashgate_power_price_stale":                            0,
		`hashgate_group_breakeven_usd_per_mwh{group="hall-a"}`:  104.17,
		`hashgate_group_breakeven_usd_per_mwh{group="default"}`: 69.44,
		`hashgate_group_economic_curtailed{group="default"}`:    1,
		`hashgate_group_economic_curtailed{group="hall-a"}`:     0,
	} {
		if got, ok := m[k]; !ok || got != want {
			t.Errorf("metric %s: got %v (present %v), want %v", k, got, ok, want)
		}
	}
}

// Without [economic] the status has no price and no economic detail,
// and the metrics no price series.
func TestPriceOff(t *testing.T) {
	e := start(t, envOpts{})
	e.steady()
	p := e.status().Power
	if p.PriceUSDPerMWh != nil || p.Economic != nil || len(p.EconomicGroups) != 0 {
		t.Errorf("power: price %v economic %+v groups %v, want none", p.PriceUSDPerMWh, p.Economic, p.EconomicGroups)
	}
	if v, ok := e.series()["hashgate_power_price_stale"]; ok {
		t.Errorf("hashgate_power_price_stale without [economic]: got %v, want not exported", v)
	}
}
