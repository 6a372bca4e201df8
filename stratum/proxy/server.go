package proxy

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/internal/latency"
	"github.com/hashgate/hashgate/internal/lograte"
	"github.com/hashgate/hashgate/stratum"
	"github.com/hashgate/hashgate/stratum/sharehash"
	"github.com/hashgate/hashgate/stratum/upstream"
	"github.com/hashgate/hashgate/stratum/vardiff"
)

// PoolSpec is one configured pool, tried in order.
type PoolSpec struct {
	Name            string
	Address         string // host:port
	User            string
	Password        string
	ConnectTimeout  time.Duration
	FailoverTimeout time.Duration // silent this long = dead
	FailbackAfter   time.Duration // primary healthy this long = taken back
	// The rejection watch: a pool that refuses at least RejectRatio of
	// the shares it answered over RejectWindow, RejectMinShares answers
	// at least, is flagged "rejecting" and, unless NoRejectFailover, left
	// for the next pool.
	RejectWindow     time.Duration
	RejectMinShares  int
	RejectRatio      float64
	NoRejectFailover bool
}

// Config is what the proxy needs; cmd fills it from the config file.
type Config struct {
	Listen         string
	MaxConnections int
	// MaxUnauthenticated is how many of the connections may be still in
	// their handshake (not yet subscribed and authorized), and
	// MaxUnauthenticatedPerAddress how many of those from one source
	// address: silent connections once filled every slot and kept 15 of
	// 20 new rigs out. 0: max(max_connections/10, min(max_connections,
	// 64)), and a quarter of that per address (at least 16, or all).
	MaxUnauthenticated           int
	MaxUnauthenticatedPerAddress int
	MinMinerExtranonce2Size      int
	MaxUpstreamSessions          int
	Allow                        []netip.Prefix // nil: everyone; empty: no one
	Pools                        []PoolSpec

	MaxLineBytes     int
	OutboundQueue    int           // messages queued per miner before it is cut
	WriteTimeout     time.Duration // per write to a miner
	ReadTimeout      time.Duration // a working miner silent this long is dropped
	HandshakeTimeout time.Duration // to subscribe and authorize; also how long subscribe waits for a pool
	ReconnectGrace   time.Duration // after client.reconnect, close a miner still here
	// ParkedKeepalive: a rig kept without work (not admitted) is sent a
	// harmless message this often, so firmware that drops a silent pool
	// (cgminer-family: 90 s) stays put.
	ParkedKeepalive time.Duration
	UserAgent       string // sent to pools
	// ReadPollers is how many epoll read pollers serve the TCP miners at
	// work (Linux): 0 is one per core, negative none (every miner keeps a
	// reader goroutine, ~4 KiB of stack, as on other systems).
	ReadPollers int
	// ReadPollerBatch bounds the lines a poller handles for one miner per
	// wake-up, so one miner flooding submits cannot hold the others back
	// (level-triggered epoll brings it back at the next wait). Default
	// DefaultReadPollerBatch.
	ReadPollerBatch int

	// Difficulty is the per-miner vardiff.
	Difficulty vardiff.Config
	// Abuse says when a miner is dropped for its shares.
	Abuse AbuseConfig

	// BackoffMin and BackoffMax bound the exponential back-off between
	// attempts at a failed pool (jittered).
	BackoffMin, BackoffMax time.Duration

	Gate Gate
	// OnFailover, if set, is told when the proxy's miners move from one
	// pool to another because the one in use failed (names as in Pools).
	// It is called on the pool dial's goroutine, outside the proxy's
	// locks, and must return promptly (the audit log writes it).
	OnFailover func(from, to string)
	Log        zerolog.Logger
	// DialPool replaces net.Dialer for pool connections (tests).
	DialPool func(ctx context.Context, address string) (net.Conn, error)
}

