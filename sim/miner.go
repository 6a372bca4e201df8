package sim

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	mrand "math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashgate/hashgate/stratum"
	"github.com/hashgate/hashgate/stratum/sharehash"
)

// minerKind is the firmware a miner imitates.
type minerKind int

const (
	// kindBmminer is stock Antminer firmware: configure, wait; subscribe
	// (with the previous session id on a reconnect), wait;
	// extranonce.subscribe and authorize.
	kindBmminer minerKind = iota
	// kindWhatsminer sends mining.suggest_difficulty before anything
	// else, then goes on like bmminer.
	kindWhatsminer
	// kindBraiins pipelines configure, subscribe and authorize at once,
	// then extranonce.subscribe once subscribed.
	kindBraiins
	// kindCpuminer: subscribe with no params, wait; authorize.
	kindCpuminer
	// kindCpuminerStrID: subscribe ["cpuminer/2.5.1"], wait; authorize
	// with the string id "auth".
	kindCpuminerStrID
)

var (
	asicKinds = []minerKind{kindBmminer, kindWhatsminer, kindBraiins}
	cpuKinds  = []minerKind{kindCpuminer, kindCpuminerStrID}
)

func (k minerKind) asic() bool { return k <= kindBraiins }

func (k minerKind) agent() string {
	switch k {
	case kindBmminer:
		return "bmminer/2.0.0"
	case kindWhatsminer:
		return "btminer/2.1.2"
	case kindBraiins:
		return "bosminer/23.08.1"
	case kindCpuminer:
		return ""
	default:
		return "cpuminer/2.5.1"
	}
}

// requestedMask is the version-rolling mask ASIC-style miners ask for.
const requestedMask = 0x1fffe000

// maxPending bounds the requests a miner keeps in flight; a miner whose
// pool stopped answering stops submitting.
const maxPending = 64

type reqKind int

const (
	reqSuggest reqKind = iota
	reqConfigure
	reqSubscribe
	reqExtranonceSubscribe
	reqAuthorize
	reqSubmit
)

type pendingReq struct {
	kind  reqKind
	epoch uint64 // the session's work epoch when sent (submits)
}

// miner is one simulated miner: one goroutine (run) owns its connections
// and all session state; mu guards only what other goroutines look at.
type miner struct {
	f    *Fleet
	idx  int
	name string
	kind minerKind

	mu   sync.Mutex
	conn net.Conn    // current connection, closed by Fleet.Close
	st   MinerStatus // what Fleet.Miners reports

	// Owned by run.
	hasher  sharehash.Hasher
	en2ctr  uint64
	lastEn1 string // for session resumption on reconnect
}

// session is the state of one connection.
type session struct {
	conn    net.Conn
	lr      *stratum.LineReader
	wbuf    []byte
	nextID  uint64
	pending map[string]pendingReq

	subscribeSent, authorizeSent bool
	subscribed, authorized       bool
	versionRolling               bool

	en1     []byte
	en2size int
	en2buf  []byte
	mask    uint32 // granted version-rolling mask
	diff    float64
	target  sharehash.Target
	job     *sharehash.Job
	jobID   string
	// epoch counts changes that invalidate work in flight: clean jobs,
	// extranonce1 and version-mask changes.
	epoch uint64

	silenceDeadline   time.Time
	handshakeDeadline time.Time
	nextShare         time.Time // zero until the miner first works
}

func (s *session) working() bool { return s.subscribed && s.authorized && s.job != nil }

var (
	errReconnect   = errors.New("client.reconnect")
	errAuthRefused = errors.New("authorize refused")
	errSubscribe   = errors.New("subscribe refused")
	errSilence     = errors.New("pool silent")
	errHandshake   = errors.New("handshake timeout")
)

func (m *miner) status() MinerStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st
}

// run dials, serves the connection and re-dials until the fleet closes.
func (m *miner) run(delay time.Duration) {
	f := m.f
	defer f.wg.Done()
	if delay > 0 && !m.wait(delay) {
		return
	}
	backoff := f.cfg.ReconnectDelay
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			f.c.reconnects.Add(1)
			m.mu.Lock()
			m.st.Reconnects++
			m.mu.Unlock()
		}
		conn, err := f.cfg.Dial(f.ctx)
		if err != nil {
			if f.ctx.Err() != nil {
				return
			}
			f.c.dialFailures.Add(1)
			f.log.Debug().Str("miner", m.name).Err(err).Msg("dial")
		} else {
			if !m.attach(conn) {
				return
			}
			worked, err := m.session(conn)
			m.detach()
			if f.ctx.Err() != nil {
				return
			}
			f.c.disconnects.Add(1)
			m.mu.Lock()
			m.st.Disconnects++
			m.mu.Unlock()
			f.log.Debug().Str("miner", m.name).Err(err).Msg("disconnected")
			if worked {
				backoff = f.cfg.ReconnectDelay
			}
		}
		if f.cfg.NoReconnect {
			return
		}
		// Jitter: 50% to 150% of the back-off.
		if !m.wait(backoff/2 + mrand.N(backoff+1)) {
			return
		}
		backoff = min(2*backoff, MaxReconnectDelay)
	}
}

