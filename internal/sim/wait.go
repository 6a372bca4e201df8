package sim

import (
	"fmt"
	"time"
)

// pollTick is how often Eventually and Fleet.WaitFor look again.
const pollTick = 5 * time.Millisecond

// TB is the part of testing.TB that Eventually uses, so this package does
// not import testing into the binaries that run the demo.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// Eventually polls cond every few milliseconds until it returns true, and
// fails the test with the formatted message if it has not within timeout.
// The message's args are evaluated when Eventually is called, not at the
// failure: prefer [WaitFor], which reports the value seen last, or
// [Fleet.WaitFor] for a fleet's stats.
func Eventually(t TB, timeout time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	if err := Poll(timeout, cond); err != nil {
		t.Fatalf("%s: %s", fmt.Sprintf(format, args...), err)
	}
}

// WaitFor polls cond every few milliseconds until it reports ok, and fails
// the test if it has not within timeout, with what (the condition waited
// for, e.g. "pool accepted >= 40") and got, the value cond observed on its
// last call, so the failure says what was wanted and what there was.
func WaitFor(t TB, timeout time.Duration, what string, cond func() (ok bool, got any)) {
	t.Helper()
	var last any
	err := Poll(timeout, func() bool {
		ok, got := cond()
		last = got
		return ok
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v; last got %+v", what, err, last)
	}
}

// Poll polls cond every few milliseconds until it returns true (nil) or
// timeout passes (an error).
func Poll(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	t := time.NewTicker(pollTick)
	defer t.Stop()
	for {
		if cond() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("condition not met within %v", timeout)
		}
		<-t.C
	}
}
