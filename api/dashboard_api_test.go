package api_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashgate/hashgate/api"
)

// The worker table's query on the API: search, sort, order and flag,
// each refused with a 400 naming it when it is not one the API knows.
func TestWorkersQuery(t *testing.T) {
	e := start(t, envOpts{})
	e.steady()
	e.want("PUT", "/api/v1/rigs/acct.rig-00013/pin", writeToken, map[string]any{"mode": "off", "reason": "fans"}, 200, nil)
	e.eventually("rig 13 curtailed", func() (bool, any) {
		ws, _ := e.workers("?q=rig-00013")
		return len(ws) == 1 && ws[0].State == "curtailed", ws
	})
	for _, c := range []struct {
		query     string
		wantTotal int
		wantFirst string
	}{
		{"?q=RIG-0001&limit=2", 10, "acct.rig-00010"},
		{"?q=rig-0001&sort=name&order=desc&limit=2", 10, "acct.rig-00019"},
		{"?flag=pinned", 1, "acct.rig-00013"},
		{"?flag=pinned&group=hall-a", 0, ""},
		{"?sort=state&order=desc&limit=1", 20, "acct.rig-00000"}, // mining > curtailed; ties by name
		{"?sort=state&limit=1", 20, "acct.rig-00013"},
		{"?sort=counted_kw&limit=1", 20, "acct.rig-00013"}, // parked at idle_kw
		{"?group=default&state=curtailed&sort=hashrate_ths&order=desc", 1, "acct.rig-00013"},
	} {
		ws, total := e.workers(c.query)
		first := ""
		if len(ws) > 0 {
			first = ws[0].Name
		}
		if total != c.wantTotal || first != c.wantFirst {
			t.Errorf("GET /api/v1/workers%s: total %d, first %q; want %d, %q", c.query, total, first, c.wantTotal, c.wantFirst)
		}
	}
	for _, c := range []struct{ query, want string }{
		{"?sort=speed", `sort "speed": must be one of accepted, counted_kw, group, hashrate_ths, last_share, name, power_state, rejected, since, state`},
		{"?order=up", `order "up": must be asc or desc`},
		{"?flag=broken", `flag "broken": must be one of curtail_failed, resume_failed, left_while_parked, duplicate_name, pinned, pools_unbound`},
		{"?search=rig", `unknown query parameter "search": GET /api/v1/workers takes group, state, flag, q, sort, order, limit, offset`},
		{"?q=a&q=b", `query parameter "q" given 2 times`},
	} {
		e.wantError("GET", "/api/v1/workers"+c.query, "", nil, 400, c.want)
	}
}

// GET /api/v1/groups: every policy group with its rigs by state, load
// and hashrate; an allocation moves rigs between states in one group.
func TestGroupsEndpoint(t *testing.T) {
	e := start(t, envOpts{})
	e.steady()
	groups := func() map[string]api.GroupStatus {
		var gs []api.GroupStatus
		e.want("GET", "/api/v1/groups", "", nil, 200, &gs)
		out := map[string]api.GroupStatus{}
		for _, g := range gs {
			out[g.Name] = g
		}
		if len(gs) != 2 || gs[0].Name != "hall-a" || gs[1].Name != "default" {
			t.Fatalf("groups %+v, want hall-a then default", gs)
		}
		return out
	}
	g := groups()
	if a := g["hall-a"]; a.Priority != 10 || a.RigKW != 3 || a.Rigs["mining"] != 10 || a.Rigs["parked"] != 0 || a.CountedKW != 30 || a.HashrateTHs <= 0 {
		t.Errorf("hall-a before: %+v, want priority 10, 10 rigs mining at 30 kW, a hashrate", a)
	}
	e.want("PUT", "/api/v1/allocation", writeToken, map[string]any{"ai_kw": 68.0, "reason": "groups"}, 200, nil)
	e.eventually("default's 10 rigs parked", func() (bool, any) { g := groups()["default"]; return g.Rigs["parked"] == 10, g.Rigs })
	g = groups()
	if d := g["default"]; d.Rigs["mining"] != 0 || d.Workers["curtailed"] != 10 || !closeTo(d.CountedKW, 1) {
		t.Errorf("default after: %+v, want 0 mining, 10 workers curtailed, 1 kW", d)
	}
	if a := g["hall-a"]; a.Rigs["mining"] != 10 || a.Rigs["parked"] != 0 {
		t.Errorf("hall-a after: %+v, want 10 mining", a)
	}
	e.wantError("GET", "/api/v1/groups?group=hall-a", "", nil, 400, `unknown query parameter "group"`)
}

// GET /api/v1/history answers the ring's points, later ones with since.
func TestHistoryEndpoint(t *testing.T) {
	e := startDashSite(t, fleetSize, 0) // a point every 100 ms
	e.steady()
	var h api.History
	e.eventually("3 history points", func() (bool, any) {
		e.want("GET", "/api/v1/history", "", nil, 200, &h)
		return len(h.Points) >= 3, fmt.Sprintf("%d points", len(h.Points))
	})
	if h.EverySeconds != 0.1 || h.Capacity != api.DefaultHistoryPoints {
		t.Errorf("every %v s, capacity %d; want 0.1 s, %d", h.EverySeconds, h.Capacity, api.DefaultHistoryPoints)
	}
	p := h.Points[len(h.Points)-1]
	if p.BudgetKW != 100 || p.Time.IsZero() || !p.Compliant {
		t.Errorf("last point %+v, want budget 100 kW, compliant", p)
	}
	since := h.Points[1].Time
	var later api.History
	e.want("GET", "/api/v1/history?since="+since.Format(time.RFC3339Nano), "", nil, 200, &later)
	if len(later.Points) == 0 || !later.Points[0].Time.After(since) {
		t.Errorf("since %v: first point %+v, want later", since, later.Points)
	}
	e.wantError("GET", "/api/v1/history?since=yesterday", "", nil, 400, `since "yesterday": not an RFC 3339 time`)
	e.wantError("GET", "/api/v1/history?from=1", "", nil, 400, `unknown query parameter "from"`)
}