// Defaults for a zero field of Config (and of PoolSpec, AbuseConfig and
// the vardiff's Initial, Min, Max and TargetShareSeconds). The config
// file's defaults (config.Default, config.DefaultPool) are built from them.
const (
	DefaultMaxConnections          = 100000
	DefaultMinMinerExtranonce2Size = 3
	DefaultMaxUpstreamSessions     = 32
	DefaultMaxLineBytes            = stratum.DefaultMaxLineBytes
	DefaultOutboundQueue           = 64
	DefaultWriteTimeout            = 10 * time.Second
	DefaultReadTimeout             = 10 * time.Minute
	DefaultHandshakeTimeout        = 30 * time.Second
	DefaultReconnectGrace          = 5 * time.Second
	DefaultParkedKeepalive         = 25 * time.Second
	DefaultReadPollerBatch         = 64
	DefaultBackoffMin              = time.Second
	DefaultBackoffMax              = time.Minute
	DefaultUserAgent               = upstream.DefaultUserAgent

	// PoolSpec. The timeouts are the upstream session's: a pool silent
	// for the failover timeout is dead.
	DefaultConnectTimeout  = upstream.DefaultConnectTimeout
	DefaultFailoverTimeout = upstream.DefaultSilenceTimeout
	DefaultFailbackAfter   = time.Minute

	// Difficulty (vardiff.Config's required fields). Min and Max widen
	// to take in an Initial set outside them.
	DefaultInitialDifficulty  = 16384.0
	DefaultMinDifficulty      = 1024.0
	DefaultMaxDifficulty      = 1e12
	DefaultTargetShareSeconds = 10.0

	// AbuseConfig.
	DefaultAbuseRejectWindow    = 5 * time.Minute
	DefaultAbuseRejectMinShares = 50
	DefaultInvalidPerSecond     = 5.0
	DefaultInvalidBurst         = 100.0
	DefaultStalePerSecond       = 100.0
	DefaultStaleBurst           = 1000.0
)

// orDefault sets *p to v when it is zero or negative (unset).
func orDefault[T ~int | ~int64 | ~float64](p *T, v T) {
	if *p <= 0 {
		*p = v
	}
}

func (c *Config) setDefaults() {
	orDefault(&c.MaxConnections, DefaultMaxConnections)
	orDefault(&c.MaxUnauthenticated, max(c.MaxConnections/10, min(c.MaxConnections, 64)))
	orDefault(&c.MaxUnauthenticatedPerAddress, min(max(c.MaxUnauthenticated/4, 16), c.MaxUnauthenticated))
	orDefault(&c.MinMinerExtranonce2Size, DefaultMinMinerExtranonce2Size)
	orDefault(&c.MaxUpstreamSessions, DefaultMaxUpstreamSessions)
	orDefault(&c.MaxLineBytes, DefaultMaxLineBytes)
	orDefault(&c.OutboundQueue, DefaultOutboundQueue)
	orDefault(&c.WriteTimeout, DefaultWriteTimeout)
	orDefault(&c.ReadTimeout, DefaultReadTimeout)
	orDefault(&c.HandshakeTimeout, DefaultHandshakeTimeout)
	orDefault(&c.ReconnectGrace, DefaultReconnectGrace)
	orDefault(&c.ParkedKeepalive, DefaultParkedKeepalive)
	orDefault(&c.ReadPollerBatch, DefaultReadPollerBatch)
	orDefault(&c.BackoffMin, DefaultBackoffMin)
	orDefault(&c.BackoffMax, DefaultBackoffMax)
	for i := range c.Pools {
		p := &c.Pools[i]
		orDefault(&p.ConnectTimeout, DefaultConnectTimeout)
		orDefault(&p.FailoverTimeout, DefaultFailoverTimeout)
		orDefault(&p.FailbackAfter, DefaultFailbackAfter)
		orDefault(&p.RejectWindow, DefaultRejectWindow)
		orDefault(&p.RejectMinShares, DefaultRejectMinShares)
		if !(p.RejectRatio > 0 && p.RejectRatio <= 1) {
			p.RejectRatio = DefaultRejectRatio
		}
	}
	if c.UserAgent == "" {
		c.UserAgent = DefaultUserAgent
	}
	if c.Gate == nil {
		c.Gate = AlwaysAdmit{}
	}
	d := &c.Difficulty
	orDefault(&d.Initial, DefaultInitialDifficulty)
	orDefault(&d.Min, min(DefaultMinDifficulty, d.Initial))
	orDefault(&d.Max, max(DefaultMaxDifficulty, d.Initial))
	orDefault(&d.TargetShareSeconds, DefaultTargetShareSeconds)
	a := &c.Abuse
	orDefault(&a.RejectWindow, DefaultAbuseRejectWindow)
	orDefault(&a.RejectMinShares, DefaultAbuseRejectMinShares)
	orDefault(&a.InvalidPerSecond, DefaultInvalidPerSecond)
	orDefault(&a.InvalidBurst, DefaultInvalidBurst)
	orDefault(&a.StalePerSecond, DefaultStalePerSecond)
	orDefault(&a.StaleBurst, DefaultStaleBurst)
}

