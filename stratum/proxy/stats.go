package proxy

import (
	"sync/atomic"

	"github.com/hashgate/hashgate/internal/latency"
)

// Stats are the proxy's counters; the API exports them as metrics.
type Stats struct {
	Connections       atomic.Int64 // open now
	TotalConnections  atomic.Uint64
	RefusedNotAllowed atomic.Uint64
	RefusedFull       atomic.Uint64
	// RefusedPerAddress: over max_unauthenticated_per_address;
	// EvictedUnauthenticated: the oldest connection still in its handshake,
	// closed to make room (max_unauthenticated or max_connections).
	RefusedPerAddress      atomic.Uint64
	EvictedUnauthenticated atomic.Uint64
	RefusedByGate          atomic.Uint64 // rig connections the Gate refused (answered 24 and closed; standby ones too)
	NamesRefused           atomic.Uint64 // mining.authorize answered 24 for a name against the rule (internal/rigname)
	SlowConsumers          atomic.Uint64
	ProtocolErrors         atomic.Uint64 // dropped for garbage, long lines
	SharesAccepted         atomic.Uint64
	SharesRejected         [numRejectReasons]atomic.Uint64 // by rejectReason
	SharesForwarded        atomic.Uint64                   // met the pool's difficulty
	PoolAccepted           atomic.Uint64
	PoolRejected           atomic.Uint64
	PoolUnsent             atomic.Uint64 // forwarded shares refused before sending: the pool had stopped reading
	PoolLost               atomic.Uint64 // forwarded shares sent that the pool never answered (its connection ended, or the submit timeout)
	BlockCandidates        atomic.Uint64
	AbuseDisconnects       atomic.Uint64
	Keepalives             atomic.Uint64 // messages to rigs waiting without work
	JobsNotified           atomic.Uint64 // notify messages queued to miners
	JobsDropped            atomic.Uint64 // queued jobs dropped: replaced by a clean job, or by a newer one in a full queue
	JobsDirect             atomic.Uint64 // jobs the fan-out wrote whole straight to an idle miner's socket (no flusher)
	PollerHandOffs         atomic.Uint64 // miners a read poller gave back to a goroutine (a request other than a share, a full queue, a long batch)
	Failovers              atomic.Uint64
	MinersMoved            atomic.Uint64 // set_extranonce to a new session
	MinersReconnected      atomic.Uint64 // client.reconnect sent
	// FanOut: from a pool job's arrival to its offer to every miner of
	// the session (written, or queued for a slow one). Set by New.
	FanOut *latency.Histogram
}

// StatsSnapshot is a copy of Stats at one moment.
type StatsSnapshot struct {
	Connections            int64
	TotalConnections       uint64
	RefusedNotAllowed      uint64
	RefusedFull            uint64
	RefusedPerAddress      uint64
	EvictedUnauthenticated uint64
	RefusedByGate          uint64
	NamesRefused           uint64
	SlowConsumers          uint64
	ProtocolErrors         uint64
	SharesAccepted         uint64
	SharesRejected         map[string]uint64
	SharesForwarded        uint64
	PoolAccepted           uint64
	PoolRejected           uint64
	PoolUnsent             uint64
	PoolLost               uint64
	BlockCandidates        uint64
	AbuseDisconnects       uint64
	Keepalives             uint64
	JobsNotified           uint64
	JobsDropped            uint64
	JobsDirect             uint64
	PollerHandOffs         uint64
	MinersPolled           int64 // TCP miners whose reads a poller holds now (no goroutine each)
	Failovers              uint64
	MinersMoved            uint64
	MinersReconnected      uint64
	FanOut                 latency.Snapshot
}

func (s *Stats) reject(r rejectReason) { s.SharesRejected[r].Add(1) }

func (s *Stats) snapshot() StatsSnapshot {
	r := make(map[string]uint64, len(s.SharesRejected))
	for i := range s.SharesRejected {
		r[rejectReasons[i].label] = s.SharesRejected[i].Load()
	}
	return StatsSnapshot{
		Connections:            s.Connections.Load(),
		TotalConnections:       s.TotalConnections.Load(),
		RefusedNotAllowed:      s.RefusedNotAllowed.Load(),
		RefusedFull:            s.RefusedFull.Load(),
		RefusedPerAddress:      s.RefusedPerAddress.Load(),
		EvictedUnauthenticated: s.EvictedUnauthenticated.Load(),
		RefusedByGate:          s.RefusedByGate.Load(),
		NamesRefused:           s.NamesRefused.Load(),
		SlowConsumers:          s.SlowConsumers.Load(),
		ProtocolErrors:         s.ProtocolErrors.Load(),
		SharesAccepted:         s.SharesAccepted.Load(),
		SharesRejected:         r,
		SharesForwarded:        s.SharesForwarded.Load(),
		PoolAccepted:           s.PoolAccepted.Load(),
		PoolRejected:           s.PoolRejected.Load(),
		PoolUnsent:             s.PoolUnsent.Load(),
		PoolLost:               s.PoolLost.Load(),
		BlockCandidates:        s.BlockCandidates.Load(),
		AbuseDisconnects:       s.AbuseDisconnects.Load(),
		Keepalives:             s.Keepalives.Load(),
		JobsNotified:           s.JobsNotified.Load(),
		JobsDropped:            s.JobsDropped.Load(),
		JobsDirect:             s.JobsDirect.Load(),
		PollerHandOffs:         s.PollerHandOffs.Load(),
		Failovers:              s.Failovers.Load(),
		MinersMoved:            s.MinersMoved.Load(),
		MinersReconnected:      s.MinersReconnected.Load(),
		FanOut:                 s.FanOut.Snapshot(),
	}
}
