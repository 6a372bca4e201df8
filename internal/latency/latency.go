// Package latency owns the histograms hashgate measures on its hot paths
// (a job's fan-out, a pool's answer to a submit): fixed buckets, counted
// with atomics, no lock and no allocation per observation. The API turns a
// Snapshot into a Prometheus histogram at scrape time, so the packages
// that measure do not import the Prometheus client.
package latency

import (
	"slices"
	"sync/atomic"
	"time"
)

// Histogram counts durations into fixed buckets. Build it with New; its
// methods are safe for concurrent use. A nil *Histogram observes nothing.
type Histogram struct {
	bounds []time.Duration // upper bounds, ascending
	counts []atomic.Uint64 // len(bounds)+1: the last one is above every bound
	sum    atomic.Int64    // nanoseconds
}

// New makes a histogram with these upper bounds (sorted here; duplicates
// are dropped).
func New(bounds ...time.Duration) *Histogram {
	b := slices.Clone(bounds)
	slices.Sort(b)
	b = slices.Compact(b)
	return &Histogram{bounds: b, counts: make([]atomic.Uint64, len(b)+1)}
}

// Observe counts one duration: a walk of the bounds (a dozen) and two
// atomic adds.
func (h *Histogram) Observe(d time.Duration) {
	if h == nil {
		return
	}
	i := 0
	for i < len(h.bounds) && d > h.bounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
}

// Snapshot is a histogram at one moment, in Prometheus's terms.
type Snapshot struct {
	Count uint64
	Sum   float64 // seconds
	// Buckets maps each upper bound, in seconds, to the observations at
	// or under it (cumulative); +Inf is Count.
	Buckets map[float64]uint64
}

// Snapshot reads the histogram. Count is the sum of the buckets read, so
// the two agree; Sum may include an observation the buckets missed by a
// few nanoseconds of reading.
func (h *Histogram) Snapshot() Snapshot {
	s := Snapshot{Buckets: make(map[float64]uint64, len(h.bounds))}
	for i, b := range h.bounds {
		s.Count += h.counts[i].Load()
		s.Buckets[b.Seconds()] = s.Count
	}
	s.Count += h.counts[len(h.bounds)].Load()
	s.Sum = time.Duration(h.sum.Load()).Seconds()
	return s
}

// Bucket bounds of hashgate's histograms.
var (
	// FanOutBounds: a job reaching every miner of a session, from 100 µs
	// (a few miners) to 10 s (a stalled fan-out makes stale shares).
	FanOutBounds = []time.Duration{
		100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
		time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
		10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
		100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
		time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
	}
	// RoundTripBounds: a pool's answer to a submit, from 1 ms (a pool on
	// the site's network) to the 30 s default submit timeout.
	RoundTripBounds = []time.Duration{
		time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
		10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
		100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
		time.Second, 2500 * time.Millisecond, 5 * time.Second,
		10 * time.Second, 30 * time.Second,
	}
)
