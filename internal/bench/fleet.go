package bench

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashgate/hashgate/stratum"
)

// FleetConfig configures a light fleet: miners that do not hash. They
// subscribe, authorize, time every notify against its stamp and submit
// shares (every hash is valid at the pool's difficulty) when told to.
type FleetConfig struct {
	Target string // host:port of the proxy or the pool
	Miners int
	// Base is the global index of the first miner: worker names are
	// WorkerPrefix + index, unique across the fleet's processes.
	Base         int
	WorkerPrefix string // default "bench.m"
	// SourceIPs, when set, spreads the miners' connections over these
	// local addresses (miner i binds SourceIPs[i % len]): each source
	// address has its own ephemeral ports.
	SourceIPs []string
	// DialParallel bounds the connects in progress at once; default 1000.
	DialParallel int
	// Retry is the pause before a failed connect is tried again, jittered
	// ±50%; default 1 s. A lost connection is redialled at once.
	Retry time.Duration
	// Window bounds the submits a miner has unanswered; default 8.
	Window int
	// Submitters is the number of goroutines pacing open-loop submits;
	// default 2.
	Submitters int
	// NoncesPerExtranonce2 is how many shares a miner submits under one
	// extranonce2 (consecutive nonces) before the next one; default 1 (a
	// new extranonce2 every share: the proxy hashes the whole coinbase and
	// every branch each time). An ASIC rolls the nonce (and version bits)
	// before the extranonce2, so at a difficulty where every hash is a
	// share, it submits thousands per extranonce2.
	NoncesPerExtranonce2 int
}

// submitIDBase is the first submit id; 1 and 2 are subscribe and authorize.
const submitIDBase = 100

const maxWindow = 64

// Fleet is a running light fleet.
type Fleet struct {
	cfg    FleetConfig
	miners []*miner
	sem    chan struct{}
	stop   chan struct{}
	wg     sync.WaitGroup

	ctx    context.Context
	cancel context.CancelFunc

	// Submitting state.
	smu        sync.Mutex
	submitStop chan struct{}
	swg        sync.WaitGroup
	closedLoop atomic.Bool
	window     atomic.Int32

	shards [16]latShard
	c      fleetCounters
}

type latShard struct {
	mu     sync.Mutex
	rounds map[uint64]*Hist
	rtt    Hist
}

type fleetCounters struct {
	dials, dialErrors, disconnects, connects    atomic.Uint64
	sent, accepted, staleExpected, rejected     atomic.Uint64
	skipped, lostOnDisconnect, authFailures     atomic.Uint64
	badLines, reconnectAsked, unexpectedAnswers atomic.Uint64
	notifies, cleanNotifies, subscribeFailures  atomic.Uint64
	rejectMu                                    sync.Mutex
	rejectCodes                                 map[string]uint64
	disconnectWhy                               map[string]uint64
}

type pending struct {
	epoch uint32
	sent  int64
}

// miner is one connection's worth of state. The reader goroutine owns the
// connection; submits come from one goroutine at a time (a submitter, or
// the reader in closed-loop mode) under mu.
type miner struct {
	f    *Fleet
	idx  int
	name string
	buf  []byte

	mu       sync.Mutex
	conn     net.Conn
	gen      uint32
	jobID    string
	ntime    string
	en2Size  int
	epoch    uint32 // clean jobs seen, ever
	hasJob   bool   // a job came on this connection
	firstSeq uint64 // seq of the first job on this connection
	lastSeq  uint64
	nextID   uint64 // next submit id on this connection
	answered uint64 // submit ids below this are answered
	en2      uint64 // share counter: the extranonce2 is en2 / NoncesPerExtranonce2, the nonce en2
	pend     [maxWindow]pending
	out      []byte

	writeErr     atomic.Pointer[string] // a submit write failed on the current connection
	workingSince atomic.Int64           // first job on the current connection, unix ns; 0 without one
	seenSeq      atomic.Uint64
}

