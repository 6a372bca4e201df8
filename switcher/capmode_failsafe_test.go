package switcher

import (
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/switcher/meter"
)

// A stale ai meter puts the budget on safe_budget_kw within
// stale_after + failsafe_after (+ one tick), says so in the status and
// the audit log, and ends only after the meter has been good for
// failsafe_hold.
func TestFailsafeStaleMeter(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	pol := capTestPolicy(t, dir, `site_cap_kw = 900.0
safe_budget_kw = 100.0
failsafe_after = "5s"
failsafe_hold = "30s"`)
	const staleAfter = 10 * time.Second
	s, _ := newCapSwitcher(t, dir, clk, pol, meter.Spec{Name: "ai-racks", Measures: meter.AI, Interval: time.Second, StaleAfter: staleAfter})
	defer s.Close()
	connectRigs(s, 60)
	read := func(kw float64) {
		s.MeterReading(meter.Reading{Meter: "ai-racks", Measures: meter.AI, KW: kw, At: clk.Now()})
	}
	read(300)
	s.step()
	if st := s.Status(); st.Failsafe || st.MiningBudgetKW != 580 || st.MiningLoadKW != 573 {
		t.Fatalf("start: failsafe %v budget %v load %v, want false 580 573 (57 rigs mining, 3 parked)", st.Failsafe, st.MiningBudgetKW, st.MiningLoadKW)
	}
	// The meter stops answering: failed reads, then nothing.
	lastGood := clk.Now()
	var entered time.Time
	for i := 1; i <= 30 && entered.IsZero(); i++ {
		clk.Advance(time.Second)
		if i < 5 {
			s.MeterReading(meter.Reading{Meter: "ai-racks", Measures: meter.AI, At: clk.Now(), Err: "i/o timeout"})
		}
		s.step()
		if st := s.Status(); st.Failsafe {
			entered = clk.Now()
		}
	}
	bound := staleAfter + 5*time.Second + DefaultTick
	if entered.IsZero() || entered.Sub(lastGood) > bound || entered.Sub(lastGood) < staleAfter+5*time.Second {
		t.Fatalf("fail-safe entered %v after the last good reading, want within [%v, %v]", entered.Sub(lastGood), staleAfter+5*time.Second, bound)
	}
	st := s.Status()
	if st.MiningBudgetKW != 100 || st.BudgetRule != BudgetRuleFailsafe || st.MiningLoadKW > 100 ||
		!strings.Contains(st.FailsafeReason, "ai-racks stale") || !st.FailsafeSince.Equal(entered) {
		t.Fatalf("in fail-safe: budget %v rule %q load %v reason %q since %v, want 100 failsafe ≤100 'meter ai-racks stale' %v",
			st.MiningBudgetKW, st.BudgetRule, st.MiningLoadKW, st.FailsafeReason, st.FailsafeSince, entered)
	}
	if ms := st.MeterStatus; len(ms) != 1 || !ms[0].Stale || ms[0].Error != "i/o timeout" || ms[0].KW == nil || *ms[0].KW != 300 {
		t.Fatalf("meter status %+v, want stale, its error and the last good 300 kW", ms)
	}
	evs := eventsOf(t, s, EventFailsafe)
	if len(evs) != 1 || evs[0].Fields["state"] != "entered" || !strings.Contains(evs[0].Reason, "ai-racks") {
		t.Fatalf("failsafe events %+v, want one entered naming the meter", evs)
	}
	// The meter is back: the fail-safe holds for failsafe_hold.
	clk.Advance(time.Second)
	read(300)
	back := clk.Now()
	for clk.Now().Sub(back) < 29*time.Second {
		clk.Advance(time.Second)
		read(300)
		s.step()
		if st := s.Status(); !st.Failsafe {
			t.Fatalf("fail-safe ended %v after the meter came back, want not before 30s", clk.Now().Sub(back))
		}
	}
	// The meter goes stale again a second before the hold ends: the hold
	// starts over from its next good reading.
	clk.Advance(11 * time.Second)
	s.step()
	if st := s.Status(); !st.Failsafe {
		t.Fatal("fail-safe ended though the meter went stale again during the hold")
	}
	clk.Advance(time.Second)
	read(300)
	back = clk.Now()
	for clk.Now().Sub(back) < 30*time.Second {
		clk.Advance(time.Second)
		read(300)
		s.step()
	}
	st = s.Status()
	if st.Failsafe || st.MiningBudgetKW != 580 || st.BudgetRule != BudgetRuleCap || st.FailsafeReason != "" {
		t.Fatalf("after the hold: failsafe %v budget %v rule %q reason %q, want false 580 cap ''", st.Failsafe, st.MiningBudgetKW, st.BudgetRule, st.FailsafeReason)
	}
	evs = eventsOf(t, s, EventFailsafe)
	if last := evs[len(evs)-1]; last.Fields["state"] != "exited" {
		t.Fatalf("last failsafe event %+v, want exited", last)
	}
}

