package sim

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/stratum"
	"github.com/hashgate/hashgate/stratum/sharehash"
)

// Defaults of [PoolConfig].
const (
	DefaultExtranonce2Size = 8
	DefaultPoolDifficulty  = 1e-9
	DefaultVersionMask     = 0x1fffe000
	DefaultBranchCount     = 4
	DefaultPoolIdleTimeout = 10 * time.Minute
	DefaultWriteTimeout    = 5 * time.Second
	// DefaultNBits is the nbits of a real mainnet block: no simulated
	// share ever meets its network target.
	DefaultNBits = 0x1705ae3a
	// RegtestNBits is regtest's nbits: its network target (about 2^255)
	// is above the target of any difficulty over 4.66e-10, so every share
	// at such a difficulty is also a block candidate.
	RegtestNBits = 0x207fffff
)

// jobVersion is the block version of every job: a plausible one.
const jobVersion = 0x20000000

const (
	// maxJobs is how many jobs the pool remembers; a share on an older
	// job is answered as stale (21).
	maxJobs = 32
	// maxLine bounds the lines both the pool and the miners accept.
	maxLine = 64 << 10
	// maxNTimeRoll is how far past the job's ntime a share may be; a share
	// with ntime outside [job ntime, job ntime + maxNTimeRoll] is rejected
	// (20), as the proxy does.
	maxNTimeRoll = 7000
	// maxExtranonce2Size bounds PoolConfig.Extranonce2Size.
	maxExtranonce2Size = 64
)

// Reasons a pool rejects a share: the keys of [PoolStats.Rejected].
const (
	RejectStale          = "stale"           // 21: unknown job, or one older than the last clean job sent on the connection
	RejectDuplicate      = "duplicate"       // 22
	RejectLowDifficulty  = "low_difficulty"  // 23
	RejectBadExtranonce2 = "bad_extranonce2" // 20: not hex of the announced size
	RejectUnauthorized   = "unauthorized"    // 24: worker not authorized on this connection
	RejectNotSubscribed  = "not_subscribed"  // 25
	RejectBadVersion     = "bad_version"     // 20: rolled bits outside the granted mask
	RejectOther          = "other"           // 20: malformed params, ntime outside [job ntime, job ntime+7000]
	RejectRefused        = "refused"         // 20: a good share refused on purpose ([Pool.SetRejectShares])
)

// PoolConfig configures a [Pool]. The zero value is a usable pool.
type PoolConfig struct {
	// Name labels the pool in logs.
	Name string
	// Extranonce2Size is the extranonce2 size announced to every
	// connection; 0 means DefaultExtranonce2Size (8). Up to 64: sizes
	// past the 32 Stratum clients accept are for tests of their refusal.
	Extranonce2Size int
	// Difficulty is the share difficulty sent to every connection; 0 means
	// DefaultPoolDifficulty (1e-9: about one hash in four is a valid
	// share, so simulated miners find shares at once).
	Difficulty float64
	// VersionMask is the BIP310 version-rolling mask the pool allows; a
	// mining.configure request is granted request ∩ VersionMask. 0 means
	// DefaultVersionMask (0x1fffe000).
	VersionMask uint32
	// DisableVersionRolling answers "version-rolling": false to
	// mining.configure; shares may then carry no rolled bits.
	DisableVersionRolling bool
	// JobInterval, when positive, broadcasts a new job with
	// clean_jobs=false at this interval. 0: jobs change only through
	// [Pool.NewJob].
	JobInterval time.Duration
	// NBits is the nbits put in every job; 0 means DefaultNBits
	// (0x1705ae3a, a mainnet block's). The pool checks shares against the
	// share target only; with RegtestNBits (0x207fffff) every share at a
	// difficulty of 1e-9 or more also meets the network target, so tests
	// can exercise block-candidate handling.
	NBits uint32
	// BranchCount is the number of merkle branches per job; 0 means
	// DefaultBranchCount (4), a negative value means none.
	BranchCount int
	// IdleTimeout closes a connection that sends nothing for this long;
	// 0 means DefaultPoolIdleTimeout (10 minutes).
	IdleTimeout time.Duration
	// WriteTimeout bounds every write to a connection; a connection that
	// cannot take a line in time is closed. 0 means DefaultWriteTimeout.
	WriteTimeout time.Duration
	// Log receives debug logs; the zero value logs nothing.
	Log zerolog.Logger
	// OnShare, when set, is called for every accepted share, from the
	// goroutine serving the connection, after the share is counted and
	// before it is answered. It must not block for long.
	OnShare func(Share)
}

