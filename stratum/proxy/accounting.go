package proxy

import (
	"github.com/hashgate/hashgate/stratum"
	"github.com/hashgate/hashgate/stratum/upstream"
	"hash/maphash"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// hashesPerDiff1 is the expected number of hashes per share at difficulty 1.
const hashesPerDiff1 = 4294967296.0 // 2^32

// rate is an exponentially decaying estimate of work per second over a
// time constant tau: each share adds its work/tau and the sum decays as
// exp(-dt/tau). For Poisson shares its mean is the true rate.
type rate struct {
	value float64 // hashes per second at time at
	at    time.Time
}

func (r *rate) add(now time.Time, hashes float64, tau time.Duration) {
	r.value = r.at2(now, tau) + hashes/tau.Seconds()
	r.at = now
}

func (r *rate) at2(now time.Time, tau time.Duration) float64 {
	if r.at.IsZero() {
		return 0
	}
	dt := now.Sub(r.at).Seconds()
	if dt <= 0 {
		return r.value
	}
	return r.value * math.Exp(-dt/tau.Seconds())
}

// workerStats is one worker's account. A worker's shares come from its
// own connection's goroutine, so its mutex is uncontended; readers (API,
// switcher) take it briefly.
type workerStats struct {
	mu          sync.Mutex
	name        string
	remote      string
	connections int
	standby     int // connections of the same rig from its address beyond the first (see retag)
	difficulty  float64
	// workDifficulty is the difficulty the worker was at when it last had
	// a share accepted, or vardiff last moved it from its shares: what its
	// rig gets back on a new connection, such as the resume after a park
	// (it would start at the initial difficulty, and a rig held without
	// work gives vardiff nothing to measure). 0: it never worked.
	workDifficulty float64
	accepted       uint64
	forwarded      uint64
	blocks         uint64
	work           float64 // sum of accepted share difficulties
	rejected       [numRejectReasons]uint64
	poolRejected   map[string]uint64
	poolAccepted   atomic.Uint64 // an atomic: counted on the pool session's goroutine, no lock per share
	r1m, r10m      rate
	lastShare      time.Time
	firstSeen      time.Time
	// onPool hears the pool's verdict on a share forwarded for this
	// worker: made once, not a closure per share.
	onPool func(*stratum.Error)

	// lastSubmit is when the worker last sent a share, whatever the
	// verdict: a parked rig that submits, even stale work, is hashing.
	lastSubmit int64 // sinceEpoch; 0: never (8 bytes: the account stays in the 320-byte size class)
}

// PoolRejected keys that are not the pool's verdict.
const (
	// PoolNotSent: forwarded shares that never reached the pool: it had
	// stopped reading (the backlog for it was full), or its connection
	// had just ended.
	PoolNotSent = "not_sent"
	// PoolLost: forwarded shares sent to the pool that it never answered:
	// its connection ended first (a silent pool declared dead, a pool
	// that closed, a failback), or the submit timeout passed. The miner
	// was told true; whether the pool credited them is unknown.
	PoolLost = "lost"
)

func (w *workerStats) poolResultFunc(stats *Stats) func(*stratum.Error) {
	return func(perr *stratum.Error) {
		switch perr {
		case nil:
			stats.PoolAccepted.Add(1)
			w.poolAccepted.Add(1)
		case upstream.ErrBacklog, upstream.ErrNotSent:
			// Not the pool's verdict: it never saw the share.
			stats.PoolUnsent.Add(1)
			w.poolReject(PoolNotSent)
		case upstream.ErrLost, upstream.ErrNoAnswer:
			stats.PoolLost.Add(1)
			w.poolReject(PoolLost)
		default:
			stats.PoolRejected.Add(1)
			w.poolReject(perr.Code.String())
		}
	}
}

// WorkerSnapshot is one worker's account at one moment, for the API, the
// switcher and the dashboard.
type WorkerSnapshot struct {
	Name        string `json:"name"`
	Remote      string `json:"remote"`
	Connections int    `json:"connections"` // live connections authorized as this worker (not standby ones)
	// Standby: further connections of the same rig from the same address
	// (hashgate listed as primary and backup pool); not duplicates.
	Standby       int               `json:"standby_connections,omitempty"`
	Difficulty    float64           `json:"difficulty"`
	Accepted      uint64            `json:"accepted"`
	Rejected      map[string]uint64 `json:"rejected"` // by reason; stale included
	RejectedTotal uint64            `json:"rejected_total"`
	Stale         uint64            `json:"stale"`
	Forwarded     uint64            `json:"forwarded"`     // shares that met the pool's difficulty
	PoolAccepted  uint64            `json:"pool_accepted"` // of those, accepted by the pool
	PoolRejected  map[string]uint64 `json:"pool_rejected"` // of those, refused by the pool, by its code; PoolNotSent: never sent; PoolLost: sent, never answered
	Blocks        uint64            `json:"blocks"`        // shares that met the network target
	Work          float64           `json:"work"`          // sum of accepted share difficulties
	Hashrate1m    float64           `json:"hashrate_1m"`   // hashes per second
	Hashrate10m   float64           `json:"hashrate_10m"`
	LastShare     time.Time         `json:"last_share"`
	FirstSeen     time.Time         `json:"first_seen"`
}

func (w *workerStats) snapshot(now time.Time) WorkerSnapshot {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := WorkerSnapshot{
		Name: w.name, Remote: w.remote, Connections: w.connections, Standby: w.standby, Difficulty: w.difficulty,
		Accepted: w.accepted, Forwarded: w.forwarded, PoolAccepted: w.poolAccepted.Load(), Blocks: w.blocks, Work: w.work,
		Stale:      w.rejected[rejectStale],
		Hashrate1m: w.r1m.at2(now, time.Minute), Hashrate10m: w.r10m.at2(now, 10*time.Minute),
		LastShare: w.lastShare, FirstSeen: w.firstSeen,
		Rejected: make(map[string]uint64), PoolRejected: make(map[string]uint64, len(w.poolRejected)),
	}
	for i, n := range w.rejected {
		if n > 0 {
			s.Rejected[rejectReasons[i].label] = n
			s.RejectedTotal += n
		}
	}
	for k, v := range w.poolRejected {
		s.PoolRejected[k] = v
	}
	return s
}

// accept counts a share credited at diff, found at the connection's
// difficulty cur.
func (w *workerStats) accept(now time.Time, diff, cur float64, forwarded, block bool) {
	w.mu.Lock()
	w.workDifficulty = cur
	w.accepted++
	w.work += diff
	if forwarded {
		w.forwarded++
	}
	if block {
		w.blocks++
	}
	h := diff * hashesPerDiff1
	w.r1m.add(now, h, time.Minute)
	w.r10m.add(now, h, 10*time.Minute)
	w.lastShare, w.lastSubmit = now, sinceEpoch(now)
	w.mu.Unlock()
}

// reject counts a rejected share read at now.
func (w *workerStats) reject(r rejectReason, now time.Time) {
	w.mu.Lock()
	w.rejected[r]++
	w.lastSubmit = sinceEpoch(now)
	w.mu.Unlock()
}

func (w *workerStats) poolReject(reason string) {
	w.mu.Lock()
	if w.poolRejected == nil {
		w.poolRejected = make(map[string]uint64)
	}
	w.poolRejected[reason]++
	w.mu.Unlock()
}

// setDifficulty records the worker's difficulty; measured says vardiff
// set it from the worker's shares.
func (w *workerStats) setDifficulty(d float64, measured bool) {
	w.mu.Lock()
	w.difficulty = d
	if measured {
		w.workDifficulty = d
	}
	w.mu.Unlock()
}

// workDiff is the difficulty the worker last worked at, 0 if none.
func (w *workerStats) workDiff() float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.workDifficulty
}

