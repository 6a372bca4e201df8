package main

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/internal/emu"
	"github.com/hashgate/hashgate/internal/emu/hall"
	"github.com/hashgate/hashgate/internal/sim"
)

// The acceptance tests of issue 11 ("Done when"), end to end: an emulated
// hall of rigs of mixed firmware, reached through the rig inventory, the
// daemon wired as `hashgate run` wires it, the power desk through the API.

// hallNameFormat names the hall's rigs by index first ("r00042.luxos"), so
// the planner's order (by name within equal groups) mixes the firmwares:
// hall.Groups' own globs assume the default "emu.%s-%05d", so fixGlobs
// rewrites them.
const hallNameFormat = "r%05[2]d.%[1]s"

// fixGlobs rewrites hall.Groups' text for hallNameFormat: one worker glob
// per firmware group, in the order Groups writes them.
func fixGlobs(groups string) string {
	for _, fw := range hall.Firmwares {
		groups = strings.Replace(groups, fmt.Sprintf("workers = [%q]", hallNameFormat), fmt.Sprintf("workers = [%q]", "r*."+fw), 1)
	}
	return groups
}

// rigKind is what a rig of the 2,000-rig hall does wrong: every 50th
// (from 7) lies, every 50th (from 23) hangs, the rest answer at once.
func rigKind(i int) string {
	switch i % 50 {
	case 7:
		return "lying"
	case 23:
		return "hung"
	}
	return "prompt"
}

// hallSite writes a site for h into dir: the inventory, the password
// file, the policy (capacity, a ramp that never binds, min_off an hour so
// no parked rig is woken, the hall's groups with the per-call timeout)
// and the config ([switcher] with the inventory and the fleet's knobs,
// a write token "desk"). It returns the config file's path.
func hallSite(t *testing.T, dir string, h *hall.Hall, capacityKW float64, timeout time.Duration, proxyListen, apiListen, poolURL, switcherExtra string) string {
	t.Helper()
	pw := filepath.Join(dir, "rigs.pass")
	if err := h.WritePassword(pw); err != nil {
		t.Fatal(err)
	}
	policy := fmt.Sprintf("site_capacity_kw = %g\nramp_up_kw_per_min = 1000000.0\nmin_off = \"1h\"\nmin_on = \"0s\"\n\n"+
		"[default]\nrig_kw = 3.25\nidle_kw = 0.09\nefficiency_j_th = 30.0\nactuator = \"stratum\"\n", capacityKW)
	policy += fixGlobs(h.Groups("hall", 10, 30, pw, timeout))
	conf := fmt.Sprintf("[proxy]\nlisten = %q\nallow = [\"127.0.0.0/8\"]\n\n[[pools]]\nname = \"local\"\nurl = %q\nuser = \"acct.proxy\"\n\n"+
		"[api]\nlisten = %q\ntoken = \"desk\"\n\n[switcher]\npolicy = \"policy.toml\"\ninventory = \"rigs.csv\"\n%s",
		proxyListen, poolURL, apiListen, switcherExtra)
	for name, body := range map[string][]byte{"policy.toml": []byte(policy), "rigs.csv": h.InventoryCSV(), "hashgate.toml": []byte(conf)} {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "hashgate.toml")
}

// siteStatus is the part of GET /api/v1/status these tests read.
type siteStatus struct {
	Power     powerStatus `json:"power"`
	Curtailed int         `json:"curtailed"`
}

type powerStatus struct {
	AIKW                 float64        `json:"ai_kw"`
	MiningBudgetKW       float64        `json:"mining_budget_kw"`
	MiningLoadKW         float64        `json:"mining_load_kw"`
	MiningLoadPlannedKW  float64        `json:"mining_load_planned_kw"`
	Compliant            bool           `json:"compliant"`
	NotCompliantReason   string         `json:"not_compliant_reason"`
	MiningLoadMeasuredKW float64        `json:"mining_load_measured_kw"`
	MeasuredRigs         int            `json:"measured_rigs"`
	Devices              map[string]int `json:"devices"`
}

// workerRow is the part of a GET /api/v1/workers row these tests read.
type workerRow struct {
	Name       string   `json:"name"`
	Flags      []string `json:"flags"`
	PowerState string   `json:"power_state"`
	CountedAs  string   `json:"counted_as"`
	CountedKW  float64  `json:"counted_kw"`
	Listed     bool     `json:"listed"`
	Device     *struct {
		State       string   `json:"state"`
		PowerW      *float64 `json:"power_w"`
		HashrateTHs *float64 `json:"hashrate_ths"`
	} `json:"device"`
}

