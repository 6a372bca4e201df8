package latency

import (
	"sync"
	"testing"
	"time"
)

func TestBucketsAreCumulative(t *testing.T) {
	h := New(time.Millisecond, 10*time.Millisecond, time.Millisecond) // unsorted, duplicate
	for _, d := range []time.Duration{0, time.Millisecond, 2 * time.Millisecond, 10 * time.Millisecond, time.Second} {
		h.Observe(d)
	}
	s := h.Snapshot()
	if s.Count != 5 {
		t.Errorf("count: got %d, want 5", s.Count)
	}
	if got, want := s.Buckets[0.001], uint64(2); got != want { // 0 and 1 ms: a bound is inclusive
		t.Errorf("le=0.001: got %d, want %d", got, want)
	}
	if got, want := s.Buckets[0.01], uint64(4); got != want {
		t.Errorf("le=0.01: got %d, want %d", got, want)
	}
	if len(s.Buckets) != 2 {
		t.Errorf("buckets: got %v, want 2 bounds (the duplicate dropped)", s.Buckets)
	}
	if want := 1.013; s.Sum < want-1e-9 || s.Sum > want+1e-9 {
		t.Errorf("sum: got %v s, want %v", s.Sum, want)
	}
}

func TestConcurrentObserve(t *testing.T) {
	h := New(FanOutBounds...)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				h.Observe(time.Duration(g*1000+i) * time.Microsecond)
			}
		}()
	}
	wg.Wait()
	if s := h.Snapshot(); s.Count != 4000 {
		t.Errorf("count: got %d, want 4000", s.Count)
	}
	var nilH *Histogram
	nilH.Observe(time.Second) // must not panic
}

func BenchmarkObserve(b *testing.B) {
	h := New(RoundTripBounds...)
	for i := 0; b.Loop(); i++ {
		h.Observe(time.Duration(i%200) * time.Millisecond)
	}
}
