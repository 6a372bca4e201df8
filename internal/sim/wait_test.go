package sim

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// fatalRecorder is a TB that keeps the Fatalf message instead of stopping.
type fatalRecorder struct{ msg string }

func (r *fatalRecorder) Helper() {}
func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
}

// A WaitFor that times out names the condition and the value cond saw on
// its last call, not the first.
func TestWaitForReportsLastValue(t *testing.T) {
	var r fatalRecorder
	n := 0
	WaitFor(&r, 200*time.Millisecond, "n >= 1000000", func() (bool, any) { n++; return n >= 1000000, n })
	want := fmt.Sprintf("last got %d", n) // n is the count of calls: ~40 here
	if !strings.Contains(r.msg, "waiting for n >= 1000000") || !strings.HasSuffix(r.msg, want) {
		t.Fatalf("failure message %q after %d polls, want it to name the condition and end %q", r.msg, n, want)
	}
	r.msg = ""
	WaitFor(&r, time.Second, "at once", func() (bool, any) { return true, 1 })
	if r.msg != "" {
		t.Fatalf("WaitFor on a condition met at once failed with %q, want no failure", r.msg)
	}
}
