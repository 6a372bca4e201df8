package upstream

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/internal/lograte"
	"github.com/hashgate/hashgate/stratum"
)

// Config says how to reach one pool and how patient to be with it.
type Config struct {
	Pool      string // the pool's name, for logs
	Address   string // host:port
	User      string
	Password  string
	UserAgent string // sent in mining.subscribe, e.g. hashgate/0.1.0
	// VersionMask is the BIP310 mask asked for in mining.configure; the
	// pool's grant is what counts. 0 skips mining.configure.
	VersionMask uint32

	ConnectTimeout time.Duration // dial plus handshake
	SilenceTimeout time.Duration // no line from the pool this long: dead
	WriteTimeout   time.Duration
	SubmitTimeout  time.Duration // a submit unanswered this long fails (checked every quarter of it: after 1.25-1.5 times it)
	MaxLineBytes   int
	// WritePace is the least time between two writes to the pool: what
	// arrives meanwhile goes out in the next one (see writer). Default
	// DefaultWritePace.
	WritePace time.Duration

	// Counters count this pool's submits and verdicts across sessions;
	// nil: the session counts into its own.
	Counters *Counters

	// Dial replaces net.Dialer when set (tests, in-memory pools).
	Dial func(ctx context.Context, address string) (net.Conn, error)
	Log  zerolog.Logger
}

// Defaults for a zero field of Config. The proxy's pool defaults (and
// the config file's connect_timeout and failover_timeout) are these.
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultSilenceTimeout = 30 * time.Second
	DefaultWriteTimeout   = 10 * time.Second
	DefaultSubmitTimeout  = 30 * time.Second
	// DefaultWritePace: under load that is tens of submits per write
	// instead of a few (a loopback write costs the sender 3-8 µs here,
	// and each one wakes the writer and the pool); an idle writer still
	// writes the first submit at once.
	DefaultWritePace = time.Millisecond
	// A notify with a big coinbase and 15 branches is a few KiB.
	DefaultMaxLineBytes = 64 << 10
	DefaultUserAgent    = "hashgate"
)

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.ConnectTimeout, DefaultConnectTimeout)
	def(&c.SilenceTimeout, DefaultSilenceTimeout)
	def(&c.WriteTimeout, DefaultWriteTimeout)
	def(&c.SubmitTimeout, DefaultSubmitTimeout)
	def(&c.WritePace, DefaultWritePace)
	if c.MaxLineBytes <= 0 {
		c.MaxLineBytes = DefaultMaxLineBytes
	}
	if c.UserAgent == "" {
		c.UserAgent = DefaultUserAgent
	}
}

// Handler hears what the pool says after the handshake, on the session's
// own goroutine, in the order the pool said it. Calls must not block long:
// the pool's next line waits for them.
type Handler interface {
	SetExtranonce(s *Session, extranonce1 []byte, extranonce2Size int)
	SetDifficulty(s *Session, difficulty float64)
	Notify(s *Session, n *stratum.Notify)
	SetVersionMask(s *Session, mask uint32)
	// Closed is called once, when the session is over for any reason. It
	// must not call Close (which waits for the goroutine calling Closed).
	Closed(s *Session, err error)
}

// Errors a session ends with.
var (
	ErrRefused   = errors.New("upstream: pool refused authorization")
	ErrSilent    = errors.New("upstream: pool silent past failover timeout")
	ErrClosed    = errors.New("upstream: session closed")
	ErrReconnect = errors.New("upstream: pool asked to reconnect")
)

// ErrLost is the verdict on a share sent (or queued for the writer) on a
// pool connection that ended before the pool answered it: the miner was
// already told true, and nobody knows whether the pool credited it.
var ErrLost = stratum.NewError(stratum.ErrJobNotFound, "pool connection lost before it answered")

// ErrNoAnswer is the verdict on a share the pool did not answer within
// the submit timeout: lost as well.
var ErrNoAnswer = stratum.NewError(stratum.ErrOther, "pool did not answer in time")

// ErrNotSent answers a share submitted on a session already closed: it
// never reached the pool.
var ErrNotSent = stratum.NewError(stratum.ErrJobNotFound, "pool connection closed: submit not sent")

// ErrBacklog answers shares that would queue behind maxBacklog bytes the
// pool has not read: it is not reading, and its connection ends at
// WriteTimeout anyway. The share never reached the pool.
var ErrBacklog = stratum.NewError(stratum.ErrOther, "pool is not reading: submit not sent")

