package api_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/api"
	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/internal/apitest"
	"github.com/hashgate/hashgate/switcher"
)

// breakdownSum adds up the parts of the load breakdown.
func breakdownSum(b *api.LoadBreakdown) float64 {
	return b.MiningKW + b.PinnedOnKW + b.ParkedIdleKW + b.ParkedUnverifiedKW + b.LeftWhileParkedKW +
		b.DeviceHashingKW + b.ResumeFailedKW
}

func closeTo(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

// The breakdown sums to mining_load_kw and says which rigs draw what;
// parked and pending are counted apart, curtailed is parked.
func TestLoadBreakdownSumsToLoad(t *testing.T) {
	e := start(t, envOpts{})
	e.steady()
	e.want("PUT", "/api/v1/rigs/acct.rig-00000/pin", writeToken, map[string]any{"mode": "on", "reason": "test"}, 200, nil)
	var plan api.PlanResponse
	e.want("PUT", "/api/v1/allocation", writeToken, map[string]any{"ai_kw": 68.0, "reason": "breakdown"}, 200, &plan)
	// The answer breaks down the load after the plan the same way.
	if pb := plan.LoadBreakdown; pb == nil || !closeTo(breakdownSum(pb), plan.LoadAfterKW) || !closeTo(pb.PinnedOnKW, 3) || !closeTo(pb.MiningKW, 27) || !closeTo(pb.ParkedIdleKW, 1) {
		t.Fatalf("allocation answer: breakdown %+v of mining_load_after_kw %v; want mining 27, pinned on 3, parked at idle 1, summing to it", pb, plan.LoadAfterKW)
	}
	e.eventually("load down to 31 kW", func() (bool, any) { kw := e.status().Power.MiningLoadKW; return kw == 31, kw })
	st := e.status()
	b := st.Power.LoadBreakdown
	if b == nil {
		t.Fatalf("status power: got %+v with no load_breakdown, want one", st.Power)
	}
	if sum := breakdownSum(b); !closeTo(sum, st.Power.MiningLoadKW) {
		t.Fatalf("breakdown %+v sums to %v kW, want mining_load_kw %v", *b, sum, st.Power.MiningLoadKW)
	}
	want := api.LoadBreakdown{MiningKW: 27, PinnedOnKW: 3, ParkedIdleKW: 1}
	if !closeTo(b.MiningKW, want.MiningKW) || !closeTo(b.PinnedOnKW, want.PinnedOnKW) || !closeTo(b.ParkedIdleKW, want.ParkedIdleKW) ||
		b.LeftWhileParkedKW != 0 || b.ParkedUnverifiedKW != 0 {
		t.Fatalf("breakdown %+v, want mining 27, pinned on 3, parked at idle 1, the rest 0", *b)
	}
	if st.Curtailed != 10 || st.Parked != 10 || st.Pending != 0 || st.Workers[api.StateCurtailed] != 10 {
		t.Fatalf("curtailed %d, parked %d, pending %d, workers curtailed %d; want 10, 10, 0, 10",
			st.Curtailed, st.Parked, st.Pending, st.Workers[api.StateCurtailed])
	}
}

// After every rig disconnects, the parked rigs that left still count at
// rig_kw: the status says so in the breakdown and the not-compliant
// detail, and the dashboard shows both.
func TestNotCompliantAfterEveryRigLeftIsExplained(t *testing.T) {
	// A parked rig away for LeftGrace is flagged left_while_parked.
	s := apitest.Start(t, apitest.Options{Policy: testPolicy, Miners: fleetSize, Log: testLog(t),
		Tokens:   []config.Token{{Name: "power-desk", Token: writeToken, Role: config.RoleWrite}},
		Switcher: func(c *switcher.Config) { c.LeftGrace = 200 * time.Millisecond },
	})
	e := &env{t: t, pool: s.Pool, srv: s.Proxy, sw: s.Switcher, fleet: s.Fleet, ts: s.API}
	e.steady()
	// Budget 10 kW: 2 rigs mine (6 kW), 18 park at 0.1 kW.
	e.want("PUT", "/api/v1/allocation", writeToken, map[string]any{"ai_kw": 90.0, "reason": "leave"}, 200, nil)
	e.eventually("18 rigs parked", func() (bool, any) { n := e.status().Parked; return n == 18, n })
	e.fleet.Close()
	var st api.Status
	defer func() {
		if t.Failed() {
			t.Logf("last status: connected %d, parked %d, power %+v, breakdown %+v", st.MinersConnected, st.Parked, *st.Power, *st.Power.LoadBreakdown)
		}
	}()
	e.eventually("every rig gone, 54 kW left while parked, not compliant", func() (bool, any) {
		st = e.status()
		return st.MinersConnected == 0 && st.Power.LoadBreakdown.LeftWhileParkedKW == 54 && !st.Power.Compliant,
			fmt.Sprintf("%d connected, power %+v", st.MinersConnected, st.Power)
	})
	p := st.Power
	if sum := breakdownSum(p.LoadBreakdown); !closeTo(sum, p.MiningLoadKW) {
		t.Fatalf("breakdown %+v sums to %v kW, want mining_load_kw %v", *p.LoadBreakdown, sum, p.MiningLoadKW)
	}
	t.Logf("reason: %s\ndetail: %s", p.NotCompliantReason, p.NotCompliantDetail)
	if p.NotCompliantReason == "" {
		t.Fatalf("not compliant: got reason %q (detail %q), want one", p.NotCompliantReason, p.NotCompliantDetail)
	}
	wantDetail := "54.0 kW from 18 rigs that left while parked, counted at rig_kw"
	if !strings.Contains(p.NotCompliantDetail, wantDetail) {
		t.Fatalf("not_compliant_detail %q, want it to contain %q", p.NotCompliantDetail, wantDetail)
	}
	page, ok := dashboardText(t, e.ts.URL)
	if !ok {
		return
	}
	if i := strings.Index(page, "0.00 TH/s"); i >= 0 {
		t.Fatalf("dashboard hashrate: got %q, want automatic units, not 0.00 TH/s", page[max(0, i-60):i+9])
	}
	wantOnPage(t, page, wantDetail, " H/s", "mining load is", "left while parked\t54.0 kW", "parked rigs", "pending admission",
		"left_while_parked\t18 rigs\t54.0 kW", "Not compliant")
}