// wait blocks for d or until the fleet closes (false).
func (m *miner) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-m.f.ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// attach publishes conn so Close can close it; false if the fleet is
// closing (conn is then closed).
func (m *miner) attach(conn net.Conn) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.f.ctx.Err() != nil {
		_ = conn.Close()
		return false
	}
	m.conn = conn
	m.st.Connected = true
	m.f.c.connected.Add(1)
	return true
}

func (m *miner) detach() {
	c := &m.f.c
	m.mu.Lock()
	defer m.mu.Unlock()
	_ = m.conn.Close()
	m.conn = nil
	st := &m.st
	for _, g := range []struct {
		flag  *bool
		gauge *atomic.Int64
	}{{&st.Connected, &c.connected}, {&st.Subscribed, &c.subscribed}, {&st.Authorized, &c.authorized}, {&st.Working, &c.working}} {
		if *g.flag {
			*g.flag = false
			g.gauge.Add(-1)
		}
	}
	st.JobID = ""
}

// publish copies the session's state into the status and the gauges.
func (m *miner) publish(s *session) {
	c := &m.f.c
	m.mu.Lock()
	defer m.mu.Unlock()
	st := &m.st
	set := func(flag *bool, v bool, gauge *atomic.Int64) {
		if *flag != v {
			*flag = v
			if v {
				gauge.Add(1)
			} else {
				gauge.Add(-1)
			}
		}
	}
	set(&st.Subscribed, s.subscribed, &c.subscribed)
	set(&st.Authorized, s.authorized, &c.authorized)
	set(&st.Working, s.working(), &c.working)
	st.Difficulty = s.diff
	st.Extranonce1 = hex.EncodeToString(s.en1)
	st.Extranonce2Size = s.en2size
	st.VersionMask = s.mask
	st.JobID = s.jobID
}

