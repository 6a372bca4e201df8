package switcher

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashgate/hashgate/switcher/meter"
)

// The loop under simulated AI draws of several shapes: every second the
// AI racks draw ai(t), the ai meter reads it, the switcher ticks, and the
// rigs draw what their state says (rig_kw mining, idle_kw held). The
// site's load (AI + mining) must stay under the cap after every tick,
// and the mining load must average at least 98% of the budget the cap
// allows (cap − AI − reserve) over every 5 minutes: there are always
// rigs to resume (300 rigs of 3 kW, 900 kW, for at most 680 kW).
func TestCapTracking(t *testing.T) {
	if testing.Short() {
		t.Skip("30 simulated minutes per shape")
	}
	const (
		capKW, reserveKW = 1000.0, 20.0
		rigs, rigKW      = 300, 3.0
		idleKW           = 0.1
		run              = 30 * time.Minute
		window           = 5 * time.Minute
	)
	noise := func(s float64) float64 { return 2 * math.Sin(s*1.3) }
	shapes := []struct {
		name string
		ai   func(s float64) float64 // s: seconds from the start
		site bool                    // read by a site meter (AI + mining), not an ai meter
	}{
		{"step", func(s float64) float64 {
			if s >= 600 && s < 1200 {
				return 600 + noise(s)
			}
			return 300 + noise(s)
		}, false},
		{"ramp", func(s float64) float64 { // 300 → 700 → 300 over the run
			return 700 - 400*math.Abs(s-900)/900 + noise(s)
		}, false},
		{"sawtooth", func(s float64) float64 { // rises 200 kW over 5 min, drops at once
			return 300 + 200*math.Mod(s, 300)/300 + noise(s)
		}, false},
		{"spikes", func(s float64) float64 { // +250 kW for 3 s every 5 min
			if m := math.Mod(s, 300); m >= 150 && m < 153 {
				return 650 + noise(s)
			}
			return 400 + noise(s)
		}, false},
		{"ramp, site meter", func(s float64) float64 {
			return 700 - 400*math.Abs(s-900)/900 + noise(s)
		}, true},
	}
	for _, shape := range shapes {
		t.Run(shape.name, func(t *testing.T) {
			dir := t.TempDir()
			clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			pol, err := ParsePolicy(filepath.Join(dir, "policy.toml"), []byte(fmt.Sprintf(`
site_capacity_kw = 2000.0
reserve_kw = %v
ramp_up_kw_per_min = 3000.0
min_off = "0s"
min_on = "0s"
site_cap_kw = %v
cap_dead_band_kw = 3.0
failsafe_after = "5s"
[default]
rig_kw = %v
idle_kw = %v
pools_bound = true
`, reserveKW, capKW, rigKW, idleKW)))
			if err != nil {
				t.Fatal(err)
			}
			spec := meter.Spec{Name: "ai-racks", Measures: meter.AI, Interval: time.Second, StaleAfter: 5 * time.Second}
			if shape.site {
				spec.Name, spec.Measures = "utility", meter.Site
			}
			s, _ := newCapSwitcher(t, dir, clk, pol, spec)
			defer s.Close()
			for i := range rigs {
				s.RigConnected(fmt.Sprintf("rig-%03d", i), "10.0.0.1:1")
			}
			t0 := clk.Now()
			n := int(run / time.Second)
			mining, allowed := make([]float64, n), make([]float64, n)
			plans0 := s.Counters().CapReplans.Load()
			for i := range n {
				clk.Advance(time.Second)
				sec := clk.Now().Sub(t0).Seconds()
				ai := shape.ai(sec)
				r := meter.Reading{Meter: spec.Name, Measures: spec.Measures, KW: ai, At: clk.Now()}
				if shape.site && i > 0 {
					r.KW += mining[i-1] // the rigs as the last tick left them
				}
				s.MeterReading(r)
				s.step()
				for _, r := range s.Rigs() {
					switch r.State {
					case "mining":
						mining[i] += rigKW
					case "parked", "pending":
						mining[i] += idleKW
					}
				}
				allowed[i] = capKW - ai - reserveKW
				if site := ai + mining[i]; site > capKW {
					t.Fatalf("t=%vs: site load %.1f kW (AI %.1f + mining %.1f) over the cap %v", sec, site, ai, mining[i], capKW)
				}
				if st := s.Status(); st.Failsafe {
					t.Fatalf("t=%vs: fail-safe %q with a fresh meter", sec, st.FailsafeReason)
				}
			}
			worst, at := math.Inf(1), 0
			w := int(window / time.Second)
			for start := 60; start+w <= n; start += 30 {
				var m, a float64
				for i := start; i < start+w; i++ {
					m += mining[i]
					a += allowed[i]
				}
				if r := m / a; r < worst {
					worst, at = r, start
				}
			}
			plans := s.Counters().CapReplans.Load() - plans0
			cs := s.Counters()
			t.Logf("%s: worst 5-min mining/allowed %.2f%% (window from %ds); %d readings of %d called for a plan; %d curtails, %d resumes",
				shape.name, 100*worst, at, plans, n, cs.Curtails.Load(), cs.Resumes.Load())
			if worst < 0.98 {
				t.Errorf("mining averaged %.2f%% of the allowed budget over the 5 minutes from %ds, want at least 98%%", 100*worst, at)
			}
			if plans > uint64(n)/2 {
				t.Errorf("%d readings of %d called for a plan, want the dead band to spare most", plans, n)
			}
		})
	}
}