// Share is a share the pool accepted.
type Share struct {
	ConnID      uint64 // the pool connection it came on (see [Pool.Conns])
	Worker      string // the worker name in mining.submit
	JobID       string
	Extranonce1 string // hex, the connection's extranonce1 at the time
	Extranonce2 string // hex, as submitted
	NTime       string
	Nonce       string
	Version     string  // the 6th submit param as sent ("" when absent)
	Difficulty  float64 // the difficulty it was credited at
}

// PoolStats is a snapshot of a pool's counters.
type PoolStats struct {
	Connections      int // currently open
	TotalConnections int // ever accepted
	Subscribed       int // open connections that subscribed
	Authorized       int // open connections with at least one authorized worker
	Jobs             int // jobs created, including the first
	Difficulty       float64
	Submitted        int            // mining.submit requests answered
	Accepted         int            // shares accepted
	Rejected         map[string]int // shares rejected, by reason (Reject* constants)
	AcceptedByWorker map[string]int // shares accepted, by worker name
	ProtocolErrors   int            // connections closed for garbage or over-long lines
	IgnoredSilent    int            // lines read and dropped while silent
}

// RejectedTotal sums Rejected.
func (s PoolStats) RejectedTotal() int {
	n := 0
	for _, v := range s.Rejected {
		n += v
	}
	return n
}

// PoolConn describes one open connection of a pool.
type PoolConn struct {
	ID          uint64
	Remote      string
	Extranonce1 string
	Subscribed  bool
	Workers     []string // authorized worker names
	VersionMask uint32   // granted mask, 0 without version rolling
	Accepted    int
}

// Pool is an in-process Stratum V1 pool on 127.0.0.1. Start it with
// [StartPool]; stop it with [Pool.Close]. All methods are safe for
// concurrent use.
type Pool struct {
	cfg PoolConfig
	log zerolog.Logger
	ln  net.Listener
	wg  sync.WaitGroup

	done      chan struct{} // closed by Close: stops the accept loop and the job ticker
	closeOnce sync.Once

	silent     atomic.Bool
	refuseAuth atomic.Bool
	rejectNth  atomic.Int64 // SetRejectShares

	mu         sync.Mutex
	closed     bool
	conns      map[*poolConn]struct{}
	nextConnID uint64
	nextEn1    uint32
	jobPrefix  string
	jobSeq     uint64
	jobs       map[string]*poolJob
	jobOrder   []*poolJob // oldest first, at most maxJobs
	cur        *poolJob
	diff       float64
	target     sharehash.Target
	diffSeq    uint64
	mask       uint32

	totalConns     int
	submitted      int
	good           int // good shares seen, for SetRejectShares
	accepted       int
	rejected       map[string]int
	byWorker       map[string]int
	protocolErrors int
	ignoredSilent  int
}

// poolJob is one job as the pool sent it.
type poolJob struct {
	id        string
	seq       uint64
	clean     bool
	job       *sharehash.Job // read-only once built
	diff      float64        // the pool difficulty when the job was made
	target    sharehash.Target
	line      []byte // mining.notify as broadcast
	cleanLine []byte // the same with clean_jobs=true, for a new subscriber
	// seen holds accepted shares, for duplicate detection; under Pool.mu.
	seen map[shareKey]struct{}
}

type shareKey struct {
	en1                   uint32
	en2                   string
	ntime, nonce, version uint32
}

