package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/hashgate/hashgate/api"
	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/internal/apitest"
	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/stratum/proxy"
	"github.com/hashgate/hashgate/switcher"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	writeToken = "w-0123456789abcdef"
	readToken  = "r-0123456789abcdef"
	fleetSize  = 20
)

// testPolicy: 20 rigs of 3 kW (0.1 kW parked) on 100 kW; rigs 00000-00009
// are hall-a (priority 10), the others default (priority 0), so the
// default ones are curtailed first. No min_on/min_off, a fast ramp.
const testPolicy = apitest.TwoHallPolicy

func testLog(t *testing.T) zerolog.Logger {
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
}

type env struct {
	t     *testing.T
	pool  *sim.Pool
	srv   *proxy.Server
	sw    *switcher.Switcher
	fleet *sim.Fleet
	ts    *httptest.Server
}

type envOpts struct {
	noSwitcher bool
	pprof      bool
	miners     int
	policy     string // "": testPolicy
}

// start runs a site (apitest.Start) with testPolicy (none with
// noSwitcher) and fleetSize miners unless told otherwise.
func start(t *testing.T, o envOpts) *env {
	t.Helper()
	n := o.miners
	if n == 0 {
		n = fleetSize
	}
	policy := testPolicy
	if o.policy != "" {
		policy = o.policy
	}
	if o.noSwitcher {
		policy = ""
	}
	s := apitest.Start(t, apitest.Options{Policy: policy, Miners: n, Pprof: o.pprof, Log: testLog(t),
		Tokens: []config.Token{
			{Name: "power-desk", Token: writeToken, Role: config.RoleWrite},
			{Name: "viewer", Token: readToken, Role: config.RoleRead},
		},
	})
	return &env{t: t, pool: s.Pool, srv: s.Proxy, sw: s.Switcher, fleet: s.Fleet, ts: s.API}
}

// do sends a request; body may be a string (sent as is) or nil.
func (e *env) do(method, path, token string, body any) (*http.Response, []byte) {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, data
}

// want checks the status code and decodes the JSON body into v (if set).
func (e *env) want(method, path, token string, body any, code int, v any) *http.Response {
	e.t.Helper()
	resp, data := e.do(method, path, token, body)
	if resp.StatusCode != code {
		e.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, data, code)
	}
	if v != nil {
		if err := json.Unmarshal(data, v); err != nil {
			e.t.Fatalf("%s %s: %v in %s, want JSON for %T", method, path, err, data, v)
		}
	}
	return resp
}

// wantError checks the status and that the body is {"error": "..."} with
// the text in it.
func (e *env) wantError(method, path, token string, body any, code int, text string) *http.Response {
	e.t.Helper()
	var eb struct {
		Error string `json:"error"`
	}
	resp := e.want(method, path, token, body, code, &eb)
	if eb.Error == "" || !strings.Contains(eb.Error, text) {
		e.t.Fatalf("%s %s: error %q, want it to contain %q", method, path, eb.Error, text)
	}
	return resp
}

func (e *env) status() api.Status {
	e.t.Helper()
	var st api.Status
	e.want("GET", "/api/v1/status", "", nil, 200, &st)
	return st
}

func (e *env) workers(query string) ([]api.Worker, int) {
	e.t.Helper()
	var ws []api.Worker
	resp := e.want("GET", "/api/v1/workers"+query, "", nil, 200, &ws)
	total, err := strconv.Atoi(resp.Header.Get("X-Total-Count"))
	if err != nil {
		e.t.Fatalf("X-Total-Count %q, want a number", resp.Header.Get("X-Total-Count"))
	}
	return ws, total
}

func (e *env) events(query string) ([]switcher.Event, uint64) {
	e.t.Helper()
	var evs []switcher.Event
	resp := e.want("GET", "/api/v1/events"+query, "", nil, 200, &evs)
	last, _ := strconv.ParseUint(resp.Header.Get("X-Last-Seq"), 10, 64)
	return evs, last
}

// eventually polls cond, failing after 10 s with what and the value cond
// saw last.
func (e *env) eventually(what string, cond func() (ok bool, got any)) {
	e.t.Helper()
	sim.WaitFor(e.t, 10*time.Second, what, cond)
}

// steady waits until every miner mines and the switcher has settled.
func (e *env) steady() {
	e.t.Helper()
	e.eventually("every worker mining", func() (bool, any) {
		_, n := e.workers("?state=mining")
		return n == fleetSize, fmt.Sprintf("%d mining", n)
	})
	e.eventually("power compliant and settled at 60 kW", func() (bool, any) {
		st := e.status()
		return st.Power != nil && st.Power.Compliant && st.Power.MiningLoadKW == 60, st.Power
	})
}

func names(ws []api.Worker) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.Name
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func rigNames(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, "acct.rig-"+leftPad(i))
	}
	return out
}

func leftPad(i int) string {
	s := strconv.Itoa(i)
	return strings.Repeat("0", 5-len(s)) + s
}

