package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/internal/emu"
	"github.com/hashgate/hashgate/internal/emu/hall"
	"github.com/hashgate/hashgate/internal/sim"
)

// A plan that takes longer than the switcher's verification window
// (2 × verify_within from the plan): 31 curtails of rigs that answer
// 400 ms late and restart their miner process for 2.5 s after a curtail
// (as an Antminer does), through 2 workers, so the last curtails are sent
// some 15 s after the plan. Each device sleeps within verify_within of its
// own command, so no rig failed: none may be flagged curtail_failed, and
// none curtailed in another's place. (It passes: the fleet takes commands
// before read-backs, so a rig's read-backs come once the queue has
// drained, after its restart.)
func TestFirmwareSlowPlanNoFalseFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("emulated hall")
	}
	const n = 60
	h, err := hall.Start(hall.Config{Rigs: n, NameFormat: hallNameFormat, Faults: func(int, string) emu.Faults {
		return emu.Faults{Delay: 400 * time.Millisecond, RestartDelay: 2500 * time.Millisecond}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	pool, err := sim.StartPool(sim.PoolConfig{JobInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	dir := t.TempDir()
	path := hallSite(t, dir, h, n*3.25, 5*time.Second, "127.0.0.1:0", "127.0.0.1:0", pool.URL(),
		"poll_interval = \"10s\"\ndevice_workers = 2\nverify_within = \"3s\"\nretry_every = \"2s\"\n")
	logs := &sim.LogBuffer{}
	r, err := start(mustLoadConfig(t, path), zerolog.New(logs).Level(zerolog.WarnLevel))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	base := "http://" + r.APIAddr().String()
	var plan struct {
		Curtail []string `json:"curtail"`
	}
	t0 := time.Now()
	if code, err := apiJSON("PUT", base+"/api/v1/allocation", "desk", map[string]any{"ai_kw": n * 3.25 / 2, "reason": "slow plan"}, &plan); err != nil || code != 200 {
		t.Fatalf("allocation: %d %v; want err == nil, code == 200", code, err)
	}
	planned := map[string]bool{}
	for _, name := range plan.Curtail {
		planned[name] = true
	}
	var in, out int
	waitFor(t, 60*time.Second, "every planned rig asleep", func() bool {
		in, out = 0, 0
		for _, rg := range h.Rigs {
			if !rg.Dev.Peek().Mining {
				if planned[rg.Name] {
					in++
				} else {
					out++
				}
			}
		}
		return in == len(plan.Curtail)
	}, func() string { return fmt.Sprintf("%d planned, %d others asleep", in, out) })
	t.Logf("%d planned rigs asleep %v after the allocation; %d others asleep", in, time.Since(t0).Round(time.Millisecond), out)
	var failed []string
	for _, e := range getEvents(t, base) {
		if e.Kind == "curtail_failed" {
			failed = append(failed, fmt.Sprintf("%s %v", e.Rig, e.Fields))
		}
	}
	if out != 0 || len(failed) != 0 {
		t.Errorf("%d unplanned rigs curtailed, curtail_failed events %v; want none: every device slept within verify_within of its command", out, failed)
	}
}