// StartPool listens on 127.0.0.1:0 and serves until Close. The pool starts
// with one job.
func StartPool(cfg PoolConfig) (*Pool, error) {
	if cfg.Extranonce2Size == 0 {
		cfg.Extranonce2Size = DefaultExtranonce2Size
	}
	if cfg.Extranonce2Size < 0 || cfg.Extranonce2Size > maxExtranonce2Size {
		return nil, fmt.Errorf("sim: extranonce2 size %d out of range 1..%d", cfg.Extranonce2Size, maxExtranonce2Size)
	}
	if cfg.Difficulty == 0 {
		cfg.Difficulty = DefaultPoolDifficulty
	}
	if !(cfg.Difficulty > 0) {
		return nil, fmt.Errorf("sim: pool difficulty %v must be positive", cfg.Difficulty)
	}
	if cfg.VersionMask == 0 {
		cfg.VersionMask = DefaultVersionMask
	}
	if cfg.NBits == 0 {
		cfg.NBits = DefaultNBits
	}
	switch {
	case cfg.BranchCount == 0:
		cfg.BranchCount = DefaultBranchCount
	case cfg.BranchCount < 0:
		cfg.BranchCount = 0
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultPoolIdleTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("sim: pool listen: %w", err)
	}
	p := &Pool{
		cfg:       cfg,
		log:       cfg.Log.With().Str("pool", cfg.Name).Logger(),
		ln:        ln,
		done:      make(chan struct{}),
		conns:     map[*poolConn]struct{}{},
		nextEn1:   mrand.Uint32(),
		jobPrefix: randHex(2),
		jobs:      map[string]*poolJob{},
		diff:      cfg.Difficulty,
		target:    sharehash.NewTarget(cfg.Difficulty),
		diffSeq:   1,
		mask:      cfg.VersionMask,
		rejected:  map[string]int{},
		byWorker:  map[string]int{},
	}
	p.makeJobLocked(true) // not yet shared: no lock needed
	p.wg.Add(1)
	go p.acceptLoop()
	if cfg.JobInterval > 0 {
		p.wg.Add(1)
		go p.jobTicker()
	}
	p.log.Debug().Str("addr", p.Addr()).Msg("pool listening")
	return p, nil
}

// Addr returns the pool's host:port on 127.0.0.1.
func (p *Pool) Addr() string { return p.ln.Addr().String() }

// URL returns the pool's address as a stratum+tcp URL.
func (p *Pool) URL() string { return "stratum+tcp://" + p.Addr() }

// Close closes the listener and every connection and waits for the pool's
// goroutines. After Close the pool is gone, like a killed pool: nothing
// listens on its port any more. Close is idempotent.
func (p *Pool) Close() {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		conns := p.snapshotLocked()
		p.mu.Unlock()
		close(p.done)
		_ = p.ln.Close()
		for _, c := range conns {
			_ = c.c.Close()
		}
	})
	p.wg.Wait()
}

// DropAll closes every open connection; the pool keeps listening.
func (p *Pool) DropAll() {
	p.mu.Lock()
	conns := p.snapshotLocked()
	p.mu.Unlock()
	for _, c := range conns {
		_ = c.c.Close()
	}
}

// SetSilent makes the pool stop sending anything and stop answering (true)
// or resume (false). Connections stay open; what they send while the pool
// is silent is read and dropped, and jobs made meanwhile are not sent.
func (p *Pool) SetSilent(silent bool) { p.silent.Store(silent) }

// SetRefuseAuthorize makes mining.authorize fail with error 24 (true) or
// succeed for any user and password (false, the default).
func (p *Pool) SetRefuseAuthorize(refuse bool) { p.refuseAuth.Store(refuse) }

// SetRejectShares makes the pool refuse good shares, as a broken or
// hostile pool does: every nth good share is answered error 20
// (RejectRefused); 1 refuses them all, 0 none (the default). Bad shares
// are refused for their defect as usual.
func (p *Pool) SetRejectShares(nth int) { p.rejectNth.Store(int64(nth)) }

