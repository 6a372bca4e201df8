package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/stratum/sharehash"
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
	Listen                  string
	MaxConnections          int
	MinMinerExtranonce2Size int
	MaxUpstreamSessions     int
	Allow                   []netip.Prefix // nil: everyone; empty: no one
	Pools                   []PoolSpec

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

	// Difficulty is the per-miner vardiff.
	Difficulty vardiff.Config
	// Abuse says when a miner is dropped for its shares.
	Abuse AbuseConfig

	// BackoffMin and BackoffMax bound the exponential back-off between
	// attempts at a failed pool (jittered).
	BackoffMin, BackoffMax time.Duration

	Gate Gate
	Log  zerolog.Logger
	// DialPool replaces net.Dialer for pool connections (tests).
	DialPool func(ctx context.Context, address string) (net.Conn, error)
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.MaxConnections <= 0 {
		c.MaxConnections = 100000
	}
	if c.MinMinerExtranonce2Size <= 0 {
		c.MinMinerExtranonce2Size = 3
	}
	if c.MaxUpstreamSessions <= 0 {
		c.MaxUpstreamSessions = 32
	}
	if c.MaxLineBytes <= 0 {
		c.MaxLineBytes = 16 << 10
	}
	if c.OutboundQueue <= 0 {
		c.OutboundQueue = 64
	}
	def(&c.WriteTimeout, 10*time.Second)
	def(&c.ReadTimeout, 10*time.Minute)
	def(&c.HandshakeTimeout, 30*time.Second)
	def(&c.ReconnectGrace, 5*time.Second)
	def(&c.ParkedKeepalive, 25*time.Second)
	def(&c.BackoffMin, time.Second)
	def(&c.BackoffMax, time.Minute)
	for i := range c.Pools {
		p := &c.Pools[i]
		def(&p.ConnectTimeout, 10*time.Second)
		def(&p.FailoverTimeout, 30*time.Second)
		def(&p.FailbackAfter, time.Minute)
		def(&p.RejectWindow, DefaultRejectWindow)
		if p.RejectMinShares <= 0 {
			p.RejectMinShares = DefaultRejectMinShares
		}
		if !(p.RejectRatio > 0 && p.RejectRatio <= 1) {
			p.RejectRatio = DefaultRejectRatio
		}
	}
	if c.UserAgent == "" {
		c.UserAgent = "hashgate"
	}
	if c.Gate == nil {
		c.Gate = AlwaysAdmit{}
	}
	d := &c.Difficulty
	if d.Initial <= 0 {
		d.Initial = 16384
	}
	if d.Min <= 0 {
		d.Min = min(1024, d.Initial)
	}
	if d.Max <= 0 {
		d.Max = max(1e12, d.Initial)
	}
	if d.TargetShareSeconds <= 0 {
		d.TargetShareSeconds = 10
	}
	a := &c.Abuse
	def(&a.RejectWindow, 5*time.Minute)
	if a.RejectMinShares <= 0 {
		a.RejectMinShares = 50
	}
	if a.InvalidPerSecond <= 0 {
		a.InvalidPerSecond = 5
	}
	if a.InvalidBurst <= 0 {
		a.InvalidBurst = 100
	}
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

	mu        sync.Mutex
	listeners []net.Listener
	miners    map[*minerConn]struct{}
	byName    map[string][]*minerConn
	closing   bool

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
		byName: make(map[string][]*minerConn),
		stop:   make(chan struct{}),
	}
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
	s.Serve(l)
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

// Serve accepts miners on l until Close. It returns at once. Call Start
// first (as for ServeConn): the read pollers exist from Start on, and a
// TCP miner served before them keeps a reader goroutine.
func (s *Server) Serve(l net.Listener) {
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
			s.log.Warn().Err(err).Dur("retry_in", delay).Msg("accept failed")
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
	remote := c.RemoteAddr().String()
	if !s.allowed(c.RemoteAddr()) {
		s.stats.RefusedNotAllowed.Add(1)
		s.log.Info().Str("remote", remote).Msg("miner refused: address not in allow list")
		c.Close()
		return
	}
	m := newMinerConn(s, c)
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		c.Close()
		return
	}
	if len(s.miners) >= s.cfg.MaxConnections {
		s.mu.Unlock()
		s.stats.RefusedFull.Add(1)
		s.log.Warn().Str("remote", remote).Int("max_connections", s.cfg.MaxConnections).Msg("miner refused: connection limit reached")
		c.Close()
		return
	}
	s.miners[m] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	s.stats.Connections.Add(1)
	s.stats.TotalConnections.Add(1)
	go func() {
		defer s.wg.Done()
		m.serve()
	}()
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
}

// forget drops a closed miner from the server's indexes.
func (s *Server) forget(m *minerConn, name string) {
	s.mu.Lock()
	delete(s.miners, m)
	if name != "" {
		list := s.byName[name]
		for i, x := range list {
			if x == m {
				list[i] = list[len(list)-1]
				list = list[:len(list)-1]
				break
			}
		}
		if len(list) == 0 {
			delete(s.byName, name)
		} else {
			s.byName[name] = list
		}
	}
	s.mu.Unlock()
	s.stats.Connections.Add(-1)
}

// named records a rig's name; it reports whether another live connection
// already uses it (both are kept: the contract flags them duplicate_name).
func (s *Server) named(m *minerConn, name string) (duplicate bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.byName[name]
	s.byName[name] = append(list, m)
	return len(list) > 0
}

// SetAdmission is how the Gate tells the proxy a rig's admission changed.
// Admitted rigs get their difficulty and the current job at once; a rig
// that is no longer admitted is disconnected, which aborts the work it
// holds (when it comes back the Gate keeps it waiting).
func (s *Server) SetAdmission(name string, admitted bool) {
	s.mu.Lock()
	list := append([]*minerConn(nil), s.byName[name]...)
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

// idleLoop lowers the difficulty of miners that stopped finding shares and
// keeps rigs that wait without work from thinking the pool is dead.
func (s *Server) idleLoop() {
	every := time.Duration(s.cfg.Difficulty.TargetShareSeconds * float64(time.Second))
	every = min(max(every, 100*time.Millisecond), 30*time.Second, s.cfg.ParkedKeepalive/2)
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