// NewFleet builds a fleet; Start connects it.
func NewFleet(cfg FleetConfig) *Fleet {
	if cfg.WorkerPrefix == "" {
		cfg.WorkerPrefix = "bench.m"
	}
	if cfg.DialParallel <= 0 {
		cfg.DialParallel = 1000
	}
	if cfg.Retry <= 0 {
		cfg.Retry = time.Second
	}
	if cfg.Window <= 0 {
		cfg.Window = 8
	}
	cfg.Window = min(cfg.Window, maxWindow)
	if cfg.Submitters <= 0 {
		cfg.Submitters = 2
	}
	if cfg.NoncesPerExtranonce2 <= 0 {
		cfg.NoncesPerExtranonce2 = 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &Fleet{cfg: cfg, sem: make(chan struct{}, cfg.DialParallel), stop: make(chan struct{}), ctx: ctx, cancel: cancel}
	f.c.rejectCodes = map[string]uint64{}
	f.c.disconnectWhy = map[string]uint64{}
	f.window.Store(int32(cfg.Window))
	for i := range f.shards {
		f.shards[i].rounds = map[uint64]*Hist{}
	}
	f.miners = make([]*miner, cfg.Miners)
	for i := range f.miners {
		f.miners[i] = &miner{f: f, idx: cfg.Base + i, name: cfg.WorkerPrefix + strconv.Itoa(cfg.Base+i), buf: make([]byte, 4096)}
	}
	return f
}

// Start launches every miner; each connects and keeps reconnecting until
// Close.
func (f *Fleet) Start() {
	for i, m := range f.miners {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			m.run(i)
		}()
	}
}

// Close disconnects every miner and waits for their goroutines.
func (f *Fleet) Close() {
	f.StopSubmitting(0)
	close(f.stop)
	f.cancel()
	for _, m := range f.miners {
		m.mu.Lock()
		if m.conn != nil {
			m.conn.Close()
		}
		m.mu.Unlock()
	}
	f.wg.Wait()
}

func (f *Fleet) stopped() bool {
	select {
	case <-f.stop:
		return true
	default:
		return false
	}
}

func (f *Fleet) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-f.stop:
		return false
	case <-t.C:
		return true
	}
}

func (m *miner) dial(i int) (net.Conn, error) {
	f := m.f
	select {
	case f.sem <- struct{}{}:
	case <-f.stop:
		return nil, net.ErrClosed
	}
	defer func() { <-f.sem }()
	d := net.Dialer{Timeout: 10 * time.Second}
	if n := len(f.cfg.SourceIPs); n > 0 {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(f.cfg.SourceIPs[i%n])}
	}
	f.c.dials.Add(1)
	return d.DialContext(f.ctx, "tcp", f.cfg.Target)
}

// run connects, serves the connection, and reconnects, until Close.
func (m *miner) run(i int) {
	f := m.f
	for !f.stopped() {
		c, err := m.dial(i)
		if err != nil {
			if f.stopped() {
				return
			}
			f.c.dialErrors.Add(1)
			r := f.cfg.Retry
			if !f.sleep(r/2 + rand.N(r)) {
				return
			}
			continue
		}
		f.c.connects.Add(1)
		why := m.serve(c)
		if f.stopped() {
			return
		}
		f.c.disconnects.Add(1)
		f.c.rejectMu.Lock()
		f.c.disconnectWhy[why]++
		f.c.rejectMu.Unlock()
	}
}

var handshakeTail = `","x"]}` + "\n"

// serve runs one connection; it returns why it ended.
func (m *miner) serve(c net.Conn) (why string) {
	f := m.f
	m.mu.Lock()
	m.conn = c
	m.gen++
	m.jobID, m.ntime, m.en2Size = "", "", 0
	m.hasJob, m.firstSeq, m.lastSeq = false, 0, 0
	m.nextID, m.answered = submitIDBase, submitIDBase
	m.mu.Unlock()
	m.workingSince.Store(0)
	m.writeErr.Store(nil)
	if f.stopped() {
		c.Close()
		return "stopped"
	}
	hs := `{"id":1,"method":"mining.subscribe","params":["hashgate-bench/1.0"]}` + "\n" +
		`{"id":2,"method":"mining.authorize","params":["` + m.name + handshakeTail
	if _, err := c.Write([]byte(hs)); err != nil {
		m.lost(c)
		return "handshake write: " + errClass(err)
	}
	buf := m.buf
	start, end := 0, 0
	for {
		if start == end {
			start, end = 0, 0
		} else if end == len(buf) {
			if start == 0 {
				f.c.badLines.Add(1) // a 4 KiB line: not what we expect
				why = "line over 4 KiB"
				break
			}
			copy(buf, buf[start:end])
			end -= start
			start = 0
		}
		n, err := c.Read(buf[end:])
		now := time.Now().UnixNano()
		end += n
		for {
			i := bytes.IndexByte(buf[start:end], '\n')
			if i < 0 {
				break
			}
			line := buf[start : start+i]
			start += i + 1
			if len(line) > 0 && !m.handle(c, line, now) {
				end = start
				err = errClosedByMiner
				why = "closed by the miner after: " + truncate(line, 60)
				break
			}
		}
		if err != nil {
			if why == "" {
				why = "read: " + errClass(err)
				if w := m.writeErr.Load(); w != nil {
					why = "submit write: " + *w
				}
			}
			break
		}
	}
	m.lost(c)
	return why
}