// registry holds every worker seen, sharded so that authorizations on
// many connections do not queue on one lock; the share path never touches
// it (a connection keeps pointers to its workers' accounts).
type registry struct {
	seed   maphash.Seed
	stats  *Stats // the server's, for the pool's verdicts
	shards [64]struct {
		mu sync.Mutex
		m  map[string]*workerStats
	}
}

func newRegistry(stats *Stats) *registry {
	r := &registry{seed: maphash.MakeSeed(), stats: stats}
	for i := range r.shards {
		r.shards[i].m = make(map[string]*workerStats)
	}
	return r
}

// attach returns name's account, counting one more live connection.
func (r *registry) attach(name, remote string, now time.Time) *workerStats {
	sh := &r.shards[maphash.String(r.seed, name)%uint64(len(r.shards))]
	sh.mu.Lock()
	w := sh.m[name]
	if w == nil {
		w = &workerStats{name: name, firstSeen: now}
		w.onPool = w.poolResultFunc(r.stats)
		sh.m[name] = w
	}
	// Counted under the shard lock, so that drop never removes an account
	// a connection is taking.
	w.mu.Lock()
	w.connections++
	w.remote = remote
	w.mu.Unlock()
	sh.mu.Unlock()
	return w
}

// retag moves one of w's live connections to standby (true) or back:
// a rig's second connection from its own address is not a duplicate.
func (w *workerStats) retag(standby bool) {
	w.mu.Lock()
	if standby {
		w.connections--
		w.standby++
	} else {
		w.connections++
		w.standby--
	}
	w.mu.Unlock()
}

