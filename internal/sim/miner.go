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

	"github.com/btcsuite/btcd/chainhash/v2"

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
	reqSubmit    // a valid share
	reqBadSubmit // a bad submit (FleetConfig.BadFraction)
)

type pendingReq struct {
	kind  reqKind
	epoch uint64 // the session's work epoch when sent (submits)
	// diffSeq is the session's difficulty sequence when sent (submits).
	diffSeq uint64

	// Valid shares.
	params []any          // misbehaving miners: kept to replay as a duplicate
	hash   chainhash.Hash // with FleetConfig.OnAccepted: the header hash
	diff   float64        // the difficulty it was mined at

	// Bad submits: the index in BadKinds, and whether 21 is a fair answer
	// too (a duplicate of a share on a job that is no longer the newest,
	// which a pool may have forgotten).
	bad     int
	staleOK bool
}

// acceptedShare is a valid share answered true, kept by misbehaving
// miners to send again as a duplicate.
type acceptedShare struct {
	params  []any // nil: none yet
	jobID   string
	epoch   uint64 // of the share, when it was sent
	diffSeq uint64
}

// miner is one simulated miner: one goroutine (run) owns its connections
// and all session state; mu guards only what other goroutines look at.
type miner struct {
	f    *Fleet
	idx  int
	name string
	kind minerKind

	bad bool // misbehaving: sends bad submits too (FleetConfig.BadFraction)

	mu   sync.Mutex
	conn net.Conn    // current connection, closed by Fleet.Close
	st   MinerStatus // what Fleet.Miners reports

	// Owned by run.
	hasher       sharehash.Hasher
	en2ctr       uint64
	lastEn1      string // for session resumption on reconnect
	goodSinceBad int    // valid shares sent since the last bad submit
	badNext      int    // index in BadKinds of the next kind to try
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
	// diffSeq counts mining.set_difficulty; jobDiff is the lowest
	// difficulty in force since the current job came (0: none yet).
	diffSeq uint64
	jobDiff float64
	// With FleetConfig.RestartExtranonce2: where the in-order search of
	// the current job stands (both restart at 0 on every notify).
	en2Next   uint64
	nonceNext uint32
	// jobVoid: a set_extranonce came after the job, which the pool then
	// holds void (every share on it is stale); no shares until the next
	// job.
	jobVoid bool

	// For bad submits: the job held when the last clean job came (stale
	// since), and the last valid share accepted on this connection.
	staleJob     *sharehash.Job
	staleJobID   string
	lastAccepted acceptedShare

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
		good, bad := m.countSubmitsPending(s)
		if good > 0 {
			f.c.unanswered.Add(int64(good))
		}
		if bad > 0 {
			f.c.badUnanswered.Add(int64(bad))
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
				if err := m.tick(s); err != nil {
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

// countSubmitsPending counts the valid shares and the bad submits in
// flight.
func (m *miner) countSubmitsPending(s *session) (good, bad int) {
	for _, p := range s.pending {
		switch p.kind {
		case reqSubmit:
			good++
		case reqBadSubmit:
			bad++
		}
	}
	return good, bad
}

// send writes a request and remembers it. id "" picks the next integer.
func (m *miner) send(s *session, kind reqKind, id string, method string, params any) error {
	return m.sendReq(s, pendingReq{kind: kind, epoch: s.epoch, diffSeq: s.diffSeq}, id, method, params)
}

// sendReq is send with the whole pendingReq to remember.
func (m *miner) sendReq(s *session, req pendingReq, id string, method string, params any) error {
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
	s.pending[id] = req
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
			if s.job != nil && s.jobID != n.JobID {
				s.staleJob, s.staleJobID = s.job, s.jobID
			}
		}
		s.job, s.jobID = job, n.JobID
		s.jobDiff = s.diff
		s.jobVoid = false
		s.en2Next, s.nonceNext = 0, 0 // cgminer: pool->nonce2 = 0
	case stratum.MethodSetDifficulty:
		ps, _ := stratum.SplitParams(msg.Params)
		d, err := stratum.FloatParam(ps, 0)
		if err != nil || !(d > 0) {
			f.c.protocolErrors.Add(1)
			return nil
		}
		f.c.diffs.Add(1)
		s.diff, s.target = d, sharehash.NewTarget(d)
		s.diffSeq++
		if s.job != nil && d < s.jobDiff {
			s.jobDiff = d
		}
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
		s.jobVoid = s.job != nil
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
		if okResult {
			f.c.accepted.Add(1)
			m.mu.Lock()
			m.st.Accepted++
			m.mu.Unlock()
			if req.params != nil {
				s.lastAccepted = acceptedShare{params: req.params, jobID: req.params[1].(string), epoch: req.epoch, diffSeq: req.diffSeq}
			}
			if f.cfg.OnAccepted != nil {
				f.cfg.OnAccepted(m.name, req.hash, req.diff)
			}
			return nil
		}
		m.mu.Lock()
		defer m.mu.Unlock()
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
	case reqBadSubmit:
		m.badAnswer(s, req, msg, perr, okResult)
	}
	return nil
}

// badAnswer checks the answer to a bad submit.
func (m *miner) badAnswer(s *session, req pendingReq, msg *stratum.Message, perr *stratum.Error, okResult bool) {
	f := m.f
	kind, want := BadKinds[req.bad], badCodes[req.bad]
	got := 0
	if perr != nil {
		got = int(perr.Code)
	}
	if !okResult && got == want {
		f.c.badExpected.Add(1)
		f.c.badByKind[req.bad].Add(1)
		m.mu.Lock()
		m.st.BadRejectedAsExpected++
		m.mu.Unlock()
		return
	}
	// The work changed while it was in flight: another answer may be
	// right (a share on a job gone stale is 21 whatever else is wrong
	// with it). A difficulty change matters to the kinds whose verdict
	// rests on the hash.
	hashBased := kind == BadDuplicate || kind == BadLowDifficulty
	if req.epoch != s.epoch || (hashBased && req.diffSeq != s.diffSeq) || (req.staleOK && got == 21) {
		f.c.badStale.Add(1)
		return
	}
	f.c.wrong.Add(1)
	f.c.badWrong.Add(1)
	f.c.badWrongByKind[req.bad].Add(1)
	idx := len(f.c.wrongByCode) - 1
	if perr != nil && perr.Code >= 20 && perr.Code <= 25 {
		idx = int(perr.Code) - 20
	}
	f.c.wrongByCode[idx].Add(1)
	m.mu.Lock()
	m.st.WrongAnswers++
	m.mu.Unlock()
	ev := f.log.Warn().Str("miner", m.name).Str("kind", kind).Int("expected", want).Int("got", got).
		RawJSON("result", nonEmpty(msg.Result))
	if perr != nil {
		ev = ev.Str("error", perr.Message)
	}
	ev.Msg("bad submit answered wrongly")
}

func nonEmpty(b json.RawMessage) []byte {
	if len(b) == 0 {
		return []byte("null")
	}
	return b
}

// tick is a share slot: a valid share, or for a misbehaving miner after
// BadEvery valid ones, a bad submit.
func (m *miner) tick(s *session) error {
	if s.jobVoid {
		return nil
	}
	if s.diff == 0 { // no set_difficulty yet: Stratum's default is 1
		s.diff, s.target = 1, sharehash.NewTarget(1)
	}
	if m.bad && m.goodSinceBad >= m.f.cfg.BadEvery {
		sent, err := m.badShare(s)
		if err != nil || sent {
			return err
		}
		// No kind applies now (or too much in flight): a valid share.
	}
	return m.share(s)
}

// nextEn2 writes the miner's next extranonce2 counter into the end of en2.
func (m *miner) nextEn2(en2 []byte) {
	m.en2ctr++
	putEn2(en2, m.en2ctr)
}

// putEn2 writes counter ctr into the end of en2 (big-endian).
func putEn2(en2 []byte, ctr uint64) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], ctr)
	if len(en2) >= 8 {
		copy(en2[len(en2)-8:], b[:])
	} else {
		copy(en2, b[8-len(en2):])
	}
}

