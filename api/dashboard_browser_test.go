package api_test

import (
	"cmp"
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hashgate/hashgate/api"
	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/internal/apitest"
	"github.com/hashgate/hashgate/switcher"
)

// dashSite is a site whose API keeps a fast history (a point every
// 100 ms), as a dashboard test wants to see it move.
type dashSite struct {
	*env
	site *apitest.Site
}

func startDashSite(t *testing.T, miners int, tick time.Duration) *dashSite {
	t.Helper()
	s := apitest.Start(t, apitest.Options{Policy: testPolicy, Miners: miners, Log: testLog(t),
		Tokens:   []config.Token{{Name: "power-desk", Token: writeToken, Role: config.RoleWrite}},
		Switcher: func(c *switcher.Config) { c.Tick = cmp.Or(tick, c.Tick) }})
	h, err := api.New(api.Config{Proxy: s.Proxy, Switcher: s.Switcher, Log: testLog(t),
		Tokens:       []config.Token{{Name: "power-desk", Token: writeToken, Role: config.RoleWrite}},
		HistoryEvery: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close) // before h.Close
	return &dashSite{env: &env{t: t, pool: s.Pool, srv: s.Proxy, sw: s.Switcher, fleet: s.Fleet, ts: ts}, site: s}
}

// tileJS is the value a power tile shows.
func tileJS(id string) string {
	return fmt.Sprintf(`(document.querySelector("#tiles #%s .v") || {}).textContent || ""`, id)
}

// groupJS is a cell of a group's row in the groups panel.
func groupJS(group, col string) string {
	return fmt.Sprintf(`(document.querySelector('#groups tr[data-group="%s"] td[data-label="%s"]') || {}).textContent || ""`, group, col)
}

// An allocation made through the API shows on the page: the parked count,
// the group panel, the load and budget, the chart and the events.
func TestDashboardShowsAnAllocation(t *testing.T) {
	ctx := newBrowser(t, 1280, 1000)
	e := startDashSite(t, fleetSize, 0)
	e.steady()
	openDashboard(t, ctx, e.ts.URL, 200)

	waitText(t, ctx, "parked before the allocation", tileJS("parked"), "0", 5*time.Second)
	waitText(t, ctx, "default's parked rigs before", groupJS("default", "parked"), "0", 5*time.Second)
	waitText(t, ctx, "default's mining rigs before", groupJS("default", "mining"), "10", 5*time.Second)
	waitText(t, ctx, "budget before", tileJS("budget"), "100.0 kW", 5*time.Second)

	e.want("PUT", "/api/v1/allocation", writeToken, map[string]any{"ai_kw": 68.0, "reason": "training run"}, 200, nil)
	waitText(t, ctx, "parked after the allocation", tileJS("parked"), "10", 10*time.Second)
	waitText(t, ctx, "default's parked rigs after", groupJS("default", "parked"), "10", 10*time.Second)
	waitText(t, ctx, "default's mining rigs after", groupJS("default", "mining"), "0", 10*time.Second)
	waitText(t, ctx, "hall-a's parked rigs after", groupJS("hall-a", "parked"), "0", 10*time.Second)
	waitText(t, ctx, "budget after", tileJS("budget"), "32.0 kW", 10*time.Second)
	waitText(t, ctx, "load after", tileJS("load"), "31.0 kW", 10*time.Second)
	waitText(t, ctx, "AI after", tileJS("ai"), "68.0 kW", 10*time.Second)

	// The decision, with its per-group counts, heads the events panel.
	ev := waitFor(t, ctx, "the allocation event", `(document.querySelector("#events details.allocation") || {}).textContent || ""`,
		func(s string) bool { return strings.Contains(s, "default: 10 curtail") }, 10*time.Second)
	for _, want := range []string{"allocation", "by power-desk", "68.0 kW to AI", "training run"} {
		if !strings.Contains(ev, want) {
			t.Errorf("the allocation event shows %q, want it to contain %q", ev, want)
		}
	}
	// Opened, it lists the rigs it curtailed.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#events details.allocation summary"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the allocation's rigs", `document.querySelectorAll("#events details.allocation li").length + ""`,
		func(s string) bool { return s == "10" }, 10*time.Second)

	// The chart draws the history ring: the load fell from 60 to 31 kW.
	waitFor(t, ctx, "the chart's load line", `(document.querySelector("#chart polyline.load") || {getAttribute: () => ""}).getAttribute("points")`,
		func(s string) bool { return strings.Count(s, ",") >= 5 }, 10*time.Second)
	var hist api.History
	e.want("GET", "/api/v1/history", "", nil, 200, &hist)
	peak := 0.0
	for _, p := range hist.Points {
		peak = max(peak, p.LoadKW)
	}
	if n := len(hist.Points); n < 2 || peak != 60 || hist.Points[n-1].LoadKW != 31 || hist.Points[n-1].BudgetKW != 32 {
		t.Errorf("history: %d points, peak load %v kW, last %+v; want the load from 60 to 31 kW under a budget of 32", n, peak, hist.Points[n-1])
	}
	page := pageText(t, ctx)
	wantOnPage(t, page, "upstream healthy", "primary", "active", "Allocation in force: 68.0 kW to AI, by power-desk")
}

