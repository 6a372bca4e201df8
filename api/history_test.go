package api

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/sim"
)

// The ring keeps the newest points, oldest first, and since picks the
// later ones.
func TestHistoryRing(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := newHistory(time.Second, 4, nil)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	if got := h.points(time.Time{}); len(got) != 0 {
		t.Fatalf("empty ring: %d points, want 0", len(got))
	}
	for i := range 6 {
		h.add(HistoryPoint{Time: at(i), LoadKW: float64(i)})
	}
	got := h.points(time.Time{})
	if len(got) != 4 || got[0].LoadKW != 2 || got[3].LoadKW != 5 {
		t.Fatalf("after 6 points in a ring of 4: %+v, want loads 2..5", got)
	}
	if got := h.points(at(3)); len(got) != 2 || got[0].LoadKW != 4 {
		t.Fatalf("since the 4th point: %+v, want loads 4, 5", got)
	}
	if n := len(newHistory(0, 0, nil).buf); n != DefaultHistoryPoints {
		t.Errorf("default ring: %d points, want %d", n, DefaultHistoryPoints)
	}
	if n := len(newHistory(0, 1<<30, nil).buf); n != MaxHistoryPoints {
		t.Errorf("huge ring: %d points, want the cap %d", n, MaxHistoryPoints)
	}
}

// start samples at once and on each tick; close stops the goroutine.
func TestHistorySampling(t *testing.T) {
	n := 0
	h := newHistory(10*time.Millisecond, 100, func() (HistoryPoint, bool) {
		n++ // the sampler's goroutine only, after the first (start's) call
		return HistoryPoint{Time: time.Now(), LoadKW: float64(n)}, true
	})
	h.start()
	if got := h.points(time.Time{}); len(got) != 1 {
		t.Fatalf("right after start: %d points, want 1", len(got))
	}
	sim.WaitFor(t, 5*time.Second, "three points sampled", func() (bool, any) {
		n := len(h.points(time.Time{}))
		return n >= 3, fmt.Sprintf("%d points", n)
	})
	h.close()
	got := h.points(time.Time{})
	if len(got) < 3 {
		t.Fatalf("after ticks: %d points, want ≥ 3", len(got))
	}
	select {
	case <-h.done:
	default:
		t.Fatalf("sampler after close: got still running (%d points), want stopped", len(got))
	}
	if again := h.points(time.Time{}); len(again) != len(got) {
		t.Errorf("sampled after close: %d points, then %d; want no more", len(got), len(again))
	}
}