// AbuseConfig says when bad shares get a miner dropped. Valid shares at a
// high rate are never abuse: vardiff raises the difficulty instead.
type AbuseConfig struct {
	// A miner whose shares are all rejected for RejectWindow, at least
	// RejectMinShares of them, is dropped.
	RejectWindow    time.Duration
	RejectMinShares int
	// Invalid and duplicate submits (not stale ones) may come at
	// InvalidPerSecond on average, in bursts of InvalidBurst.
	InvalidPerSecond float64
	InvalidBurst     float64
	// Stale submits (a job unknown or no longer valid) may come at
	// StalePerSecond on average, in bursts of StaleBurst. A block makes
	// every miner send a few stale shares at once (a few dozen at most at
	// the difficulties vardiff gives), so the bound is loose; it is there
	// for a client flooding unknown job ids (1.2 million in 60 s from one
	// connection were answered one by one before).
	StalePerSecond float64
	StaleBurst     float64
}

// Server is the proxy: miners on one side, pool sessions on the other.
type Server struct {
	cfg     Config
	log     zerolog.Logger
	pools   *poolManager
	stats   Stats
	workers *registry
	targets sync.Map // difficulty -> sharehash.Target, computed once per value

	nextMinerID atomic.Uint64
	nextJobID   atomic.Uint64

	// limit summarizes the log lines of mass events (refusals, timeouts,
	// resets, duplicate names).
	limit *lograte.Limiter

	mu        sync.Mutex
	listeners []net.Listener
	miners    map[*minerConn]struct{}
	byName    map[string][]*rigConns
	closing   bool
	// unauth holds the connections still in their handshake that may be
	// evicted, oldest first; unauthFrom counts every connection in its
	// handshake (those waiting for a pool session too) per source: an
	// IPv4 address, or an IPv6 /64 (one host commonly has a whole /64).
	unauth     list.List
	unauthFrom map[string]int

	// pollers read the sockets of TCP miners at work (set by Start).
	pollers []*readPoller

	// wg counts every goroutine the server owns: accept loops, miner
	// readers and flushers, read pollers, the pool supervisor.
	wg   sync.WaitGroup
	stop chan struct{}
}

// pollerFor is the read poller m parks in, nil when there is none.
func (s *Server) pollerFor(m *minerConn) *readPoller {
	if len(s.pollers) == 0 || m.rawConn() == nil {
		return nil
	}
	return s.pollers[m.id%uint64(len(s.pollers))]
}

// New checks cfg and builds a server; Start runs it.
func New(cfg Config) (*Server, error) {
	cfg.setDefaults()
	if len(cfg.Pools) == 0 {
		return nil, errors.New("proxy: no pools configured")
	}
	if err := cfg.Difficulty.Validate(); err != nil {
		return nil, fmt.Errorf("proxy: difficulty: %w", err)
	}
	s := &Server{
		cfg:    cfg,
		log:    cfg.Log,
		miners: make(map[*minerConn]struct{}),
		byName: make(map[string][]*rigConns),
		stop:   make(chan struct{}),
		limit:  lograte.New(cfg.Log, logSummaryEvery, logBurst),

		unauthFrom: make(map[string]int),
	}
	s.stats.FanOut = latency.New(latency.FanOutBounds...)
	s.workers = newRegistry(&s.stats)
	s.pools = newPoolManager(s)
	return s, nil
}

