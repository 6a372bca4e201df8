package proxy

import (
	"container/list"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/stratum"
	"github.com/hashgate/hashgate/stratum/vardiff"
)

// minerConn is one miner connection. Its reader (its goroutine, or the
// read poller it is parked in) owns the protocol state; other goroutines
// (fan-out, pool answers) only queue bytes. A flusher goroutine exists
// only while bytes are queued, so an idle TCP miner at work costs no
// goroutine at all (one parked in a poller) and a small buffer.
type minerConn struct {
	srv      *Server
	id       uint64
	conn     net.Conn
	remote   string
	host     string // the source IP of a TCP miner; "" for others (in memory)
	source   string // what the per-address handshake cap counts: host, or its /64
	accepted int64  // sinceEpoch of the accept: the handshake's deadline runs from here (8 bytes, not a time.Time's 24: TestPerRigStructsStayInTheirSizeClass)

	// Guarded by the server's mu: its place in the evictable handshake
	// share (nil once through, or while it waits for a pool session),
	// whether it counts in the handshake share of its source, and its rig
	// (set when named).
	unauthAt    *list.Element
	inHandshake bool
	rig         *rigConns

	// mu guards the protocol state below; held briefly.
	mu            sync.Mutex
	subscribed    bool
	authorized    bool
	working       atomic.Bool // gets jobs: subscribed, authorized, admitted, on a session (written under mu, read by fan-out without it)
	admitted      bool
	standby       bool // a second connection of its rig (see rigConns)
	detached      bool // closed: its accounts are let go
	name          string
	workers       []string
	extranonceSub bool
	rolling       bool
	reqMask       uint32 // version-rolling mask the miner asked for
	mask          uint32 // granted: request ∩ pool grant
	vd            vardiff.State
	diff          float64               // the difficulty now: the last one sent
	eps           [diffEpochs]diffEpoch // newest first; see judgeEpoch
	diffMu        sync.Mutex            // one difficulty change at a time (taken before mu)
	sess          *upSession
	prefix        uint32
	prefixHex     string // k bytes, hex
	prefixBytes   [4]byte
	prefixLen     uint8          // k, 0-4
	accounts      []*workerStats // one per authorized worker, in m.workers order

	// Share-path state, touched only by the reader: the miner's goroutine,
	// or its poller while parked there.
	lr           *stratum.LineReader
	moreInput    bool     // lines already read wait behind this one
	recent       []uint64 // keys of recent shares, for duplicates
	recentNext   int
	rejectStreak int    // rejections since the last accepted share
	sentFrom     uint64 // seq of the first job this connection got on its session (under mu); noJobSent before
	rootJob      *job   // the last share's job, extranonce2 and merkle root (rootFor)
	rootEN2      [stratum.MaxExtranonce2Size]byte
	rootEN2Len   uint8
	root         [32]byte
	streakSince  int64       // sinceEpoch of the streak's first rejection
	invalid      tokenBucket // invalid submits allowed
	stale        tokenBucket // stale and unknown-job submits allowed

	lastSend   atomic.Int64  // unix nanoseconds of the last message queued
	lastRead   atomic.Int64  // unix nanoseconds of the last read while parked in a poller
	polled     atomic.Bool   // reads are the poller's: no reader goroutine now
	poller     *readPoller   // the poller it parks in; nil: none (not TCP, or no pollers)
	lastJob    atomic.Uint64 // seq of the newest session job queued to the miner
	writeArmed atomic.Int64  // unix nanoseconds the write deadline was last set
	workSince  atomic.Int64  // unix nanoseconds it last started getting jobs

	// qmu guards the outbound queue.
	qmu      sync.Mutex
	queue    []outMsg
	flushing bool
	closed   bool
	room     chan struct{} // made when the reader first waits for room
	tw       TryWriter     // non-blocking writes for fan-out; nil: none
	cleanGen atomic.Uint32 // bumped by every clean_jobs notify queued
	reconnT  *time.Timer
}

