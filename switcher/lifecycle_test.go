package switcher

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/sim"
	"go.uber.org/goleak"
)

// lifecycleSwitcher is a switcher whose tick never comes during a test:
// its loop steps once at Start and then only when woken.
func lifecycleSwitcher(t *testing.T) *Switcher {
	t.Helper()
	dir := t.TempDir()
	pol, err := ParsePolicy(filepath.Join(dir, "policy.toml"), []byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{StatePath: filepath.Join(dir, "state.json"), AuditPath: filepath.Join(dir, "audit.jsonl"), Tick: time.Hour}, pol, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestStartClose: Start runs the loop in the switcher's own goroutine (a
// second Start is a no-op, not a second loop), and Close returns once that
// goroutine has stopped.
func TestStartClose(t *testing.T) {
	defer goleak.VerifyNone(t)
	s := lifecycleSwitcher(t)
	s.Start()
	s.Start()
	sim.WaitFor(t, 10*time.Second, "a step of the loop after Start", func() (bool, any) { n := s.Counters().Steps.Load(); return n >= 1, fmt.Sprintf("%d steps", n) })
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v, want nil", err)
	}
	if err := goleak.Find(); err != nil {
		t.Fatalf("Close returned with the loop still running: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v, want nil", err)
	}
}

// TestStartAfterClose: a closed switcher has saved its state for good;
// Start after Close starts nothing that could write it again.
func TestStartAfterClose(t *testing.T) {
	defer goleak.VerifyNone(t)
	s := lifecycleSwitcher(t)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v, want nil", err)
	}
	s.Start()
	s.life.Lock()
	started := s.started
	s.life.Unlock()
	if started {
		t.Fatalf("Start after Close: got started %v, want no loop (it would write the saved state again)", started)
	}
}