type auditEvent struct {
	Seq    uint64         `json:"seq"`
	Time   time.Time      `json:"time"`
	Kind   string         `json:"kind"`
	Rig    string         `json:"rig"`
	Fields map[string]any `json:"fields"`
}

func getStatus(t *testing.T, base string) siteStatus {
	t.Helper()
	var st siteStatus
	if code, err := apiJSON("GET", base+"/api/v1/status", "", nil, &st); err != nil || code != 200 {
		t.Fatalf("GET /api/v1/status: %d %v; want err == nil, code == 200", code, err)
	}
	return st
}

func getWorkers(t *testing.T, base string) map[string]workerRow {
	t.Helper()
	var rows []workerRow
	if code, err := apiJSON("GET", base+"/api/v1/workers?limit=50000", "", nil, &rows); err != nil || code != 200 {
		t.Fatalf("GET /api/v1/workers: %d %v; want err == nil, code == 200", code, err)
	}
	m := make(map[string]workerRow, len(rows))
	for _, r := range rows {
		m[r.Name] = r
	}
	return m
}

// getEvents reads the whole audit log through GET /api/v1/events.
func getEvents(t *testing.T, base string) []auditEvent {
	t.Helper()
	var all []auditEvent
	for since := uint64(0); ; {
		var page []auditEvent
		u := base + "/api/v1/events?" + url.Values{"since": {fmt.Sprint(since)}, "limit": {"10000"}}.Encode()
		if code, err := apiJSON("GET", u, "", nil, &page); err != nil || code != 200 {
			t.Fatalf("GET /api/v1/events: %d %v; want err == nil, code == 200", code, err)
		}
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
		since = page[len(page)-1].Seq
	}
}

func hasFlag(w workerRow, f string) bool { return slices.Contains(w.Flags, f) }

