package upstream

import (
	"sync/atomic"
	"time"

	"github.com/hashgate/hashgate/internal/latency"
	"github.com/hashgate/hashgate/stratum"
)

// Counters are one pool's submits and the verdicts on them, across all
// its sessions (the proxy keeps one per configured pool and gives it to
// every session it dials there). Each submit is counted once in Submitted
// and, once its fate is known, once in exactly one verdict: Accepted,
// Rejected (the pool's refusal), NotSent (ErrNotSent, ErrBacklog: the pool
// never saw it) or Lost (ErrLost, ErrNoAnswer). The difference is the
// submits still waiting for an answer.
type Counters struct {
	Submitted, Accepted, Rejected, NotSent, Lost atomic.Uint64
	// RoundTrip: from the share being read from the miner (Share.At) to
	// the pool's answer being read, for the submits the pool answered.
	RoundTrip *latency.Histogram
}

// NewCounters makes a pool's counters with the round-trip histogram.
func NewCounters() *Counters {
	return &Counters{RoundTrip: latency.New(latency.RoundTripBounds...)}
}

// verdict counts the fate of one submit.
func (c *Counters) verdict(err *stratum.Error) {
	switch err {
	case nil:
		c.Accepted.Add(1)
	case ErrNotSent, ErrBacklog:
		c.NotSent.Add(1)
	case ErrLost, ErrNoAnswer:
		c.Lost.Add(1)
	default:
		c.Rejected.Add(1)
	}
}

// result counts a submit's verdict and tells its callback.
func (s *Session) result(cb SubmitResult, err *stratum.Error) {
	s.counters.verdict(err)
	cb(err)
}

// sinceStart is the monotonic time since the session was dialed: the
// pending submits' clock, 8 bytes instead of a time.Time.
func (s *Session) sinceStart(t time.Time) time.Duration {
	if t.IsZero() {
		return time.Since(s.start)
	}
	return t.Sub(s.start)
}
