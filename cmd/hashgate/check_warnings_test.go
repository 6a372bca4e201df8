package main

import (
	"strings"
	"testing"

	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/switcher"
)

func TestSiteWarnings(t *testing.T) {
	pol := func(t *testing.T, text string) *switcher.Policy {
		t.Helper()
		p, err := switcher.ParsePolicy("policy.toml", []byte("site_capacity_kw = 100.0\n"+text))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	aiMeter := config.DefaultMeter()
	aiMeter.Name, aiMeter.Measures = "gpus", "ai"
	feeder := config.DefaultMeter()
	feeder.Name, feeder.Measures = "hall-b", "hall-b"
	for _, c := range []struct {
		name   string
		cfg    config.Config
		policy string
		want   []string // substrings, one per warning, in order
	}{
		{"nothing set", config.Config{}, "", nil},
		{"price without economic", config.Config{Price: config.Price{Source: config.PriceHTTP}}, "", []string{"[price] is read, but the policy's [economic] is not enabled"}},
		{"economic without price", config.Config{}, "[economic]\nenabled = true\nhashprice_usd_per_ph_day = 50.0\n", []string{"no price comes in"}},
		{"economic with mqtt", config.Config{Grid: config.Grid{MQTT: &config.MQTT{}}}, "[economic]\nenabled = true\nhashprice_usd_per_ph_day = 50.0\n", nil},
		{"cap without a loop meter", config.Config{Meters: []config.Meter{feeder}}, "site_cap_kw = 90.0\n", []string{"no [[meters]] measures ai or site"}},
		{"cap with an ai meter", config.Config{Meters: []config.Meter{aiMeter}}, "site_cap_kw = 90.0\n", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := siteWarnings(&c.cfg, pol(t, c.policy))
			if len(got) != len(c.want) {
				t.Fatalf("warnings %q; want %d containing %q", got, len(c.want), c.want)
			}
			for i, w := range c.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("warning %d: %q; want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}