// Start connects to the pools and listens on cfg.Listen (if set).
func (s *Server) Start() error {
	if n := s.cfg.ReadPollers; n >= 0 {
		if n == 0 {
			n = runtime.GOMAXPROCS(0)
		}
		for range n {
			p, err := newReadPoller(s)
			if err != nil {
				s.log.Info().Err(err).Msg("no read poller: every miner keeps a reader goroutine")
				break
			}
			s.pollers = append(s.pollers, p)
			s.wg.Add(2)
			go func() {
				defer s.wg.Done()
				p.run()
			}()
			go func() {
				defer s.wg.Done()
				p.detacher()
			}()
		}
	}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.pools.run()
	}()
	go func() {
		defer s.wg.Done()
		s.idleLoop()
	}()
	if s.cfg.Listen == "" {
		return nil
	}
	l, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		s.Close()
		return fmt.Errorf("proxy: listen: %w", err)
	}
	s.startAccepting(l)
	return nil
}

// Addr is the first listener's address (after Start), nil without one.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.listeners) == 0 {
		return nil
	}
	return s.listeners[0].Addr()
}

// startAccepting starts accepting miners on l until Close and returns at
// once (not an exported Serve: that name blocks in net/http and in api).
// Called by Start after the read pollers exist: a TCP miner accepted
// before them would keep a reader goroutine.
func (s *Server) startAccepting(l net.Listener) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		l.Close()
		return
	}
	s.listeners = append(s.listeners, l)
	s.mu.Unlock()
	s.log.Info().Str("listen", l.Addr().String()).Msg("accepting miners")
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.acceptLoop(l)
	}()
}

// acceptLoop backs off on temporary errors like net/http does: a burst of
// EMFILE must not spin the CPU nor end the loop.
func (s *Server) acceptLoop(l net.Listener) {
	var delay time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			select {
			case <-s.stop:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if delay == 0 {
				delay = 5 * time.Millisecond
			} else if delay *= 2; delay > time.Second {
				delay = time.Second
			}
			if s.limit.Allow("accept failed", time.Now()) {
				s.log.Warn().Err(err).Dur("retry_in", delay).Msg("accept failed")
			}
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-s.stop:
				t.Stop()
				return
			}
			continue
		}
		delay = 0
		s.ServeConn(c)
	}
}

// ServeConn serves one miner connection, from a listener or in memory.
// It returns at once; the connection is the server's from now on.
func (s *Server) ServeConn(c net.Conn) {
	now := time.Now()
	if !s.allowed(c.RemoteAddr()) {
		s.stats.RefusedNotAllowed.Add(1)
		s.refuse(c, "address not in allow list", zerolog.InfoLevel, now)
		return
	}
	setLiveness(c)
	m := newMinerConn(s, c)
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		c.Close()
		return
	}
	evict, refused := s.admitConnLocked(m)
	if refused != "" {
		s.mu.Unlock()
		s.refuse(c, refused, zerolog.WarnLevel, now)
		return
	}
	s.miners[m] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	s.stats.Connections.Add(1)
	s.stats.TotalConnections.Add(1)
	if evict != nil {
		s.stats.EvictedUnauthenticated.Add(1)
		evict.close(reasonEvicted, nil)
	}
	go func() {
		defer s.wg.Done()
		m.serve()
	}()
}

// Why a connection is refused (log keys: constants, see lograte).
const (
	refusedFull    = "connection limit reached"
	refusedPerAddr = "too many unauthenticated connections from one address"
)

