package main

// The demo site's size: its halls, its capacity and the scripted
// allocations, all in proportion to --miners so that a small demo
// curtails as a large one does.

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// demoHall is one of the demo's halls of simulated Stratum miners.
type demoHall struct {
	group, workers, nameFormat string
	rigKW, idleKW, jth         float64
	priority                   int
}

// demoHalls: the newest rigs are kept longest (highest priority), the S9s
// go first. The firmware hall (fwPriority) sits between s9 and s19.
var demoHalls = []demoHall{
	{"s21-hall-a", "demo.s21-*", "demo.s21-%03d", 3.5, 0.1, 17.5, 20},
	{"s19-hall-b", "demo.s19-*", "demo.s19-%03d", 3.25, 0.12, 34.0, 10},
	{"s9-hall-c", "demo.s9-*", "demo.s9-%03d", 1.4, 0.08, 98.0, 0},
}

// The firmware hall: internal/emu/hall's default rig (3250 W mining, 60 W
// asleep, 100 TH/s), so 32.5 J/TH; hall.Groups counts a park at 1.5 x
// the sleeping draw.
const (
	fwPriority = 5
	fwRigKW    = 3.25
	fwIdleKW   = 0.09
	fwJTH      = 32.5
	fwPrefix   = "fw-hall-d"
	fwNames    = "demo.fw-%s-%05d"
)

// demoSite is the demo site's size.
type demoSite struct {
	perHall int // simulated miners in each Stratum hall
	fwRigs  int // emulated rigs in the firmware hall

	capacityKW, reserveKW, rampKWPerMin float64
	minOff                              time.Duration // min_off and min_on
	// trainingKW is the first allocation: it curtails the s9 hall and
	// about half the firmware hall; emergencyKW (70% of the capacity)
	// reaches into the s21 hall.
	trainingKW, emergencyKW float64
}

// newDemoSite sizes the site for miners simulated miners (split over the
// three Stratum halls) and a scripted step: the firmware hall has a tenth
// as many rigs (10 to 100), the capacity is 10% above the nameplate
// total, and min_off is half a step (1 s to 10 s) so that a short demo
// sees rigs resume.
func newDemoSite(miners int, step time.Duration) demoSite {
	s := demoSite{perHall: miners / 3, fwRigs: min(max(miners/10, 10), 100)}
	s.capacityKW = math.Ceil(s.nameplateKW()*1.1/10) * 10
	s.reserveKW = max(1, math.Round(s.capacityKW*0.02))
	s.rampKWPerMin = math.Ceil(s.capacityKW*1.2/10) * 10
	s.minOff = min(max((step/2).Round(time.Second), time.Second), 10*time.Second)
	// The budget the training run leaves: s21 and s19 mining, s9 parked
	// at idle_kw, half the firmware hall mining. Rounded down to a round
	// figure, which leaves a little more room, never less.
	keep := float64(s.perHall)*(demoHalls[0].rigKW+demoHalls[1].rigKW+demoHalls[2].idleKW) + s.fwNameplateKW()/2
	unit := s.roundUnit()
	s.trainingKW = math.Floor((s.capacityKW-s.reserveKW-keep)/unit) * unit
	s.emergencyKW = math.Round(s.capacityKW*0.7/unit) * unit
	return s
}

// roundUnit is the unit the allocations are rounded to: 10 kW on a
// megawatt site, 5 kW above 100 kW, else 1 kW.
func (s demoSite) roundUnit() float64 {
	switch {
	case s.capacityKW >= 1000:
		return 10
	case s.capacityKW >= 100:
		return 5
	}
	return 1
}

func (s demoSite) fwNameplateKW() float64 { return float64(s.fwRigs) * fwRigKW }

// nameplateKW is every rig's draw while mining.
func (s demoSite) nameplateKW() float64 {
	total := s.fwNameplateKW()
	for _, h := range demoHalls {
		total += float64(s.perHall) * h.rigKW
	}
	return total
}

// policy is the demo's policy file; fwGroups are the firmware hall's
// [[group]] tables (hall.Groups).
func (s demoSite) policy(fwGroups string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# hashgate demo site, sized for %d simulated miners and %d emulated rigs
# pools_bound = true: the simulated rigs have no pool but hashgate, so a
# park through Stratum holds. The fw-hall-d groups are emulated firmware:
# curtailed through each rig's own API and read back every poll_interval.
site_capacity_kw = %g
reserve_kw = %g
ramp_up_kw_per_min = %g
min_off = %q
min_on = %q
# Cap mode: the site's limit at the meter. The mining budget follows
# cap - the AI racks' metered draw - reserve, and the power desk's
# allocations still bind when tighter. A stale meter drops mining to
# safe_budget_kw until it has been good for failsafe_hold.
site_cap_kw = %g
safe_budget_kw = %g
cap_hold_up = %q
failsafe_hold = %q
`, 3*s.perHall, s.fwRigs, s.capacityKW, s.reserveKW, s.rampKWPerMin, s.minOff.String(), s.minOff.String(),
		s.capacityKW, s.safeBudgetKW(), s.capHoldUp().String(), s.failsafeHold().String())
	for _, h := range demoHalls {
		fmt.Fprintf(&b, "\n[[group]]\nname = %q\nworkers = [%q]\nrig_kw = %g\nidle_kw = %g\nefficiency_j_th = %g\npriority = %d\nactuator = \"stratum\"\npools_bound = true\n",
			h.group, h.workers, h.rigKW, h.idleKW, h.jth, h.priority)
	}
	b.WriteString(fwGroups)
	return b.String()
}

// safeBudgetKW is the demo's fail-safe budget: half the capacity, which
// parks the s9 hall and part of the next.
func (s demoSite) safeBudgetKW() float64 {
	return math.Floor(s.capacityKW*0.5/s.roundUnit()) * s.roundUnit()
}

// capHoldUp and failsafeHold scale with the script's step (min_off is
// half a step): the budget rises a quarter step after the AI draw falls,
// and the fail-safe ends half a step after the meter is back.
func (s demoSite) capHoldUp() time.Duration    { return max(s.minOff/2, time.Second).Round(time.Second) }
func (s demoSite) failsafeHold() time.Duration { return s.minOff }

// meterStale is when the AI racks' meter, read every second, is stale
// (and the fail-safe on) once silent: half a step, 1.5 s to 3 s, so the
// fail-safe shows before the meter comes back a step later.
func (s demoSite) meterStale() time.Duration {
	return min(max(s.minOff, 1500*time.Millisecond), 3*time.Second)
}