// maxBacklog bounds what waits for the writer (submits, pings): 4 MiB is
// ~30,000 submits, a second of a very large site's shares.
const maxBacklog = 4 << 20

// SubmitResult is the pool's verdict on one share: nil error = accepted.
type SubmitResult func(err *stratum.Error)

// Session is one live, authorized connection to a pool.
type Session struct {
	cfg  Config
	conn net.Conn
	log  zerolog.Logger
	lr   *stratum.LineReader

	wmu        sync.Mutex    // guards out: submits, pings and answers to the pool, queued for the writer
	out        []byte        // submits waiting for the writer
	outReady   chan struct{} // wakes the writer (capacity 1)
	urgent     chan struct{} // ends the writer's pause: a block candidate is queued (capacity 1)
	writerDone chan struct{}

	nextID atomic.Uint64

	mu          sync.Mutex
	pending     pendingSubmits
	sweepGen    uint64 // counts the sweep's ticks: a submit's age in quarters of the submit timeout
	extranonce1 []byte
	en2Size     int
	mask        uint32
	difficulty  float64
	lastNotify  *stratum.Notify
	closeErr    error
	closed      bool
	running     atomic.Bool

	answered, rejected uint64 // the pool's answers to submits, and its refusals among them (under mu)

	badLog *lograte.Limiter // bad values: one line a minute, then a count

	counters *Counters     // the pool's, from Config (never nil)
	start    time.Time     // when dialed: the pending submits' clock starts here
	readAt   time.Duration // since start, when the reader's last read returned (the reader's own)

	stop chan struct{}
	done chan struct{}
}

// Handshake ids; submits count up from firstSubmitID.
const (
	idConfigure = 1 + iota
	idSubscribe
	idExtranonce
	idAuthorize
	firstSubmitID
)

// Dial connects to the pool and completes the handshake: it returns a
// session that is subscribed and authorized, or an error saying which step
// failed. Nothing runs in the background until Start.
func Dial(ctx context.Context, cfg Config) (*Session, error) {
	cfg.setDefaults()
	ctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	dial := cfg.Dial
	if dial == nil {
		var d net.Dialer
		dial = func(ctx context.Context, addr string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
	}
	conn, err := dial(ctx, cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	s := &Session{
		cfg:  cfg,
		conn: conn,
		log:  cfg.Log.With().Str("pool", cfg.Pool).Str("remote", cfg.Address).Logger(),
		// A pool session carries every forwarded share's answer: many
		// lines per read.
		lr:         stratum.NewLineReaderSize(conn, cfg.MaxLineBytes, 64<<10),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
		outReady:   make(chan struct{}, 1),
		urgent:     make(chan struct{}, 1),
		writerDone: make(chan struct{}),
	}
	s.badLog = lograte.New(s.log, time.Minute, 1)
	s.counters, s.start = cfg.Counters, time.Now()
	if s.counters == nil {
		s.counters = NewCounters()
	}
	s.nextID.Store(firstSubmitID - 1)
	if err := s.handshake(ctx); err != nil {
		conn.Close()
		s.badLog.Close()
		return nil, err
	}
	return s, nil
}

func (s *Session) handshake(ctx context.Context) error {
	deadline, _ := ctx.Deadline()
	_ = s.conn.SetDeadline(deadline)
	// Closing the conn unblocks the handshake's reads when ctx ends early.
	stopWatch := context.AfterFunc(ctx, func() { _ = s.conn.SetDeadline(time.Unix(1, 0)) })
	defer stopWatch()

	var out []byte
	if s.cfg.VersionMask != 0 {
		out, _ = stratum.AppendRequest(out, stratum.IntID(idConfigure), stratum.MethodConfigure, []any{
			[]string{"version-rolling"},
			map[string]any{"version-rolling.mask": fmt.Sprintf("%08x", s.cfg.VersionMask), "version-rolling.min-bit-count": 2},
		})
	}
	out, _ = stratum.AppendRequest(out, stratum.IntID(idSubscribe), stratum.MethodSubscribe, []any{s.cfg.UserAgent})
	out, _ = stratum.AppendRequest(out, stratum.IntID(idExtranonce), stratum.MethodExtranonceSubscribe, []any{})
	out, _ = stratum.AppendRequest(out, stratum.IntID(idAuthorize), stratum.MethodAuthorize, []any{s.cfg.User, s.cfg.Password})
	if _, err := s.conn.Write(out); err != nil {
		return fmt.Errorf("send handshake: %w", err)
	}
	subscribed, authorized := false, false
	// Bounded: a pool that floods us during the handshake is given up on.
	for range 10000 {
		line, err := s.lr.ReadLine()
		if err != nil {
			if !subscribed {
				return fmt.Errorf("no answer to mining.subscribe: %w", err)
			}
			return fmt.Errorf("no answer to mining.authorize: %w", err)
		}
		m, err := stratum.Decode(line)
		if err != nil {
			return fmt.Errorf("handshake: %w", err)
		}
		if m.IsRequest() {
			if err := s.applyNotification(m, nil); err != nil {
				return fmt.Errorf("handshake: %s: %w", m.Method, err)
			}
			continue
		}
		id, _ := m.IDInt()
		perr := stratum.ParseError(m.Error)
		switch id {
		case idConfigure:
			if perr == nil {
				_, s.mask = stratum.ParseConfigureResult(m.Result)
			}
		case idSubscribe:
			if perr != nil {
				return fmt.Errorf("mining.subscribe refused: %s", perr.Message)
			}
			r, err := stratum.ParseSubscribeResult(m.Result)
			if err != nil {
				return fmt.Errorf("mining.subscribe: %w", err)
			}
			s.extranonce1, s.en2Size = r.Extranonce1, r.Extranonce2Size
			subscribed = true
		case idAuthorize:
			if perr != nil || string(m.Result) != "true" {
				return fmt.Errorf("%w: user %q", ErrRefused, s.cfg.User)
			}
			authorized = true
		}
		if subscribed && authorized {
			_ = s.conn.SetDeadline(time.Time{})
			s.log.Info().Str("extranonce1", hex.EncodeToString(s.extranonce1)).
				Int("extranonce2_size", s.en2Size).Str("version_mask", fmt.Sprintf("%08x", s.mask)).
				Msg("upstream session ready")
			return nil
		}
	}
	return errors.New("handshake: too many lines before authorization")
}

// Extranonce1 is the pool's extranonce1 for this session.
func (s *Session) Extranonce1() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.extranonce1
}

// Extranonce2Size is the pool's extranonce2 size N for this session.
func (s *Session) Extranonce2Size() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.en2Size
}

