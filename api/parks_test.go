package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashgate/hashgate/api"
	"github.com/hashgate/hashgate/switcher"
)

// Parks without evidence, as every reader sees them: the default group of
// testPolicy without pools_bound (its rigs may have another pool), the ten
// rigs an allocation of 68 kW parks count at rig_kw. Status, workers,
// metrics, the dashboard and the plan answer say not compliant and why,
// and the plan curtails no more for it.
func TestUnverifiedParksReported(t *testing.T) {
	// testPolicy ends with [default]'s pools_bound = true.
	unbound := strings.TrimSuffix(strings.TrimSpace(testPolicy), "pools_bound = true") + "\n"
	e := start(t, envOpts{policy: unbound})
	if pol := e.sw.Policy(); pol.Default.PoolsBound || !pol.Groups[0].PoolsBound {
		t.Fatalf("policy: default bound %v, hall-a bound %v; want false, true", pol.Default.PoolsBound, pol.Groups[0].PoolsBound)
	}
	e.steady()
	var plan api.PlanResponse
	e.want("PUT", "/api/v1/allocation", writeToken, map[string]any{"ai_kw": 68.0, "reason": "parks"}, 200, &plan)
	if len(plan.Curtail) != 10 || plan.Compliant || !plan.PlannedCompliant || plan.ParksUnverified != 10 ||
		plan.LoadAfterKW != 60 || plan.PlannedLoadAfterKW != 31 || !strings.Contains(plan.NotCompliantReason, "10 parks unverified") {
		t.Fatalf("plan answer %+v: want 10 curtailed, 60 kW counted (31 planned), not compliant, 10 parks unverified", plan)
	}

	p := e.status().Power
	if p.Compliant || p.CompliantSince != nil || p.MiningLoadKW != 60 || p.MiningLoadPlannedKW != 31 || !p.PlannedCompliant ||
		p.ParksUnverified != 10 || p.ParksBound != 0 || p.Counted["parked_unverified"] != (switcher.CountedLoad{Rigs: 10, KW: 30}) {
		t.Fatalf("status power %+v", p)
	}
	for _, part := range []string{"not compliant: 10 parks unverified", "load 60 kW over the budget 32 kW", "if the parks hold it is 31 kW", "pools_bound = true"} {
		if !strings.Contains(p.NotCompliantReason, part) {
			t.Errorf("not_compliant_reason %q lacks %q; want strings.Contains(p.NotCompliantReason, part)", p.NotCompliantReason, part)
		}
	}
	parked, _ := e.workers("?state=curtailed")
	mining, _ := e.workers("?state=mining")
	if len(parked) != 10 || len(mining) != 10 {
		t.Fatalf("%d curtailed and %d mining workers, want 10 and 10", len(parked), len(mining))
	}
	for _, w := range parked {
		if w.CountedAs != "parked_unverified" || w.CountedKW != 3 {
			t.Fatalf("parked worker %s counted as %q %v kW, want parked_unverified 3", w.Name, w.CountedAs, w.CountedKW)
		}
	}
	for _, w := range mining {
		if w.CountedAs != "mining" || w.CountedKW != 3 || !strings.HasPrefix(w.Name, "acct.rig-0000") {
			t.Fatalf("mining worker %s counted as %q %v kW; want w.CountedAs == \"mining\", w.CountedKW == 3, strings.HasPrefix(w.Name, \"acct.rig-0000\")", w.Name, w.CountedAs, w.CountedKW)
		}
	}
	// The planner does not chase the counted load: more plans, the same ten mine.
	plans := e.sw.Counters().Plans.Load()
	e.eventually(fmt.Sprintf("two more plans (%d)", plans+2), func() (bool, any) { n := e.sw.Counters().Plans.Load(); return n >= plans+2, n })
	if _, n := e.workers("?state=mining"); n != 10 {
		t.Fatalf("%d mining after more plans: curtailed for parks it cannot stop; want n == 10", n)
	}

	_, data := e.do("GET", "/metrics", "", nil)
	text := string(data)
	for _, want := range []string{
		`hashgate_power_mining_load_kw 60`, `hashgate_power_mining_load_planned_kw 31`, `hashgate_power_compliant 0`,
		`hashgate_rigs_counted{as="parked_unverified"} 10`, `hashgate_rigs_counted{as="mining"} 10`, `hashgate_rigs_counted{as="parked_bound"} 0`,
		`hashgate_power_mining_load_counted_kw{as="parked_unverified"} 30`, `hashgate_power_mining_load_counted_kw{as="mining"} 30`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics have no %q; want strings.Contains(text, want)", want)
		}
	}
	if page, ok := dashboardText(t, e.ts.URL); ok {
		wantOnPage(t, page, "Not compliant: 10 parks unverified", "parked_unverified\t10 rigs\t30.0 kW\trig_kw: held without work, but nothing shows it is not hashing on another pool", "31.0 kW")
	}
}
