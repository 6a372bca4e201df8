package switcher

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashgate/hashgate/switcher/meter"
)

// With a site meter only, the non-mining load is the site's reading less
// the plan's mining load. Rigs take seconds to stop drawing after a
// curtail (a firmware sleep, the hashboards winding down), so for a
// while the site meter still reads the rigs just curtailed while the
// plan's load no longer counts them: the loop must not take that for
// more AI load and curtail again at every reading until the meter
// catches up (a cascade that parks far more than the cap asks).
func TestCapSiteMeterLagNoCascade(t *testing.T) {
	const capKW, reserveKW, rigKW, idleKW, lag = 1000.0, 20.0, 3.0, 0.1, 5
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	pol, err := ParsePolicy(filepath.Join(dir, "policy.toml"), []byte(`
site_capacity_kw = 2000.0
reserve_kw = 20.0
ramp_up_kw_per_min = 3000.0
min_off = "0s"
min_on = "0s"
site_cap_kw = 1000.0
cap_dead_band_kw = 3.0
[default]
rig_kw = 3.0
idle_kw = 0.1
pools_bound = true
`))
	if err != nil {
		t.Fatal(err)
	}
	spec := meter.Spec{Name: "utility", Measures: meter.Site, Interval: time.Second, StaleAfter: 5 * time.Second}
	s, _ := newCapSwitcher(t, dir, clk, pol, spec)
	defer s.Close()
	for i := range 300 {
		s.RigConnected(fmt.Sprintf("rig-%03d", i), "10.0.0.1:1")
	}
	var counted []float64 // the mining load each tick left, as the plan counts it
	least := 1e9
	for sec := 1; sec <= 120; sec++ {
		clk.Advance(time.Second)
		ai := 300.0
		if sec > 60 {
			ai = 600
		}
		// The rigs draw what the plan of `lag` seconds ago left them.
		drawn := 0.0
		if n := len(counted); n >= lag {
			drawn = counted[n-lag]
		} else if n > 0 {
			drawn = counted[0]
		}
		s.MeterReading(meter.Reading{Meter: "utility", Measures: meter.Site, KW: ai + drawn, At: clk.Now()})
		s.step()
		m := 0.0
		for _, r := range s.Rigs() {
			switch r.State {
			case "mining":
				m += rigKW
			case "parked", "pending":
				m += idleKW
			}
		}
		counted = append(counted, m)
		if sec > 60 && sec <= 80 {
			least = min(least, m)
		}
	}
	allowed := capKW - 600 - reserveKW
	if least < 0.9*allowed {
		t.Errorf("after the AI step the counted mining load fell to %.1f kW, want at least 90%% of the %.0f kW the cap allows (no cascade)", least, allowed)
	}
	if last := counted[len(counted)-1]; last < 0.97*allowed || last > allowed {
		t.Errorf("mining settled at %.1f kW, want within 97%%-100%% of %.0f kW", last, allowed)
	}
}
