package api_test

import (
	"fmt"
	"net/url"
	"slices"
	"testing"

	"github.com/hashgate/hashgate/api"
)

// GET /api/v1/rigs/{name} answers the row /api/v1/workers has for the
// name; 404 for a name neither the proxy nor the switcher knows; the
// name is path-escaped.
func TestRigLookup(t *testing.T) {
	e := start(t, envOpts{})
	e.steady()
	ws, _ := e.workers("?limit=100")
	var want api.Worker
	for _, w := range ws {
		if w.Name == "acct.rig-00003" {
			want = w
		}
	}
	var got api.Worker
	e.want("GET", "/api/v1/rigs/acct.rig-00003", "", nil, 200, &got)
	if got.Name != want.Name || got.Group != "hall-a" || got.State != "mining" || got.PowerState != "mining" ||
		got.CountedAs != "mining" || got.CountedKW != 3 || got.Connections != 1 || got.Accepted == 0 || got.Remote != want.Remote ||
		got.Actuator != "stratum" || got.Flags == nil {
		t.Fatalf("GET /api/v1/rigs/acct.rig-00003:\ngot  %+v\nwant like %+v", got, want)
	}

	e.wantError("GET", "/api/v1/rigs/acct.nobody", "", nil, 404, `unknown rig "acct.nobody": no worker or rig has that name`)
	e.wantError("GET", "/api/v1/rigs/acct.rig-00003?verbose=1", "", nil, 400, `unknown query parameter "verbose": GET /api/v1/rigs/acct.rig-00003 takes none`)
	if resp, _ := e.do("HEAD", "/api/v1/rigs/acct.rig-00003", "", nil); resp.StatusCode != 200 {
		t.Fatalf("HEAD: %d, want 200", resp.StatusCode)
	}
	if resp := e.wantError("POST", "/api/v1/rigs/acct.rig-00003", writeToken, nil, 405, "not allowed"); resp.Header.Get("Allow") != "GET, HEAD, DELETE" {
		t.Fatalf("Allow %q, want %q", resp.Header.Get("Allow"), "GET, HEAD, DELETE")
	}

	// A name with a slash, a space and a percent sign: pinned ahead (a
	// record, no account), then looked up by its escaped path.
	const odd = "acct/rack 7%x"
	e.want("PUT", "/api/v1/rigs/"+url.PathEscape(odd)+"/pin", writeToken, map[string]any{"mode": "off", "reason": "not yet racked"}, 200, nil)
	got = api.Worker{}
	e.want("GET", "/api/v1/rigs/"+url.PathEscape(odd), "", nil, 200, &got)
	if got.Name != odd || got.State != "offline" || got.Pin != "off" || got.PinReason != "not yet racked" || got.Remote != "" || !slices.Contains(got.Flags, "pinned") {
		t.Fatalf("GET of %q: got %+v, want it offline, pinned off, no account", odd, got)
	}
}