func newMinerConn(s *Server, c net.Conn) *minerConn {
	m := &minerConn{srv: s, id: s.nextMinerID.Add(1), conn: c, remote: c.RemoteAddr().String(), tw: tryWriterOf(c)}
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		m.host = a.IP.String()
		m.source = sourceOf(a.IP)
	}
	m.sentFrom = noJobSent
	now := time.Now()
	m.accepted = sinceEpoch(now)
	m.vd = vardiff.New(&s.cfg.Difficulty, now)
	m.resetDifficulty()
	m.invalid = tokenBucket{tokens: s.cfg.Abuse.InvalidBurst, at: now}
	m.stale = tokenBucket{tokens: s.cfg.Abuse.StaleBurst, at: now}
	m.lr = stratum.NewLineReader(minerReader{m}, s.cfg.MaxLineBytes)
	m.poller = s.pollerFor(m) // set once: read without a lock by close
	return m
}

// noJobSent is sentFrom before the connection was sent any work: every
// job of its session is one it was never sent (answered 21).
const noJobSent = ^uint64(0)

// minerReader is what a miner's LineReader reads: the connection, blocking
// with deadlines, from the miner's goroutine; or, parked in a poller, what
// the socket holds now.
type minerReader struct{ m *minerConn }

func (r minerReader) Read(b []byte) (int, error) {
	if r.m.polled.Load() {
		return r.m.poller.readNow(r.m, b)
	}
	return r.m.conn.Read(b)
}

// rawConn is the socket of a TCP miner, nil for other connections.
func (m *minerConn) rawConn() syscall.RawConn {
	if t, ok := m.tw.(tcpTryWriter); ok {
		return t.rc
	}
	return nil
}

func (m *minerConn) logger() zerolog.Logger {
	l := m.srv.log.With().Str("remote", m.remote)
	m.mu.Lock()
	if m.name != "" {
		l = l.Str("worker", m.name)
	}
	m.mu.Unlock()
	return l.Logger()
}

// serve is the reader goroutine.
func (m *minerConn) serve() { m.serveFrom(nil) }

// serveFrom is the reader goroutine, from line (a line a poller read and
// handed back) if not nil. A miner at work with nothing buffered is parked
// in a poller and the goroutine ends.
func (m *minerConn) serveFrom(line []byte) {
	lr := m.lr
	reason := reasonEOF
	var cause error
	var arm readArm
	for {
		m.mu.Lock()
		inHandshake := !m.authorized || !m.subscribed
		m.mu.Unlock()
		if line == nil {
			if p := m.poller; p != nil && lr.Buffered() == 0 && m.working.Load() && !m.queueNearlyFull() {
				if !arm.at.IsZero() {
					_ = m.conn.SetReadDeadline(time.Time{}) // the poller reads without one
				}
				if p.park(m) {
					return
				}
				arm = readArm{}
			}
			m.armRead(&arm, inHandshake, time.Now())
			var err error
			if line, err = lr.ReadLine(); err != nil {
				reason, cause = readFailure(err)
				if reason != reasonTimeout {
					break
				}
				if inHandshake {
					reason = reasonHandshakeTimeout
					break
				}
				now := time.Now()
				until, ok := m.silenceExcused(now)
				if !ok {
					break
				}
				_ = m.conn.SetReadDeadline(until)
				arm = readArm{at: now, until: until}
				continue
			}
		}
		// With more lines already read, answers are queued and written
		// together by a flusher; otherwise the reader writes its answer.
		m.moreInput = lr.Buffered() > 0
		// Shares are most of the traffic: the common form is read without
		// encoding/json; anything unusual goes the general way below.
		var sub stratum.Submit
		if id, ok := stratum.ParseSubmitLine(line, &sub); ok {
			line = nil
			m.onSubmit(id, &sub, nil, time.Now())
			continue
		}
		msg, err := stratum.Decode(line)
		line = nil
		if err != nil {
			reason, cause = reasonGarbage, err
			break
		}
		if !m.handle(msg) {
			return // handle closed the connection itself
		}
	}
	if reason == reasonEOF {
		m.readerClose(reason, cause) // its answers first: it may have half-closed
		return
	}
	m.close(reason, cause)
}