// VersionMask is the version-rolling mask the pool granted (0: none).
func (s *Session) VersionMask() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mask
}

// Difficulty is the pool's current difficulty (0 until it sends one).
func (s *Session) Difficulty() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.difficulty
}

// LastNotify is the newest job the pool sent, nil if none yet.
func (s *Session) LastNotify() *stratum.Notify {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastNotify
}

// Verdicts counts the submits the pool answered on this session, and
// how many of those it refused (an error or false).
func (s *Session) Verdicts() (answered, rejected uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.answered, s.rejected
}

// Pool is the configured pool name.
func (s *Session) Pool() string { return s.cfg.Pool }

// Start starts following the pool in the session's own goroutines and
// returns once they run; h hears about it until Closed. Close stops the
// session and returns once its goroutines are gone.
func (s *Session) Start(h Handler) {
	s.running.Store(true)
	sweepDone := make(chan struct{})
	go func() {
		defer close(sweepDone)
		s.sweep()
		<-s.writerDone
	}()
	go s.writer()
	go s.read(h, sweepDone)
}

// writer sends the submits queued by Submit: under load, many shares go
// out in one write instead of one write each, at most one write per
// Config.WritePace (a block candidate cuts the pause short). It stops
// with the session.
func (s *Session) writer() {
	defer close(s.writerDone)
	var out []byte
	pace := time.NewTimer(s.cfg.WritePace)
	defer pace.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-s.outReady:
		}
		s.wmu.Lock()
		out, s.out = s.out, out[:0]
		s.wmu.Unlock()
		if len(out) == 0 {
			continue
		}
		// Not under wmu: submitters keep appending meanwhile (a net.Conn
		// keeps concurrent Writes whole).
		err := s.writeLocked(out)
		if err != nil {
			s.shutdown(fmt.Errorf("write to pool: %w", err))
			return
		}
		pace.Reset(s.cfg.WritePace)
		select {
		case <-s.stop:
			return
		case <-pace.C:
		case <-s.urgent:
		}
	}
}

// Close ends the session and waits until its goroutines are gone. Pending
// submits are failed. Safe to call more than once and before Start.
func (s *Session) Close() {
	defer s.badLog.Close() // a session that never started has no reader to close it
	s.shutdown(ErrClosed)
	select {
	case <-s.done:
	default:
		// Not running: nothing to wait for, but Closed was not called either.
		if !s.running.Load() {
			return
		}
		<-s.done
	}
}