// Rigs that draw 10% more than their rig_kw: with a mining meter the
// excess it measures over the plan's load comes off the budget, so the
// site settles under the cap (after capSettle from the admission) and
// mining still uses what the cap allows.
func TestCapMiningExcess(t *testing.T) {
	const capKW, reserveKW, aiKW, realKW, idleKW = 1000.0, 20.0, 300.0, 3.3, 0.1
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	pol, err := ParsePolicy(filepath.Join(dir, "policy.toml"), []byte(`
site_capacity_kw = 2000.0
reserve_kw = 20.0
ramp_up_kw_per_min = 3000.0
min_off = "0s"
min_on = "0s"
site_cap_kw = 1000.0
cap_hold_up = "4s"
[default]
rig_kw = 3.0
idle_kw = 0.1
pools_bound = true
`))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := newCapSwitcher(t, dir, clk, pol,
		meter.Spec{Name: "ai-racks", Measures: meter.AI, Interval: time.Second, StaleAfter: 5 * time.Second},
		meter.Spec{Name: "halls", Measures: meter.Mining, Interval: time.Second, StaleAfter: 5 * time.Second})
	defer s.Close()
	for i := range 300 {
		s.RigConnected(fmt.Sprintf("rig-%03d", i), "10.0.0.1:1")
	}
	var mining, sum float64
	n := 0
	for sec := 1; sec <= 300; sec++ {
		clk.Advance(time.Second)
		s.MeterReading(meter.Reading{Meter: "ai-racks", Measures: meter.AI, KW: aiKW, At: clk.Now()})
		s.MeterReading(meter.Reading{Meter: "halls", Measures: meter.Mining, KW: mining, At: clk.Now()})
		s.step()
		mining = 0
		for _, r := range s.Rigs() {
			switch r.State {
			case "mining":
				mining += realKW
			case "parked", "pending":
				mining += idleKW
			}
		}
		if site := aiKW + mining; sec > 30 && site > capKW {
			t.Fatalf("t=%ds: site %.1f kW over the cap %v (mining measured %.1f, budget %v)", sec, site, capKW, mining, s.Status().MiningBudgetKW)
		}
		if sec > 120 {
			sum += mining
			n++
		}
	}
	allowed := capKW - aiKW - reserveKW
	if avg := sum / float64(n); avg < 0.98*allowed || avg > allowed {
		t.Errorf("mining measured %.1f kW on average over the last 3 minutes, want within 98%%-100%% of the %v kW the cap allows", avg, allowed)
	}
}
