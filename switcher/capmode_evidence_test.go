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

// A restart does not lift the fail-safe: hashgate restarted while its
// meter was dead comes back in fail-safe (the safe budget, not the
// allocation's, while it is still blind), and ends it as before, once
// the meter has been good for failsafe_hold, with an exited event.
func TestFailsafeSurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	pol := capTestPolicy(t, dir, `site_cap_kw = 900.0
safe_budget_kw = 100.0
failsafe_hold = "30s"`)
	spec := meter.Spec{Name: "ai-racks", Measures: meter.AI, Interval: time.Second, StaleAfter: 10 * time.Second}
	s, _ := newCapSwitcher(t, dir, clk, pol, spec)
	connectRigs(s, 60)
	s.MeterReading(meter.Reading{Meter: "ai-racks", Measures: meter.AI, KW: 300, At: clk.Now()})
	s.step()
	clk.Advance(11 * time.Second)
	s.step()
	if !s.Status().Failsafe {
		t.Fatal("fail-safe not entered 11s after the last reading of a meter stale after 10s")
	}
	entered := s.Status().FailsafeSince
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	clk.Advance(5 * time.Second)
	s, _ = newCapSwitcher(t, dir, clk, pol, spec)
	defer s.Close()
	connectRigs(s, 60)
	s.step()
	st := s.Status()
	if !st.Failsafe || !st.FailsafeSince.Equal(entered) || st.MiningBudgetKW != 100 || st.MiningLoadKW > 100 {
		t.Fatalf("after the restart: failsafe %v since %v budget %v load %v, want true %v 100 ≤100",
			st.Failsafe, st.FailsafeSince, st.MiningBudgetKW, st.MiningLoadKW, entered)
	}
	for range 31 {
		s.MeterReading(meter.Reading{Meter: "ai-racks", Measures: meter.AI, KW: 300, At: clk.Now()})
		s.step()
		clk.Advance(time.Second)
	}
	s.step()
	if st := s.Status(); st.Failsafe {
		t.Fatalf("fail-safe still on after the meter was good for 31s: reason %q", st.FailsafeReason)
	}
	evs := eventsOf(t, s, EventFailsafe)
	if len(evs) != 2 || evs[0].Fields["state"] != "entered" || evs[1].Fields["state"] != "exited" {
		t.Fatalf("failsafe events: got %+v, want entered then exited", evs)
	}
}

// A fail-safe put back at a restart is not ended by a meter's grace for
// its first reading: a meter that has not read since is not good.
func TestRestoredFailsafeWaitsForAReading(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	pol := capTestPolicy(t, dir, `site_cap_kw = 900.0
safe_budget_kw = 100.0
failsafe_hold = "30s"`)
	spec := meter.Spec{Name: "ai-racks", Measures: meter.AI, Interval: time.Second, StaleAfter: 60 * time.Second}
	s, _ := newCapSwitcher(t, dir, clk, pol, spec)
	s.MeterReading(meter.Reading{Meter: "ai-racks", Measures: meter.AI, KW: 300, At: clk.Now()})
	s.step()
	clk.Advance(61 * time.Second)
	s.step()
	if !s.Status().Failsafe {
		t.Fatal("fail-safe not entered 61s after the last reading of a meter stale after 60s")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, _ = newCapSwitcher(t, dir, clk, pol, spec)
	defer s.Close()
	for range 45 {
		clk.Advance(time.Second)
		s.step()
	}
	if st := s.Status(); !st.Failsafe {
		t.Fatalf("fail-safe: got off 45s after a restart without a reading, want on (reason %q)", st.FailsafeReason)
	}
}

// Likewise for the heartbeat: a fail-safe for a missing heartbeat, put
// back at a restart, ends only once heartbeats come again.
func TestRestoredHeartbeatFailsafeWaitsForAHeartbeat(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	pol := capTestPolicy(t, dir, `safe_budget_kw = 100.0
failsafe_hold = "30s"
heartbeat_timeout = "60s"`)
	s, _ := newCapSwitcher(t, dir, clk, pol)
	s.step()
	clk.Advance(61 * time.Second)
	s.step()
	if st := s.Status(); !st.Failsafe || st.FailsafeReason != FailsafeHeartbeat {
		t.Fatalf("fail-safe: got %v %q 61s without a heartbeat (timeout 60s), want on, heartbeat", st.Failsafe, st.FailsafeReason)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, _ = newCapSwitcher(t, dir, clk, pol)
	defer s.Close()
	for range 45 {
		clk.Advance(time.Second)
		s.step()
	}
	if st := s.Status(); !st.Failsafe {
		t.Fatal("fail-safe: got off 45s after a restart without a heartbeat, want on")
	}
	for range 31 {
		s.Heartbeat("desk")
		clk.Advance(time.Second)
		s.step()
	}
	if st := s.Status(); st.Failsafe {
		t.Fatalf("fail-safe: got on (%q) after 31s of heartbeats (hold 30s), want off", st.FailsafeReason)
	}
}
