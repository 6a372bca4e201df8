package switcher

import (
	"testing"
	"time"

	"github.com/hashgate/hashgate/switcher/meter"
)

// The fail-safe is a decision with a report (README "Evidence"): the
// report of its "entered" event targets the safe budget and lists the
// rigs curtailed for it, not an empty rig list beside a separate plan
// event that holds them.
func TestFailsafeReportHasItsRigs(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	pol := capTestPolicy(t, dir, `site_cap_kw = 900.0
safe_budget_kw = 100.0`)
	s, _ := newCapSwitcher(t, dir, clk, pol, meter.Spec{Name: "ai-racks", Measures: meter.AI, Interval: time.Second, StaleAfter: 10 * time.Second})
	defer s.Close()
	connectRigs(s, 60)
	s.MeterReading(meter.Reading{Meter: "ai-racks", Measures: meter.AI, KW: 300, At: clk.Now()})
	s.step()
	for i := 0; i < 15 && !s.Status().Failsafe; i++ {
		clk.Advance(time.Second)
		s.step()
	}
	if !s.Status().Failsafe {
		t.Fatal("fail-safe not entered 15s after the last reading of a meter stale after 10s")
	}
	evs := eventsOf(t, s, EventFailsafe)
	if len(evs) != 1 || evs[0].Fields["state"] != "entered" {
		t.Fatalf("failsafe events %+v, want one entered", evs)
	}
	rep, err := s.Report(evs[0].Seq)
	if err != nil {
		t.Fatal(err)
	}
	if rep.TargetKW == nil || *rep.TargetKW != 100 {
		t.Errorf("report target_kw: got %v, want 100 (the safe budget)", rep.TargetKW)
	}
	// 57 rigs (10 kW, 1 idle) mined under the cap's 580 kW; 100 kW
	// leaves 4 of them (4×10 + 56×1 = 96).
	if rep.RigCounts.Total != 53 {
		t.Errorf("report rigs: got %d, want the 53 rigs the fail-safe curtailed", rep.RigCounts.Total)
	}
}

// A meter flapping around its stale_after while another is down changes
// the fail-safe's cause at every flap; the audit log gets a bounded
// number of cause_changed events for it, not one per reading, and the
// status still shows the cause now.
func TestFailsafeFlappingCauseBounded(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	pol := capTestPolicy(t, dir, `site_cap_kw = 900.0
safe_budget_kw = 100.0`)
	spec := func(name string) meter.Spec {
		return meter.Spec{Name: name, Measures: meter.AI, Interval: time.Second, StaleAfter: 2 * time.Second}
	}
	s, _ := newCapSwitcher(t, dir, clk, pol, spec("ai-a"), spec("ai-b"))
	defer s.Close()
	connectRigs(s, 10)
	read := func(name string) {
		s.MeterReading(meter.Reading{Meter: name, Measures: meter.AI, KW: 100, At: clk.Now()})
	}
	read("ai-a")
	read("ai-b")
	s.step()
	clk.Advance(3 * time.Second) // both stale: fail-safe
	s.step()
	if !s.Status().Failsafe {
		t.Fatal("fail-safe not entered with both ai meters stale")
	}
	// ai-a stays down; ai-b reads, goes stale, reads: 10 minutes.
	for range 200 {
		read("ai-b")
		s.step()
		clk.Advance(3 * time.Second)
		s.step()
	}
	evs := eventsOf(t, s, EventFailsafe)
	changed := 0
	for _, e := range evs {
		if e.Fields["state"] == "cause_changed" {
			changed++
		}
	}
	if changed > 12 {
		t.Errorf("cause_changed events over 10 minutes of a flapping meter: got %d, want at most 12 (one a minute, and the first)", changed)
	}
	if st := s.Status(); st.FailsafeReason != "meter ai-a, ai-b stale" {
		t.Errorf("status failsafe_reason: got %q, want the cause now, \"meter ai-a, ai-b stale\"", st.FailsafeReason)
	}
}
