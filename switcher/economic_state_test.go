package switcher

import (
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// A group curtailed for the price stays curtailed across a restart: its
// rigs are not admitted when they reconnect, no economic_release is
// written at start, and min_hold still counts from the curtail. A
// restart that outlasted price_stale_after gives the price that long
// from the start for a new reading; without one, the group is released
// as for any stale price.
func TestEconomicStateSurvivesARestart(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	dir := t.TempDir()
	pol, err := ParsePolicy(filepath.Join(dir, "policy.toml"), []byte(economicPolicy))
	if err != nil {
		t.Fatal(err)
	}
	open := func(rec *recorder) *Switcher {
		t.Helper()
		s, err := New(Config{StatePath: filepath.Join(dir, "state.json"), AuditPath: filepath.Join(dir, "audit.jsonl"), Now: clk.Now}, pol, rec, rec)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	rec := &recorder{last: map[string]time.Time{}}
	s := open(rec)
	for _, n := range []string{"eff-1", "old-1", "old-2"} {
		s.RigConnected(n, "10.0.0.1:1")
	}
	s.step()
	clk.Advance(time.Second)
	s.SetPrice(PriceReading{USDPerMWh: 90, Source: "test"})
	s.step()
	if parks, _ := rec.taken(); len(parks) != 2 {
		t.Fatalf("before the restart: parked %v, want old-1 and old-2", parks)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Back 5 minutes later, the price (read 5 min ago) still fresh: old
	// stays curtailed, its rigs are parked when they come back.
	clk.Advance(5 * time.Minute)
	rec2 := &recorder{last: map[string]time.Time{}}
	s = open(rec2)
	for _, n := range []string{"eff-1", "old-1", "old-2"} {
		s.RigConnected(n, "10.0.0.1:1")
	}
	s.step()
	_, res := rec2.taken()
	if slices.Contains(res, "old-1") || slices.Contains(res, "old-2") {
		t.Errorf("after the restart: resumed %v, want the old group's rigs kept parked", res)
	}
	if st := s.Status(); !slices.Equal(st.EconomicGroups, []string{"old"}) || st.PriceUSDPerMWh == nil || *st.PriceUSDPerMWh != 90 {
		t.Errorf("after the restart: groups %v price %v, want [old] at 90", st.EconomicGroups, st.PriceUSDPerMWh)
	}
	if rel := eventsOf(t, s, EventEconomicRelease); len(rel) != 0 {
		t.Errorf("economic_release events at the restart: %+v, want none", rel)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Back an hour later: the price is older than price_stale_after (30m),
	// but the restart gives it 30 minutes for a new reading.
	clk.Advance(time.Hour)
	s = open(&recorder{last: map[string]time.Time{}})
	defer s.Close()
	s.step()
	if st := s.Status(); !slices.Equal(st.EconomicGroups, []string{"old"}) {
		t.Errorf("an hour later, at start: groups %v, want [old] while a new price is awaited", st.EconomicGroups)
	}
	clk.Advance(31 * time.Minute)
	s.step()
	if st := s.Status(); len(st.EconomicGroups) != 0 {
		t.Errorf("31 min after the start with no new price: groups %v, want none (the price is stale)", st.EconomicGroups)
	}
	if rel := eventsOf(t, s, EventEconomicRelease); len(rel) != 1 {
		t.Errorf("economic_release events once stale: %d, want 1", len(rel))
	}
}
