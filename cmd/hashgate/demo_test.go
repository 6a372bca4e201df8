package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/switcher"
)

// The demo runs end to end: pools, proxy, switcher, API, fleet, the
// firmware hall, the scripted reallocation and a failover, and a summary.
// A small demo (60 miners) curtails: the firmware hall's measured power
// drops, its lying rig is flagged and compensated, and the power comes
// back when the AI gives its power back.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for a few seconds")
	}
	// Run until the script is done and the failover shows (pool-b in
	// use), at most 40 s.
	out := &waitWriter{want: "| pool-b |", seen: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := demoOptions{miners: 60, listen: "127.0.0.1:0", api: "127.0.0.1:0", step: 2500 * time.Millisecond, every: 500 * time.Millisecond}
	done := make(chan error, 1)
	go func() { done <- runDemo(ctx, o, out, zerolog.Nop()) }()
	select {
	case <-out.seen:
	case <-time.After(40 * time.Second):
		s := out.String()
		t.Errorf("status line: got no %q (failover to pool-b) within %v, want it; output ends:\n%s", out.want, 40*time.Second, s[max(0, len(s)-2000):])
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"point miners at stratum+tcp://127.0.0.1:", "dashboard: http://127.0.0.1:",
		"site: 220 kW capacity", "AI takes 60 kW", "curtailed", "EMERGENCY", "killing pool-a", "| pool-b |", "stopping:",
		"firmware hall: 10 emulated rigs",
		"demo.fw-whatsminer-00008 flagged curtail_failed: answered ok, yet its device reads mining, 3250 W, 100 TH/s",
		"compensation: demo.", "(32.5 measured, 10 rigs)",
		// cap mode on the AI racks' Modbus meter, and the fail-safe when it goes silent
		"cap mode: site cap 220 kW at the meter", "cap 220 kW, AI metered ", "the AI racks' meter goes silent",
		"FAIL-SAFE (meter ai-racks, site-main stale) | budget 110", "the meter is back"} {
		if !strings.Contains(s, want) {
			t.Errorf("demo output lacks %q; want strings.Contains(s, want):\n%s", want, s)
		}
	}
	// The training run sleeps part of the hall (how many depends on the
	// Stratum rigs connected by then).
	if !regexp.MustCompile(`firmware hall: the plan sleeps [1-9] and wakes 0 of 10 rigs`).MatchString(s) {
		t.Errorf("demo output lacks the training run sleeping 1 to 9 of the 10 firmware rigs; want regexp.MustCompile(`firmware hall: the plan sleeps [1-9] and wakes 0 of 10 rigs`).MatchString(s):\n%s", s)
	}
	// The hall's meter: 32.5 kW at first, lower once curtailed, 32.5
	// again once the training run gives the power back.
	meter := regexp.MustCompile(`firmware hall meter: ([0-9.]+) -> ([0-9.]+) kW`)
	var after []float64
	for _, m := range meter.FindAllStringSubmatch(s, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		after = append(after, v)
	}
	dropped, back := false, false
	for _, v := range after {
		dropped = dropped || v < 32.5
		back = back || (dropped && v == 32.5)
	}
	if !back {
		t.Errorf("firmware hall meter readings %v: want a drop below 32.5 kW, then 32.5 kW again\n%s", after, s)
	}
}

// waitWriter keeps what is written and closes seen once it holds want.
type waitWriter struct {
	mu   sync.Mutex
	b    bytes.Buffer
	want string
	seen chan struct{}
	once sync.Once
}

func (w *waitWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.b.Write(p)
	if strings.Contains(w.b.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return n, err
}

func (w *waitWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// The site scales with --miners: at every size every rig fits with no AI
// load, the training run curtails s9 rigs and part of the firmware hall
// (the lying rig first) and nothing of s19 or s21, and the emergency
// curtails more.
func TestDemoSiteScales(t *testing.T) {
	for _, miners := range []int{3, 60, 300, 1500} {
		t.Run(fmt.Sprint(miners), func(t *testing.T) {
			site := newDemoSite(miners, 20*time.Second)
			dir := t.TempDir()
			fw, groups, err := startFWHall(dir, site.fwRigs)
			if err != nil {
				t.Fatal(err)
			}
			defer fw.Close()
			if fi, err := os.Stat(filepath.Join(dir, "fw.pass")); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("password file: %v, err %v; want mode 0600", fi, err)
			}
			if inv, err := switcher.LoadInventory(filepath.Join(dir, "rigs.csv")); err != nil || len(inv) != site.fwRigs {
				t.Fatalf("inventory: %d rigs, err %v; want %d", len(inv), err, site.fwRigs)
			}
			p, err := switcher.ParsePolicy(filepath.Join(dir, "policy.toml"), []byte(site.policy(groups)))
			if err != nil {
				t.Fatalf("policy: %v\n%s", err, site.policy(groups))
			}
			rigs := demoRigs(p, site, fw)
			plan := func(ai float64) (switcher.Plan, map[string]int) {
				pl := switcher.MakePlan(switcher.Input{Policy: p, Rigs: rigs, Allocations: []switcher.Allocation{{AIKW: ai}}}, time.Now())
				by := map[string]int{} // by hall: s21, s19, s9, fw
				for _, a := range pl.Curtail {
					by[strings.SplitN(p.GroupFor(a.Name).Name, "-", 2)[0]]++
				}
				return pl, by
			}
			if pl, _ := plan(0); len(pl.Curtail) != 0 || !pl.Compliant {
				t.Errorf("no AI load: curtail %d, compliant %v; want every rig mining (capacity %v kW, nameplate %v kW)",
					len(pl.Curtail), pl.Compliant, site.capacityKW, site.nameplateKW())
			}
			pl, by := plan(site.trainingKW)
			if by["s9"] < 1 || by["fw"] < 1 || by["fw"] >= site.fwRigs || by["s19"]+by["s21"] != 0 || !pl.Compliant {
				t.Errorf("training run of %v kW curtails %v, compliant %v; want s9 rigs, 1 to %d firmware rigs, no s19/s21",
					site.trainingKW, by, pl.Compliant, site.fwRigs-1)
			}
			var firstFW string
			for _, a := range pl.Curtail {
				if strings.HasPrefix(a.Name, "demo.fw-") {
					firstFW = a.Name
					break
				}
			}
			if firstFW != fw.liar {
				t.Errorf("training run curtails %q first of the firmware hall, want the lying rig %s", firstFW, fw.liar)
			}
			if epl, eby := plan(site.emergencyKW); eby["fw"] <= by["fw"] || len(epl.Curtail) <= len(pl.Curtail) || !epl.Compliant {
				t.Errorf("emergency of %v kW curtails %v (compliant %v), want more than the training run's %v", site.emergencyKW, eby, epl.Compliant, by)
			}
		})
	}
}

// demoRigs is the demo site as the planner sees it with every rig mining.
func demoRigs(p *switcher.Policy, site demoSite, fw *fwHall) []switcher.Rig {
	var rigs []switcher.Rig
	for _, h := range demoHalls {
		for i := range site.perHall {
			name := fmt.Sprintf(h.nameFormat, i)
			rigs = append(rigs, switcher.Rig{Name: name, Group: p.GroupFor(name), State: switcher.RigMining, Connected: true})
		}
	}
	for _, r := range fw.h.Rigs {
		rigs = append(rigs, switcher.Rig{Name: r.Name, Group: p.GroupFor(r.Name), State: switcher.RigMining, Reached: true, ByDevice: true})
	}
	return rigs
}
