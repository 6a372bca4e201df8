package proxy

import (
	"testing"
	"time"
)

// The watch judges the last window only, waits for the minimum of
// answers, and ends under half the threshold (no flapping near it).
func TestRejectWatchWindow(t *testing.T) {
	spec := &PoolSpec{RejectWindow: 8 * time.Second, RejectMinShares: 10, RejectRatio: 0.5}
	var w rejectWatch
	t0 := time.Unix(1000, 0)
	step := func(sec int, answered, rejected uint64) (bool, bool) {
		w.base.answered += answered
		w.base.rejected += rejected
		return w.check(t0.Add(time.Duration(sec)*time.Second), spec)
	}
	if s, e := step(0, 0, 0); s || e {
		t.Fatalf("on no answers: started %v, ended %v; want neither", s, e)
	}
	if s, _ := step(1, 9, 9); s || w.ratio != 0 {
		t.Fatalf("on 9 answers all refused: started %v, ratio %v; want neither, under the minimum of 10", s, w.ratio)
	}
	if s, _ := step(2, 1, 1); !s || w.ratio != 1 {
		t.Fatalf("at 10 of 10 refused: started %v, ratio %v; want flagged at 1", s, w.ratio)
	}
	// 40% refused over the window: still flagged (it ends under 25%).
	if _, e := step(4, 15, 6); e || !w.rejecting {
		t.Fatalf("ended at ratio %v, want kept above half the threshold", w.ratio)
	}
	// Good answers only; the refused ones slide out of the 8 s window.
	for sec := 5; sec <= 12; sec++ {
		if _, e := step(sec, 10, 0); e {
			if sec < 6 {
				t.Fatalf("ended at %d s with ratio %v, want not before 6 s", sec, w.ratio)
			}
			if w.rejecting || w.ratio >= 0.25 {
				t.Fatalf("ended but rejecting=%v ratio=%v; want false and under 0.25", w.rejecting, w.ratio)
			}
			return
		}
	}
	t.Fatalf("still rejecting after the refusals left the window (ratio %v, samples %d), want ended by 12 s", w.ratio, len(w.samples))
}