// admitConnLocked decides whether m gets a slot. Connections still in
// their handshake may hold max_unauthenticated slots, of which
// max_unauthenticated_per_address from one address; when the share (or
// every slot) is taken the oldest of them is evicted, so a rig that
// handshakes in milliseconds always gets in even while silent
// connections arrive from many addresses. With every slot held by
// authorized rigs, m is refused.
func (s *Server) admitConnLocked(m *minerConn) (evict *minerConn, refused string) {
	tcp := m.host != "" // in memory: the process's own (tests, load harness), not the network's
	if tcp && s.unauthFrom[m.source] >= s.cfg.MaxUnauthenticatedPerAddress {
		s.stats.RefusedPerAddress.Add(1)
		return nil, refusedPerAddr
	}
	full := len(s.miners) >= s.cfg.MaxConnections
	if full || tcp && s.unauth.Len() >= s.cfg.MaxUnauthenticated {
		oldest := s.unauth.Front()
		if oldest == nil {
			s.stats.RefusedFull.Add(1)
			return nil, refusedFull
		}
		evict = oldest.Value.(*minerConn)
		s.authenticatedLocked(evict)
	}
	if tcp {
		m.unauthAt = s.unauth.PushBack(m)
		m.inHandshake = true
		s.unauthFrom[m.source]++
	}
	return evict, ""
}

// authenticatedLocked takes m out of the handshake share (done, evicted
// or closed).
func (s *Server) authenticatedLocked(m *minerConn) {
	if m.unauthAt != nil {
		s.unauth.Remove(m.unauthAt)
		m.unauthAt = nil
	}
	if !m.inHandshake {
		return
	}
	m.inHandshake = false
	if n := s.unauthFrom[m.source] - 1; n > 0 {
		s.unauthFrom[m.source] = n
	} else {
		delete(s.unauthFrom, m.source)
	}
}

// waitingForPool marks m, which sent mining.subscribe (or, first,
// mining.configure asking for version rolling), as waiting for a pool
// session (after a restart or a failover, up to its handshake
// deadline), or, waiting false, as served. While the proxy owes it the
// answer, m is not evicted and leaves the max_unauthenticated share: rigs
// reconnecting in mass were evicted there (20 of 30 with a share of 10)
// and retried, or left for their backup pool. It still counts against
// max_unauthenticated_per_address, and its handshake deadline runs on.
// A valid subscribe suffices, not subscribe and authorize: cgminer-family
// firmware (nearly every ASIC) sends authorize only once subscribe is
// answered, so it would never qualify; and an attacker gains nothing a
// cheap authorize would not give it as well.
func (s *Server) waitingForPool(m *minerConn, waiting bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case waiting && m.unauthAt != nil:
		s.unauth.Remove(m.unauthAt)
		m.unauthAt = nil
	case !waiting && m.inHandshake && m.unauthAt == nil:
		if _, live := s.miners[m]; live {
			// Its turn to speak again: evictable as before, counted from now.
			m.unauthAt = s.unauth.PushBack(m)
		}
	}
}

// checkHandshake frees m's place in the handshake share once it is
// subscribed and authorized.
func (s *Server) checkHandshake(m *minerConn) {
	s.mu.Lock()
	s.checkHandshakeLocked(m)
	s.mu.Unlock()
}

func (s *Server) checkHandshakeLocked(m *minerConn) {
	m.mu.Lock()
	done := m.subscribed && m.authorized
	m.mu.Unlock()
	if done {
		s.authenticatedLocked(m)
	}
}

// refuse closes a connection the server will not serve, logging it
// (summarized when they come in mass).
func (s *Server) refuse(c net.Conn, why string, level zerolog.Level, now time.Time) {
	if s.limit.Allow("miner refused: "+why, now) {
		s.log.WithLevel(level).Str("remote", c.RemoteAddr().String()).Int("max_connections", s.cfg.MaxConnections).
			Msg("miner refused: " + why)
	}
	c.Close()
}

func (s *Server) allowed(a net.Addr) bool {
	if s.cfg.Allow == nil {
		return true
	}
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return true // in-memory connections have no address to judge
	}
	ip, ok := netip.AddrFromSlice(ta.IP)
	if !ok {
		return false
	}
	ip = ip.Unmap()
	for _, p := range s.cfg.Allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Close stops accepting, disconnects every miner, closes the pool sessions