func TestHealthz(t *testing.T) {
	e := start(t, envOpts{miners: 1})
	var body map[string]string
	e.want("GET", "/healthz", "", nil, 200, &body)
	if body["status"] != "ok" {
		t.Fatalf("healthz body %v, want status ok", body)
	}
	e.pool.Close()
	e.eventually("healthz 503 once the pool is gone", func() (bool, any) {
		resp, _ := e.do("GET", "/healthz", "", nil)
		return resp.StatusCode == 503, resp.Status
	})
	e.wantError("GET", "/healthz", "", nil, 503, "no live pool")
}

func TestStatusAndWorkers(t *testing.T) {
	e := start(t, envOpts{})
	e.steady()

	st := e.status()
	if st.MinersConnected != fleetSize || !st.Healthy || st.HashrateTHs <= 0 {
		t.Fatalf("status %+v, want %d miners, healthy, hashrate > 0", st, fleetSize)
	}
	if len(st.Pools) != 1 || st.Pools[0].Name != "primary" || st.Pools[0].State != "active" ||
		st.Pools[0].URL != "stratum+tcp://"+e.pool.Addr() {
		t.Fatalf("pools %+v, want primary active at stratum+tcp://%s", st.Pools, e.pool.Addr())
	}
	p := st.Power
	if p.CapacityKW != 100 || p.AIKW != 0 || p.MiningBudgetKW != 100 || p.MiningLoadKW != 60 || p.CompliantSince == nil || p.Allocation != nil {
		t.Fatalf("power %+v, want capacity 100, ai 0, budget 100, load 60, compliant since set, no allocation", p)
	}
	if st.Curtailed != 0 || st.Workers["mining"] != fleetSize {
		t.Fatalf("curtailed %d, workers %v; want 0 and %d mining", st.Curtailed, st.Workers, fleetSize)
	}
	// The raw JSON has the contract's names.
	_, raw := e.do("GET", "/api/v1/status", "", nil)
	for _, k := range []string{`"miners_connected"`, `"hashrate_ths"`, `"pools"`, `"url"`, `"state"`, `"power"`,
		`"capacity_kw"`, `"ai_kw"`, `"mining_budget_kw"`, `"mining_load_kw"`, `"mining_load_est_kw"`, `"compliant"`,
		`"compliant_since"`, `"eta_seconds"`, `"curtailed"`} {
		if !bytes.Contains(raw, []byte(k)) {
			t.Errorf("status has no %s: %s; want bytes.Contains(raw, []byte(k))", k, raw)
		}
	}

	all, total := e.workers("")
	if total != fleetSize || len(all) != fleetSize || !slices.Equal(names(all), rigNames(0, fleetSize)) {
		t.Fatalf("workers %v (total %d), want %v", names(all), total, rigNames(0, fleetSize))
	}
	w := all[3]
	if w.Group != "hall-a" || w.State != "mining" || w.Accepted == 0 || w.LastShare == nil || w.Remote == "" ||
		w.Difficulty != sim.DefaultPoolDifficulty || w.HashrateTHs <= 0 || w.PowerState != "mining" || len(w.Flags) != 0 {
		t.Fatalf("worker %+v, want hall-a, mining, shares accepted, remote set, default difficulty, no flags", w)
	}
	_, raw = e.do("GET", "/api/v1/workers?limit=1", "", nil)
	for _, k := range []string{`"name"`, `"remote"`, `"group"`, `"state"`, `"flags":[]`, `"difficulty"`, `"hashrate_ths"`,
		`"accepted"`, `"rejected"`, `"last_share"`} {
		if !bytes.Contains(raw, []byte(k)) {
			t.Errorf("worker has no %s: %s; want bytes.Contains(raw, []byte(k))", k, raw)
		}
	}

	// Filters and paging: total is what matched, before paging.
	hallA, total := e.workers("?group=hall-a")
	if total != 10 || !slices.Equal(names(hallA), rigNames(0, 10)) {
		t.Fatalf("group hall-a: %v (total %d), want %v (10)", names(hallA), total, rigNames(0, 10))
	}
	page, total := e.workers("?group=default&limit=3&offset=2")
	if total != 10 || !slices.Equal(names(page), rigNames(12, 15)) {
		t.Fatalf("page: %v (total %d), want %v (10)", names(page), total, rigNames(12, 15))
	}
	page, total = e.workers("?offset=19&limit=5")
	if total != fleetSize || !slices.Equal(names(page), rigNames(19, 20)) {
		t.Fatalf("last page: %v (total %d), want %v (%d)", names(page), total, rigNames(19, 20), fleetSize)
	}
	page, total = e.workers("?offset=100")
	if total != fleetSize || len(page) != 0 {
		t.Fatalf("past the end: %v (total %d), want none (%d)", names(page), total, fleetSize)
	}
	if _, total = e.workers("?state=idle"); total != 0 {
		t.Fatalf("idle total %d, want 0", total)
	}
	if _, total = e.workers("?state=idle&group=default"); total != 0 {
		t.Fatalf("idle in default: total %d, want 0", total)
	}
	e.wantError("GET", "/api/v1/workers?state=mining&group=nope", "", nil, 400, `group "nope": no such policy group`)
	// A limit above the maximum is clamped, not refused.
	if _, total = e.workers("?limit=1000000"); total != fleetSize {
		t.Fatalf("huge limit total %d, want %d", total, fleetSize)
	}
	e.wantError("GET", "/api/v1/workers?state=sleeping", "", nil, 400, "state")
	e.wantError("GET", "/api/v1/workers?limit=-1", "", nil, 400, "limit")
	e.wantError("GET", "/api/v1/workers?offset=x", "", nil, 400, "offset")

	// A miner that leaves is offline, and still listed.
	e.fleet.Close()
	e.eventually("workers offline after the fleet left", func() (bool, any) {
		_, n := e.workers("?state=offline")
		return n == fleetSize, fmt.Sprintf("%d offline", n)
	})
}