// Abort ends the session without waiting for its goroutines; safe from a
// Handler method.
func (s *Session) Abort(err error) { s.shutdown(err) }

// Done is closed when the session's reader has stopped.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err is why the session ended, nil while it is live.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeErr
}

func (s *Session) shutdown(err error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.closeErr = err
	pending := s.pending.drain()
	s.mu.Unlock()
	close(s.stop)
	_ = s.conn.Close()
	for _, cb := range pending {
		s.result(cb, ErrLost)
	}
}

func (s *Session) read(h Handler, sweepDone <-chan struct{}) {
	defer close(s.done)
	defer s.badLog.Close()
	// Replay what arrived during the handshake, so the handler starts from
	// the pool's current state.
	s.mu.Lock()
	diff, notify := s.difficulty, s.lastNotify
	s.mu.Unlock()
	if diff > 0 {
		h.SetDifficulty(s, diff)
	}
	if notify != nil {
		h.Notify(s, notify)
	}
	var err error
	pinged := false
	for {
		// Pools send a job every 30-60 s, which may be longer than the
		// failover timeout: halfway through a silence we ask (any answer,
		// even an error, proves the pool alive); a pool silent for the
		// whole timeout is dead.
		// Only before a read that may block: a buffered line needs no new
		// deadline (under load most pool answers arrive several per read).
		buffered := s.lr.HasLine()
		if !buffered {
			_ = s.conn.SetReadDeadline(time.Now().Add(s.cfg.SilenceTimeout / 2))
		}
		var line []byte
		line, err = s.lr.ReadLine()
		if !buffered {
			// One clock reading per read from the socket: the answers
			// that came in it were all read now (submit round trips).
			s.readAt = time.Since(s.start)
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if !pinged {
					pinged = true
					s.ping()
					continue
				}
				err = ErrSilent
			}
			break
		}
		pinged = false
		// Most lines are answers to our submits: read those without
		// encoding/json.
		if id, ok, fast := stratum.ParseAnswerLine(line); fast {
			s.settle(id, ok, nil)
			continue
		}
		m, derr := stratum.Decode(line)
		if derr != nil {
			err = fmt.Errorf("pool sent garbage: %w", derr)
			break
		}
		if m.IsRequest() {
			if aerr := s.applyNotification(m, h); aerr != nil {
				err = aerr
				break
			}
			continue
		}
		s.answer(m)
	}
	s.shutdown(err)
	<-sweepDone
	s.mu.Lock()
	err = s.closeErr
	s.mu.Unlock()
	if errors.Is(err, ErrClosed) {
		s.log.Debug().Msg("upstream session closed")
	} else {
		s.log.Warn().Err(err).Msg("upstream session lost")
	}
	h.Closed(s, err)
}

// applyNotification follows one message the pool sent us. h is nil during
// the handshake: the state is stored and replayed by Start.
func (s *Session) applyNotification(m *stratum.Message, h Handler) error {
	switch m.Method {
	case stratum.MethodSetDifficulty:
		ps, err := stratum.SplitParams(m.Params)
		var d float64
		if err == nil {
			d, err = stratum.FloatParam(ps, 0) // refuses NaN and ±Inf
		}
		if err != nil || d <= 0 {
			// Ignored, the last good difficulty stays: the pool's jobs are
			// still good, and shares keep going to it at a difficulty it
			// asked for. Dropping the session for one bad value would move
			// every miner for nothing; a pool that then refuses the shares
			// is caught by the rejection watch.
			s.badValue(m, "pool sent a difficulty that is not a finite number above 0: ignored, the last good one stays")
			return nil
		}
		s.mu.Lock()
		s.difficulty = d
		s.mu.Unlock()
		if h != nil {
			h.SetDifficulty(s, d)
		}
	case stratum.MethodNotify:
		n, err := stratum.ParseNotify(m.Params)
		if err != nil {
			// A pool whose jobs we cannot read is of no use to miners.
			return fmt.Errorf("pool sent a bad mining.notify: %w", err)
		}
		s.mu.Lock()
		s.lastNotify = n
		s.mu.Unlock()
		if h != nil {
			h.Notify(s, n)
		}
	case stratum.MethodSetExtranonce:
		r, err := stratum.ParseSetExtranonce(m.Params)
		if err != nil {
			return fmt.Errorf("pool sent a bad mining.set_extranonce: %w", err)
		}
		s.mu.Lock()
		s.extranonce1, s.en2Size = r.Extranonce1, r.Extranonce2Size
		s.mu.Unlock()
		if h != nil {
			h.SetExtranonce(s, r.Extranonce1, r.Extranonce2Size)
		}
	case stratum.MethodSetVersionMask:
		mask, err := stratum.ParseVersionMask(m.Params)
		if err != nil {
			s.badValue(m, "pool sent a bad version mask: ignored")
			return nil
		}
		s.mu.Lock()
		s.mask = mask
		s.mu.Unlock()
		if h != nil {
			h.SetVersionMask(s, mask)
		}
	case stratum.MethodReconnect:
		// We reconnect to the configured address, never to one the pool
		// names: a pool connection must not be redirectable from outside.
		s.log.Info().Str("params", string(m.Params)).Msg("pool asked to reconnect")
		return ErrReconnect
	case stratum.MethodPing:
		s.writeLine(stratum.AppendRawResponse(nil, m.ID, []byte(`"pong"`)))
	case "client.get_version":
		b, _ := json.Marshal(s.cfg.UserAgent)
		s.writeLine(stratum.AppendRawResponse(nil, m.ID, b))
	case stratum.MethodShowMessage:
		s.log.Info().Str("params", string(m.Params)).Msg("pool message")
	default:
		if m.HasID() {
			s.writeLine(stratum.AppendError(nil, m.ID, stratum.NewError(stratum.ErrOther, "unknown method")))
		}
		s.log.Debug().Str("method", m.Method).Msg("pool sent an unknown method")
	}
	return nil
}