// One plan curtails about half of 2,000 emulated rigs of five firmwares
// through the daemon's real wiring: 2 % of them lie (answer ok, keep
// mining), 2 % hang (never answer). The prompt ones are all asleep on
// their emulators long before a hung call times out; every planned rig
// gets a result; the liars are flagged curtail_failed with their
// measured draw as evidence and counted at it; the planner curtails
// further rigs to make up for liars and hung rigs, so the hall's own
// meter ends within the mining budget and the status says compliant.
func TestFirmwarePlanOf2000Rigs(t *testing.T) {
	if testing.Short() {
		t.Skip("2,000 emulated rigs")
	}
	const n = 2000
	// The per-call timeout: a hung rig holds a worker this long per
	// attempt (three attempts before its outcome).
	const timeout = 5 * time.Second
	began := time.Now()
	h, err := hall.Start(hall.Config{Rigs: n, NameFormat: hallNameFormat, Faults: func(i int, _ string) emu.Faults {
		switch rigKind(i) {
		case "lying":
			return emu.Faults{Lying: true}
		case "hung":
			return emu.Faults{Hang: true}
		}
		return emu.Faults{}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	kindOf := map[string]string{}
	rigOf := map[string]*hall.Rig{}
	for i, r := range h.Rigs {
		kindOf[r.Name], rigOf[r.Name] = rigKind(i), r
	}
	pool, err := sim.StartPool(sim.PoolConfig{JobInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	// Capacity: the hall at its nameplate, 2,000 × 3.25 kW = 6,500 kW.
	dir := t.TempDir()
	path := hallSite(t, dir, h, 6500, timeout, "127.0.0.1:0", "127.0.0.1:0", pool.URL(),
		"poll_interval = \"1s\"\ndevice_workers = 128\nverify_within = \"2s\"\nretry_every = \"2s\"\n")
	cfg := mustLoadConfig(t, path)
	logs := &sim.LogBuffer{}
	r, err := start(cfg, zerolog.New(logs).Level(zerolog.WarnLevel))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer func() {
		if t.Failed() {
			t.Logf("fleet stats: %+v\ndaemon warnings:\n%s", r.Fleet().Stats(), tail(logs.String(), 4000))
		}
	}()
	base := "http://" + r.APIAddr().String()
	hung := 0
	for _, k := range kindOf {
		if k == "hung" {
			hung++
		}
	}
	// Every device read once: the load is measured before the desk asks.
	var st siteStatus
	waitFor(t, 60*time.Second, "every answering rig measured, the hung ones unreachable", func() bool {
		st = getStatus(t, base)
		return st.Power.MeasuredRigs == n-hung && st.Power.Devices["unreachable"] == hung
	}, func() string { return fmt.Sprintf("status %+v", st) })
	t.Logf("hall of %d rigs up and measured in %v", n, time.Since(began).Round(time.Millisecond))

	// The AI takes half the site: the budget is 3,250 kW.
	const aiKW = 3250.0
	t0 := time.Now()
	var plan struct {
		Curtail []string `json:"curtail"`
		Budget  float64  `json:"mining_budget_kw"`
	}
	if code, err := apiJSON("PUT", base+"/api/v1/allocation", "desk", map[string]any{"ai_kw": aiKW, "reason": "training run"}, &plan); err != nil || code != 200 {
		t.Fatalf("PUT /api/v1/allocation: %d %v; want err == nil, code == 200", code, err)
	}
	answered := time.Since(t0)
	if plan.Budget != 6500-aiKW || len(plan.Curtail) < 1000 || len(plan.Curtail) > 1100 {
		t.Fatalf("plan: budget %v kW, %d rigs to curtail; want 3250 kW and about 1030 (3250 kW ÷ 3.16 kW saved each)", plan.Budget, len(plan.Curtail))
	}
	planned := map[string]int{}
	for _, name := range plan.Curtail {
		planned[kindOf[name]]++
	}
	if planned["lying"] == 0 || planned["hung"] == 0 {
		t.Fatalf("planned rigs by kind %v: want liars and hung rigs among them", planned)
	}
	t.Logf("allocation answered in %v: %d rigs to curtail %v", answered.Round(time.Millisecond), len(plan.Curtail), planned)

	promptDone := waitPromptAsleep(t, plan.Curtail, kindOf, rigOf, t0)
	t.Logf("every prompt planned rig asleep on its emulator %v after the allocation call", promptDone.Round(time.Millisecond))
	// Held up by the hung rigs, the prompt ones would wait for their
	// calls to time out: 21 hung curtails and 40 hung polls through 128
	// workers. They all hold one worker each, and the rest go on: the
	// prompt ones took 0.5 to 5 s on 2 loaded cores, 10 s under -race
	// (every rig polled each second competes for the CPU).
	bound := 2 * timeout
	if raceEnabled {
		bound = 4 * timeout
	}
	if promptDone >= bound {
		t.Errorf("prompt rigs all asleep after %v, want under %v (%d × the call timeout): hung rigs must not hold them up",
			promptDone, bound, bound/timeout)
	}
	checkEveryOutcome(t, base, plan.Curtail, kindOf, t0)
	checkHungAnsweredLast(t, base, kindOf, t0.Add(promptDone))
	checkCompensated(t, base, h, plan.Curtail, kindOf, 6500-aiKW, t0)
}

// waitPromptAsleep waits for every prompt rig of the plan to be asleep on
// its emulator and returns when the last one was first seen so.
func waitPromptAsleep(t *testing.T, curtail []string, kindOf map[string]string, rigOf map[string]*hall.Rig, t0 time.Time) time.Duration {
	t.Helper()
	left := map[string]bool{}
	for _, name := range curtail {
		if kindOf[name] == "prompt" {
			left[name] = true
		}
	}
	var last time.Time
	waitFor(t, 30*time.Second, "every prompt planned rig asleep on its emulator", func() bool {
		now := time.Now()
		for name := range left {
			if !rigOf[name].Dev.Peek().Mining {
				delete(left, name)
				last = now
			}
		}
		return len(left) == 0
	}, func() string { return fmt.Sprintf("%d still mining", len(left)) })
	return last.Sub(t0)
}

// checkEveryOutcome waits until every planned rig has its result in
// /api/v1/workers: prompt ones asleep as their device reads, liars and
// hung ones flagged curtail_failed (liars with the power and hashrate
// they still report, counted at that power); and in the audit log: one
// curtail event per planned rig, a curtail_failed event with evidence
// per liar and hung rig.
func checkEveryOutcome(t *testing.T, base string, curtail []string, kindOf map[string]string, t0 time.Time) {
	t.Helper()
	var missing []string
	waitFor(t, 60*time.Second, "a result for every planned rig in /api/v1/workers", func() bool {
		ws := getWorkers(t, base)
		missing = missing[:0]
		for _, name := range curtail {
			w := ws[name]
			ok := w.PowerState == "parked" && w.Device != nil
			switch kindOf[name] {
			case "prompt":
				ok = ok && w.Device.State == "sleeping" && !hasFlag(w, "curtail_failed")
			case "lying":
				ok = ok && hasFlag(w, "curtail_failed") && w.Device.State == "mining" &&
					w.Device.PowerW != nil && *w.Device.PowerW == 3250 && w.Device.HashrateTHs != nil && *w.Device.HashrateTHs > 0 &&
					w.CountedAs == "device_hashing" && w.CountedKW == 3.25
			case "hung":
				// Nothing shows it stopped: counted and planned at rig_kw.
				ok = ok && hasFlag(w, "curtail_failed") && w.Device.State == "unreachable" &&
					w.CountedAs == "device_hashing" && w.CountedKW == 3.25
			}
			if !ok {
				missing = append(missing, fmt.Sprintf("%s (%s): %+v device %+v", name, kindOf[name], w, w.Device))
			}
		}
		return len(missing) == 0
	}, func() string { return fmt.Sprintf("%d without: %.1500s", len(missing), strings.Join(missing, "; ")) })
	t.Logf("every planned rig's result in /api/v1/workers %v after the allocation call", time.Since(t0).Round(time.Millisecond))

	evs := getEvents(t, base)
	curtailed, failed := map[string]bool{}, map[string]auditEvent{}
	for _, e := range evs {
		switch e.Kind {
		case "curtail":
			curtailed[e.Rig] = true
		case "curtail_failed":
			if e.Fields["cleared"] == nil {
				failed[e.Rig] = e
			}
		}
	}
	for _, name := range curtail {
		if !curtailed[name] {
			t.Errorf("%s: no curtail event in the audit log; want curtailed[name]", name)
		}
		e, flagged := failed[name]
		switch kindOf[name] {
		case "prompt":
			if flagged {
				t.Errorf("%s (prompt): audit log has curtail_failed %+v, want none", name, e)
			}
		case "lying":
			if !flagged || e.Fields["power_w"] != 3250.0 || e.Fields["hashrate_ths"] == nil || e.Fields["state"] != "mining" {
				t.Errorf("%s (lying): curtail_failed event %+v (present %v), want one with state mining, power_w 3250 and hashrate_ths", name, e, flagged)
			}
		case "hung":
			if !flagged || e.Fields["error"] == nil {
				t.Errorf("%s (hung): curtail_failed event %+v (present %v), want one with the error", name, e, flagged)
			}
		}
	}
}

// checkHungAnsweredLast checks that every hung rig's curtail_failed event
// came after the last prompt rig was asleep: the prompt ones did not wait
// for the hung ones' time-outs.
func checkHungAnsweredLast(t *testing.T, base string, kindOf map[string]string, promptAsleep time.Time) {
	t.Helper()
	var first time.Time
	for _, e := range getEvents(t, base) {
		if e.Kind == "curtail_failed" && kindOf[e.Rig] == "hung" && (first.IsZero() || e.Time.Before(first)) {
			first = e.Time
		}
	}
	if first.IsZero() || !first.After(promptAsleep) {
		t.Errorf("first hung rig's curtail_failed at %v, want after the last prompt rig was asleep (%v)", first, promptAsleep)
		return
	}
	t.Logf("first hung rig answered (timed out, curtail_failed) %v after the last prompt rig was asleep", first.Sub(promptAsleep).Round(time.Millisecond))
}

// checkCompensated waits until the hall's own meter reads within the
// mining budget and the status says compliant, with more rigs parked
// than the first plan named (the planner made up for liars and hung
// rigs), and no liar or hung rig ever resumed.
func checkCompensated(t *testing.T, base string, h *hall.Hall, curtail []string, kindOf map[string]string, budgetKW float64, t0 time.Time) {
	t.Helper()
	var st siteStatus
	waitFor(t, 60*time.Second, "the hall's meter within the budget and the status compliant", func() bool {
		st = getStatus(t, base)
		return st.Power.Compliant && h.PowerW() <= budgetKW*1000
	}, func() string {
		return fmt.Sprintf("meter %.0f W, budget %.0f kW, %d rigs mining, status %+v", h.PowerW(), budgetKW, h.Mining(), st)
	})
	meter := h.PowerW()
	t.Logf("compliant %v after the allocation call: meter %.1f kW of %.0f kW budget; status load %.1f kW (measured %.1f kW over %d rigs), %d parked (first plan %d), %d rigs mining",
		time.Since(t0).Round(time.Millisecond), meter/1000, budgetKW, st.Power.MiningLoadKW, st.Power.MiningLoadMeasuredKW, st.Power.MeasuredRigs, st.Curtailed, len(curtail), h.Mining())
	if st.Curtailed <= len(curtail) {
		t.Errorf("parked rigs %d, want more than the %d of the first plan (liars and hung rigs made up for)", st.Curtailed, len(curtail))
	}
	if st.Power.MiningLoadKW > budgetKW {
		t.Errorf("status mining load %v kW, want ≤ the budget %v", st.Power.MiningLoadKW, budgetKW)
	}
}

// waitFor polls cond until it holds or d passes; then it fails, saying
// what it waited for and, from detail, what it saw last.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool, detail func() string) {
	t.Helper()
	if err := sim.Poll(d, cond); err != nil {
		t.Fatalf("waiting for %s: %v; last seen: %s", what, err, detail())
	}
}

// tail is the end of s, at most n bytes.
func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
