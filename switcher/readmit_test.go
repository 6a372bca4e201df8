package switcher

import (
	"testing"
	"time"
)

// A rig mining when its connection closed (as a pool failover that asks
// miners to reconnect does) is readmitted "on reconnect", not "after
// restart"; after a restart the state file's mining rigs still read
// "after restart".
func TestReadmittedOnReconnectSaysSo(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	rec := &recorder{last: map[string]time.Time{}}
	s := newTestSwitcher(t, dir, clk, rec)
	s.RigConnected("a-1", "10.0.0.1:1")
	s.step()
	if st := rigStatus(s, "a-1").State; st != "mining" {
		t.Fatalf("a-1 is %s, want mining", st)
	}
	s.RigDisconnected("a-1")
	s.RigConnected("a-1", "10.0.0.1:2")
	s.step()
	if got := readmitReason(t, s, "a-1"); got != ReasonReconnected {
		t.Fatalf("reconnect: readmitted for %q, want %q", got, ReasonReconnected)
	}
	s.RigDisconnected("a-1")
	s.Close()

	s2 := newTestSwitcher(t, dir, clk, rec)
	defer s2.Close()
	s2.RigConnected("a-1", "10.0.0.1:3")
	s2.step()
	if got := readmitReason(t, s2, "a-1"); got != ReasonReadmitted {
		t.Fatalf("restart: readmitted for %q, want %q", got, ReasonReadmitted)
	}
}

// readmitReason is the reason of the latest event about rig that gives
// a readmission reason ("" if none).
func readmitReason(t *testing.T, s *Switcher, rig string) string {
	t.Helper()
	evs, err := s.Events(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, e := range evs {
		if e.Rig == rig && (e.Reason == ReasonReconnected || e.Reason == ReasonReadmitted) {
			got = e.Reason
		}
	}
	return got
}
