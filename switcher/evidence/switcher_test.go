package evidence_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/emu/hall"
	"github.com/hashgate/hashgate/switcher"
	"github.com/hashgate/hashgate/switcher/device"
	"github.com/hashgate/hashgate/switcher/evidence"
	"github.com/hashgate/hashgate/switcher/firmware"
	"github.com/hashgate/hashgate/switcher/fleet"
)

// noStratum is the Actuator of a site whose rigs are reached only
// through their firmware: nothing is connected to park.
type noStratum struct{}

func (noStratum) Park(string) error   { return nil }
func (noStratum) Resume(string) error { return nil }

// site is a switcher over an emulated hall of LuxOS rigs, its fleet
// reading and commanding them over real TCP.
type site struct {
	dir string
	h   *hall.Hall
	sw  *switcher.Switcher
	fl  *fleet.Fleet
	pol *switcher.Policy
	inv []switcher.InventoryRig
}

var evOpts = evidence.Options{Interval: 50 * time.Millisecond, Before: 2 * time.Second, Margin: time.Second, MaxAfter: 10 * time.Second}

const rigs = 6

func startHall(t *testing.T) *site {
	t.Helper()
	h, err := hall.Start(hall.Config{Rigs: rigs, Firmwares: []string{"luxos"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	dir := t.TempDir()
	pw := filepath.Join(dir, "rigs.pass")
	if err := h.WritePassword(pw); err != nil {
		t.Fatal(err)
	}
	policy := "site_capacity_kw = 100.0\nramp_up_kw_per_min = 1000000.0\nmin_off = \"1h\"\nmin_on = \"0s\"\n" +
		h.Groups("hall", 10, 30, pw, 2*time.Second)
	path := filepath.Join(dir, "policy.toml")
	if err := os.WriteFile(path, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	pol, err := switcher.LoadPolicy(path)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := switcher.ParseInventory("rigs.csv", h.InventoryCSV())
	if err != nil {
		t.Fatal(err)
	}
	x := &site{dir: dir, h: h, pol: pol, inv: inv}
	x.start(t)
	return x
}

// start starts the switcher and its fleet on the site's files.
func (x *site) start(t *testing.T) {
	t.Helper()
	var sw *switcher.Switcher
	fl, err := fleet.New(fleet.Config{Drivers: firmware.Drivers(), Workers: 8, PollInterval: 200 * time.Millisecond,
		VerifyEvery: 50 * time.Millisecond, VerifyWithin: 5 * time.Second, RetryEvery: 5 * time.Second, MinHashTHs: switcher.MinHashingTHs,
		OnReading: func(rig string, r device.Reading) { sw.DeviceReading(rig, r) },
		OnOutcome: func(o device.Outcome) { sw.DeviceOutcome(o) }})
	if err != nil {
		t.Fatal(err)
	}
	sw, err = switcher.New(switcher.Config{StatePath: filepath.Join(x.dir, "state.json"), AuditPath: filepath.Join(x.dir, "audit.jsonl"),
		Tick: 20 * time.Millisecond, Devices: fl, DeviceVerifyWindow: 5 * time.Second, Evidence: evOpts}, x.pol, noStratum{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sw.SetInventory(x.inv)
	sw.Start()
	fl.Start()
	x.sw, x.fl = sw, fl
	t.Cleanup(x.stop)
}

func (x *site) stop() {
	if x.sw != nil {
		x.sw.Close()
		x.fl.Close()
		x.sw, x.fl = nil, nil
	}
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool, detail func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s; got %s; want !time.Now().After(deadline)", d, what, detail())
		}
		time.Sleep(10 * time.Millisecond) // a poll, not a wait for the condition
	}
}

// The acceptance test of item 6: an allocation on a hall of emulated
// LuxOS rigs; its report carries samples before and after, the time to
// the target, every curtailed rig's device confirmation with its power;
// the CSV says what the JSON says; unknown and per-rig seqs are refused;
// and the report reads the same after a restart.
func TestReportOfAnAllocationOnEmulatedRigs(t *testing.T) {
	goroutines := runtime.NumGoroutine()
	x := startHall(t)
	waitFor(t, 10*time.Second, "every rig measured mining", func() bool {
		st := x.sw.Status()
		return st.MeasuredRigs == rigs && st.Devices["mining"] == rigs
	}, func() string { return fmt.Sprint(x.sw.Status().Devices) })
	// A baseline: the start event's report is complete a margin (1 s)
	// after its target was reached, sampled all along.
	start := x.sw.LastEventSeq()
	waitFor(t, 10*time.Second, "the start event's report complete", func() bool {
		rep, err := x.sw.Report(start)
		return err == nil && rep.Window.Complete && len(rep.Samples) >= 10
	}, func() string { rep, err := x.sw.Report(start); return fmt.Sprint(err, rep.Window, len(rep.Samples)) })

	// 100 kW site, 6 × 3.25 kW: an AI of 89 kW leaves 11 kW: 3 rigs mining and 3 asleep.
	plan, _, err := x.sw.Allocate(switcher.AllocationRequest{AIKW: 89, Reason: "training ramp"}, "power-desk")
	if err != nil {
		t.Fatal(err)
	}
	seq := x.sw.LastEventSeq()
	if len(plan.Curtail) != 3 {
		t.Fatalf("plan curtails %d rigs; want 3", len(plan.Curtail))
	}
	var rep evidence.Report
	waitFor(t, 20*time.Second, "a complete report with 3 rigs confirmed", func() bool {
		rep, err = x.sw.Report(seq)
		return err == nil && rep.Window.Complete && rep.RigCounts.Confirmed == 3
	}, func() string { return fmt.Sprintf("err %v, window %+v, rigs %+v", err, rep.Window, rep.RigCounts) })
	checkReport(t, &rep, seq)
	if f := os.Getenv("EVIDENCE_DUMP"); f != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		_ = os.WriteFile(f, b, 0o600)
	}
	checkCSV(t, &rep)

	if _, err := x.sw.Report(seq + 1000); !errors.Is(err, switcher.ErrNoEvent) {
		t.Errorf("report of an unknown seq: err %v", err)
	}
	per, _ := x.sw.QueryEvents(0, 100, switcher.EventFilter{Cause: seq})
	if len(per) == 0 {
		t.Fatalf("events caused by %d: got %d, want the allocation's per-rig events", seq, len(per))
	}
	var nd *switcher.NotDecisionError
	if _, err := x.sw.Report(per[0].Seq); !errors.As(err, &nd) || nd.Cause != seq {
		t.Errorf("report of per-rig event %d: err %v; want a NotDecisionError naming %d", per[0].Seq, err, seq)
	}

	// After a restart the same evidence is read back from disk.
	x.stop()
	x.start(t)
	again, err := x.sw.Report(seq)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Samples) != len(rep.Samples) || again.RigCounts != rep.RigCounts || *again.TimeToTargetSeconds != *rep.TimeToTargetSeconds {
		t.Errorf("after a restart: %d samples, rigs %+v, time to target %v; want %d, %+v, %v",
			len(again.Samples), again.RigCounts, *again.TimeToTargetSeconds, len(rep.Samples), rep.RigCounts, *rep.TimeToTargetSeconds)
	}
	x.stop()
	x.h.Close()
	waitFor(t, 5*time.Second, "goroutines back to where they were", func() bool {
		return runtime.NumGoroutine() <= goroutines+2
	}, func() string { return fmt.Sprintf("%d goroutines, %d before", runtime.NumGoroutine(), goroutines) })
}

func checkReport(t *testing.T, rep *evidence.Report, seq uint64) {
	t.Helper()
	if rep.Event.Seq != seq || rep.Event.Kind != "allocation" || rep.Event.Who != "power-desk" || rep.Event.Reason != "training ramp" {
		t.Errorf("event: %+v; want seq %d, allocation by power-desk, reason \"training ramp\"", rep.Event, seq)
	}
	if rep.TargetKW == nil || math.Abs(*rep.TargetKW-11) > 1e-9 {
		t.Errorf("target %v; want 11 kW", rep.TargetKW)
	}
	before, after := 0, 0
	for _, s := range rep.Samples {
		if s.OffsetSeconds < 0 {
			before++
		} else {
			after++
		}
	}
	if before < 10 || after < 5 {
		t.Errorf("%d samples before and %d after; want at least 10 and 5", before, after)
	}
	if rep.Baseline.LoadKW == nil || math.Abs(*rep.Baseline.LoadKW-rigs*3.25) > 0.5 {
		t.Errorf("baseline load %v; want about %v kW (every rig mining)", rep.Baseline.LoadKW, rigs*3.25)
	}
	if !rep.Reached || rep.TimeToTargetSeconds == nil || *rep.TimeToTargetSeconds < 0 || *rep.TimeToTargetSeconds > 10 {
		t.Errorf("reached %v in %v s; want reached within the window", rep.Reached, rep.TimeToTargetSeconds)
	}
	if d := rep.DeviationAfterReached; d == nil || d.MaxKW > 0.001 || d.Samples == 0 {
		t.Errorf("deviation after reached %+v; want samples, none over the target", d)
	}
	if len(rep.Rigs) != 3 {
		t.Fatalf("%d rigs in the report; want 3", len(rep.Rigs))
	}
	for _, r := range rep.Rigs {
		d := r.Device
		if r.Action != evidence.ActionCurtail || r.Status != "confirmed" || d == nil {
			t.Errorf("rig %s: action %s status %s device %+v; want a confirmed curtail with a device reading", r.Rig, r.Action, r.Status, d)
			continue
		}
		if d.State != "sleeping" || d.PowerW == nil || *d.PowerW > 100 || d.SecondsAfter < 0 {
			t.Errorf("rig %s confirmed by %+v (power %v); want sleeping at ≤ 100 W, after the event", r.Rig, d, d.PowerW)
		}
	}
}

// checkCSV: the CSV's summary, samples and rigs say what the JSON says.
func checkCSV(t *testing.T, rep *evidence.Report) {
	t.Helper()
	var buf bytes.Buffer
	if err := evidence.WriteCSV(&buf, rep); err != nil {
		t.Fatal(err)
	}
	cr := csv.NewReader(&buf)
	cr.FieldsPerRecord = -1
	rows, err := cr.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	summary := map[string]string{}
	var samples, rigRows [][]string
	for _, r := range rows {
		switch r[0] {
		case "summary":
			summary[r[1]] = r[2]
		case "sample":
			samples = append(samples, r)
		case "rig":
			rigRows = append(rigRows, r)
		}
	}
	if summary["seq"] != strconv.FormatUint(rep.Event.Seq, 10) || summary["time_to_target_seconds"] != strconv.FormatFloat(*rep.TimeToTargetSeconds, 'f', -1, 64) {
		t.Errorf("CSV summary seq %q time to target %q; want %d, %v", summary["seq"], summary["time_to_target_seconds"], rep.Event.Seq, *rep.TimeToTargetSeconds)
	}
	if len(samples) != len(rep.Samples) || len(rigRows) != len(rep.Rigs) {
		t.Fatalf("CSV has %d samples and %d rigs; JSON %d and %d; want len(samples) == len(rep.Samples), len(rigRows) == len(rep.Rigs)", len(samples), len(rigRows), len(rep.Samples), len(rep.Rigs))
	}
	for i, s := range rep.Samples {
		if got, _ := strconv.ParseFloat(samples[i][3], 64); got != s.LoadKW {
			t.Errorf("CSV sample %d load %v; JSON %v; want got == s.LoadKW", i, got, s.LoadKW)
		}
	}
	for i, r := range rep.Rigs {
		if rigRows[i][1] != r.Rig || rigRows[i][4] != r.Status || rigRows[i][8] != strconv.FormatFloat(*r.Device.PowerW, 'f', -1, 64) {
			t.Errorf("CSV rig row %v; JSON %s %s %v W", rigRows[i], r.Rig, r.Status, *r.Device.PowerW)
		}
	}
}