// and waits for every goroutine the server started.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		s.wg.Wait()
		return
	}
	s.closing = true
	close(s.stop)
	ls := s.listeners
	miners := make([]*minerConn, 0, len(s.miners))
	for m := range s.miners {
		miners = append(miners, m)
	}
	s.mu.Unlock()
	for _, l := range ls {
		l.Close()
	}
	for _, m := range miners {
		m.close(reasonShutdown, nil)
	}
	for _, p := range s.pollers {
		p.stop()
	}
	s.wg.Wait()
	s.pools.closeAll()
	s.limit.Close()
}

// rigConns is one rig as the Gate sees it: the live connections that
// authorized with one name from one address. cgminer-family firmware
// (bmminer, Avalon, BFGMiner) given hashgate as primary and backup pool
// subscribes and authorizes on both, and keeps the second open while it
// needs it (cgminer's cnx_needed: a higher-priority pool it wants to fail
// back to, an idle one to revive, shares awaiting answers), so a parked
// rig holds two connections. The first is the rig's; the others are
// standby: the Gate is told of the rig once, and its admission applies to
// every connection, so a parked rig gets no job through its standby one.
// The same name from another address is a real duplicate: its own rig
// for the Gate (which flags duplicate_name). Two machines behind one NAT
// address sharing a name look like one rig with a standby connection.
type rigConns struct {
	name     string
	host     string
	conns    []*minerConn // conns[0] is the rig's connection, the rest standby
	admitted bool
	told     bool // SetAdmission spoke: newer than the Gate's first answer
	// answered: the Gate's Authorized returned (and did not refuse), so
	// it is owed a Disconnected when the last connection goes; refused:
	// it refused, and every connection under the rig is closed.
	answered bool
	refused  bool
}

// forget drops a closed miner from the server's indexes; last reports
// that it was the last connection of its rig and the Gate is to be told
// (when the Gate has not answered yet, decided tells it after).
func (s *Server) forget(m *minerConn) (last bool, name string) {
	s.mu.Lock()
	delete(s.miners, m)
	s.authenticatedLocked(m)
	if r := m.rig; r != nil {
		if i := slices.Index(r.conns, m); i >= 0 {
			r.conns = slices.Delete(r.conns, i, i+1)
			if i == 0 && len(r.conns) > 0 {
				r.conns[0].promote() // the standby connection carries the rig now
			}
		}
		if len(r.conns) == 0 {
			// The rig's own name: m's may not have been read when it was
			// set (a close racing its authorize).
			last, name = r.answered, r.name
			list := slices.DeleteFunc(s.byName[name], func(x *rigConns) bool { return x == r })
			if len(list) == 0 {
				delete(s.byName, name)
			} else {
				s.byName[name] = list
			}
		}
	}
	s.mu.Unlock()
	s.stats.Connections.Add(-1)
	return last, name
}

// named records a rig's name. standby: another live connection from the
// same address has it (m follows that rig's admission, set here); dup:
// a connection from another address has it (both are rigs for the Gate,
// which flags duplicate_name). gone: m was closed meanwhile and is not
// recorded (the Gate is not to hear of it). refused: the Gate refused the
// rig of that address (m is not recorded; it is to be refused too).
// A subscribed m is through its handshake from here: an eviction can no
// longer come between its name and the Gate's answer.
func (s *Server) named(m *minerConn, name string) (standby, dup, gone, refused bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, live := s.miners[m]; !live {
		return false, false, true, false
	}
	s.checkHandshakeLocked(m)
	list := s.byName[name]
	for _, r := range list {
		if r.host == m.host && m.host != "" {
			if r.refused {
				return false, false, false, true
			}
			r.conns = append(r.conns, m)
			m.rig = r
			m.mu.Lock()
			m.standby, m.admitted = true, r.admitted
			m.mu.Unlock()
			return true, false, false, false
		}
	}
	m.rig = &rigConns{name: name, host: m.host, conns: []*minerConn{m}}
	s.byName[name] = append(list, m.rig)
	return false, len(list) > 0, false, false
}

