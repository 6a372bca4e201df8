package lograte

import (
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/internal/sim"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// logLines are the lines written to b so far.
func logLines(b *sim.LogBuffer) []string { return strings.Split(strings.TrimSpace(b.String()), "\n") }

// A burst past the limit is logged in full burst times, and the rest is
// summarized by the timer at the interval's end, with no further event.
func TestBurstThenQuietIsSummarized(t *testing.T) {
	var out sim.LogBuffer
	l := New(zerolog.New(&out), 50*time.Millisecond, 3)
	defer l.Close()
	full := 0
	for range 1000 {
		if l.Allow("refused", time.Now()) {
			full++
		}
	}
	if full != 3 {
		t.Fatalf("logged in full %d of 1000 events, want the burst of 3", full)
	}
	var got []string
	err := sim.Poll(5*time.Second, func() bool {
		got = logLines(&out)
		return len(got) == 1 && strings.Contains(got[0], `"count":997`) && strings.Contains(got[0], `"event":"refused"`)
	})
	if err != nil {
		t.Fatalf("summary lines %q, want one line with event refused and count 997", got)
	}
}

// Close writes what is pending at once and arms no timer after it.
func TestCloseSummarizes(t *testing.T) {
	var out sim.LogBuffer
	l := New(zerolog.New(&out), time.Hour, 1)
	now := time.Now()
	l.Allow("k", now)
	l.Allow("k", now)
	l.Allow("k", now)
	l.Close()
	got := logLines(&out)
	if len(got) != 1 || !strings.Contains(got[0], `"count":2`) {
		t.Fatalf("after Close: %q, want one summary with count 2", got)
	}
	first, second := l.Allow("k", now), l.Allow("k", now)
	if !first || second || l.timer != nil {
		t.Fatalf("after Close: allowed %v then %v, timer %v; want true (a new interval's burst of 1), false, and no timer", first, second, l.timer)
	}
}