// The worker table pages, searches, filters and sorts 50,000 rigs on the
// server: each step answers from the API in a few tens of milliseconds.
func TestDashboardWorkers50k(t *testing.T) {
	ctx := newBrowser(t, 1280, 1000)
	e := startDashSite(t, 0, switcher.DefaultTick) // as site50k
	const n = 50000
	e.sw.SetInventory(inventory50k())
	e.eventually(fmt.Sprintf("%d rigs listed", n), func() (bool, any) { _, total := e.workers("?limit=1"); return total == n, total })
	openDashboard(t, ctx, e.ts.URL, 2000)

	info := `document.getElementById("page-info").textContent`
	first := `document.querySelector("#workers tbody tr td").textContent`
	rows := `document.querySelectorAll("#workers tbody tr").length + ""`
	waitText(t, ctx, "first page", info, "1–50 of 50000", 30*time.Second)
	waitText(t, ctx, "rows on the first page", rows, "50", time.Second)
	waitText(t, ctx, "first row", first, "acct.rig-00000", time.Second)

	step := func(what string, act chromedp.Action[chromedp.Void], wantInfo, wantFirst string) {
		t.Helper()
		start := time.Now()
		if err := chromedp.Do(ctx, act); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		waitText(t, ctx, what, info, wantInfo, 30*time.Second)
		waitText(t, ctx, what+": first row", first, wantFirst, 30*time.Second)
		t.Logf("%s: shown in %v", what, time.Since(start).Round(time.Millisecond))
	}
	step("next page", chromedp.Click(chromedp.CSS("#next")), "51–100 of 50000", "acct.rig-00050")
	step("sort by name, descending", chromedp.Steps(chromedp.Click(chromedp.CSS(`#workers th[data-sort="name"]`))), "1–50 of 50000", "acct.rig-49999")
	step("search", chromedp.SendKeys(chromedp.CSS("#q"), "rig-4999"), "1–10 of 10", "acct.rig-49999")
	// hall-a is acct.rig-0000*: ten rigs, still in descending order.
	step("filter by group", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](`document.getElementById("q").value = "";
			const g = document.getElementById("f-group"); g.value = "hall-a"; g.dispatchEvent(new Event("change"))`)(ctx, tg)
		return err
	}), "1–10 of 10", "acct.rig-00009")
}

// The cap and the fail-safe are drawn when the API gives them. The
// switcher's cap mode is not built yet (SetCap answers ErrNotReady), so
// the page is handed a status and a history with them, as the API will
// answer, through its own render functions.
func TestDashboardShowsCapAndFailsafe(t *testing.T) {
	ctx := newBrowser(t, 1280, 1000)
	e := startDashSite(t, fleetSize, 0)
	e.steady()
	openDashboard(t, ctx, e.ts.URL, 60000) // no poll during the test
	if got := evalString(t, ctx, `document.getElementById("legend-cap").hidden ? "hidden" : "shown"`); got != "hidden" {
		t.Errorf("the cap's legend is %s with no cap, want hidden", got)
	}
	_, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => {
		const st = (await getJSON("/api/v1/status")).body;
		st.power.cap_kw = 95; st.power.failsafe = true; st.power.failsafe_reason = "meter hall-a stale for 30 s";
		renderPower(st);
		const t0 = Date.now() - 60000;
		state.history = [0, 20, 40].map((s) => ({ t: new Date(t0 + s * 1000).toISOString(), load_kw: 60, budget_kw: 80, cap_kw: 95 }));
		state.live = null;
		drawChart();
		return "";
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("rendering a status with a cap: %v", err)
	}
	waitText(t, ctx, "the cap tile", tileJS("cap"), "95.0 kW", 5*time.Second)
	waitFor(t, ctx, "the fail-safe banner", `(document.getElementById("failsafe") || {}).textContent || ""`,
		func(s string) bool {
			return strings.Contains(s, "Fail-safe") && strings.Contains(s, "meter hall-a stale for 30 s")
		}, 5*time.Second)
	waitFor(t, ctx, "the cap line", `(document.querySelector("#chart polyline.cap") || {getAttribute: () => ""}).getAttribute("points")`,
		func(s string) bool { return strings.Count(s, ",") >= 3 }, 5*time.Second)
	if got := evalString(t, ctx, `document.getElementById("legend-cap").hidden ? "hidden" : "shown"`); got != "shown" {
		t.Errorf("the cap's legend is %s with a cap, want shown", got)
	}
}