// badValue logs a value the pool sent that was ignored: the first one a
// minute, the rest counted in one summary line (a pool repeating it must
// not flood the log).
func (s *Session) badValue(m *stratum.Message, msg string) {
	if !s.badLog.Allow("bad value from the pool", time.Now()) {
		return
	}
	params := m.Params
	if len(params) > 128 {
		params = params[:128]
	}
	s.log.Error().Str("method", m.Method).Str("params", string(params)).Float64("difficulty", s.Difficulty()).Msg(msg)
}

// answer matches a response to its pending submit.
func (s *Session) answer(m *stratum.Message) {
	id, ok := m.IDInt()
	if !ok {
		return
	}
	s.settle(id, string(m.Result) == "true", stratum.ParseError(m.Error))
}

// settle hands the pool's verdict on submit id to its callback.
func (s *Session) settle(id uint64, result bool, perr *stratum.Error) {
	if id < firstSubmitID {
		return // late answers to the handshake, e.g. extranonce.subscribe
	}
	bad := perr != nil || !result
	s.mu.Lock()
	cb, sent := s.pending.take(id)
	if cb != nil {
		// For the proxy's rejection watch: two increments under the lock
		// already taken, nothing more per share.
		s.answered++
		if bad {
			s.rejected++
		}
	}
	s.mu.Unlock()
	if cb == nil {
		return // a ping's answer, or one after its timeout
	}
	s.counters.RoundTrip.Observe(max(s.readAt-sent, 0))
	switch {
	case perr != nil:
		s.result(cb, perr)
	case !result:
		s.result(cb, errRefusedShare)
	default:
		s.result(cb, nil)
	}
}

// errRefusedShare is a pool's false answer without an error.
var errRefusedShare = stratum.NewError(stratum.ErrOther, "pool answered false")

// Share is one share to forward, its fields in hex as the miner sent
// them. The pool-side extranonce2 is Extranonce2Prefix ‖ Extranonce2 (the
// proxy's prefix and the miner's part), sent as one string; they are kept
// apart so the proxy does not join them for every share.
type Share struct {
	JobID             string
	Extranonce2Prefix string
	Extranonce2       string
	NTime, Nonce      string
	Version           string // empty: no version rolling
	// Block: the share meets the network target. It goes ahead of the
	// submits waiting for the writer, and is queued even past the backlog
	// bound: a block is worth more than the memory.
	Block bool
	// At is when the share was read from the miner: the submit's round
	// trip is measured from it (zero: from Submit, one clock reading).
	At time.Time
}

