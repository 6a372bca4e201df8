package switcher

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/config/tomlfile"
)

// Every bad value of the [economic] table and of a group's economic key,
// with the errors each must give as "LINE:COL: message".
func TestParseEconomicErrors(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []string
	}{
		{"economic is not a table", site + "economic = true\n",
			[]string{`2:1: economic: expected a table ([economic]), got boolean true`}},
		{"unknown key", site + "[economic]\nhysterisis_pct = 5\n",
			[]string{`3:1: unknown key "economic.hysterisis_pct" (did you mean "hysteresis_pct"?)`}},
		{"unknown key, no near match", site + "[economic]\ncolour = 1\n",
			[]string{`3:1: unknown key "economic.colour"; known keys here: enabled, hashprice_usd_per_ph_day, hashprice_stale_after, hysteresis_pct, hysteresis_usd_per_mwh, min_hold, price_stale_after, pool_fee_pct, other_cost_usd_per_mwh`}},
		{"types", site + "[economic]\nenabled = \"yes\"\nhashprice_usd_per_ph_day = \"50\"\nhysteresis_pct = true\nhysteresis_usd_per_mwh = [1]\nmin_hold = 15\nprice_stale_after = 30\npool_fee_pct = \"2%\"\nother_cost_usd_per_mwh = {a = 1}\nhashprice_stale_after = 1\n",
			[]string{
				`3:1: economic.enabled: expected true or false, got string "yes"`,
				`4:1: economic.hashprice_usd_per_ph_day: expected a number, got string "50"`,
				`5:1: economic.hysteresis_pct: expected a number, got boolean true`,
				`6:1: economic.hysteresis_usd_per_mwh: expected a number, got an array`,
				`7:1: economic.min_hold: expected a duration string such as "30s", got integer 15`,
				`8:1: economic.price_stale_after: expected a duration string such as "30s", got integer 30`,
				`9:1: economic.pool_fee_pct: expected a number, got string "2%"`,
				`10:1: economic.other_cost_usd_per_mwh: expected a number, got a table`,
				`11:1: economic.hashprice_stale_after: expected a duration string such as "30s", got integer 1`,
			}},
		{"figures out of range", site + "[economic]\nhashprice_usd_per_ph_day = 0\nhysteresis_pct = 100\nhysteresis_usd_per_mwh = -1\npool_fee_pct = -0.5\nother_cost_usd_per_mwh = nan\n",
			[]string{
				`3:1: economic.hashprice_usd_per_ph_day: must be a finite number greater than 0, got 0`,
				`4:1: economic.hysteresis_pct: must be a percentage from 0 to below 100, got 100`,
				`5:1: economic.hysteresis_usd_per_mwh: must be a finite number, 0 or more, got -1`,
				`6:1: economic.pool_fee_pct: must be a percentage from 0 to below 100, got -0.5`,
				`7:1: economic.other_cost_usd_per_mwh: must be a finite number, 0 or more, got nan`,
			}},
		{"more figures", site + "[economic]\nhashprice_usd_per_ph_day = inf\nhysteresis_pct = nan\npool_fee_pct = 100\nother_cost_usd_per_mwh = -3\nhysteresis_usd_per_mwh = inf\n",
			[]string{
				`3:1: economic.hashprice_usd_per_ph_day: must be a finite number greater than 0, got inf`,
				`4:1: economic.hysteresis_pct: must be a percentage from 0 to below 100, got nan`,
				`5:1: economic.pool_fee_pct: must be a percentage from 0 to below 100, got 100`,
				`6:1: economic.other_cost_usd_per_mwh: must be a finite number, 0 or more, got -3`,
				`7:1: economic.hysteresis_usd_per_mwh: must be a finite number, 0 or more, got inf`,
			}},
		{"durations", site + "[economic]\nmin_hold = \"-1m\"\nprice_stale_after = \"0s\"\nhashprice_stale_after = \"soon\"\n",
			[]string{
				`3:1: economic.min_hold: must not be negative, got "-1m"`,
				`4:1: economic.price_stale_after: must be greater than 0, got "0s"`,
				`5:1: economic.hashprice_stale_after: invalid duration "soon": expected a number with a unit, such as "30s", "5m" or "1h30m"`,
			}},
		{"group economic not a boolean", site + group("a", "economic = \"no\"\n") + "[default]\neconomic = 0\n",
			[]string{
				`9:1: group[0].economic: expected true or false, got string "no"`,
				`11:1: default.economic: expected true or false, got integer 0`,
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePolicy("p.toml", []byte(tc.input))
			var errs tomlfile.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("got %v, want tomlfile.Errors", err)
			}
			var got []string
			for _, e := range errs {
				got = append(got, strings.TrimPrefix(e.Error(), "p.toml:"))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got  %s\nwant %s", strings.Join(got, "\n     "), strings.Join(tc.want, "\n     "))
			}
		})
	}
}