// roll picks random version bits inside the granted mask and returns them
// with the rolled version of job.
func (m *miner) roll(s *session, job *sharehash.Job) (bits, version uint32) {
	if s.mask == 0 {
		return 0, job.Version
	}
	bits = mrand.Uint32() & s.mask
	return bits, sharehash.RollVersion(job.Version, s.mask, bits)
}

// submitParams builds mining.submit params; the version bits go in only
// with version rolling, as on a valid share.
func (m *miner) submitParams(s *session, worker, jobID string, en2 []byte, ntime, nonce, bits uint32) []any {
	params := []any{worker, jobID, hex.EncodeToString(en2), stratum.FormatUint32(ntime), stratum.FormatUint32(nonce)}
	if s.versionRolling && s.mask != 0 {
		params = append(params, stratum.FormatUint32(bits))
	}
	return params
}

// share searches the current job for a share at the current difficulty
// and submits it.
func (m *miner) share(s *session) error {
	f := m.f
	if len(s.pending) >= maxPending {
		return nil
	}
	en2 := s.en2buf
	job := s.job
	inOrder := f.cfg.RestartExtranonce2
	for budget := f.cfg.MaxHashes; budget > 0; {
		if f.ctx.Err() != nil {
			return f.ctx.Err()
		}
		tries := min(budget, 1<<16)
		budget -= tries
		var bits, version, start uint32
		if inOrder {
			// Where the last search stopped: the next nonce of the same
			// extranonce2, the first of the next one after a wrap.
			putEn2(en2, s.en2Next)
			version, start = job.Version, s.nonceNext
			if rest := 1<<32 - uint64(start); uint64(tries) > rest {
				tries = uint32(rest) // no wrap within one search
			}
		} else {
			m.nextEn2(en2)
			bits, version = m.roll(s, job)
			start = mrand.Uint32()
		}
		nonce, ok := m.hasher.Search(job, s.en1, en2, job.NTime, version, start, tries, s.target)
		if inOrder {
			next := start + tries
			if ok {
				next = nonce + 1
			}
			if next == 0 { // this extranonce2 is done
				s.en2Next++
			}
			s.nonceNext = next
		}
		if !ok {
			continue
		}
		params := m.submitParams(s, m.name, s.jobID, en2, job.NTime, nonce, bits)
		req := pendingReq{kind: reqSubmit, epoch: s.epoch, diffSeq: s.diffSeq, diff: s.diff}
		if m.bad {
			req.params = params
		}
		if f.cfg.OnAccepted != nil {
			req.hash = m.hasher.Hash(job, s.en1, en2, job.NTime, nonce, version)
		}
		if err := m.sendReq(s, req, "", stratum.MethodSubmit, params); err != nil {
			return err
		}
		f.c.submitted.Add(1)
		m.goodSinceBad++
		m.mu.Lock()
		m.st.Submitted++
		m.mu.Unlock()
		return nil
	}
	f.c.searchFailures.Add(1)
	return nil
}

