package proxy

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashgate/hashgate/stratum/upstream"
)

// PoolStatus is one pool as the API shows it.
type PoolStatus struct {
	Name      string `json:"name"`
	Address   string `json:"url"`
	State     string `json:"state"` // active | standby | probing | failed
	Sessions  int    `json:"sessions"`
	Miners    int    `json:"miners"`
	Failures  int    `json:"failures"`
	LastError string `json:"last_error,omitempty"`
	// Rejecting: the pool refused at least reject_ratio of the shares it
	// answered over reject_window (RejectRatio: the share refused then,
	// 0 while fewer than reject_min_shares were answered).
	Rejecting   bool    `json:"rejecting"`
	RejectRatio float64 `json:"reject_ratio"`
}

type poolState struct {
	spec     PoolSpec
	counters *poolCounters // set once, read without mu (metrics, shares)
	failures int
	nextTry  time.Time
	lastErr  string
	watch    rejectWatch
}

// Reasons a miner cannot be placed on a pool session.
var (
	errNoPool   = errors.New("no pool session available")
	errShutdown = errors.New("proxy shutting down")
)

type dialPurpose uint8

const (
	dialActive dialPurpose = iota // a session miners will use
	dialProbe                     // the primary, while we wait to fail back
)

// poolManager chooses the pool and keeps its sessions: the first healthy
// pool in order is used, a failed pool is retried with jittered exponential
// back-off, and while a backup is in use the primary is probed and taken
// back once it has stayed healthy for failback_after. Its supervisor
// goroutine starts dials; dial results and lost sessions update the state
// under mu and wake the supervisor.
type poolManager struct {
	srv    *Server
	ctx    context.Context
	cancel context.CancelFunc

	mu         sync.Mutex
	pools      []poolState
	active     int // pool in use, -1: none
	lastActive int
	sessions   []*upSession
	dialing    int // extra sessions being dialed on the active pool
	waiting    int // miners in acquire, waiting for a session with room
	activeDial int // pool being dialed while none is active, -1: none
	wantMore   bool
	orphans    map[*minerConn]struct{}
	probe      *upSession
	probeSince time.Time
	probing    bool
	liveCh     chan struct{} // closed and replaced when a session goes live
	grant      uint32
	grantKnown bool
	closed     bool

	wake   chan struct{}
	dialWG sync.WaitGroup

	// failovers[from*len(pools)+to] counts the failovers between two pools.
	failovers []atomic.Uint64
}

func newPoolManager(srv *Server) *poolManager {
	ctx, cancel := context.WithCancel(context.Background())
	m := &poolManager{
		srv: srv, ctx: ctx, cancel: cancel,
		active: -1, lastActive: -1, activeDial: -1,
		orphans: make(map[*minerConn]struct{}),
		liveCh:  make(chan struct{}),
		wake:    make(chan struct{}, 1),
	}
	for _, p := range srv.cfg.Pools {
		m.pools = append(m.pools, poolState{spec: p, counters: &poolCounters{up: upstream.NewCounters()}})
	}
	m.failovers = make([]atomic.Uint64, len(m.pools)*len(m.pools))
	return m
}

