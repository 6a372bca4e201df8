// Package bench is hashgate's load harness: a pool that stamps every
// mining.notify with its send time, a light fleet of miners that measure
// each notify's arrival and submit shares, in-memory miner connections for
// driving the proxy's session code beyond the file limit, and the
// histograms and /proc sampling the summary is made of.
// internal/cmd/hashgate-bench wires them into runs.
package bench

import (
	"fmt"
	"math"
	"math/bits"
	"sort"
	"time"
)

// subBits is the log2 of the buckets per power of two: 128 buckets, so a
// recorded value is known within 0.8%.
const subBits = 7
const subCount = 1 << subBits

// Hist is a log-linear histogram of durations in nanoseconds with exact
// count, min, max and sum. The zero value is empty and usable. It is not
// safe for concurrent use.
type Hist struct {
	Count   uint64            `json:"count"`
	Sum     int64             `json:"sum_ns"`
	Min     int64             `json:"min_ns"`
	Max     int64             `json:"max_ns"`
	Buckets map[uint16]uint64 `json:"buckets,omitempty"`
}

func bucketOf(v int64) uint16 {
	if v < subCount {
		return uint16(v)
	}
	e := bits.Len64(uint64(v)) - subBits - 1 // v>>e in [128, 256)
	return uint16((e+1)*subCount + int(v>>e) - subCount)
}

// bucketValue is the middle of bucket b.
func bucketValue(b uint16) int64 {
	if b < subCount {
		return int64(b)
	}
	e := int(b)/subCount - 1
	lo := int64(int(b)%subCount+subCount) << e
	return lo + (int64(1)<<e)/2
}

// Add records one value; negative values (clock steps) count as 0.
func (h *Hist) Add(v int64) {
	if v < 0 {
		v = 0
	}
	if h.Buckets == nil {
		h.Buckets = make(map[uint16]uint64)
	}
	if h.Count == 0 || v < h.Min {
		h.Min = v
	}
	if v > h.Max {
		h.Max = v
	}
	h.Count++
	h.Sum += v
	h.Buckets[bucketOf(v)]++
}

// Merge adds o into h.
func (h *Hist) Merge(o *Hist) {
	if o == nil || o.Count == 0 {
		return
	}
	if h.Buckets == nil {
		h.Buckets = make(map[uint16]uint64, len(o.Buckets))
	}
	if h.Count == 0 || o.Min < h.Min {
		h.Min = o.Min
	}
	if o.Max > h.Max {
		h.Max = o.Max
	}
	h.Count += o.Count
	h.Sum += o.Sum
	for b, n := range o.Buckets {
		h.Buckets[b] += n
	}
}

// Quantile returns the value at quantile q (0..1): the middle of its
// bucket, clamped to [Min, Max]; q = 1 is the exact max.
func (h *Hist) Quantile(q float64) time.Duration {
	if h == nil || h.Count == 0 {
		return 0
	}
	if q >= 1 {
		return time.Duration(h.Max)
	}
	keys := make([]int, 0, len(h.Buckets))
	for b := range h.Buckets {
		keys = append(keys, int(b))
	}
	sort.Ints(keys)
	// Nearest rank: the smallest value with at least q of the count at or
	// below it (so the p99 of 20 rounds is the largest).
	rank := uint64(math.Ceil(q * float64(h.Count)))
	rank = min(max(rank, 1), h.Count)
	var seen uint64
	for _, k := range keys {
		seen += h.Buckets[uint16(k)]
		if seen >= rank {
			v := bucketValue(uint16(k))
			return time.Duration(min(max(v, h.Min), h.Max))
		}
	}
	return time.Duration(h.Max)
}

// String is "p50 / p99 / max (n)".
func (h *Hist) String() string {
	if h == nil || h.Count == 0 {
		return "-"
	}
	return fmt.Sprintf("%s / %s / %s (n=%d)", FmtDur(h.Quantile(0.5)), FmtDur(h.Quantile(0.99)), FmtDur(h.Quantile(1)), h.Count)
}

// FmtDur prints a duration with 3 significant digits in a unit that fits.
func FmtDur(d time.Duration) string {
	switch {
	case d < 0:
		return "-" + FmtDur(-d)
	case d < time.Microsecond:
		return fmt.Sprintf("%dns", d)
	case d < time.Millisecond:
		return fmt.Sprintf("%.3gµs", float64(d)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.3gms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.3gs", d.Seconds())
}