// The pin answer says what the plan does with the pinned rig, and a rig
// that was already parked is neither reported deferred nor listed.
func TestPinOutcome(t *testing.T) {
	e := start(t, envOpts{})
	e.steady()
	var plan api.PlanResponse
	pin := func(name, mode, action, reason string) {
		t.Helper()
		plan = api.PlanResponse{}
		e.want("PUT", "/api/v1/rigs/"+name+"/pin", writeToken, map[string]any{"mode": mode}, 200, &plan)
		if plan.RigAction != action || plan.RigActionReason != reason {
			t.Fatalf("pin %s %s: rig_action %q (%q), want %q (%q)\n%+v", name, mode, plan.RigAction, plan.RigActionReason, action, reason, plan)
		}
	}
	// held: parked (curtailed) and connected (a Stratum park reconnects it).
	held := func(name string) bool {
		var w api.Worker
		e.want("GET", "/api/v1/rigs/"+name, "", nil, 200, &w)
		return w.State == "curtailed" && w.Connections > 0
	}
	pin("acct.rig-00003", "off", "curtail", "pinned off")
	e.eventually("rig 3 parked and connected", func() (bool, any) {
		ws, _ := e.workers("?q=acct.rig-00003")
		return held("acct.rig-00003"), ws
	})
	pin("acct.rig-00003", "off", "stays_parked", "pinned off")
	pin("acct.rig-00003", "auto", "resume", "fits budget")
	e.eventually("rig 3 mining (0 curtailed)", func() (bool, any) { n := e.sw.Status().Curtailed; return n == 0, fmt.Sprintf("%d curtailed", n) })

	// 68 kW to AI parks rigs 00010-00019; pinning one of them off changes
	// nothing, and none of the nine others that stay parked is "deferred".
	e.want("PUT", "/api/v1/allocation", writeToken, map[string]any{"ai_kw": 68.0, "reason": "test"}, 200, nil)
	e.eventually("10 rigs parked and connected", func() (bool, any) {
		ws, _ := e.workers("?state=curtailed")
		for _, w := range ws {
			if w.Connections == 0 {
				return false, fmt.Sprintf("%s curtailed with no connection", w.Name)
			}
		}
		return len(ws) == 10, names(ws)
	})
	pin("acct.rig-00015", "off", "stays_parked", "pinned off")
	if len(plan.Deferred) != 0 || plan.StaysParked != 10 || len(plan.Curtail)+len(plan.Resume) != 0 {
		t.Fatalf("pin off of a parked rig: deferred %v, stays_parked %d, curtail %v, resume %v; want no deferred, 10 staying parked, no action",
			plan.Deferred, plan.StaysParked, plan.Curtail, plan.Resume)
	}
	pin("acct.rig-00001", "on", "none", "")
	pin("acct.rig-00098", "off", "none", "")
	if !plan.WaitingForRig {
		t.Fatalf("pin of a rig never seen: got %+v (waiting_for_rig false), want waiting_for_rig true", plan)
	}
}

// Every GET endpoint of /api/v1 answers a 400 naming the parameter for a
// parameter it does not take, a bad value, or an unknown group or state.
func TestBadQueryParameters(t *testing.T) {
	e := start(t, envOpts{miners: 1})
	for _, c := range []struct{ path, want string }{
		{"/api/v1/workers?grup=hall-a", `unknown query parameter "grup": GET /api/v1/workers takes group, state, flag, q, sort, order, limit, offset`},
		{"/api/v1/workers?group=hall-b", `group "hall-b": no such policy group (groups: hall-a, default)`},
		{"/api/v1/workers?group=Hall-A", `group "Hall-A": no such policy group`},
		{"/api/v1/workers?state=parked", `state "parked": must be one of mining, idle, curtailed, offline`},
		{"/api/v1/workers?limit=ten", `limit "ten": must be an integer ≥ 0`},
		{"/api/v1/workers?offset=-1", `offset "-1": must be an integer ≥ 0`},
		{"/api/v1/workers?group=hall-a&group=default", `query parameter "group" given 2 times: give it once`},
		{"/api/v1/workers?state=mining&State=idle", `unknown query parameter "State"`},
		{"/api/v1/workers?limit=%zz", `bad query string: invalid URL escape "%zz"`},
		{"/api/v1/status?verbose", `unknown query parameter "verbose": GET /api/v1/status takes none`},
		{"/api/v1/rigs/acct.rig-00000?group=hall-a", `unknown query parameter "group": GET /api/v1/rigs/acct.rig-00000 takes none`},
	} {
		e.wantError("GET", c.path, "", nil, 400, c.want)
	}
	// What they take still works; an empty value is no filter.
	for _, q := range []string{"?group=default", "?group=hall-a&state=mining&limit=5&offset=0", "?group=", ""} {
		e.want("GET", "/api/v1/workers"+q, "", nil, 200, nil)
	}
	e.want("GET", "/api/v1/status", "", nil, 200, nil)
	// /healthz, /metrics and the dashboard are read by machines and
	// browsers that may add their own parameters: not checked.
	e.want("GET", "/healthz?probe=1", "", nil, 200, nil)
	e.want("GET", "/metrics?x=1", "", nil, 200, nil)

	ns := start(t, envOpts{noSwitcher: true, miners: 1})
	ns.wantError("GET", "/api/v1/workers?group=hall-a", "", nil, 400, `group "hall-a": there are no policy groups (no [switcher] in the config)`)
	ns.wantError("GET", "/api/v1/rigs/acct.nobody", "", nil, 404, `unknown rig "acct.nobody"`)
}