// NewJob makes a fresh random job and sends it to every subscribed
// connection. clean marks it clean_jobs=true, which makes every older job
// stale on each connection as soon as the job has been sent there (never
// before: a share is not answered stale before its sender could know). It
// returns the job id ("" once the pool is closed).
func (p *Pool) NewJob(clean bool) string {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ""
	}
	j := p.makeJobLocked(clean)
	conns := p.snapshotLocked()
	p.mu.Unlock()
	for _, c := range conns {
		c.sendJob(j)
	}
	return j.id
}

// SetDifficulty sets the share difficulty and sends mining.set_difficulty
// to every subscribed connection. Jobs keep the difficulty in force when
// they were made: a share is accepted if it meets either its job's
// difficulty or the current one.
func (p *Pool) SetDifficulty(d float64) {
	if !(d > 0) {
		return
	}
	p.mu.Lock()
	p.diff = d
	p.target = sharehash.NewTarget(d)
	p.diffSeq++
	seq := p.diffSeq
	conns := p.snapshotLocked()
	p.mu.Unlock()
	line, _ := stratum.AppendRequest(nil, nil, stratum.MethodSetDifficulty, []any{d})
	for _, c := range conns {
		c.sendDifficulty(seq, line)
	}
}

// SendSetExtranonce gives every subscribed connection that asked for it
// (mining.extranonce.subscribe or the subscribe-extranonce extension) a new
// extranonce1 and sends it mining.set_extranonce. Jobs sent before it are
// stale on that connection from then on; later jobs are checked against the
// new extranonce1. It returns how many connections
// were sent one.
func (p *Pool) SendSetExtranonce() int {
	p.mu.Lock()
	conns := p.snapshotLocked()
	p.mu.Unlock()
	n := 0
	for _, c := range conns {
		if c.sendSetExtranonce() {
			n++
		}
	}
	return n
}

// SetVersionMask changes the pool's version-rolling mask. Every connection
// that negotiated version rolling is granted request ∩ mask and sent
// mining.set_version_mask. It returns how many connections were sent one.
func (p *Pool) SetVersionMask(mask uint32) int {
	p.mu.Lock()
	p.mask = mask
	conns := p.snapshotLocked()
	p.mu.Unlock()
	n := 0
	for _, c := range conns {
		if c.sendVersionMask(mask) {
			n++
		}
	}
	return n
}

// SendReconnect sends client.reconnect with empty params (reconnect to the
// same address) to every subscribed connection, without closing any. It
// returns how many were sent one.
func (p *Pool) SendReconnect() int {
	line, _ := stratum.AppendRequest(nil, nil, stratum.MethodReconnect, []any{})
	p.mu.Lock()
	conns := p.snapshotLocked()
	p.mu.Unlock()
	n := 0
	for _, c := range conns {
		if c.isSubscribed() && c.write(line, false) == nil {
			n++
		}
	}
	return n
}

// SendRaw writes b as is to every open connection, even a silent pool's:
// garbage lines, or half a line followed by [Pool.DropAll] to close
// mid-line. It returns how many connections took it.
func (p *Pool) SendRaw(b []byte) int {
	p.mu.Lock()
	conns := p.snapshotLocked()
	p.mu.Unlock()
	n := 0
	for _, c := range conns {
		if c.write(b, true) == nil {
			n++
		}
	}
	return n
}

// Stats returns a snapshot of the pool's counters.
func (p *Pool) Stats() PoolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := PoolStats{
		Connections:      len(p.conns),
		TotalConnections: p.totalConns,
		Jobs:             int(p.jobSeq),
		Difficulty:       p.diff,
		Submitted:        p.submitted,
		Accepted:         p.accepted,
		Rejected:         make(map[string]int, len(p.rejected)),
		AcceptedByWorker: make(map[string]int, len(p.byWorker)),
		ProtocolErrors:   p.protocolErrors,
		IgnoredSilent:    p.ignoredSilent,
	}
	for k, v := range p.rejected {
		s.Rejected[k] = v
	}
	for k, v := range p.byWorker {
		s.AcceptedByWorker[k] = v
	}
	for c := range p.conns {
		if c.subscribed {
			s.Subscribed++
		}
		if len(c.workers) > 0 {
			s.Authorized++
		}
	}
	return s
}