func (m *poolManager) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// run is the supervisor; it returns when the server stops.
func (m *poolManager) run() {
	for {
		m.mu.Lock()
		wait, toClose := m.reconcileLocked(time.Now())
		m.mu.Unlock()
		for _, us := range toClose {
			us.sess.Close()
		}
		t := time.NewTimer(wait)
		select {
		case <-m.srv.stop:
			t.Stop()
			return
		case <-m.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// reconcileLocked starts what the state calls for and says how long to
// sleep; it returns sessions to close once the lock is released.
func (m *poolManager) reconcileLocked(now time.Time) (time.Duration, []*upSession) {
	wait := time.Second
	soon := func(t time.Time) {
		if d := t.Sub(now); d < wait {
			wait = d
		}
	}
	if m.closed {
		return wait, nil
	}
	toClose := m.watchRejectsLocked(now)
	switch {
	case m.active < 0:
		if m.activeDial >= 0 {
			break
		}
		for i := range m.pools {
			if !now.Before(m.pools[i].nextTry) {
				m.startDialLocked(i, dialActive)
				break
			}
			soon(m.pools[i].nextTry)
		}
	default:
		p := &m.pools[m.active]
		if m.wantMore && len(m.sessions)+m.dialing < m.srv.cfg.MaxUpstreamSessions {
			if !now.Before(p.nextTry) {
				for n := m.sessionsWantedLocked(); n > 0; n-- {
					m.startDialLocked(m.active, dialActive)
				}
			} else {
				soon(p.nextTry)
			}
		}
		if m.active == 0 {
			break
		}
		primary := &m.pools[0]
		if m.probe == nil && !m.probing {
			if !now.Before(primary.nextTry) {
				m.startDialLocked(0, dialProbe)
			} else {
				soon(primary.nextTry)
			}
		}
		if m.probe != nil {
			due := m.probeSince.Add(primary.spec.FailbackAfter)
			if now.Before(due) {
				soon(due)
			} else {
				toClose = append(toClose, m.failbackLocked()...)
			}
		}
	}
	if wait < 5*time.Millisecond {
		wait = 5 * time.Millisecond
	}
	return wait, toClose
}

// maxParallelDials bounds the sessions opened at once to one pool, so a
// reconnect storm opens the sessions it needs quickly without knocking on
// the pool with dozens of connections in the same instant.
const maxParallelDials = 4

// sessionsWantedLocked is how many more sessions to dial now: enough for
// the miners waiting (and the orphans) at the capacity a session has, one
// at a time while that capacity is unknown.
func (m *poolManager) sessionsWantedLocked() int {
	room := m.srv.cfg.MaxUpstreamSessions - len(m.sessions) - m.dialing
	if len(m.sessions) == 0 {
		return min(room, 1-m.dialing)
	}
	_, per := m.sessions[0].load()
	demand := uint64(m.waiting + len(m.orphans))
	need := int((demand + per - 1) / per)
	return max(0, min(room, maxParallelDials-m.dialing, need-m.dialing))
}

// failbackLocked makes the healthy primary probe the only session; the
// old sessions are closed by the caller and their miners move over.
func (m *poolManager) failbackLocked() []*upSession {
	old := m.sessions
	from := m.active
	m.sessions = []*upSession{m.probe}
	m.probe = nil
	m.active, m.lastActive = 0, 0
	m.grant, m.grantKnown = m.sessions[0].versionMask(), true
	m.broadcastLocked()
	m.srv.log.Info().Str("pool", m.pools[0].spec.Name).Str("from", m.pools[from].spec.Name).
		Msg("primary pool healthy again: failing back")
	return old
}

func (m *poolManager) broadcastLocked() {
	close(m.liveCh)
	m.liveCh = make(chan struct{})
}

func (m *poolManager) startDialLocked(i int, purpose dialPurpose) {
	if purpose == dialProbe {
		m.probing = true
	} else if m.active < 0 {
		m.activeDial = i
	} else {
		m.dialing++
	}
	spec := m.pools[i].spec
	cfg := upstream.Config{
		Pool:           spec.Name,
		Address:        spec.Address,
		User:           spec.User,
		Password:       spec.Password,
		UserAgent:      m.srv.cfg.UserAgent,
		VersionMask:    0xffffffff,
		ConnectTimeout: spec.ConnectTimeout,
		SilenceTimeout: spec.FailoverTimeout,
		WriteTimeout:   m.srv.cfg.WriteTimeout,
		Dial:           m.srv.cfg.DialPool,
		Log:            m.srv.log,
		Counters:       m.pools[i].counters.up,
	}
	m.dialWG.Add(1)
	go func() {
		defer m.dialWG.Done()
		sess, err := upstream.Dial(m.ctx, cfg)
		m.dialDone(i, purpose, sess, err)
	}()
}

func (m *poolManager) dialDone(i int, purpose dialPurpose, sess *upstream.Session, err error) {
	var us *upSession
	if err == nil {
		if us, err = newUpSession(m.srv, i, sess); err != nil {
			sess.Close()
		}
	}
	m.mu.Lock()
	switch {
	case purpose == dialProbe:
		m.probing = false
	case m.activeDial == i && m.active < 0:
		m.activeDial = -1
	default:
		m.dialing--
	}
	if m.closed {
		m.mu.Unlock()
		if us != nil {
			sess.Close()
		}
		return
	}
	if err != nil {
		retry := m.failLocked(i, err)
		m.mu.Unlock()
		m.srv.log.Warn().Str("pool", m.pools[i].spec.Name).Err(err).Str("retry_in", retry.Round(time.Millisecond).String()).Msg("pool connection failed")
		m.poke()
		return
	}
	if purpose == dialActive && m.leftForRejectsLocked(i, time.Now()) {
		m.mu.Unlock() // dialed before the pool was left for its rejections
		sess.Close()
		return
	}
	m.pools[i].failures, m.pools[i].lastErr, m.pools[i].nextTry = 0, "", time.Time{}
	us.lost = m.sessionLost
	use := false
	var failedOver func()
	switch {
	case purpose == dialProbe && m.active > 0:
		m.probe, m.probeSince, use = us, time.Now(), true
	case purpose == dialActive:
		if m.active < 0 {
			if m.lastActive >= 0 && m.lastActive != i {
				m.srv.stats.Failovers.Add(1)
				m.failovers[m.lastActive*len(m.pools)+i].Add(1)
				from, to := m.pools[m.lastActive].spec.Name, m.pools[i].spec.Name
				m.srv.log.Warn().Str("pool", to).Str("from", from).Msg("failed over to pool")
				if f := m.srv.cfg.OnFailover; f != nil {
					failedOver = func() { f(from, to) }
				}
			} else {
				m.srv.log.Info().Str("pool", m.pools[i].spec.Name).Msg("using pool")
			}
			m.active, m.lastActive = i, i
		}
		if m.active == i {
			m.sessions = append(m.sessions, us)
			m.wantMore = false
			m.grant, m.grantKnown = us.versionMask(), true
			m.broadcastLocked()
			use = true
		}
	}
	if use {
		m.pools[i].watch.live = append(m.pools[i].watch.live, us)
	}
	m.mu.Unlock()
	if failedOver != nil {
		failedOver()
	}
	if !use {
		sess.Close()
		return
	}
	sess.Start(us)
	m.adoptOrphans()
	m.poke()
}

// failLocked records a failure and schedules the next try.
func (m *poolManager) failLocked(i int, err error) time.Duration {
	p := &m.pools[i]
	p.failures++
	p.lastErr = err.Error()
	d := m.srv.cfg.BackoffMin << min(p.failures-1, 20)
	if d > m.srv.cfg.BackoffMax || d <= 0 {
		d = m.srv.cfg.BackoffMax
	}
	// Full jitter on half the delay: many proxies restarting together do
	// not knock on the pool in step.
	d = d/2 + rand.N(d/2+1)
	p.nextTry = time.Now().Add(d)
	return d
}

// sessionLost runs on the lost session's goroutine (via Closed).
func (m *poolManager) sessionLost(us *upSession, miners []*minerConn, err error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.pools[us.pool].watch.fold(us)
	if us == m.probe {
		m.probe = nil
		m.failLocked(0, err)
		m.mu.Unlock()
		m.poke()
		return
	}
	wasActive := false
	for i, s := range m.sessions {
		if s == us {
			m.sessions = append(m.sessions[:i], m.sessions[i+1:]...)
			wasActive = true
			break
		}
	}
	if wasActive && !errors.Is(err, upstream.ErrReconnect) {
		m.failLocked(us.pool, err)
	}
	if wasActive && len(m.sessions) == 0 {
		m.srv.log.Warn().Str("pool", m.pools[us.pool].spec.Name).Err(err).Int("miners", len(miners)).
			Msg("lost the last session to the pool in use: failing over")
		m.active = -1
	}
	var reconnect []*minerConn
	for _, mc := range miners {
		if mc.canMove() {
			m.orphans[mc] = struct{}{}
		} else {
			reconnect = append(reconnect, mc)
		}
	}
	m.mu.Unlock()
	for _, mc := range reconnect {
		mc.requestReconnect()
	}
	m.adoptOrphans()
	m.poke()
}

// adoptOrphans moves miners that lost their session onto live ones.
func (m *poolManager) adoptOrphans() {
	for {
		m.mu.Lock()
		if m.closed || len(m.orphans) == 0 {
			m.mu.Unlock()
			return
		}
		var mc *minerConn
		for o := range m.orphans {
			mc = o
			break
		}
		us, p, ok := m.allocLocked()
		if !ok {
			if m.active >= 0 {
				m.wantMore = true
			}
			m.mu.Unlock()
			m.poke()
			return
		}
		delete(m.orphans, mc)
		m.mu.Unlock()
		mc.moveTo(us, p)
	}
}

func (m *poolManager) allocLocked() (*upSession, uint32, bool) {
	for _, us := range m.sessions {
		if p, ok := us.allocPrefix(); ok {
			return us, p, true
		}
	}
	return nil, 0, false
}

func (m *poolManager) dropOrphan(mc *minerConn) {
	m.mu.Lock()
	delete(m.orphans, mc)
	m.mu.Unlock()
}

// acquire finds a session with a free prefix, waiting until until while
// a pool is being connected or a new session opened; waiting (if not
// nil) is called once, before it first waits.
func (m *poolManager) acquire(until time.Time, waiting func()) (*upSession, uint32, error) {
	var t *time.Timer
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	for {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return nil, 0, errShutdown
		}
		if us, p, ok := m.allocLocked(); ok {
			m.mu.Unlock()
			return us, p, nil
		}
		if m.active >= 0 {
			if len(m.sessions)+m.dialing >= m.srv.cfg.MaxUpstreamSessions {
				err := fmt.Errorf("proxy full: all %d sessions to pool %q are full", m.srv.cfg.MaxUpstreamSessions, m.pools[m.active].spec.Name)
				m.mu.Unlock()
				return nil, 0, err
			}
			m.wantMore = true
		}
		ch := m.liveCh
		m.waiting++
		m.mu.Unlock()
		m.poke()
		if t == nil {
			if waiting != nil {
				waiting()
			}
			t = time.NewTimer(time.Until(until))
		}
		var err error
		select {
		case <-ch:
		case <-t.C:
			err = errNoPool
		case <-m.srv.stop:
			err = errShutdown
		}
		m.mu.Lock()
		m.waiting--
		m.mu.Unlock()
		if err != nil {
			return nil, 0, err
		}
	}
}

// waitGrant returns the version mask the pool in use granted, waiting for a
// pool if there is none yet, until until; waiting (if not nil) is called
// once, before it first waits.
func (m *poolManager) waitGrant(until time.Time, stop <-chan struct{}, waiting func()) (uint32, bool) {
	var t *time.Timer
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	for {
		m.mu.Lock()
		grant, known, ch := m.grant, m.grantKnown, m.liveCh
		m.mu.Unlock()
		if known {
			return grant, true
		}
		if t == nil {
			if waiting != nil {
				waiting()
			}
			t = time.NewTimer(time.Until(until))
		}
		select {
		case <-ch:
		case <-t.C:
			return 0, false
		case <-stop:
			return 0, false
		}
	}
}

func (m *poolManager) healthy() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sessions) > 0
}

func (m *poolManager) status() []PoolStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]PoolStatus, len(m.pools))
	for i, p := range m.pools {
		st := PoolStatus{Name: p.spec.Name, Address: p.spec.Address, State: "standby", Failures: p.failures, LastError: p.lastErr,
			Rejecting: p.watch.rejecting, RejectRatio: p.watch.ratio}
		switch {
		case i == m.active:
			st.State = "active"
			for _, us := range m.sessions {
				n, _ := us.load()
				st.Miners += n
				st.Sessions++
			}
		case i == 0 && m.probe != nil:
			st.State, st.Sessions = "probing", 1
		case p.failures > 0:
			// Failing until a connection to it succeeds again.
			st.State = "failed"
		}
		out[i] = st
	}
	return out
}

// closeAll ends every session once the server has stopped.
func (m *poolManager) closeAll() {
	m.mu.Lock()
	m.closed = true
	m.cancel()
	all := append([]*upSession(nil), m.sessions...)
	if m.probe != nil {
		all = append(all, m.probe)
	}
	m.sessions, m.probe = nil, nil
	m.mu.Unlock()
	m.dialWG.Wait()
	for _, us := range all {
		us.sess.Close()
	}
}
