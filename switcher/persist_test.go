package switcher

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func hasEvent(s *Switcher, kind string) bool {
	evs, _ := s.Events(0, 10000)
	for _, e := range evs {
		if e.Kind == kind {
			return true
		}
	}
	return false
}

// eventKinds lists the kinds of s's events, oldest first, for failure
// messages.
func eventKinds(s *Switcher) []string {
	evs, _ := s.Events(0, 10000)
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Kind
	}
	return out
}

// breakDir replaces dir with a regular file, so that nothing can be
// created in it (what a read-only or vanished state directory does, and
// root is not stopped by a chmod); the returned func puts it back.
func breakDir(t *testing.T, dir string) (repair func()) {
	t.Helper()
	if err := os.Rename(dir, dir+".away"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		if err := os.Remove(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(dir+".away", dir); err != nil {
			t.Fatal(err)
		}
	}
}

// An allocation and a pin made while the state file cannot be written are
// applied, answered as not persisted, said in the status and the audit
// log, retried with a backoff, saved once the directory is back, and there
// after a restart.
func TestStateNotPersistedIsSaidAndRetried(t *testing.T) {
	dir := t.TempDir()
	stDir := filepath.Join(dir, "state")
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	rec := &recorder{last: map[string]time.Time{}}
	pol, err := ParsePolicy(filepath.Join(dir, "policy.toml"), []byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{StatePath: filepath.Join(stDir, "state.json"), AuditPath: filepath.Join(dir, "audit.jsonl"), Now: clk.Now}
	s, err := New(cfg, pol, rec, rec)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a-1", "a-2", "a-3"} {
		s.RigConnected(n, "10.0.0.1:1")
	}
	s.step()
	if st := s.Status(); st.StateError != "" || st.MiningLoadKW != 30 {
		t.Fatalf("before: %+v; want st.StateError == \"\", st.MiningLoadKW == 30", st)
	}

	repair := breakDir(t, stDir)
	_, _, err = s.Allocate(AllocationRequest{AIKW: 80, Reason: "AI training"}, "desk")
	var np *NotPersistedError
	if !errors.As(err, &np) {
		t.Fatalf("Allocate with the state directory gone: err %v, want a NotPersistedError", err)
	}
	if st := s.Status(); st.AIKW != 80 || !strings.HasPrefix(st.StateError, "state not persisted since 2026-01-01T00:00:00Z: ") {
		t.Fatalf("status after the failed save: ai_kw %v, state_error %q; want 80 and \"state not persisted since ...\"", st.AIKW, st.StateError)
	}
	if _, _, err = s.SetPin("a-1", "off", "maintenance", "ops"); !errors.As(err, &np) {
		t.Fatalf("SetPin with the state directory gone: err %v, want a NotPersistedError", err)
	}
	if !hasEvent(s, EventStateNotPersisted) {
		t.Errorf("events: got kinds %v, want a state_not_persisted one", eventKinds(s))
	}
	// Retried with a backoff, not every tick.
	fails := s.Counters().StateSaveErrors.Load()
	clk.Advance(500 * time.Millisecond)
	s.step()
	if got := s.Counters().StateSaveErrors.Load(); got != fails {
		t.Errorf("a retry within the backoff: %d failures, was %d; want got == fails", got, fails)
	}
	clk.Advance(2 * time.Second)
	s.step()
	if got := s.Counters().StateSaveErrors.Load(); got != fails+1 {
		t.Errorf("no retry after the backoff: %d failures, was %d; want got == fails+1", got, fails)
	}

	repair()
	clk.Advance(saveRetryMax)
	s.step()
	if st := s.Status(); st.StateError != "" {
		t.Fatalf("after the repair and a retry: state_error %q; want st.StateError == \"\"", st.StateError)
	}
	if !hasEvent(s, EventStatePersisted) {
		t.Errorf("events: got kinds %v, want a state_persisted one", eventKinds(s))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// A restart finds the allocation and the pin.
	s, err = New(cfg, pol, rec, rec)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.step()
	if st := s.Status(); st.AIKW != 80 {
		t.Errorf("after a restart ai_kw = %v, want 80", st.AIKW)
	}
	if r := rigStatus(s, "a-1"); r.Pin != "off" {
		t.Errorf("after a restart a-1 pin %q, want off", r.Pin)
	}
}

// Close says when the state could not be saved at shutdown.
func TestCloseSaysStateLost(t *testing.T) {
	dir := t.TempDir()
	stDir := filepath.Join(dir, "state")
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	rec := &recorder{last: map[string]time.Time{}}
	pol, _ := ParsePolicy(filepath.Join(dir, "policy.toml"), []byte(testPolicy))
	s, err := New(Config{StatePath: filepath.Join(stDir, "state.json"), AuditPath: filepath.Join(dir, "audit.jsonl"), Now: clk.Now}, pol, rec, rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(stDir, 0o755); err != nil {
		t.Fatal(err)
	}
	repair := breakDir(t, stDir)
	defer repair()
	s.RigConnected("a-1", "10.0.0.1:1")
	var np *NotPersistedError
	if err := s.Close(); !errors.As(err, &np) {
		t.Errorf("Close with the state directory gone: %v, want a NotPersistedError", err)
	}
}