// Submit sends one share under the pool user; cb hears the pool's verdict
// exactly once (or a timeout or a lost connection).
func (s *Session) Submit(sh Share, cb SubmitResult) {
	// Laid out by hand at the end of the writer's buffer: this runs for
	// every forwarded share.
	s.counters.Submitted.Add(1)
	sent := s.sinceStart(sh.At)
	s.wmu.Lock()
	s.mu.Lock()
	if s.closed { // checked with the pending queue in hand: shutdown empties it
		s.mu.Unlock()
		s.wmu.Unlock()
		s.result(cb, ErrNotSent)
		return
	}
	if len(s.out) >= maxBacklog && !sh.Block {
		s.mu.Unlock()
		s.wmu.Unlock()
		s.result(cb, ErrBacklog)
		return
	}
	id := s.nextID.Add(1)
	s.pending.push(id, cb, s.sweepGen, sent)
	s.mu.Unlock()
	start := len(s.out)
	b := append(s.out, `{"id":`...)
	b = strconv.AppendUint(b, id, 10)
	b = append(b, `,"method":"mining.submit","params":[`...)
	b = appendJSONString(b, s.cfg.User, "")
	b = append(b, ',')
	b = appendJSONString(b, sh.JobID, "")
	b = append(b, ',')
	b = appendJSONString(b, sh.Extranonce2Prefix, sh.Extranonce2)
	b = append(b, ',')
	b = appendJSONString(b, sh.NTime, "")
	b = append(b, ',')
	b = appendJSONString(b, sh.Nonce, "")
	if sh.Version != "" {
		b = append(b, ',')
		b = appendJSONString(b, sh.Version, "")
	}
	b = append(b, "]}\n"...)
	if sh.Block && start > 0 {
		// A block candidate goes ahead of the shares still waiting: every
		// moment it waits, the block may go stale. Rare enough for a copy.
		line := append([]byte(nil), b[start:]...)
		copy(b[len(line):], b[:start])
		copy(b, line)
	}
	s.out = b
	s.wmu.Unlock()
	select {
	case s.outReady <- struct{}{}:
	default: // the writer is already woken
	}
	if sh.Block {
		select {
		case s.urgent <- struct{}{}:
		default:
		}
	}
}

// appendJSONString appends v ‖ w as one JSON string; plain ASCII (hex,
// worker names, job ids) is copied as is, anything else is escaped by
// encoding/json.
func appendJSONString(b []byte, v, w string) []byte {
	if !plainJSON(v) || !plainJSON(w) {
		q, _ := json.Marshal(v + w)
		return append(b, q...)
	}
	b = append(b, '"')
	b = append(b, v...)
	b = append(b, w...)
	return append(b, '"')
}

func plainJSON(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// ping asks the pool for any answer; the answer itself is ignored.
func (s *Session) ping() {
	id := s.nextID.Add(1)
	line, _ := stratum.AppendRequest(nil, stratum.IntID(id), stratum.MethodPing, []any{})
	s.writeLine(line)
}

// writeLine queues one line (a ping, an answer to the pool) for the
// writer, behind the submits already queued. Not written here under wmu:
// a pool that stops reading would then hold every Submit (the proxy's
// read pollers among them) for the whole write timeout.
func (s *Session) writeLine(line []byte) {
	if !s.running.Load() {
		// In the handshake (a ping or get_version before authorize): no
		// writer yet, and nobody else writes.
		s.wmu.Lock()
		err := s.writeLocked(line)
		s.wmu.Unlock()
		if err != nil {
			s.shutdown(fmt.Errorf("write to pool: %w", err))
		}
		return
	}
	s.wmu.Lock()
	if len(s.out) < maxBacklog { // past it the pool is not reading: a lost pong is no loss
		s.out = append(s.out, line...)
	}
	s.wmu.Unlock()
	select {
	case s.outReady <- struct{}{}:
	default: // the writer is already woken
	}
}

func (s *Session) writeLocked(line []byte) error {
	_ = s.conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	_, err := s.conn.Write(line)
	return err
}

// sweep fails submits the pool never answered, 1.25 to 1.5 submit
// timeouts after they were sent. It counts time in ticks of a quarter
// timeout instead of stamping each submit with the clock: a submit sent
// while the count was g is failed when the count reaches g+6, one tick
// more than a timeout's four and the one it was sent in, so that a tick
// the sweep takes late never fails a submit under one timeout.
func (s *Session) sweep() {
	tick := time.NewTicker(s.cfg.SubmitTimeout / 4)
	defer tick.Stop()
	var expired []SubmitResult
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
			s.mu.Lock()
			s.sweepGen++
			if s.sweepGen > 5 {
				expired = s.pending.expire(s.sweepGen-5, expired[:0])
			}
			s.mu.Unlock()
			for i, cb := range expired {
				s.result(cb, ErrNoAnswer)
				expired[i] = nil
			}
			if cap(expired) > 1024 {
				expired = nil // a mass timeout's slice is not kept
			}
		}
	}
}
