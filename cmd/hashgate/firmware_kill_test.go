package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/emu"
	"github.com/hashgate/hashgate/internal/emu/hall"
	"github.com/hashgate/hashgate/internal/sim"
)

// kill -9 in the middle of a plan of firmware curtails: the daemon, as a
// process, curtails half of an emulated hall whose rigs answer slowly; it
// is killed while some rigs are asleep and others not yet, and restarted
// on the same state directory. The restarted daemon finishes the plan
// (every planned rig ends asleep), wakes no rig (no resume reaches any
// device), curtails no other rig except in place of one whose curtail
// failed, and its state, status and audit log say so.
//
// A LuxOS rig whose session the killed daemon held refuses a new one
// ("another session is active") until that session expires, a minute
// after its last use: its curtail fails meanwhile, it is flagged
// curtail_failed, and the plan curtails another rig in its place. That
// is the one way an unplanned rig may end asleep here.
func TestFirmwareKill9MidPlan(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemon")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "hashgate")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	const n = 100
	const delay = 300 * time.Millisecond // before every answer of every rig
	h, err := hall.Start(hall.Config{Rigs: n, NameFormat: hallNameFormat, Faults: func(int, string) emu.Faults {
		return emu.Faults{Delay: delay}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	rigOf := map[string]*hall.Rig{}
	for _, r := range h.Rigs {
		rigOf[r.Name] = r
	}
	pool, err := sim.StartPool(sim.PoolConfig{JobInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	apiAddr := freePort(t)
	// Few workers and slow rigs: the plan takes seconds. Polls every 5 s.
	cfg := hallSite(t, dir, h, n*3.25, 5*time.Second, freePort(t), apiAddr, pool.URL(),
		"poll_interval = \"5s\"\ndevice_workers = 6\nverify_within = \"2s\"\nretry_every = \"2s\"\n")
	base := "http://" + apiAddr

	d := startDaemon(t, bin, cfg)
	waitFor(t, 30*time.Second, "the daemon up with the inventory counted", func() bool {
		var st siteStatus
		code, err := apiJSON("GET", base+"/api/v1/status", "", nil, &st)
		return err == nil && code == 200 && st.Power.MiningLoadKW == n*3.25
	}, func() string { return d.out.String() })

	var plan struct {
		Curtail []string `json:"curtail"`
	}
	if code, err := apiJSON("PUT", base+"/api/v1/allocation", "desk", map[string]any{"ai_kw": n * 3.25 / 2, "reason": "kill test"}, &plan); err != nil || code != 200 {
		t.Fatalf("PUT /api/v1/allocation: %d %v; want err == nil, code == 200", code, err)
	}
	// 325 kW − 3.16 kW saved a rig ≤ 162.5 kW takes 52 rigs.
	if len(plan.Curtail) != 52 {
		t.Fatalf("plan curtails %d rigs, want 52", len(plan.Curtail))
	}
	planned := map[string]bool{}
	for _, name := range plan.Curtail {
		planned[name] = true
	}
	asleep := func() (in, out int) {
		for _, r := range h.Rigs {
			if !r.Dev.Peek().Mining {
				if planned[r.Name] {
					in++
				} else {
					out++
				}
			}
		}
		return in, out
	}
	waitFor(t, 30*time.Second, "a quarter of the plan's rigs asleep", func() bool {
		in, _ := asleep()
		return in >= len(plan.Curtail)/4
	}, func() string { in, out := asleep(); return fmt.Sprintf("%d planned and %d others asleep", in, out) })
	d.kill9(t)
	killedAt := time.Now()
	doneAtKill, othersAtKill := asleep()
	t.Logf("killed with %d of %d planned rigs asleep", doneAtKill, len(plan.Curtail))
	if doneAtKill == 0 || doneAtKill >= len(plan.Curtail)-5 || othersAtKill != 0 {
		t.Fatalf("at kill -9: %d of %d planned rigs asleep, %d others; want the plan part done (some asleep, at least 5 not yet), no other rig asleep",
			doneAtKill, len(plan.Curtail), othersAtKill)
	}
	checkStateFile(t, filepath.Join(dir, "hashgate-state.json"), planned)

	d = startDaemon(t, bin, cfg)
	waitFor(t, 120*time.Second, "every planned rig asleep after the restart", func() bool {
		in, _ := asleep()
		return in == len(plan.Curtail)
	}, func() string {
		in, out := asleep()
		return fmt.Sprintf("%d planned and %d others asleep; daemon: %s", in, out, tail(d.out.String(), 3000))
	})
	t.Logf("plan finished %v after the kill", time.Since(killedAt).Round(time.Millisecond))

	// Every rig read again since the plan finished: the restarted daemon
	// has seen the whole hall, and still wakes nothing.
	reads := map[string]int{}
	for _, r := range h.Rigs {
		reads[r.Name] = r.Dev.Calls().Reads
	}
	waitFor(t, 60*time.Second, "every rig read again after the plan finished", func() bool {
		for _, r := range h.Rigs {
			if r.Dev.Calls().Reads <= reads[r.Name] {
				return false
			}
		}
		return true
	}, func() string { return "some rigs not read" })
	sleeping := map[string]bool{}
	for _, r := range h.Rigs {
		if c := r.Dev.Calls(); c.Resumes != 0 {
			t.Errorf("%s: %d resumes reached its device, want none (a restart wakes nothing)", r.Name, c.Resumes)
		}
		if !r.Dev.Peek().Mining {
			sleeping[r.Name] = true
		}
	}
	checkAfterRestart(t, base, plan.Curtail, sleeping)
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	_ = d.cmd.Wait()
	checkStateFile(t, filepath.Join(dir, "hashgate-state.json"), sleeping)
}

// checkStateFile: the state file holds every rig of the set parked, no
// other.
func checkStateFile(t *testing.T, path string, planned map[string]bool) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("state file: %v", err)
	}
	var st struct {
		Rigs map[string]struct {
			State string `json:"state"`
		} `json:"rigs"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("state file: %v", err)
	}
	var parked []string
	for name, r := range st.Rigs {
		if r.State == "parked" {
			parked = append(parked, name)
		}
	}
	if len(parked) != len(planned) {
		t.Fatalf("state file %s: %d rigs parked, want %d", path, len(parked), len(planned))
	}
	for _, name := range parked {
		if !planned[name] {
			t.Fatalf("state file %s: %s parked, want it not", path, name)
		}
	}
}

// checkAfterRestart: the status holds the allocation, within budget, with
// every sleeping rig curtailed and read asleep; the workers show each
// parked with its device asleep and no flag left; the audit log has one
// curtail per sleeping rig, no resume, two starts, and a curtail_failed
// event, since cleared, on a planned rig for each unplanned one asleep.
func checkAfterRestart(t *testing.T, base string, curtail []string, sleeping map[string]bool) {
	t.Helper()
	waitFor(t, 30*time.Second, "the status compliant with every sleeping rig curtailed and read asleep", func() bool {
		st := getStatus(t, base)
		return st.Power.Compliant && st.Curtailed == len(sleeping) && st.Power.Devices["sleeping"] == len(sleeping)
	}, func() string { return fmt.Sprintf("%d asleep; status %+v", len(sleeping), getStatus(t, base)) })
	ws := getWorkers(t, base)
	for name := range sleeping {
		if w := ws[name]; w.PowerState != "parked" || w.Device == nil || w.Device.State != "sleeping" || len(w.Flags) != 0 {
			t.Errorf("%s after the restart: %+v device %+v, want parked, device sleeping, no flags", name, w, w.Device)
		}
	}
	planned := map[string]bool{}
	for _, name := range curtail {
		planned[name] = true
	}
	kinds := map[string]int{}
	var curtailed []string
	flagged, cleared := map[string]bool{}, map[string]bool{}
	for _, e := range getEvents(t, base) {
		kinds[e.Kind]++
		switch {
		case e.Kind == "curtail":
			curtailed = append(curtailed, e.Rig)
		case e.Kind == "curtail_failed" && e.Fields["cleared"] == true:
			cleared[e.Rig] = true
		case e.Kind == "curtail_failed":
			if !planned[e.Rig] || e.Fields["error"] == nil {
				t.Errorf("curtail_failed event %+v: want it on a planned rig whose curtail failed, with the error", e)
			}
			flagged[e.Rig] = true
		}
	}
	slices.Sort(curtailed)
	want := slices.Sorted(maps.Keys(sleeping))
	extra := len(sleeping) - len(curtail)
	if !slices.Equal(curtailed, want) || kinds["resume"] != 0 || kinds["start"] != 2 {
		t.Errorf("audit log: curtail events for %d rigs (want the %d asleep, once each), %d resume (want 0), %d start (want 2); kinds %v",
			len(curtailed), len(want), kinds["resume"], kinds["start"], kinds)
	}
	if extra > len(flagged) || len(cleared) != len(flagged) {
		t.Errorf("%d rigs asleep beyond the plan, %d planned rigs flagged curtail_failed (%v), %d cleared; want no more extra than flagged, every flag cleared",
			extra, len(flagged), flagged, len(cleared))
	}
	t.Logf("after the restart: %d planned rigs asleep, %d more in place of %d whose curtail failed for a while (%v)", len(curtail), extra, len(flagged), flagged)
}
