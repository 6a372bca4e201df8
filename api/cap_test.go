package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/api"
	"github.com/hashgate/hashgate/switcher/meter"
)

// PUT /api/v1/cap: write token only, strict body, the plan as an
// allocation's, the status's power section and metrics after it.
func TestCapAPI(t *testing.T) {
	e := start(t, envOpts{})
	e.steady()
	body := map[string]any{"cap_kw": 90.0, "reason": "substation"}
	e.wantError("PUT", "/api/v1/cap", "", body, 401, "unauthorized")
	e.wantError("PUT", "/api/v1/cap", "not-a-token", body, 401, "invalid token")
	e.wantError("PUT", "/api/v1/cap", readToken, body, 403, "read-only")
	e.wantError("POST", "/api/v1/heartbeat", "", nil, 401, "unauthorized")
	e.wantError("POST", "/api/v1/heartbeat", readToken, nil, 403, "read-only")
	for _, c := range []struct{ body, text string }{
		{`{"cap_kw": 90, "reason": "x"`, "bad JSON"},
		{`{"cap_kw": "lots", "reason": "x"}`, "cap_kw"},
		{`{"cap_kw": 90, "reason": "x", "cap_mw": 2}`, "cap_mw"},
		{`{"reason": "x"}`, "cap_kw is required"},
		{`{"cap_kw": 90}`, "reason"},
		{`{"cap_kw": -1, "reason": "x"}`, "≥ 0"},
		{`{"cap_kw": 90, "reason": "x", "until": "tomorrow"}`, "RFC 3339"},
		{`{"cap_kw": 90, "reason": "x", "until": "2001-01-01T00:00:00Z"}`, "future"},
		{``, "empty"},
	} {
		e.wantError("PUT", "/api/v1/cap", writeToken, c.body, 400, c.text)
	}
	e.wantError("GET", "/api/v1/cap", writeToken, nil, 405, "not allowed")
	e.wantError("POST", "/api/v1/heartbeat", writeToken, `{"x": 1}`, 400, "x")

	// The AI racks draw 40 kW: under a 90 kW cap mining has 50 kW, which
	// is tighter than the allocation's 100.
	e.sw.MeterReading(meter.Reading{Meter: "ai-racks", Measures: meter.AI, KW: 40, At: time.Now()})
	var out api.CapResponse
	e.want("PUT", "/api/v1/cap", writeToken, body, 200, &out)
	if out.CapKW != 90 || out.BudgetRule != "cap" || out.MiningBudgetKW != 50 || len(out.Curtail) != 4 ||
		out.Changed == nil || !*out.Changed || out.Who != "power-desk" || out.Persisted == nil || !*out.Persisted {
		t.Fatalf("cap answer %+v, want cap 90, rule cap, budget 50, 4 curtailed, changed, by power-desk, persisted", out)
	}
	e.want("PUT", "/api/v1/cap", writeToken, body, 200, &out)
	if out.Changed == nil || *out.Changed {
		t.Fatalf("repeat: changed %v, want false", out.Changed)
	}
	e.eventually("load under the cap budget", func() (bool, any) { kw := e.status().Power.MiningLoadKW; return kw <= 50, kw })
	p := e.status().Power
	if p.CapKW != 90 || p.AIKWMeasured == nil || *p.AIKWMeasured != 40 || p.BudgetRule != "cap" || p.Failsafe ||
		p.Cap == nil || p.Cap.Who != "power-desk" || p.Cap.Reason != "substation" || p.SiteLoadKW != nil {
		t.Fatalf("power %+v, want cap 90 by power-desk, ai 40 measured, rule cap, no fail-safe, no site load", p)
	}
	if len(p.Meters) != 1 || p.Meters[0].Name != "ai-racks" || p.Meters[0].Stale || p.Meters[0].KW == nil || *p.Meters[0].KW != 40 {
		t.Fatalf("meters %+v, want ai-racks at 40 kW, fresh", p.Meters)
	}
	evs, _ := e.events("?kind=cap")
	if len(evs) != 1 || evs[0].Who != "power-desk" || evs[0].Reason != "substation" {
		t.Fatalf("cap events %+v, want one by power-desk", evs)
	}
	_, data := e.do("GET", "/metrics", "", nil)
	for _, want := range []string{`hashgate_power_site_cap_kw 90`, `hashgate_power_ai_kw_measured 40`, `hashgate_failsafe 0`,
		`hashgate_power_budget_rule{rule="cap"} 1`, `hashgate_meter_kw{measures="ai",meter="ai-racks"} 40`,
		`hashgate_meter_stale{measures="ai",meter="ai-racks"} 0`, `hashgate_power_mining_budget_kw 50`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("metrics have no %q", want)
		}
	}
	if strings.Contains(string(data), "hashgate_failsafe_info") {
		t.Error("hashgate_failsafe_info present outside the fail-safe")
	}

	if page, ok := dashboardText(t, e.ts.URL); ok {
		wantOnPage(t, page, "Cap mode: site cap 90.0 kW set by power-desk", "non-mining load measured 40.0 kW",
			"the budget follows the cap rule", "ai-racks")
	}

	// 0 ends the API's cap: the policy has none, the allocation rules.
	e.want("PUT", "/api/v1/cap", writeToken, map[string]any{"cap_kw": 0, "reason": "lifted"}, 200, &out)
	if out.CapKW != 0 || out.BudgetRule != "allocation" || out.MiningBudgetKW != 100 {
		t.Fatalf("cap 0: %+v, want no cap, rule allocation, budget 100", out)
	}
}

// POST /api/v1/heartbeat keeps the fail-safe off; without it, past
// heartbeat_timeout, the status and metrics say fail-safe "heartbeat".
func TestHeartbeatAPI(t *testing.T) {
	e := start(t, envOpts{policy: "heartbeat_timeout = \"1s\"\nsafe_budget_kw = 30.0\nfailsafe_hold = \"0s\"\n" + testPolicy})
	e.eventually("fail-safe without a heartbeat", func() (bool, any) {
		p := e.status().Power
		return p.Failsafe && p.FailsafeReason == "heartbeat" && p.MiningBudgetKW == 30 && p.BudgetRule == "failsafe", p
	})
	_, data := e.do("GET", "/metrics", "", nil)
	for _, want := range []string{`hashgate_failsafe 1`, `hashgate_failsafe_info{reason="heartbeat"} 1`, `hashgate_power_budget_rule{rule="failsafe"} 1`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("metrics have no %q", want)
		}
	}
	if page, ok := dashboardText(t, e.ts.URL); ok {
		wantOnPage(t, page, "Fail-safe: the mining budget is the policy's safe budget. heartbeat")
	}
	var hb api.HeartbeatResponse
	e.want("POST", "/api/v1/heartbeat", writeToken, nil, 200, &hb)
	if hb.Who != "power-desk" || hb.At.IsZero() {
		t.Fatalf("heartbeat answer %+v, want who power-desk and a time", hb)
	}
	// Kept alive, the fail-safe ends (failsafe_hold 0s) and stays off.
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(200 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				e.sw.Heartbeat("power-desk")
			}
		}
	}()
	defer func() { close(stop); <-done }()
	e.eventually("fail-safe off with heartbeats", func() (bool, any) {
		p := e.status().Power
		return !p.Failsafe && p.MiningBudgetKW == 100 && p.FailsafeSince == nil, p
	})
	evs, _ := e.events("?kind=failsafe")
	if len(evs) < 2 || evs[0].Fields["state"] != "entered" || evs[len(evs)-1].Fields["state"] != "exited" {
		t.Fatalf("failsafe events %+v, want entered then exited", evs)
	}
}
