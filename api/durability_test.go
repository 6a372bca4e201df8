package api_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/api"
	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/internal/apitest"
	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/switcher"
)

// startIn runs the test site with the switcher's state file in stateDir.
func startIn(t *testing.T, stateDir string) *env {
	t.Helper()
	s := apitest.Start(t, apitest.Options{Policy: testPolicy, Miners: fleetSize, Log: testLog(t),
		Tokens: []config.Token{
			{Name: "power-desk", Token: writeToken, Role: config.RoleWrite},
			{Name: "viewer", Token: readToken, Role: config.RoleRead},
		},
		Switcher: func(c *switcher.Config) { c.StatePath = filepath.Join(stateDir, "state.json") },
	})
	return &env{t: t, pool: s.Pool, srv: s.Proxy, sw: s.Switcher, fleet: s.Fleet, ts: s.API}
}

func (e *env) metric(name string) string {
	e.t.Helper()
	_, data := e.do("GET", "/metrics", "", nil)
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	e.t.Fatalf("metric %s: got none in %d bytes of /metrics, want one", name, len(data))
	return ""
}

// A state directory that cannot be written: an allocation and a pin are
// applied and answered persisted:false; the status, /healthz and the
// metrics say "state not persisted since"; once the directory is back the
// retry saves them, and all say so.
func TestWritesNotPersisted(t *testing.T) {
	stateDir := filepath.Join(t.TempDir(), "state")
	e := startIn(t, stateDir)
	e.steady()
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(stateDir, stateDir+".away"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stateDir, []byte("a file where the directory was"), 0o644); err != nil {
		t.Fatal(err)
	}

	var plan api.PlanResponse
	e.want("PUT", "/api/v1/allocation", writeToken, map[string]any{"ai_kw": 68.0, "reason": "training run"}, 200, &plan)
	if plan.Persisted == nil || *plan.Persisted || !strings.Contains(plan.PersistError, "state not persisted since") {
		t.Fatalf("allocation answer with the state directory gone: persisted %v, persist_error %q", plan.Persisted, plan.PersistError)
	}
	if len(plan.Curtail) != 10 {
		t.Errorf("the allocation was not applied: curtail %v; want len(plan.Curtail) == 10", plan.Curtail)
	}
	plan = api.PlanResponse{}
	e.want("PUT", "/api/v1/rigs/acct.rig-00001/pin", writeToken, map[string]any{"mode": "off", "reason": "maintenance"}, 200, &plan)
	if plan.Persisted == nil || *plan.Persisted {
		t.Fatalf("pin answer with the state directory gone: persisted %v", plan.Persisted)
	}
	if st := e.status(); st.Power.AIKW != 68 || !strings.HasPrefix(st.Power.StateError, "state not persisted since ") {
		t.Errorf("status: ai_kw %v, state_error %q; want st.Power.AIKW == 68, strings.HasPrefix(st.Power.StateError, \"state not persisted since \")", st.Power.AIKW, st.Power.StateError)
	}
	var hz map[string]string
	e.want("GET", "/healthz", "", nil, 200, &hz)
	if hz["status"] != "degraded" || !strings.HasPrefix(hz["state_error"], "state not persisted since ") {
		t.Errorf("healthz %v, want degraded with state_error", hz)
	}
	if v := e.metric("hashgate_switcher_state_persisted"); v != "0" {
		t.Errorf("hashgate_switcher_state_persisted %s, want 0", v)
	}
	if page, ok := dashboardText(t, e.ts.URL); ok {
		wantOnPage(t, page, "Decisions are in force but not saved: state not persisted since ")
	}

	if err := os.Remove(stateDir); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(stateDir+".away", stateDir); err != nil {
		t.Fatal(err)
	}
	sim.WaitFor(t, 40*time.Second, "the retry saved the state (no state_error)", func() (bool, any) {
		se := e.status().Power.StateError
		return se == "", se
	})
	e.want("GET", "/healthz", "", nil, 200, &hz)
	if hz["status"] != "ok" {
		t.Errorf("healthz after the repair %v, want status ok", hz)
	}
	if v := e.metric("hashgate_switcher_state_persisted"); v != "1" {
		t.Errorf("hashgate_switcher_state_persisted %s after the repair, want 1", v)
	}
	data, err := os.ReadFile(filepath.Join(stateDir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"ai_kw":68`) || !strings.Contains(string(data), `"pin":"off"`) {
		t.Errorf("the state file lacks the allocation or the pin: %.300s; want strings.Contains(string(data), `\"ai_kw\":68`), strings.Contains(string(data), `\"pin\":\"off\"`)", data)
	}
	plan = api.PlanResponse{}
	e.want("PUT", "/api/v1/allocation", writeToken, map[string]any{"ai_kw": 10.0, "reason": "done"}, 200, &plan)
	if plan.Persisted == nil || !*plan.Persisted || plan.PersistError != "" {
		t.Errorf("a write after the repair: persisted %v %q; want plan.Persisted != nil, *plan.Persisted, plan.PersistError == \"\"", plan.Persisted, plan.PersistError)
	}
}

// DELETE /api/v1/rigs/{name}: write token (401, 403), 404 unknown, 409
// connected; an offline rig is forgotten, audited with who, and gone from
// the workers.
func TestForgetRig(t *testing.T) {
	e := start(t, envOpts{})
	e.steady()
	const path = "/api/v1/rigs/acct.rig-00099"
	var plan api.PlanResponse
	e.want("PUT", path+"/pin", writeToken, map[string]any{"mode": "off", "reason": "decommissioned later"}, 200, &plan)
	e.wantError("DELETE", path, "", nil, 401, "unauthorized")
	e.wantError("DELETE", path, readToken, nil, 403, "read-only")
	e.wantError("DELETE", "/api/v1/rigs/acct.nobody", writeToken, nil, 404, "unknown rig")
	e.wantError("DELETE", "/api/v1/rigs/acct.rig-00001", writeToken, nil, 409, "connected")
	e.wantError("PATCH", path, writeToken, nil, 405, "not allowed")
	e.want("GET", path, "", nil, 200, nil)

	var f api.ForgetResponse
	e.want("DELETE", path, writeToken, nil, 200, &f)
	if !f.Forgotten || f.Who != "power-desk" || f.WasState != "offline" || f.WasPin != "off" || f.Persisted == nil || !*f.Persisted {
		t.Fatalf("forget answer %+v", f)
	}
	ws, _ := e.workers("?limit=1000")
	for _, w := range ws {
		if w.Name == "acct.rig-00099" {
			t.Fatalf("the forgotten rig is still a worker: %+v; want w.Name != \"acct.rig-00099\"", w)
		}
	}
	e.wantError("DELETE", path, writeToken, nil, 404, "unknown rig")
	e.wantError("GET", path, "", nil, 404, "unknown rig")
	evs, _ := e.events("")
	found := false
	for _, ev := range evs {
		found = found || (ev.Kind == switcher.EventForget && ev.Who == "power-desk" && ev.Rig == "acct.rig-00099")
	}
	if !found {
		t.Errorf("events: got kinds %v, want a forget of acct.rig-00099 by power-desk", eventKinds(evs))
	}
}

// eventKinds lists each event as kind/rig/who, for failure messages.
func eventKinds(evs []switcher.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Kind + "/" + ev.Rig + "/" + ev.Who
	}
	return out
}