// decided applies the Gate's first answer for m's rig to every
// connection it has (standby ones may have come meanwhile). A refusal
// closes them (m is the caller's to answer and close). When the rig's
// connections all closed while the Gate answered, the Gate is told now,
// after its answer, never before.
func (s *Server) decided(m *minerConn, name string, v Verdict) {
	r := m.rig
	s.mu.Lock()
	if v == Refuse {
		r.refused = true
		others := make([]*minerConn, 0, len(r.conns))
		for _, c := range r.conns {
			if c != m {
				others = append(others, c)
			}
		}
		s.mu.Unlock()
		for _, c := range others {
			c.close(reasonRefused, nil)
		}
		return
	}
	r.answered = true
	if len(r.conns) == 0 {
		s.mu.Unlock()
		s.cfg.Gate.Disconnected(Rig{ConnID: m.id, Name: name, Remote: m.remote})
		return
	}
	if r.told {
		// A park or resume came while the Gate answered: it stands.
		s.mu.Unlock()
		return
	}
	admitted := v == Admit
	r.admitted = admitted
	list := append([]*minerConn(nil), r.conns...)
	s.mu.Unlock()
	for _, c := range list {
		if admitted {
			c.admit()
		}
	}
}

// SetAdmission is how the Gate tells the proxy a rig's admission changed.
// Admitted rigs get their difficulty and the current job at once; a rig
// that is no longer admitted is disconnected, which aborts the work it
// holds (when it comes back the Gate keeps it waiting). It applies to
// every connection under the name, standby ones included.
func (s *Server) SetAdmission(name string, admitted bool) {
	s.mu.Lock()
	var list []*minerConn
	for _, r := range s.byName[name] {
		r.admitted, r.told = admitted, true
		list = append(list, r.conns...)
	}
	s.mu.Unlock()
	for _, m := range list {
		if admitted {
			m.admit()
		} else {
			m.close(reasonParked, nil)
		}
	}
}

// Healthy reports whether the proxy has a live pool session.
func (s *Server) Healthy() bool { return s.pools.healthy() }

// Pools reports each configured pool's state.
func (s *Server) Pools() []PoolStatus { return s.pools.status() }

// Stats returns a snapshot of the proxy's counters.
func (s *Server) Stats() StatsSnapshot {
	st := s.stats.snapshot()
	for _, p := range s.pollers {
		st.MinersPolled += int64(p.parked())
	}
	return st
}

// target returns the share target of difficulty d. Miners share a handful
// of difficulties, so each is computed once, not per miner or per share.
func (s *Server) target(d float64) sharehash.Target {
	if t, ok := s.targets.Load(d); ok {
		return t.(sharehash.Target)
	}
	t := sharehash.NewTarget(d)
	s.targets.Store(d, t)
	return t
}

// Mass events are logged in full up to logBurst times per reason and
// logSummaryEvery, then summarized once per interval.
const (
	logSummaryEvery = 10 * time.Second
	logBurst        = 5
)

// idleLoop lowers the difficulty of miners that stopped finding shares and
// keeps rigs that wait without work from thinking the pool is dead.
func (s *Server) idleLoop() {
	every := time.Duration(s.cfg.Difficulty.TargetShareSeconds * float64(time.Second))
	every = min(max(every, 100*time.Millisecond), 30*time.Second, s.cfg.ParkedKeepalive/2, logSummaryEvery)
	t := time.NewTicker(every)
	defer t.Stop()
	var miners []*minerConn
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			s.mu.Lock()
			miners = miners[:0]
			for m := range s.miners {
				miners = append(miners, m)
			}
			s.mu.Unlock()
			s.limit.Flush(now, false)
			for _, m := range miners {
				m.idleCheck(now)
				m.keepalive(now)
				// A miner parked in a poller has no read deadline.
				if m.polled.Load() && now.UnixNano()-m.lastRead.Load() > int64(s.cfg.ReadTimeout) {
					m.close(reasonTimeout, nil)
				}
			}
			clear(miners)
		}
	}
}

// mintJobID returns a job id unique across every session of this
// process, and its sequence number.
func (s *Server) mintJobID() (string, uint64) {
	seq := s.nextJobID.Add(1)
	return strconv.FormatUint(seq, 16), seq
}