// session serves one connection until it ends. worked reports whether
// the miner got authorized on it (which resets the back-off).
func (m *miner) session(conn net.Conn) (worked bool, err error) {
	f := m.f
	now := time.Now()
	s := &session{
		conn:              conn,
		lr:                stratum.NewLineReader(conn, maxLine),
		pending:           map[string]pendingReq{},
		silenceDeadline:   now.Add(f.cfg.SilenceTimeout),
		handshakeDeadline: now.Add(f.cfg.HandshakeTimeout),
	}
	defer func() {
		if n := m.countSubmitsPending(s); n > 0 {
			f.c.unanswered.Add(int64(n))
		}
	}()
	if err := m.handshake(s); err != nil {
		return false, err
	}
	for {
		now := time.Now()
		if now.After(s.silenceDeadline) {
			return s.authorized, errSilence
		}
		if !s.authorized && now.After(s.handshakeDeadline) {
			return false, errHandshake
		}
		deadline := s.silenceDeadline
		if !s.authorized && s.handshakeDeadline.Before(deadline) {
			deadline = s.handshakeDeadline
		}
		if f.cfg.ShareInterval > 0 && s.working() {
			if s.nextShare.IsZero() {
				s.nextShare = now.Add(mrand.N(f.cfg.ShareInterval) + 1)
			}
			if !now.Before(s.nextShare) {
				if err := m.share(s); err != nil {
					return true, err
				}
				s.nextShare = s.nextShare.Add(f.cfg.ShareInterval)
				if s.nextShare.Before(now) { // fell behind: no burst
					s.nextShare = now.Add(f.cfg.ShareInterval)
				}
			}
			if s.nextShare.Before(deadline) {
				deadline = s.nextShare
			}
		}
		_ = conn.SetReadDeadline(deadline)
		line, err := s.lr.ReadLine()
		if err != nil {
			if isTimeout(err) {
				continue
			}
			return s.authorized, err
		}
		s.silenceDeadline = time.Now().Add(f.cfg.SilenceTimeout)
		msg, err := stratum.Decode(line)
		if err != nil {
			f.c.protocolErrors.Add(1)
			continue // cgminer logs and goes on
		}
		err = m.handle(s, msg)
		m.publish(s)
		if err != nil {
			return s.authorized, err
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (m *miner) countSubmitsPending(s *session) int {
	n := 0
	for _, p := range s.pending {
		if p.kind == reqSubmit {
			n++
		}
	}
	return n
}

// send writes a request and remembers it. id "" picks the next integer.
func (m *miner) send(s *session, kind reqKind, id string, method string, params any) error {
	if id == "" {
		s.nextID++
		id = strconv.FormatUint(s.nextID, 10)
	}
	var err error
	s.wbuf, err = stratum.AppendRequest(s.wbuf[:0], json.RawMessage(id), method, params)
	if err != nil {
		return err
	}
	_ = s.conn.SetWriteDeadline(time.Now().Add(m.f.cfg.WriteTimeout))
	if _, err := s.conn.Write(s.wbuf); err != nil {
		return err
	}
	s.pending[id] = pendingReq{kind: kind, epoch: s.epoch}
	return nil
}

// handshake sends what the firmware sends before hearing anything back.
func (m *miner) handshake(s *session) error {
	switch m.kind {
	case kindWhatsminer:
		if err := m.send(s, reqSuggest, "", stratum.MethodSuggestDifficulty, []any{m.f.cfg.SuggestDifficulty}); err != nil {
			return err
		}
		return m.sendConfigure(s)
	case kindBmminer:
		return m.sendConfigure(s)
	case kindBraiins:
		if err := m.sendConfigure(s); err != nil {
			return err
		}
		if err := m.sendSubscribe(s); err != nil {
			return err
		}
		return m.sendAuthorize(s)
	default:
		return m.sendSubscribe(s)
	}
}

func (m *miner) sendConfigure(s *session) error {
	return m.send(s, reqConfigure, "", stratum.MethodConfigure, []any{
		[]string{"version-rolling", "minimum-difficulty", "subscribe-extranonce"},
		map[string]any{
			"version-rolling.mask":          stratum.FormatUint32(requestedMask),
			"version-rolling.min-bit-count": 2,
			"minimum-difficulty.value":      m.f.cfg.SuggestDifficulty,
		},
	})
}

func (m *miner) sendSubscribe(s *session) error {
	s.subscribeSent = true
	var params []any
	switch m.kind {
	case kindCpuminer:
		params = []any{}
	case kindBmminer, kindBraiins:
		params = []any{m.kind.agent()}
		if m.lastEn1 != "" {
			params = append(params, m.lastEn1)
		}
	default:
		params = []any{m.kind.agent()}
	}
	return m.send(s, reqSubscribe, "", stratum.MethodSubscribe, params)
}

func (m *miner) sendAuthorize(s *session) error {
	s.authorizeSent = true
	id := ""
	if m.kind == kindCpuminerStrID {
		id = `"auth"`
	}
	return m.send(s, reqAuthorize, id, stratum.MethodAuthorize, []any{m.name, m.f.cfg.Password})
}

// handle acts on one message from the pool.
func (m *miner) handle(s *session, msg *stratum.Message) error {
	if !msg.IsRequest() {
		return m.answer(s, msg)
	}
	f := m.f
	asic := m.kind.asic()
	switch msg.Method {
	case stratum.MethodNotify:
		n, err := stratum.ParseNotify(msg.Params)
		if err != nil {
			f.c.protocolErrors.Add(1)
			return nil
		}
		job, err := sharehash.JobFromHex(n.PrevHash, n.Coinb1, n.Coinb2, n.Branches, n.Version, n.NBits, n.NTime)
		if err != nil {
			f.c.protocolErrors.Add(1)
			return nil
		}
		f.c.jobs.Add(1)
		if n.Clean {
			f.c.cleanJobs.Add(1)
			s.epoch++
		}
		s.job, s.jobID = job, n.JobID
	case stratum.MethodSetDifficulty:
		ps, _ := stratum.SplitParams(msg.Params)
		d, err := stratum.FloatParam(ps, 0)
		if err != nil || !(d > 0) {
			f.c.protocolErrors.Add(1)
			return nil
		}
		f.c.diffs.Add(1)
		s.diff, s.target = d, sharehash.NewTarget(d)
	case stratum.MethodSetExtranonce:
		f.c.setExtranonce.Add(1)
		if !asic {
			return nil // cpuminer does not know it
		}
		r, err := stratum.ParseSetExtranonce(msg.Params)
		if err != nil {
			f.c.protocolErrors.Add(1)
			return nil
		}
		m.setExtranonce(s, r)
		s.epoch++
	case stratum.MethodSetVersionMask:
		f.c.setMask.Add(1)
		if !asic || !s.versionRolling {
			return nil
		}
		v, err := stratum.ParseVersionMask(msg.Params)
		if err != nil {
			f.c.protocolErrors.Add(1)
			return nil
		}
		s.mask = v & requestedMask
		s.epoch++
	case stratum.MethodReconnect:
		f.c.reconnectReqs.Add(1)
		if f.cfg.IgnoreReconnect {
			return nil
		}
		return errReconnect
	}
	// mining.ping, client.show_message, client.get_version and anything
	// else: ignored, as cgminer does with what it does not know.
	return nil
}

func (m *miner) setExtranonce(s *session, r *stratum.SubscribeResult) {
	s.en1 = r.Extranonce1
	s.en2size = r.Extranonce2Size
	if cap(s.en2buf) < s.en2size {
		s.en2buf = make([]byte, s.en2size)
	}
	s.en2buf = s.en2buf[:s.en2size]
}

// answer handles a response to one of the miner's requests.
func (m *miner) answer(s *session, msg *stratum.Message) error {
	f := m.f
	id := string(msg.ID)
	req, ok := s.pending[id]
	if !ok {
		f.c.unknownAnswers.Add(1)
		return nil
	}
	delete(s.pending, id)
	perr := stratum.ParseError(msg.Error)
	okResult := perr == nil && string(msg.Result) == "true"
	switch req.kind {
	case reqConfigure:
		if perr == nil {
			if rolling, v := stratum.ParseConfigureResult(msg.Result); rolling {
				s.versionRolling = true
				s.mask = v & requestedMask
			}
		}
		if !s.subscribeSent {
			return m.sendSubscribe(s)
		}
	case reqSubscribe:
		if perr != nil {
			return errSubscribe
		}
		r, err := stratum.ParseSubscribeResult(msg.Result)
		if err != nil {
			f.c.protocolErrors.Add(1)
			return errSubscribe
		}
		m.setExtranonce(s, r)
		m.lastEn1 = hex.EncodeToString(r.Extranonce1)
		s.subscribed = true
		if m.kind.asic() {
			if err := m.send(s, reqExtranonceSubscribe, "", stratum.MethodExtranonceSubscribe, []any{}); err != nil {
				return err
			}
		}
		if !s.authorizeSent {
			return m.sendAuthorize(s)
		}
	case reqAuthorize:
		if !okResult {
			f.c.authFailures.Add(1)
			return errAuthRefused
		}
		s.authorized = true
	case reqSubmit:
		m.mu.Lock()
		defer m.mu.Unlock()
		if okResult {
			f.c.accepted.Add(1)
			m.st.Accepted++
			return nil
		}
		f.c.rejected.Add(1)
		m.st.Rejected++
		if req.epoch != s.epoch {
			f.c.stale.Add(1)
			m.st.Stale++
			return nil
		}
		f.c.wrong.Add(1)
		idx := len(f.c.wrongByCode) - 1
		if perr != nil && perr.Code >= 20 && perr.Code <= 25 {
			idx = int(perr.Code) - 20
		}
		f.c.wrongByCode[idx].Add(1)
		m.st.WrongAnswers++
		ev := f.log.Warn().Str("miner", m.name).RawJSON("result", nonEmpty(msg.Result))
		if perr != nil {
			ev = ev.Int("code", int(perr.Code)).Str("error", perr.Message)
		}
		ev.Msg("valid share rejected")
	}
	return nil
}

func nonEmpty(b json.RawMessage) []byte {
	if len(b) == 0 {
		return []byte("null")
	}
	return b
}

// share searches the current job for a share at the current difficulty
// and submits it.
func (m *miner) share(s *session) error {
	f := m.f
	if len(s.pending) >= maxPending {
		return nil
	}
	if s.diff == 0 { // no set_difficulty yet: Stratum's default is 1
		s.diff, s.target = 1, sharehash.NewTarget(1)
	}
	en2 := s.en2buf
	job := s.job
	for budget := f.cfg.MaxHashes; budget > 0; {
		if f.ctx.Err() != nil {
			return f.ctx.Err()
		}
		m.en2ctr++
		var ctr [8]byte
		binary.BigEndian.PutUint64(ctr[:], m.en2ctr)
		if len(en2) >= 8 {
			copy(en2[len(en2)-8:], ctr[:])
		} else {
			copy(en2, ctr[8-len(en2):])
		}
		bits, version := uint32(0), job.Version
		if s.mask != 0 {
			bits = mrand.Uint32() & s.mask
			version = sharehash.RollVersion(job.Version, s.mask, bits)
		}
		tries := min(budget, 1<<16)
		budget -= tries
		nonce, ok := m.hasher.Search(job, s.en1, en2, job.NTime, version, mrand.Uint32(), tries, s.target)
		if !ok {
			continue
		}
		params := []any{m.name, s.jobID, hex.EncodeToString(en2), stratum.FormatUint32(job.NTime), stratum.FormatUint32(nonce)}
		if s.versionRolling && s.mask != 0 {
			params = append(params, stratum.FormatUint32(bits))
		}
		if err := m.send(s, reqSubmit, "", stratum.MethodSubmit, params); err != nil {
			return err
		}
		f.c.submitted.Add(1)
		m.mu.Lock()
		m.st.Submitted++
		m.mu.Unlock()
		return nil
	}
	f.c.searchFailures.Add(1)
	return nil
}