// Conns describes the open connections, oldest first.
func (p *Pool) Conns() []PoolConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]PoolConn, 0, len(p.conns))
	for c := range p.conns {
		pc := PoolConn{
			ID:          c.id,
			Remote:      c.remote,
			Extranonce1: stratum.FormatUint32(c.en1),
			Subscribed:  c.subscribed,
			VersionMask: c.mask,
			Accepted:    c.accepted,
		}
		for w := range c.workers {
			pc.Workers = append(pc.Workers, w)
		}
		slices.Sort(pc.Workers)
		out = append(out, pc)
	}
	slices.SortFunc(out, func(a, b PoolConn) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func (p *Pool) snapshotLocked() []*poolConn {
	out := make([]*poolConn, 0, len(p.conns))
	for c := range p.conns {
		out = append(out, c)
	}
	return out
}

// makeJobLocked creates a random job, makes it current and remembers it.
func (p *Pool) makeJobLocked(clean bool) *poolJob {
	p.jobSeq++
	j := &poolJob{
		id:     p.jobPrefix + strconv.FormatUint(p.jobSeq, 16),
		seq:    p.jobSeq,
		clean:  clean,
		diff:   p.diff,
		target: p.target,
		seen:   map[shareKey]struct{}{},
	}
	n := &stratum.Notify{
		JobID:    j.id,
		PrevHash: randHex(32),
		Coinb1:   randHex(40 + mrand.IntN(40)),
		Coinb2:   randHex(60 + mrand.IntN(60)),
		Branches: make([]string, p.cfg.BranchCount),
		Version:  stratum.FormatUint32(jobVersion),
		NBits:    stratum.FormatUint32(p.cfg.NBits),
		NTime:    stratum.FormatUint32(uint32(time.Now().Unix())),
		Clean:    clean,
	}
	for i := range n.Branches {
		n.Branches[i] = randHex(32)
	}
	job, err := sharehash.JobFromHex(n.PrevHash, n.Coinb1, n.Coinb2, n.Branches, n.Version, n.NBits, n.NTime)
	if err != nil {
		panic("sim: own job does not decode: " + err.Error()) // cannot happen: all fields are generated hex
	}
	j.job = job
	j.line, _ = stratum.AppendRequest(nil, nil, stratum.MethodNotify, n.Params(j.id))
	n.Clean = true
	j.cleanLine, _ = stratum.AppendRequest(nil, nil, stratum.MethodNotify, n.Params(j.id))

	p.jobs[j.id] = j
	p.jobOrder = append(p.jobOrder, j)
	if len(p.jobOrder) > maxJobs {
		delete(p.jobs, p.jobOrder[0].id)
		p.jobOrder[0] = nil
		p.jobOrder = p.jobOrder[1:]
	}
	p.cur = j
	return j
}

func (p *Pool) acceptLoop() {
	defer p.wg.Done()
	backoff := 5 * time.Millisecond
	for {
		nc, err := p.ln.Accept()
		if err != nil {
			select {
			case <-p.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off, bounded.
			p.log.Warn().Err(err).Msg("accept")
			t := time.NewTimer(backoff)
			select {
			case <-p.done:
				t.Stop()
				return
			case <-t.C:
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			_ = nc.Close()
			return
		}
		p.nextConnID++
		c := &poolConn{
			p:       p,
			id:      p.nextConnID,
			c:       nc,
			remote:  nc.RemoteAddr().String(),
			en1:     p.allocEn1Locked(),
			workers: map[string]bool{},
		}
		p.conns[c] = struct{}{}
		p.totalConns++
		p.wg.Add(1)
		p.mu.Unlock()
		go c.serve()
	}
}

func (p *Pool) allocEn1Locked() uint32 {
	p.nextEn1++
	return p.nextEn1
}

func (p *Pool) jobTicker() {
	defer p.wg.Done()
	t := time.NewTicker(p.cfg.JobInterval)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
			p.NewJob(false)
		}
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails
	return hex.EncodeToString(b)
}