func TestParseEconomic(t *testing.T) {
	p, err := ParsePolicy("p.toml", []byte(site+group("a", "economic = false\n")+group("b", "economic = true\n")))
	if err != nil {
		t.Fatal(err)
	}
	if p.Economic != (EconomicPolicy{}) {
		t.Errorf("no [economic]: got %+v, want the zero value (off)", p.Economic)
	}
	if !p.Groups[0].EconomicExempt || p.Groups[1].EconomicExempt || p.Default.EconomicExempt {
		t.Errorf("exempt: a %v b %v default %v, want true false false", p.Groups[0].EconomicExempt, p.Groups[1].EconomicExempt, p.Default.EconomicExempt)
	}

	p, err = ParsePolicy("p.toml", []byte(site+"[economic]\nenabled = true\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := EconomicPolicy{Enabled: true, HysteresisPct: DefaultHysteresisPct, MinHold: DefaultEconomicMinHold,
		PriceStaleAfter: DefaultPriceStaleAfter, HashpriceStaleAfter: DefaultHashpriceStaleAfter}
	if p.Economic != want {
		t.Errorf("defaults: got %+v, want %+v", p.Economic, want)
	}

	full := site + "[economic]\nenabled = true\nhashprice_usd_per_ph_day = 52.5\nhashprice_stale_after = \"24h\"\nhysteresis_pct = 0\nhysteresis_usd_per_mwh = 4\nmin_hold = \"0s\"\nprice_stale_after = \"10m\"\npool_fee_pct = 2.5\nother_cost_usd_per_mwh = 6\n"
	p, err = ParsePolicy("p.toml", []byte(full))
	if err != nil {
		t.Fatal(err)
	}
	want = EconomicPolicy{Enabled: true, HashpriceUSDPerPHDay: 52.5, HashpriceStaleAfter: 24 * time.Hour,
		HysteresisUSDPerMWh: 4, PriceStaleAfter: 10 * time.Minute, PoolFeePct: 2.5, OtherCostUSDPerMWh: 6}
	if p.Economic != want {
		t.Errorf("every key: got %+v, want %+v", p.Economic, want)
	}
}

func TestDiffEconomic(t *testing.T) {
	old, err := ParsePolicy("p.toml", []byte(site+group("a", "")+"[economic]\nenabled = true\n"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParsePolicy("p.toml", []byte(site+group("a", "economic = false\n")+"[economic]\nhysteresis_pct = 2\nmin_hold = \"1m\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := p.Diff(old)
	want := []string{
		`group "a": economic true -> false`,
		"economic.enabled true -> false",
		"economic.hysteresis_pct 5 -> 2",
		"economic.min_hold 15m0s -> 1m0s",
	}
	if !slices.Equal(got, want) {
		t.Errorf("diff:\n got %q\nwant %q", got, want)
	}
}

// FuzzParseEconomic parses an [economic] table: every error has a
// position, and an accepted table holds values in range.
func FuzzParseEconomic(f *testing.F) {
	f.Add("enabled = true\nhashprice_usd_per_ph_day = 50.0\nhysteresis_pct = 5\nmin_hold = \"15m\"\n")
	f.Add("pool_fee_pct = 99.9\nother_cost_usd_per_mwh = 1e308\nprice_stale_after = \"1ns\"\n")
	f.Add("hysteresis_usd_per_mwh = -0.0\nhashprice_stale_after = \"0s\"\n")
	f.Fuzz(func(t *testing.T, table string) {
		p, err := ParsePolicy("fuzz.toml", []byte(site+"[economic]\n"+table))
		if err != nil {
			var errs tomlfile.Errors
			if errors.As(err, &errs) {
				for _, e := range errs {
					if e.Line < 1 || e.Col < 1 {
						t.Fatalf("error without a position: %v; want e.Line >= 1, e.Col >= 1", e)
					}
				}
			}
			return
		}
		e := p.Economic
		if !(e.HysteresisPct >= 0 && e.HysteresisPct < 100) || !(e.PoolFeePct >= 0 && e.PoolFeePct < 100) ||
			!(e.HysteresisUSDPerMWh >= 0) || !(e.OtherCostUSDPerMWh >= 0) || e.HashpriceUSDPerPHDay < 0 ||
			e.MinHold < 0 || e.PriceStaleAfter <= 0 || e.HashpriceStaleAfter <= 0 {
			t.Fatalf("accepted out of range: %+v", e)
		}
		be := BreakEvenUSDPerMWh(e.HashpriceUSDPerPHDay, 20, e.PoolFeePct, e.OtherCostUSDPerMWh)
		if e.HashpriceUSDPerPHDay > 0 && math.IsNaN(be) {
			t.Fatalf("break-even NaN for %+v; want !(e.HashpriceUSDPerPHDay > 0 && math.IsNaN(be))", e)
		}
	})
}
