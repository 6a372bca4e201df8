package proxy

import (
	"math"
	"sync/atomic"

	"github.com/hashgate/hashgate/internal/latency"
	"github.com/hashgate/hashgate/stratum/upstream"
)

// poolCounters are one configured pool's counters, kept across its
// sessions for the metrics: the submits and verdicts its sessions count
// (upstream.Counters), the work accepted from the miners on them, and the
// failovers from it.
type poolCounters struct {
	up   *upstream.Counters
	work atomicFloat // sum of the credited difficulty of shares accepted on its sessions
}

// atomicFloat is a float64 added to without a lock: one compare-and-swap,
// retried only when another core added in between.
type atomicFloat struct{ bits atomic.Uint64 }

func (f *atomicFloat) add(d float64) {
	for {
		old := f.bits.Load()
		if f.bits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+d)) {
			return
		}
	}
}

func (f *atomicFloat) load() float64 { return math.Float64frombits(f.bits.Load()) }

// PoolCounters are one configured pool's counters since the proxy started.
type PoolCounters struct {
	Name string
	// Forwarded: shares sent on (or refused before sending) to the pool;
	// each then has one verdict: Accepted, Rejected (by the pool),
	// NotSent (it never saw it) or Lost (sent, never answered). The
	// difference is the submits still waiting.
	Forwarded, Accepted, Rejected, NotSent, Lost uint64
	// WorkAccepted is the sum of the credited difficulty of the shares
	// accepted from miners on this pool's sessions (× 2^32: hashes).
	WorkAccepted float64
	// RoundTrip: from a share read from its miner to the pool's answer.
	RoundTrip latency.Snapshot
	// FailoversTo counts the failovers from this pool to each other one
	// (every other pool present).
	FailoversTo map[string]uint64
}

// PoolCounters reads every configured pool's counters, in config order.
func (s *Server) PoolCounters() []PoolCounters {
	m := s.pools
	out := make([]PoolCounters, len(m.pools))
	for i := range m.pools { // the slice and each counters pointer are set once, in newPoolManager
		c := m.pools[i].counters
		out[i] = PoolCounters{
			Name: m.pools[i].spec.Name, Forwarded: c.up.Submitted.Load(), Accepted: c.up.Accepted.Load(),
			Rejected: c.up.Rejected.Load(), NotSent: c.up.NotSent.Load(), Lost: c.up.Lost.Load(),
			WorkAccepted: c.work.load(), RoundTrip: c.up.RoundTrip.Snapshot(),
			FailoversTo: make(map[string]uint64, len(m.pools)-1),
		}
		for j := range m.pools {
			if j != i {
				out[i].FailoversTo[m.pools[j].spec.Name] = m.failovers[i*len(m.pools)+j].Load()
			}
		}
	}
	return out
}