// detach counts one live connection less. An account left with no
// connection and no accepted share holds nothing worth showing and goes:
// otherwise every name anyone authorizes with would stay in memory.
func (r *registry) detach(w *workerStats) {
	w.mu.Lock()
	w.connections--
	idle := w.connections == 0 && w.standby == 0 && w.accepted == 0
	w.mu.Unlock()
	if idle {
		r.drop(w.name, true)
	}
}

// drop removes name's account if no connection (standby ones too) uses it (and, with
// unused, if it never had an accepted share).
func (r *registry) drop(name string, unused bool) {
	sh := &r.shards[maphash.String(r.seed, name)%uint64(len(r.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	w := sh.m[name]
	if w == nil {
		return
	}
	w.mu.Lock()
	gone := w.connections == 0 && w.standby == 0 && (!unused || w.accepted == 0)
	w.mu.Unlock()
	if gone {
		delete(sh.m, name)
	}
}

// ForgetWorkers drops the accounts of names with no live connection: the
// switcher forgets rigs that are gone (stratumact passes it on), and their
// accounts go with them.
func (s *Server) ForgetWorkers(names []string) {
	for _, n := range names {
		s.workers.drop(n, false)
	}
}

func (r *registry) get(name string) *workerStats {
	sh := &r.shards[maphash.String(r.seed, name)%uint64(len(r.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.m[name]
}

func (r *registry) all() []*workerStats {
	var out []*workerStats
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.Lock()
		for _, w := range sh.m {
			out = append(out, w)
		}
		sh.mu.Unlock()
	}
	return out
}

// Workers returns every worker's account, sorted by name.
func (s *Server) Workers() []WorkerSnapshot {
	now := time.Now()
	ws := s.workers.all()
	out := make([]WorkerSnapshot, len(ws))
	for i, w := range ws {
		out[i] = w.snapshot(now)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Worker returns one worker's account.
func (s *Server) Worker(name string) (WorkerSnapshot, bool) {
	w := s.workers.get(name)
	if w == nil {
		return WorkerSnapshot{}, false
	}
	return w.snapshot(time.Now()), true
}

// WorkerLastSubmit is when the worker last sent a share, accepted or
// rejected (zero: never, or unknown). The switcher asks it for every
// parked rig: a parked rig that keeps submitting is still hashing, even if
// every share is stale.
func (s *Server) WorkerLastSubmit(name string) time.Time {
	w := s.workers.get(name)
	if w == nil {
		return time.Time{}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lastSubmit == 0 {
		return time.Time{}
	}
	return atEpoch(w.lastSubmit)
}

// WorkerActivity is the cheap part of a worker's account: when it last
// sent a good share and its 10-minute hashrate (H/s). The switcher asks it
// for every rig on every plan.
func (s *Server) WorkerActivity(name string) (lastShare time.Time, hashrate10m float64, ok bool) {
	w := s.workers.get(name)
	if w == nil {
		return time.Time{}, 0, false
	}
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastShare, w.r10m.at2(now, 10*time.Minute), true
}