var errClosedByMiner = errors.New("closed by the miner")

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// errClass names an error without its addresses, so reasons can be counted.
func errClass(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF):
		return "EOF (closed by the peer)"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by the peer"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case errors.Is(err, net.ErrClosed):
		return "closed locally"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return err.Error()
}

// lost forgets a connection; its unanswered submits are counted.
func (m *miner) lost(c net.Conn) {
	c.Close()
	m.mu.Lock()
	if m.conn == c {
		m.conn = nil
		m.f.c.lostOnDisconnect.Add(m.nextID - m.answered)
		m.answered = m.nextID
		m.jobID = ""
	}
	m.mu.Unlock()
	m.workingSince.Store(0)
}

var (
	setDifficulty = []byte(`"method":"mining.set_difficulty"`)
	reconnect     = []byte(`"method":"client.reconnect"`)
	setExtranonce = []byte(`"method":"mining.set_extranonce"`)
	resultTrue    = []byte(`,"result":true`)
)

// handle reads one line; false drops the connection.
func (m *miner) handle(c net.Conn, line []byte, now int64) bool {
	f := m.f
	if IsNotify(line) {
		n, ok := ParseNotify(line)
		if !ok {
			f.c.badLines.Add(1)
			return true
		}
		f.c.notifies.Add(1)
		m.mu.Lock()
		m.jobID, m.ntime = n.JobID, n.NTime
		if n.Clean {
			m.epoch++
		}
		first := !m.hasJob
		fresh := n.Seq > m.lastSeq
		if first {
			m.hasJob, m.firstSeq = true, n.Seq
		}
		if fresh {
			m.lastSeq = n.Seq
		}
		m.mu.Unlock()
		if n.Clean {
			f.c.cleanNotifies.Add(1)
		}
		if first {
			m.workingSince.Store(now)
			if f.closedLoop.Load() {
				for range f.window.Load() {
					m.submit(now)
				}
			}
		} else if fresh {
			sh := &f.shards[m.idx%len(f.shards)]
			sh.mu.Lock()
			h := sh.rounds[n.Seq]
			if h == nil {
				h = &Hist{}
				sh.rounds[n.Seq] = h
			}
			h.Add(now - n.Stamp)
			sh.mu.Unlock()
		}
		if fresh {
			m.seenSeq.Store(n.Seq)
		}
		return true
	}
	if id, rest, ok := responseID(line); ok {
		switch {
		case id >= submitIDBase:
			m.answer(id, rest, line, now)
		case id == 1:
			msg, err := stratum.Decode(line)
			if err == nil && stratum.ParseError(msg.Error) == nil {
				if r, err := stratum.ParseSubscribeResult(msg.Result); err == nil {
					m.mu.Lock()
					m.en2Size = r.Extranonce2Size
					m.mu.Unlock()
					return true
				}
			}
			f.c.subscribeFailures.Add(1)
			return false
		case id == 2:
			if !bytes.HasPrefix(rest, resultTrue) {
				f.c.authFailures.Add(1)
				return false
			}
		}
		return true
	}
	switch {
	case bytes.Contains(line, setDifficulty):
	case bytes.Contains(line, reconnect):
		f.c.reconnectAsked.Add(1)
		return false
	case bytes.Contains(line, setExtranonce):
		msg, err := stratum.Decode(line)
		if err == nil {
			if r, err := stratum.ParseSetExtranonce(msg.Params); err == nil {
				m.mu.Lock()
				m.en2Size = r.Extranonce2Size
				m.mu.Unlock()
			}
		}
	default:
		f.c.badLines.Add(1)
	}
	return true
}