// badShare sends a bad submit of the next kind in BadKinds that applies
// now; sent is false if none does.
func (m *miner) badShare(s *session) (sent bool, err error) {
	f := m.f
	if len(s.pending) >= maxPending {
		return false, nil
	}
	for range len(BadKinds) {
		k := m.badNext
		m.badNext = (m.badNext + 1) % len(BadKinds)
		req, params, ok := m.badSubmit(s, k)
		if !ok {
			continue
		}
		if err := m.sendReq(s, req, "", stratum.MethodSubmit, params); err != nil {
			return false, err
		}
		m.goodSinceBad = 0
		f.c.badSubmitted.Add(1)
		m.mu.Lock()
		m.st.BadSubmitted++
		m.mu.Unlock()
		f.log.Debug().Str("miner", m.name).Str("kind", BadKinds[k]).Msg("bad submit")
		return true, nil
	}
	return false, nil
}

// maxTarget is the target every hash meets.
var maxTarget = func() (t sharehash.Target) {
	for i := range t {
		t[i] = 0xff
	}
	return t
}()

// badLowDiffTries bounds the search for a hash that misses the target: at
// any difficulty where a share is not certain, most hashes miss.
const badLowDiffTries = 1024

// badSubmit builds a bad submit of kind BadKinds[k] on the current work;
// ok is false if the kind does not apply now. Apart from its one defect
// the share is a valid one where that is cheap to arrange (its hash meets
// the target), so a validator's check order does not matter.
func (m *miner) badSubmit(s *session, k int) (req pendingReq, params []any, ok bool) {
	req = pendingReq{kind: reqBadSubmit, bad: k, epoch: s.epoch, diffSeq: s.diffSeq}
	job, jobID, worker := s.job, s.jobID, m.name
	en2 := make([]byte, s.en2size)
	m.nextEn2(en2)
	bits, version := m.roll(s, job)
	ntime := job.NTime
	find := func() uint32 {
		start := mrand.Uint32()
		nonce, found := m.hasher.Search(job, s.en1, en2, ntime, version, start, min(m.f.cfg.MaxHashes, 1<<16), s.target)
		if !found {
			return start
		}
		return nonce
	}
	var nonce uint32
	switch BadKinds[k] {
	case BadDuplicate:
		la := s.lastAccepted
		if la.params == nil {
			return req, nil, false
		}
		// Stale if the work changed since the original was sent.
		req.epoch, req.diffSeq = la.epoch, la.diffSeq
		req.staleOK = la.jobID != s.jobID
		return req, la.params, true
	case BadStale:
		if s.staleJob != nil && s.staleJobID != s.jobID {
			job, jobID = s.staleJob, s.staleJobID
			bits, version = m.roll(s, job)
			ntime = job.NTime
			nonce = find()
		} else {
			jobID = "deadbeef"
			nonce = mrand.Uint32()
		}
	case BadLowDifficulty:
		// Miss the easiest target the share might be credited at: the
		// current one and the one in force when the job came.
		easiest := s.diff
		if s.jobDiff > 0 && s.jobDiff < easiest {
			easiest = s.jobDiff
		}
		target := sharehash.NewTarget(easiest)
		if target == maxTarget {
			return req, nil, false
		}
		found := false
		for range badLowDiffTries {
			nonce = mrand.Uint32()
			h := m.hasher.Hash(job, s.en1, en2, ntime, nonce, version)
			if !target.Met(&h) {
				found = true
				break
			}
		}
		if !found {
			return req, nil, false
		}
	case BadNTime:
		ntime--
		nonce = find()
	case BadUnauthorized:
		worker += "-unauthorized"
		nonce = find()
	case BadExtranonce2:
		if len(en2) == 0 {
			return req, nil, false
		}
		en2 = en2[:len(en2)-1]
		nonce = mrand.Uint32()
	case BadVersion:
		if !s.versionRolling || s.mask == 0 || s.mask == ^uint32(0) {
			return req, nil, false
		}
		out := ^s.mask & 0x1fffe000 // a BIP320 bit not granted, else any
		if out == 0 {
			out = ^s.mask
		}
		bits |= out & -out
		nonce = mrand.Uint32()
	}
	return req, m.submitParams(s, worker, jobID, en2, ntime, nonce, bits), true
}