func TestAllocationAuthAndPlan(t *testing.T) {
	e := start(t, envOpts{})
	e.steady()
	alloc := map[string]any{"ai_kw": 68.0, "reason": "training run"}

	_, lastSeq := e.events("?limit=1")
	before := e.status()
	// No token, a bad token, a read token: refused, and nothing changes.
	resp := e.wantError("PUT", "/api/v1/allocation", "", alloc, 401, "unauthorized")
	if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("WWW-Authenticate %q, want Bearer…", resp.Header.Get("WWW-Authenticate"))
	}
	resp = e.wantError("PUT", "/api/v1/allocation", "not-a-token", alloc, 401, "invalid token")
	if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("WWW-Authenticate %q, want Bearer…", resp.Header.Get("WWW-Authenticate"))
	}
	e.wantError("PUT", "/api/v1/allocation", readToken, alloc, 403, "read-only")
	e.wantError("PUT", "/api/v1/rigs/acct.rig-00001/pin", "", map[string]any{"mode": "off"}, 401, "unauthorized")
	e.wantError("PUT", "/api/v1/rigs/acct.rig-00001/pin", readToken, map[string]any{"mode": "off"}, 403, "read-only")
	// The token is checked before the body: a bad body without a token is a 401.
	e.wantError("PUT", "/api/v1/allocation", "", "{not json", 401, "unauthorized")
	after := e.status()
	if after.Power.AIKW != before.Power.AIKW || after.Power.Allocation != nil || after.Curtailed != 0 {
		t.Fatalf("refused writes changed the power state: %+v (curtailed %d), want ai %v, no allocation, none curtailed", after.Power, after.Curtailed, before.Power.AIKW)
	}
	if evs, last := e.events("?limit=1"); last != lastSeq {
		t.Fatalf("refused writes appended events: %+v (last seq %d), want last seq still %d", evs, last, lastSeq)
	}

	// A dry run changes nothing either; a read token may make one.
	var dry api.PlanResponse
	e.want("POST", "/api/v1/plan", readToken, map[string]any{"ai_kw": 68.0}, 200, &dry)
	if !dry.DryRun || dry.MiningBudgetKW != 32 || !slices.Equal(sorted(dry.Curtail), rigNames(10, 20)) || len(dry.Resume) != 0 || dry.Deferred == nil {
		t.Fatalf("dry run %+v, want dry, budget 32, curtail %v, no resume, deferred set", dry, rigNames(10, 20))
	}
	e.wantError("POST", "/api/v1/plan", "", map[string]any{"ai_kw": 68.0}, 401, "unauthorized")
	if st := e.status(); st.Power.AIKW != 0 || st.Curtailed != 0 {
		t.Fatalf("the dry run changed the power state: %+v (curtailed %d), want ai 0, none curtailed", st.Power, st.Curtailed)
	}
	if _, last := e.events("?limit=1"); last != lastSeq {
		t.Fatalf("the dry run appended events: last seq %d, want still %d", last, lastSeq)
	}
	e.wantError("POST", "/api/v1/plan", writeToken, `{}`, 400, "ai_kw is required")
	e.wantError("POST", "/api/v1/plan", writeToken, `{"ai_kw": -1}`, 400, "ai_kw")

	// The write token applies: the default group's ten rigs are curtailed.
	var plan api.PlanResponse
	_, raw := e.do("PUT", "/api/v1/allocation", writeToken, alloc)
	if err := json.Unmarshal(raw, &plan); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"mining_budget_kw"`, `"curtail"`, `"resume"`, `"deferred"`, `"changed"`} {
		if !bytes.Contains(raw, []byte(k)) {
			t.Errorf("plan has no %s: %s; want bytes.Contains(raw, []byte(k))", k, raw)
		}
	}
	if plan.Changed == nil || !*plan.Changed || plan.MiningBudgetKW != 32 || !slices.Equal(sorted(plan.Curtail), rigNames(10, 20)) ||
		len(plan.Resume) != 0 || !plan.Compliant || plan.Who != "power-desk" {
		t.Fatalf("plan %s, want changed, budget 32, curtail %v, no resume, compliant, by power-desk", raw, rigNames(10, 20))
	}
	st := e.status()
	if st.Power.AIKW != 68 || st.Power.MiningBudgetKW != 32 || st.Curtailed != 10 || st.Power.Allocation == nil ||
		st.Power.Allocation.Who != "power-desk" || st.Power.Allocation.Reason != "training run" {
		t.Fatalf("after the allocation: %+v / %+v (curtailed %d), want ai 68, budget 32, 10 curtailed, allocation by power-desk for training run", st.Power, st.Power.Allocation, st.Curtailed)
	}
	e.eventually("ten curtailed workers (rigs 10-19), back and held without work", func() (bool, any) {
		ws, n := e.workers("?state=curtailed")
		for _, w := range ws {
			if w.Connections == 0 {
				return false, fmt.Sprintf("%s curtailed with no connection", w.Name)
			}
		}
		return n == 10 && slices.Equal(names(ws), rigNames(10, 20)), names(ws)
	})
	if ws, _ := e.workers("?state=curtailed&limit=1"); ws[0].PowerState != "parked" || ws[0].Group != "default" {
		t.Fatalf("curtailed worker %+v, want power state parked in group default", ws[0])
	}
	evs, _ := e.events("?since=" + strconv.FormatUint(lastSeq, 10))
	kinds := map[string]int{}
	for _, ev := range evs {
		kinds[ev.Kind]++
	}
	if kinds["allocation"] != 1 || kinds["curtail"] != 10 || evs[0].Who != "power-desk" {
		t.Fatalf("events after the allocation: kinds %v, first %+v; want 1 allocation and 10 curtails, by power-desk", kinds, evs[0])
	}

	// The same body again is a no-op.
	var again api.PlanResponse
	e.want("PUT", "/api/v1/allocation", writeToken, alloc, 200, &again)
	if again.Changed == nil || *again.Changed || len(again.Curtail) != 0 || again.MiningBudgetKW != 32 {
		t.Fatalf("repeat: %+v, want unchanged, nothing curtailed, budget 32", again)
	}
	evs, _ = e.events("?since=" + strconv.FormatUint(lastSeq, 10))
	n := 0
	for _, ev := range evs {
		if ev.Kind == "allocation" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d allocation events after a repeat, want 1", n)
	}

	// Bodies: bad JSON, unknown fields, missing or bad values, too big.
	e.wantError("PUT", "/api/v1/allocation", writeToken, `{"ai_kw": 1, "reason": "x"`, 400, "bad JSON")
	e.wantError("PUT", "/api/v1/allocation", writeToken, `{"ai_kw": "lots", "reason": "x"}`, 400, "ai_kw")
	e.wantError("PUT", "/api/v1/allocation", writeToken, `{"ai_kw": 1, "reason": "x", "ai_mw": 2}`, 400, "ai_mw")
	e.wantError("PUT", "/api/v1/allocation", writeToken, `{"ai_kw": 1, "reason": "x"} {}`, 400, "more than one")
	e.wantError("PUT", "/api/v1/allocation", writeToken, ``, 400, "empty")
	e.wantError("PUT", "/api/v1/allocation", writeToken, `{"reason": "x"}`, 400, "ai_kw is required")
	e.wantError("PUT", "/api/v1/allocation", writeToken, `{"ai_kw": 1}`, 400, "reason")
	e.wantError("PUT", "/api/v1/allocation", writeToken, `{"ai_kw": 1, "reason": "x", "until": "tomorrow"}`, 400, "RFC 3339")
	e.wantError("PUT", "/api/v1/allocation", writeToken, `{"ai_kw": 1, "reason": "x", "until": "2001-01-01T00:00:00Z"}`, 400, "future")
	big := `{"ai_kw": 1, "reason": "` + strings.Repeat("x", api.MaxBodyBytes) + `"}`
	e.wantError("PUT", "/api/v1/allocation", writeToken, big, 413, "larger than")
	// Wrong methods.
	resp = e.wantError("GET", "/api/v1/allocation", "", nil, 405, "not allowed")
	if resp.Header.Get("Allow") != "PUT" {
		t.Fatalf("Allow %q, want PUT", resp.Header.Get("Allow"))
	}
	resp = e.wantError("DELETE", "/api/v1/status", writeToken, nil, 405, "not allowed")
	if resp.Header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("Allow %q, want GET, HEAD", resp.Header.Get("Allow"))
	}
	e.wantError("GET", "/api/v1/plan", "", nil, 405, "not allowed")
	e.wantError("POST", "/api/v1/rigs/acct.rig-00001/pin", writeToken, `{"mode":"on"}`, 405, "not allowed")
	e.wantError("GET", "/api/v1/nothing", "", nil, 404, "no such endpoint")
	if st := e.status(); st.Power.AIKW != 68 || st.Curtailed != 10 {
		t.Fatalf("refused bodies changed the state: %+v (curtailed %d), want ai 68, 10 curtailed", st.Power, st.Curtailed)
	}

	// Until and emergency pass through; giving the power back resumes.
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	e.want("PUT", "/api/v1/allocation", writeToken, map[string]any{"ai_kw": 50.0, "reason": "peak", "until": until.Format(time.RFC3339), "emergency": true}, 200, &plan)
	st = e.status()
	if st.Power.Allocation == nil || st.Power.Allocation.Until == nil || !st.Power.Allocation.Until.Equal(until) || !st.Power.Emergency {
		t.Fatalf("until/emergency: allocation %+v (emergency %v), want until %v and emergency", st.Power.Allocation, st.Power.Emergency, until)
	}
	e.want("PUT", "/api/v1/allocation", writeToken, map[string]any{"ai_kw": 0.0, "reason": "training done"}, 200, &plan)
	if !slices.Equal(sorted(plan.Resume), rigNames(10, 20)) || len(plan.Curtail) != 0 || plan.MiningBudgetKW != 100 {
		t.Fatalf("resume plan %+v, want resume %v, no curtail, budget 100", plan, rigNames(10, 20))
	}
	e.eventually("every worker mining again", func() (bool, any) {
		_, n := e.workers("?state=mining")
		return n == fleetSize, fmt.Sprintf("%d mining", n)
	})
}

func TestPins(t *testing.T) {
	e := start(t, envOpts{})
	e.steady()
	var plan api.PlanResponse
	pin := func(name, mode string) {
		t.Helper()
		plan = api.PlanResponse{} // fields the answer leaves out must not survive from the last one
		e.want("PUT", "/api/v1/rigs/"+name+"/pin", writeToken, map[string]any{"mode": mode, "reason": "maintenance"}, 200, &plan)
		if plan.Rig != name || plan.Mode != mode || plan.Who != "power-desk" {
			t.Fatalf("pin answer %+v, want rig %s mode %s by power-desk", plan, name, mode)
		}
	}
	worker := func(name string) api.Worker {
		t.Helper()
		ws, _ := e.workers("?limit=50000")
		for _, w := range ws {
			if w.Name == name {
				return w
			}
		}
		t.Fatalf("workers: got %d without %s, want it listed", len(ws), name)
		return api.Worker{}
	}

	pin("acct.rig-00003", "off")
	if !slices.Equal(plan.Curtail, []string{"acct.rig-00003"}) {
		t.Fatalf("pin off: %+v, want curtail [acct.rig-00003]", plan)
	}
	e.eventually("rig 3 curtailed, pinned off and connected", func() (bool, any) {
		w := worker("acct.rig-00003")
		return w.State == "curtailed" && slices.Contains(w.Flags, "pinned") && w.Pin == "off" && w.Connections > 0, w
	})
	pin("acct.rig-00003", "auto")
	if !slices.Equal(plan.Resume, []string{"acct.rig-00003"}) {
		t.Fatalf("pin auto: %+v, want resume [acct.rig-00003]", plan)
	}
	e.eventually("rig 3 mining, unpinned", func() (bool, any) {
		w := worker("acct.rig-00003")
		return w.State == "mining" && len(w.Flags) == 0, w
	})
	// Pinned on: never curtailed, even when the budget wants it.
	pin("acct.rig-00019", "on")
	if w := worker("acct.rig-00019"); !slices.Contains(w.Flags, "pinned") || w.Pin != "on" {
		t.Fatalf("pinned on: %+v, want pin on and flag pinned", w)
	}
	e.want("PUT", "/api/v1/allocation", writeToken, map[string]any{"ai_kw": 68.0, "reason": "test"}, 200, &plan)
	if slices.Contains(plan.Curtail, "acct.rig-00019") || len(plan.Curtail) != 10 {
		t.Fatalf("allocation with rig 19 pinned on: curtail %+v, want 10 rigs without acct.rig-00019", plan.Curtail)
	}

	// A rig never seen: pinned off, it waits (offline, pinned) for its
	// first connect; back to auto there is nothing to return: 404.
	pin("acct.rig-00099", "off")
	if !plan.WaitingForRig || len(plan.Curtail) != 0 {
		t.Fatalf("pin off of a rig never seen: %+v, want waiting for the rig, nothing curtailed", plan)
	}
	if w := worker("acct.rig-00099"); w.State != "offline" || w.Pin != "off" || !slices.Contains(w.Flags, "pinned") {
		t.Fatalf("the rig waiting for its pin: %+v, want offline, pin off, flag pinned", w)
	}
	pin("acct.rig-00019", "on") // seen: no waiting
	if plan.WaitingForRig {
		t.Fatalf("pin of a connected rig: %+v, want not waiting", plan)
	}
	e.wantError("PUT", "/api/v1/rigs/acct.nobody/pin", writeToken, map[string]any{"mode": "auto"}, 404, "unknown rig")
	e.wantError("PUT", "/api/v1/rigs/"+strings.Repeat("x", switcher.MaxRigName+1)+"/pin", writeToken, map[string]any{"mode": "off"}, 400, "rig name")
	e.wantError("PUT", "/api/v1/rigs/acct.rig-00001/pin", writeToken, map[string]any{"mode": "sideways"}, 400, "mode")
	e.wantError("PUT", "/api/v1/rigs/acct.rig-00001/pin", writeToken, map[string]any{"mode": "on", "until": "x"}, 400, "until")

	evs, _ := e.events("")
	pins := 0
	for _, ev := range evs {
		if ev.Kind == "pin" && ev.Who == "power-desk" {
			pins++
		}
	}
	if pins != 5 { // the refused pins left none
		t.Fatalf("%d pin events, want 5", pins)
	}
}

func TestEventsPaging(t *testing.T) {
	e := start(t, envOpts{})
	e.steady()
	e.want("PUT", "/api/v1/allocation", writeToken, map[string]any{"ai_kw": 68.0, "reason": "paging"}, 200, nil)

	all, last := e.events("?since=0&limit=10000")
	if len(all) < 12 || all[len(all)-1].Seq != last {
		t.Fatalf("%d events, last seq %d (header %d); want >= 12, the last the header's", len(all), all[len(all)-1].Seq, last)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Seq != all[i-1].Seq+1 {
			t.Fatalf("events out of order at %d: %d after %d, want %d", i, all[i].Seq, all[i-1].Seq, all[i-1].Seq+1)
		}
	}
	// since/limit pages forward, newest last.
	page, _ := e.events("?since=" + strconv.FormatUint(all[4].Seq, 10) + "&limit=3")
	if len(page) != 3 || page[0].Seq != all[5].Seq || page[2].Seq != all[7].Seq {
		t.Fatalf("page %+v, want seqs %d-%d", page, all[5].Seq, all[7].Seq)
	}
	// Without since: the newest events, newest last.
	tail, _ := e.events("?limit=4")
	if len(tail) != 4 || tail[3].Seq != last || tail[0].Seq != last-3 {
		t.Fatalf("tail %+v, want seqs %d-%d", tail, last-3, last)
	}
	if evs, _ := e.events("?since=" + strconv.FormatUint(last, 10)); len(evs) != 0 {
		t.Fatalf("events after the last: %+v, want none", evs)
	}
	e.wantError("GET", "/api/v1/events?since=-1", "", nil, 400, "since")
	e.wantError("GET", "/api/v1/events?limit=0", "", nil, 400, "limit")
	_, raw := e.do("GET", "/api/v1/events?since=0&limit=1", "", nil)
	if !bytes.HasPrefix(raw, []byte(`[{"seq":1,`)) {
		t.Fatalf("first event %s, want it to start [{\"seq\":1,", raw)
	}
}

func TestMetricsAndDashboard(t *testing.T) {
	e := start(t, envOpts{})
	e.steady()
	e.want("PUT", "/api/v1/allocation", writeToken, map[string]any{"ai_kw": 68.0, "reason": "metrics"}, 200, nil)
	e.eventually("load down to 31 kW", func() (bool, any) { kw := e.status().Power.MiningLoadKW; return kw == 31, kw })

	resp, data := e.do("GET", "/metrics", "", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("metrics: %d %s, want 200 text/plain", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	text := string(data)
	for _, want := range []string{
		`hashgate_miners{state="mining"} 10`, `hashgate_miners{state="curtailed"} 10`, `hashgate_miners{state="idle"} 0`, `hashgate_miners{state="offline"} 0`,
		`hashgate_shares_accepted_total `, `hashgate_shares_rejected_total{reason="stale"}`, `hashgate_shares_rejected_total{reason="duplicate"}`,
		`hashgate_hashrate_hashes_per_second `,
		`hashgate_power_capacity_kw 100`, `hashgate_power_ai_kw 68`, `hashgate_power_mining_budget_kw 32`, `hashgate_power_mining_load_kw 31`,
		`hashgate_power_mining_load_est_kw `, `hashgate_power_compliant 1`, `hashgate_policy_refused 0`,
		`hashgate_rigs_parked{group="default"} 10`, `hashgate_rigs_parked{group="hall-a"} 0`, `hashgate_rigs{state="parked"} 10`,
		`hashgate_switcher_actions_total{action="curtail",outcome="applied"} 10`, `hashgate_switcher_actions_total{action="resume",outcome="applied"}`,
		`hashgate_pool_state{pool="primary",state="active"} 1`, `hashgate_pool_state{pool="primary",state="failed"} 0`,
		`hashgate_upstream_healthy 1`, `hashgate_slow_consumers_total 0`, `hashgate_connections `, `hashgate_connections_total `,
		`hashgate_poller_handoffs_total `, `hashgate_miners_polled `, `hashgate_pool_shares_total{pool="primary",result="not_sent"} 0`, `hashgate_pool_shares_total{pool="primary",result="lost"} 0`,
		`hashgate_pool_rejecting{pool="primary"} 0`, `hashgate_pool_reject_ratio{pool="primary"} 0`,
		`hashgate_go_goroutines `, `hashgate_process_`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics have no %q; want strings.Contains(text, want)", want)
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if line == "" {
			continue
		}
		name := line
		if strings.HasPrefix(line, "# ") {
			f := strings.Fields(line)
			name = f[2]
		}
		if !strings.HasPrefix(name, "hashgate_") {
			t.Errorf("metric line %q, want the hashgate_ prefix", line)
		}
	}

	checkDashboardFiles(t, e)
	if page, ok := dashboardText(t, e.ts.URL); ok {
		wantOnPage(t, page, "upstream healthy", "primary", "active", "tcp://"+e.pool.Addr(), "68.0 kW", "32.0 kW",
			"by power-desk", "metrics", "allocation", "default: 10 curtail", "acct.rig-000", "parked rigs", "pending admission")
	}
	e.wantError("POST", "/", "", nil, 405, "not allowed")
	e.wantError("GET", "/index.html", "", nil, 404, "no such endpoint")
}

// checkDashboardFiles: the page and its two assets are served from the
// binary with a policy that allows nothing from elsewhere, and name
// nothing from elsewhere (sites are often offline).
func checkDashboardFiles(t *testing.T, e *env) {
	t.Helper()
	weight, html := 0, ""
	for _, f := range []struct{ path, ctype, must string }{
		{"/", "text/html; charset=utf-8", `<script src="/ui/app.js" defer></script>`},
		{"/ui/app.js", "text/javascript; charset=utf-8", `"/api/v1/workers?"`},
		{"/ui/app.css", "text/css; charset=utf-8", "@media (max-width: 640px)"},
	} {
		resp, data := e.do("GET", f.path, "", nil)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != f.ctype {
			t.Fatalf("GET %s: %d %q, want 200 %q", f.path, resp.StatusCode, resp.Header.Get("Content-Type"), f.ctype)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy %q, want default-src 'none' and script-src 'self'", f.path, csp)
		}
		if !strings.Contains(string(data), f.must) {
			t.Errorf("GET %s: got %d bytes without %q, want it", f.path, len(data), f.must)
		}
		for _, far := range []string{`src="http`, `href="http`, `url(http`, `fetch("http`, "@import"} {
			if strings.Contains(string(data), far) {
				t.Errorf("GET %s names an outside asset (%q); want !strings.Contains(string(data), far)", f.path, far)
			}
		}
		weight += len(data)
		if f.path == "/" {
			html = string(data)
		}
	}
	if i := strings.Index(html, "<script>"); i >= 0 {
		t.Errorf("the page: got an inline script (%.80q), want none (the CSP would refuse it)", html[i:])
	}
	t.Logf("dashboard page weight: %d bytes (HTML, CSS and JS, uncompressed)", weight)
	if weight > 64<<10 {
		t.Errorf("the dashboard weighs %d bytes, want it small (< 64 KiB)", weight)
	}
	e.wantError("GET", "/ui/index.html", "", nil, 404, "no such endpoint")
	e.wantError("GET", "/ui/nope.js", "", nil, 404, "no such endpoint")
	e.wantError("GET", "/ui/", "", nil, 404, "no such endpoint")
}

func TestNoSwitcher(t *testing.T) {
	e := start(t, envOpts{noSwitcher: true, miners: 3})
	e.eventually("three workers mining", func() (bool, any) {
		_, n := e.workers("?state=mining")
		return n == 3, fmt.Sprintf("%d mining", n)
	})
	st := e.status()
	if st.Power != nil || st.Curtailed != 0 || st.MinersConnected != 3 {
		t.Fatalf("status without a switcher %+v, want no power, none curtailed, 3 miners", st)
	}
	e.wantError("PUT", "/api/v1/allocation", writeToken, map[string]any{"ai_kw": 1.0, "reason": "x"}, 503, "switcher")
	e.wantError("PUT", "/api/v1/rigs/acct.rig-00000/pin", writeToken, map[string]any{"mode": "on"}, 503, "switcher")
	e.wantError("POST", "/api/v1/plan", readToken, map[string]any{"ai_kw": 1.0}, 503, "switcher")
	e.wantError("GET", "/api/v1/events", "", nil, 503, "switcher")
	// Auth still comes first.
	e.wantError("PUT", "/api/v1/allocation", "", map[string]any{"ai_kw": 1.0, "reason": "x"}, 401, "unauthorized")
	_, data := e.do("GET", "/metrics", "", nil)
	if !strings.Contains(string(data), `hashgate_miners{state="mining"} 3`) || strings.Contains(string(data), "hashgate_power_") {
		t.Fatalf("metrics without a switcher:\n%s\nwant hashgate_miners{state=\"mining\"} 3 and no hashgate_power_", data)
	}
	resp, data := e.do("GET", "/", "", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(data), "not running") {
		t.Fatalf("dashboard without a switcher: %d, %d bytes; want 200 saying not running", resp.StatusCode, len(data))
	}
	e.wantError("GET", "/api/v1/groups", "", nil, 503, "switcher")
	e.wantError("GET", "/api/v1/history", "", nil, 503, "switcher")
	if page, ok := dashboardText(t, e.ts.URL); ok {
		wantOnPage(t, page, "The power switcher is not running", "3 miners connected", "upstream healthy")
		for _, gone := range []string{"Cannot reach hashgate", "Groups", "Site view", "Events"} {
			if strings.Contains(page, gone) {
				t.Errorf("the dashboard without a switcher shows %q; want !strings.Contains(page, gone):\n%s", gone, page)
			}
		}
	}
}

func TestPprof(t *testing.T) {
	e := start(t, envOpts{pprof: true, miners: 1})
	e.wantError("GET", "/debug/pprof/", "", nil, 401, "unauthorized")
	e.wantError("GET", "/debug/pprof/", readToken, nil, 403, "read-only")
	if resp, _ := e.do("GET", "/debug/pprof/", writeToken, nil); resp.StatusCode != 200 {
		t.Fatalf("pprof with a write token: %d, want 200", resp.StatusCode)
	}
	if resp, _ := e.do("GET", "/debug/pprof/goroutine?debug=1", writeToken, nil); resp.StatusCode != 200 {
		t.Fatalf("pprof goroutine: %d, want 200", resp.StatusCode)
	}

	off := start(t, envOpts{miners: 1})
	off.wantError("GET", "/debug/pprof/", writeToken, nil, 404, "no such endpoint")
}

func TestNewRefusesBadConfig(t *testing.T) {
	if h, err := api.New(api.Config{}); err == nil {
		t.Fatalf("New with no proxy: got %v and no error, want an error", h)
	}
	srv, err := proxy.New(proxy.Config{Pools: []proxy.PoolSpec{{Name: "p", Address: "127.0.0.1:1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.New(api.Config{Proxy: srv, Tokens: []config.Token{{Name: "x", Token: "y", Role: "admin"}}}); err == nil || !strings.Contains(err.Error(), "admin") {
		t.Fatalf("role admin: got %v, want an error naming admin", err)
	}
}

func TestServe(t *testing.T) {
	srv, err := proxy.New(proxy.Config{Pools: []proxy.PoolSpec{{Name: "p", Address: "127.0.0.1:1"}}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.New(api.Config{Proxy: srv, Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	s, err := api.Listen("127.0.0.1:0", h, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + s.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 { // never started: no pool session
		t.Fatalf("healthz %d, want 503", resp.StatusCode)
	}
	client.CloseIdleConnections()
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatalf("second shutdown: got %v, want nil", err)
	}

	if s2, err := api.Listen("256.0.0.1:0", h, testLog(t)); err == nil {
		t.Fatalf("Listen on 256.0.0.1:0: got a server at %v, want an error", s2.Addr())
	}
}

// ai_kw -0 is 0 everywhere it is echoed; an allocation above the site's
// capacity leaves a mining budget of 0, not a negative one; negative and
// non-finite ai_kw are refused.
func TestAllocationEdgeValues(t *testing.T) {
	e := start(t, envOpts{})
	e.steady()
	for _, body := range []string{`{"ai_kw": -1, "reason": "x"}`, `{"ai_kw": -1e-300, "reason": "x"}`, `{"ai_kw": 1e999, "reason": "x"}`,
		`{"ai_kw": "NaN", "reason": "x"}`, `{"ai_kw": "+Inf", "reason": "x"}`} {
		e.wantError("PUT", "/api/v1/allocation", writeToken, body, 400, "ai_kw")
		e.wantError("POST", "/api/v1/plan", writeToken, strings.Replace(body, `, "reason": "x"`, "", 1), 400, "ai_kw")
	}
	noMinusZero := func(what string, data []byte) {
		t.Helper()
		if bytes.Contains(data, []byte(":-0,")) || bytes.Contains(data, []byte(":-0}")) {
			t.Fatalf("%s: got %s, want no -0", what, data)
		}
	}
	for _, r := range []struct{ method, path, body string }{
		{"POST", "/api/v1/plan", `{"ai_kw": -0}`},
		{"PUT", "/api/v1/allocation", `{"ai_kw": -0, "reason": "negative zero"}`},
		{"GET", "/api/v1/status", ""},
		{"GET", "/api/v1/events", ""},
	} {
		var body any
		if r.body != "" {
			body = r.body
		}
		resp, data := e.do(r.method, r.path, writeToken, body)
		if resp.StatusCode != 200 || !bytes.Contains(data, []byte(`"ai_kw":0`)) {
			t.Fatalf("%s %s: %d %s, want 200 with ai_kw 0", r.method, r.path, resp.StatusCode, data)
		}
		noMinusZero(r.method+" "+r.path, data)
	}

	// 150 kW to AI on a 100 kW site.
	var dry, plan api.PlanResponse
	e.want("POST", "/api/v1/plan", writeToken, `{"ai_kw": 150}`, 200, &dry)
	e.want("PUT", "/api/v1/allocation", writeToken, `{"ai_kw": 150, "reason": "more than the site"}`, 200, &plan)
	for what, p := range map[string]api.PlanResponse{"dry run": dry, "allocation": plan} {
		if p.MiningBudgetKW != 0 || len(p.Curtail) != fleetSize {
			t.Fatalf("%s of 150 kW on 100: budget %v kW, %d curtailed; want 0 kW and all %d", what, p.MiningBudgetKW, len(p.Curtail), fleetSize)
		}
	}
	if st := e.status(); st.Power.MiningBudgetKW != 0 || st.Power.AIKW != 150 {
		t.Fatalf("status after 150 kW on 100: budget %v, AI %v; want 0 and 150", st.Power.MiningBudgetKW, st.Power.AIKW)
	}
}