// readArm is the read deadline a reader last set.
type readArm struct {
	at        time.Time // when (zero: none set)
	until     time.Time
	handshake bool
}

// armRead sets the read deadline. In the handshake it is
// handshake_timeout after accept: one deadline for the whole handshake,
// so a client that sends a harmless line every few seconds is cut all
// the same. After, it is read_timeout after the last line, re-armed at
// most once a second or a quarter of the timeout (each arm is a runtime
// timer update; at a share per read that was ~2% of the CPU): it may fire
// that much early.
func (m *minerConn) armRead(a *readArm, inHandshake bool, now time.Time) {
	var until time.Time
	if inHandshake {
		until = m.handshakeDeadline()
		if a.handshake && until.Equal(a.until) {
			return
		}
	} else {
		t := m.srv.cfg.ReadTimeout
		if !a.at.IsZero() && !a.handshake && now.Sub(a.at) < min(time.Second, t/4) {
			return
		}
		until = now.Add(t)
	}
	_ = m.conn.SetReadDeadline(until)
	*a = readArm{at: now, until: until, handshake: inHandshake}
}

// silenceExcused says whether a read timeout is no reason to cut m, and
// until when to read on. A rig waiting without work (parked, or not yet
// admitted) sends nothing by design: cutting it restarted the firmware's
// failover race and ~120 s of wasted hashing at every reconnect. Its
// liveness is TCP keepalive and the keepalive messages it is sent (a
// dead host fails them within TCP_USER_TIMEOUT, see setLiveness). A rig
// that was given work is judged from when it got it.
func (m *minerConn) silenceExcused(now time.Time) (until time.Time, ok bool) {
	t := m.srv.cfg.ReadTimeout
	if !m.working.Load() {
		return now.Add(t), true
	}
	if since := time.Unix(0, m.workSince.Load()); now.Sub(since) < t {
		return since.Add(t), true
	}
	return time.Time{}, false
}

func readFailure(err error) (closeReason, error) {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		return reasonEOF, nil
	case errors.Is(err, stratum.ErrLineTooLong):
		return reasonLineTooLong, nil
	case errors.As(err, &ne) && ne.Timeout():
		return reasonTimeout, nil
	}
	return reasonReadError, err
}

// handle answers one message; false means the connection is closed.
func (m *minerConn) handle(msg *stratum.Message) bool {
	if !msg.IsRequest() {
		return true // miners answer our client.get_version etc.; nothing to do
	}
	switch msg.Method {
	case stratum.MethodConfigure:
		return m.onConfigure(msg)
	case stratum.MethodSubscribe:
		return m.onSubscribe(msg)
	case stratum.MethodAuthorize:
		return m.onAuthorize(msg)
	case stratum.MethodSubmit:
		sub, err := stratum.ParseSubmit(msg.Params)
		m.onSubmit(msg.ID, sub, err, time.Now())
	case stratum.MethodExtranonceSubscribe:
		m.mu.Lock()
		m.extranonceSub = true
		m.mu.Unlock()
		m.reply(msg.ID, []byte("true"))
	case stratum.MethodSuggestDifficulty:
		m.onSuggestDifficulty(msg)
	case stratum.MethodPing:
		m.reply(msg.ID, []byte(`"pong"`))
	default:
		// mining.get_transactions, mining.capabilities, typos: answered
		// at once, never a disconnect.
		m.replyError(msg.ID, stratum.NewError(stratum.ErrOther, "unknown method "+strconv.Quote(msg.Method)))
	}
	return true
}