// answer matches a submit answer; answers come in order.
func (m *miner) answer(id uint64, rest, line []byte, now int64) {
	f := m.f
	m.mu.Lock()
	if id != m.answered || id >= m.nextID {
		m.mu.Unlock()
		f.c.unexpectedAnswers.Add(1)
		return
	}
	p := m.pend[id%maxWindow]
	m.answered++
	epoch := m.epoch
	m.mu.Unlock()
	sh := &f.shards[m.idx%len(f.shards)]
	sh.mu.Lock()
	sh.rtt.Add(now - p.sent)
	sh.mu.Unlock()
	if bytes.HasPrefix(rest, resultTrue) {
		f.c.accepted.Add(1)
	} else {
		code := "?"
		if msg, err := stratum.Decode(line); err == nil {
			if e := stratum.ParseError(msg.Error); e != nil {
				code = strconv.Itoa(int(e.Code))
				if e.Code == stratum.ErrJobNotFound && epoch != p.epoch {
					// The job went stale (clean job) while the share was on
					// its way: what a real miner sees after every block.
					f.c.staleExpected.Add(1)
					code = ""
				}
			} else {
				code = "false"
			}
		}
		if code != "" {
			f.c.rejected.Add(1)
			f.c.rejectMu.Lock()
			f.c.rejectCodes[code]++
			f.c.rejectMu.Unlock()
		}
	}
	if f.closedLoop.Load() {
		m.submit(now)
	}
}

// submit sends one share on the current job; false when the miner has no
// job or its window is full.
func (m *miner) submit(now int64) bool {
	f := m.f
	m.mu.Lock()
	c := m.conn
	if c == nil || m.jobID == "" || m.en2Size == 0 || m.nextID-m.answered >= uint64(f.window.Load()) {
		m.mu.Unlock()
		f.c.skipped.Add(1)
		return false
	}
	id := m.nextID
	m.nextID++
	m.pend[id%maxWindow] = pending{epoch: m.epoch, sent: now}
	m.en2++
	m.out = AppendSubmit(m.out[:0], id, m.name, m.jobID, m.en2/uint64(f.cfg.NoncesPerExtranonce2), m.en2Size, m.ntime, uint32(m.en2))
	_, err := c.Write(m.out)
	m.mu.Unlock()
	if err != nil {
		e := errClass(err)
		m.writeErr.Store(&e)
		c.Close() // the reader sees it and reconnects
		return false
	}
	f.c.sent.Add(1)
	return true
}

// SubmitOpen starts open-loop submits: rate shares per second per miner,
// paced by Submitters goroutines.
func (f *Fleet) SubmitOpen(rate float64) {
	f.smu.Lock()
	defer f.smu.Unlock()
	if f.submitStop != nil || rate <= 0 {
		return
	}
	stop := make(chan struct{})
	f.submitStop = stop
	k := f.cfg.Submitters
	for s := range k {
		var own []*miner
		for i := s; i < len(f.miners); i += k {
			own = append(own, f.miners[i])
		}
		if len(own) == 0 {
			continue
		}
		f.swg.Add(1)
		go func() {
			defer f.swg.Done()
			pace(own, rate*float64(len(own)), stop)
		}()
	}
}

// pace sends total shares per second over own, round robin, until stop.
func pace(own []*miner, total float64, stop <-chan struct{}) {
	start := time.Now()
	var done float64
	next := 0
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		now := time.Now()
		due := now.Sub(start).Seconds()*total - done
		// After a stall, do not burst more than 50 ms worth.
		if lim := total * 0.05; due > lim {
			done += due - lim
			due = lim
		}
		nanos := now.UnixNano()
		for ; due >= 1; due-- {
			own[next].submit(nanos)
			next = (next + 1) % len(own)
			done++
		}
	}
}