// A meter that never read is given its stale_after from the switcher's
// start for a first reading (a restart does not drop mining to the safe
// budget while the meters are first read): the first tick is not in
// fail-safe, the first past stale_after is. Without cap mode meters
// inform only.
func TestFailsafeNeverRead(t *testing.T) {
	for _, c := range []struct {
		extra string
		want  bool
	}{
		{"site_cap_kw = 900.0", true},
		{"", false},
	} {
		dir := t.TempDir()
		clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		s, _ := newCapSwitcher(t, dir, clk, capTestPolicy(t, dir, c.extra), meter.Spec{Name: "site", Measures: meter.Site, StaleAfter: 10 * time.Second})
		s.step()
		if st := s.Status(); st.Failsafe {
			t.Errorf("policy %q, first tick: failsafe %v (%s), want false: the meter has 10s for a first reading", c.extra, st.Failsafe, st.FailsafeReason)
		}
		clk.Advance(11 * time.Second)
		s.step()
		st := s.Status()
		if st.Failsafe != c.want || (c.want && st.MiningBudgetKW != 0) {
			t.Errorf("policy %q, 11s on: failsafe %v budget %v, want %v (budget 0 in fail-safe)", c.extra, st.Failsafe, st.MiningBudgetKW, c.want)
		}
		s.Close()
	}
}

// heartbeat_timeout: the power desk's heartbeat must come within it, or
// the fail-safe applies with reason heartbeat, cap mode or not.
func TestFailsafeHeartbeat(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s, _ := newCapSwitcher(t, dir, clk, capTestPolicy(t, dir, `heartbeat_timeout = "20s"
safe_budget_kw = 50.0
failsafe_hold = "10s"`))
	defer s.Close()
	connectRigs(s, 10)
	for range 3 {
		clk.Advance(15 * time.Second)
		s.Heartbeat("desk")
		s.step()
		if st := s.Status(); st.Failsafe {
			t.Fatalf("heartbeat every 15s of 20s: fail-safe %q", st.FailsafeReason)
		}
	}
	clk.Advance(20 * time.Second)
	s.step()
	if st := s.Status(); st.Failsafe {
		t.Fatal("fail-safe at exactly the timeout, want only past it")
	}
	clk.Advance(time.Second)
	s.step()
	st := s.Status()
	if !st.Failsafe || st.FailsafeReason != FailsafeHeartbeat || st.MiningBudgetKW != 50 || st.MiningLoadKW > 50 {
		t.Fatalf("heartbeat missed: failsafe %v reason %q budget %v load %v, want true heartbeat 50 ≤50", st.Failsafe, st.FailsafeReason, st.MiningBudgetKW, st.MiningLoadKW)
	}
	s.Heartbeat("desk")
	clk.Advance(9 * time.Second)
	s.Heartbeat("desk")
	s.step()
	if !s.Status().Failsafe {
		t.Fatal("fail-safe ended 9s after the heartbeat came back, want failsafe_hold 10s")
	}
	clk.Advance(time.Second)
	s.Heartbeat("desk")
	s.step()
	if st := s.Status(); st.Failsafe || st.MiningBudgetKW != 980 {
		t.Fatalf("after the hold: failsafe %v budget %v, want false 980", st.Failsafe, st.MiningBudgetKW)
	}
}