// SubmitClosed starts closed-loop submits: every miner keeps window
// shares in flight, sending the next as soon as one is answered.
func (f *Fleet) SubmitClosed(window int) {
	f.smu.Lock()
	defer f.smu.Unlock()
	if f.submitStop != nil {
		return
	}
	f.submitStop = make(chan struct{})
	f.window.Store(int32(min(max(window, 1), maxWindow)))
	f.closedLoop.Store(true)
	now := time.Now().UnixNano()
	for _, m := range f.miners {
		for range window {
			m.submit(now)
		}
	}
}

// StopSubmitting stops the submits and waits up to drain for every share
// in flight to be answered; it returns how many are still unanswered.
func (f *Fleet) StopSubmitting(drain time.Duration) uint64 {
	f.smu.Lock()
	if f.submitStop != nil {
		close(f.submitStop)
		f.submitStop = nil
	}
	f.closedLoop.Store(false)
	f.smu.Unlock()
	f.swg.Wait()
	f.window.Store(int32(f.cfg.Window))
	deadline := time.Now().Add(drain)
	for {
		out := f.Outstanding()
		if out == 0 || !time.Now().Before(deadline) {
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Outstanding counts submits not answered yet on live connections.
func (f *Fleet) Outstanding() uint64 {
	var n uint64
	for _, m := range f.miners {
		m.mu.Lock()
		n += m.nextID - m.answered
		m.mu.Unlock()
	}
	return n
}

// Status is a quick count of the fleet's miners.
type Status struct {
	Miners    int `json:"miners"`
	Connected int `json:"connected"`
	Working   int `json:"working"` // have a job on their current connection
	// SeenSeq counts the miners that have seen at least the round asked.
	SeenSeq int `json:"seen_seq"`
	// LastWorking is the latest time a miner got its first job on its
	// current connection (unix ns).
	LastWorking int64 `json:"last_working_ns"`
	// Back, with Since set: miners whose current connection got its first
	// job after Since, and how long after Since that was.
	Back     int   `json:"back"`
	BackHist *Hist `json:"back_hist,omitempty"`
}

// Status counts the miners; seq and since are optional (0).
func (f *Fleet) Status(seq uint64, since int64) Status {
	s := Status{Miners: len(f.miners)}
	if since > 0 {
		s.BackHist = &Hist{}
	}
	for _, m := range f.miners {
		m.mu.Lock()
		connected := m.conn != nil
		m.mu.Unlock()
		if connected {
			s.Connected++
		}
		w := m.workingSince.Load()
		if w > 0 {
			s.Working++
			s.LastWorking = max(s.LastWorking, w)
			if since > 0 && w > since {
				s.Back++
				s.BackHist.Add(w - since)
			}
		}
		if seq > 0 && m.seenSeq.Load() >= seq {
			s.SeenSeq++
		}
	}
	return s
}

// Report is everything the fleet measured, cumulative.
type Report struct {
	Status
	Dials             uint64            `json:"dials"`
	DialErrors        uint64            `json:"dial_errors"`
	Connects          uint64            `json:"connects"`
	Disconnects       uint64            `json:"disconnects"`
	Sent              uint64            `json:"sent"`
	Accepted          uint64            `json:"accepted"`
	StaleExpected     uint64            `json:"stale_expected"`
	Rejected          uint64            `json:"rejected"`
	RejectCodes       map[string]uint64 `json:"reject_codes,omitempty"`
	DisconnectWhy     map[string]uint64 `json:"disconnect_why,omitempty"`
	Skipped           uint64            `json:"skipped"`
	LostOnDisconnect  uint64            `json:"lost_on_disconnect"`
	Outstanding       uint64            `json:"outstanding"`
	AuthFailures      uint64            `json:"auth_failures"`
	SubscribeFailures uint64            `json:"subscribe_failures"`
	BadLines          uint64            `json:"bad_lines"`
	UnexpectedAnswers uint64            `json:"unexpected_answers"`
	ReconnectAsked    uint64            `json:"reconnect_asked"`
	Notifies          uint64            `json:"notifies"`
	CleanNotifies     uint64            `json:"clean_notifies"`
	Rounds            map[uint64]*Hist  `json:"rounds"`
	ShareRTT          Hist              `json:"share_rtt"`
	// Process is the fleet process's own cost (filled by the fleet
	// subcommand).
	Process ProcSample `json:"process"`
}

// Report collects the counters and histograms.
func (f *Fleet) Report(seq uint64) Report {
	r := Report{
		Status:            f.Status(seq, 0),
		Dials:             f.c.dials.Load(),
		DialErrors:        f.c.dialErrors.Load(),
		Connects:          f.c.connects.Load(),
		Disconnects:       f.c.disconnects.Load(),
		Sent:              f.c.sent.Load(),
		Accepted:          f.c.accepted.Load(),
		StaleExpected:     f.c.staleExpected.Load(),
		Rejected:          f.c.rejected.Load(),
		Skipped:           f.c.skipped.Load(),
		LostOnDisconnect:  f.c.lostOnDisconnect.Load(),
		Outstanding:       f.Outstanding(),
		AuthFailures:      f.c.authFailures.Load(),
		SubscribeFailures: f.c.subscribeFailures.Load(),
		BadLines:          f.c.badLines.Load(),
		UnexpectedAnswers: f.c.unexpectedAnswers.Load(),
		ReconnectAsked:    f.c.reconnectAsked.Load(),
		Notifies:          f.c.notifies.Load(),
		CleanNotifies:     f.c.cleanNotifies.Load(),
		Rounds:            map[uint64]*Hist{},
	}
	f.c.rejectMu.Lock()
	if len(f.c.disconnectWhy) > 0 {
		r.DisconnectWhy = map[string]uint64{}
		for k, v := range f.c.disconnectWhy {
			r.DisconnectWhy[k] = v
		}
	}
	if len(f.c.rejectCodes) > 0 {
		r.RejectCodes = map[string]uint64{}
		for k, v := range f.c.rejectCodes {
			r.RejectCodes[k] = v
		}
	}
	f.c.rejectMu.Unlock()
	for i := range f.shards {
		sh := &f.shards[i]
		sh.mu.Lock()
		for seq, h := range sh.rounds {
			if r.Rounds[seq] == nil {
				r.Rounds[seq] = &Hist{}
			}
			r.Rounds[seq].Merge(h)
		}
		r.ShareRTT.Merge(&sh.rtt)
		sh.mu.Unlock()
	}
	return r
}

// MergeReports adds reports of several fleet processes.
func MergeReports(rs []Report) Report {
	var t Report
	t.Rounds = map[uint64]*Hist{}
	t.RejectCodes = map[string]uint64{}
	for _, r := range rs {
		t.Miners += r.Miners
		t.Connected += r.Connected
		t.Working += r.Working
		t.SeenSeq += r.SeenSeq
		t.LastWorking = max(t.LastWorking, r.LastWorking)
		t.Back += r.Back
		if r.BackHist != nil {
			if t.BackHist == nil {
				t.BackHist = &Hist{}
			}
			t.BackHist.Merge(r.BackHist)
		}
		t.Dials += r.Dials
		t.DialErrors += r.DialErrors
		t.Connects += r.Connects
		t.Disconnects += r.Disconnects
		t.Sent += r.Sent
		t.Accepted += r.Accepted
		t.StaleExpected += r.StaleExpected
		t.Rejected += r.Rejected
		for k, v := range r.RejectCodes {
			t.RejectCodes[k] += v
		}
		for k, v := range r.DisconnectWhy {
			if t.DisconnectWhy == nil {
				t.DisconnectWhy = map[string]uint64{}
			}
			t.DisconnectWhy[k] += v
		}
		t.Skipped += r.Skipped
		t.LostOnDisconnect += r.LostOnDisconnect
		t.Outstanding += r.Outstanding
		t.AuthFailures += r.AuthFailures
		t.SubscribeFailures += r.SubscribeFailures
		t.BadLines += r.BadLines
		t.UnexpectedAnswers += r.UnexpectedAnswers
		t.ReconnectAsked += r.ReconnectAsked
		t.Notifies += r.Notifies
		t.CleanNotifies += r.CleanNotifies
		for seq, h := range r.Rounds {
			if t.Rounds[seq] == nil {
				t.Rounds[seq] = &Hist{}
			}
			t.Rounds[seq].Merge(h)
		}
		t.ShareRTT.Merge(&r.ShareRTT)
		t.Process.RSS += r.Process.RSS
		t.Process.CPU += r.Process.CPU
	}
	return t
}
