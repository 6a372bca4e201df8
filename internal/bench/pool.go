package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashgate/hashgate/stratum"
)

// PoolConfig configures the bench pool. The zero value is usable.
type PoolConfig struct {
	// Difficulty sent to every connection; default 2e-10, at which every
	// hash is a valid share (the target is clamped to 2^256-1 below
	// about 2.33e-10), so miners need not hash.
	Difficulty float64
	// Extranonce2Size announced to every connection; default 8 (a proxy
	// with min_miner_extranonce2_size 3 takes 4 prefix bytes).
	Extranonce2Size int
	// Branches is the number of merkle branches per job; default 12 (a
	// realistic notify of about 1.2 KB).
	Branches int
	// CoinbaseBytes is coinb1's length, stamp included; default 96.
	CoinbaseBytes int
	// DupCheck counts shares submitted twice (same connection
	// extranonce1, job, extranonce2, ntime, nonce, version) with an 8-byte
	// hash per share. Duplicates are still answered true: the proxy is
	// what is being checked.
	DupCheck bool
	// Writers is how many goroutines write a broadcast; default
	// GOMAXPROCS.
	Writers int
}

// nbits of a real mainnet block: no share meets the network target, so
// the proxy never logs block candidates.
const poolNBits = "1705ae3a"

// Pool is a Stratum V1 pool for load tests: it answers the handshake,
// counts and accepts every submit without validating it, and sends a
// mining.notify on demand, stamped with its round and send time.
type Pool struct {
	cfg  PoolConfig
	ln   net.Listener
	seed maphash.Seed

	mu      sync.Mutex
	conns   map[*poolConn]struct{}
	working []*poolConn // authorized: they get every broadcast
	current []byte      // the last job, clean, for connections starting
	rounds  []Round
	dups    map[uint64]struct{}
	closed  bool

	bmu sync.Mutex // one broadcast at a time

	seq       atomic.Uint64
	nextConn  atomic.Uint64
	Stats     PoolStats
	wg        sync.WaitGroup
	prevhash  string
	coinb2    string
	branches  string
	coinbBase string
}

// PoolStats are the pool's counters.
type PoolStats struct {
	Open        atomic.Int64
	Accepted    atomic.Uint64 // connections accepted, ever
	Authorized  atomic.Uint64
	Submits     atomic.Uint64
	Duplicates  atomic.Uint64
	BadLines    atomic.Uint64
	Notifies    atomic.Uint64 // notify lines written
	WriteErrors atomic.Uint64
}

// Round is one broadcast.
type Round struct {
	Seq   uint64 `json:"seq"`
	Stamp int64  `json:"stamp_ns"`
	Clean bool   `json:"clean"`
	Conns int    `json:"conns"`
	// WriteDur is how long the pool took to write it to every connection.
	WriteDur time.Duration `json:"write_ns"`
}

type poolConn struct {
	p   *Pool
	c   net.Conn
	en1 string
	wmu sync.Mutex
	// dead is set after a failed write; broadcasts skip it.
	dead atomic.Bool
}

// StartPool listens on 127.0.0.1:0 and serves until Close.
func StartPool(cfg PoolConfig) (*Pool, error) {
	if cfg.Difficulty <= 0 {
		cfg.Difficulty = 2e-10
	}
	if cfg.Extranonce2Size <= 0 {
		cfg.Extranonce2Size = 8
	}
	if cfg.Branches <= 0 {
		cfg.Branches = 12
	}
	if cfg.CoinbaseBytes < stampDigits/2+4 {
		cfg.CoinbaseBytes = 96
	}
	if cfg.Writers <= 0 {
		cfg.Writers = runtime.GOMAXPROCS(0)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Pool{cfg: cfg, ln: ln, seed: maphash.MakeSeed(), conns: make(map[*poolConn]struct{})}
	if cfg.DupCheck {
		p.dups = make(map[uint64]struct{})
	}
	p.prevhash = fmt.Sprintf("%064x", 0xfeedbeef)
	p.coinb2 = "ffffffff0100f2052a010000001976a914000000000000000000000000000000000000000088ac00000000"
	var br bytes.Buffer
	br.WriteByte('[')
	for i := range cfg.Branches {
		if i > 0 {
			br.WriteByte(',')
		}
		fmt.Fprintf(&br, `"%064x"`, 0xb0+i)
	}
	br.WriteByte(']')
	p.branches = br.String()
	// coinb1: a plausible coinbase start, padded, then the stamp.
	base := "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff"
	for len(base) < 2*cfg.CoinbaseBytes-stampDigits {
		base += "00"
	}
	p.coinbBase = base[:2*cfg.CoinbaseBytes-stampDigits]
	// Round 1 is the job connections get before any broadcast.
	p.seq.Store(1)
	p.current = p.notifyLine(1, time.Now().UnixNano(), true)
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Addr is the pool's address.
func (p *Pool) Addr() string { return p.ln.Addr().String() }

// Difficulty is the share difficulty the pool sets.
func (p *Pool) Difficulty() float64 { return p.cfg.Difficulty }

func (p *Pool) notifyLine(seq uint64, stamp int64, clean bool) []byte {
	b := make([]byte, 0, 1400)
	b = append(b, `{"id":null,"method":"mining.notify","params":["`...)
	b = strconv.AppendUint(b, seq, 16)
	b = append(b, `","`...)
	b = append(b, p.prevhash...)
	b = append(b, `","`...)
	b = append(b, p.coinbBase...)
	b = fmt.Appendf(b, "%016x%016x", seq, uint64(stamp))
	b = append(b, `","`...)
	b = append(b, p.coinb2...)
	b = append(b, `",`...)
	b = append(b, p.branches...)
	b = append(b, `,"20000000","`+poolNBits+`","`...)
	b = appendHex32(b, uint32(time.Now().Unix()))
	b = append(b, `",`...)
	b = strconv.AppendBool(b, clean)
	b = append(b, "]}\n"...)
	return b
}

func (p *Pool) acceptLoop() {
	defer p.wg.Done()
	var delay time.Duration
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// EMFILE and the like: back off, bounded.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			time.Sleep(delay)
			continue
		}
		delay = 0
		pc := &poolConn{p: p, c: c, en1: fmt.Sprintf("%08x", uint32(p.nextConn.Add(1)))}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.Close()
			return
		}
		p.conns[pc] = struct{}{}
		p.mu.Unlock()
		p.Stats.Open.Add(1)
		p.Stats.Accepted.Add(1)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			pc.serve()
		}()
	}
}

// Broadcast sends a new job to every authorized connection, stamped with
// the time its first write starts; it returns when every write is done.
func (p *Pool) Broadcast(clean bool) Round {
	p.bmu.Lock()
	defer p.bmu.Unlock()
	seq := p.seq.Add(1)
	stamp := time.Now().UnixNano()
	line := p.notifyLine(seq, stamp, clean)
	p.mu.Lock()
	cur := line
	if !clean {
		cur = p.notifyLine(seq, stamp, true)
	}
	p.current = cur
	conns := append([]*poolConn(nil), p.working...)
	p.mu.Unlock()
	var wg sync.WaitGroup
	w := min(p.cfg.Writers, max(1, len(conns)/64))
	for k := range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := k; i < len(conns); i += w {
				conns[i].write(line)
			}
		}()
	}
	wg.Wait()
	r := Round{Seq: seq, Stamp: stamp, Clean: clean, Conns: len(conns), WriteDur: time.Duration(time.Now().UnixNano() - stamp)}
	p.mu.Lock()
	p.rounds = append(p.rounds, r)
	p.mu.Unlock()
	return r
}

// Rounds returns the broadcasts so far.
func (p *Pool) Rounds() []Round {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Round(nil), p.rounds...)
}

// Working is the number of authorized connections.
func (p *Pool) Working() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.working)
}

// Close closes the listener and every connection and waits for them.
func (p *Pool) Close() {
	p.mu.Lock()
	p.closed = true
	conns := make([]*poolConn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	p.ln.Close()
	for _, c := range conns {
		c.c.Close()
	}
	p.wg.Wait()
}

func (pc *poolConn) write(b []byte) {
	if pc.dead.Load() {
		return
	}
	pc.wmu.Lock()
	_ = pc.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := pc.c.Write(b)
	pc.wmu.Unlock()
	if err != nil {
		pc.dead.Store(true)
		pc.p.Stats.WriteErrors.Add(1)
		pc.c.Close()
		return
	}
	if IsNotify(b) {
		pc.p.Stats.Notifies.Add(1)
	}
}

func (pc *poolConn) drop() {
	p := pc.p
	p.mu.Lock()
	delete(p.conns, pc)
	for i, c := range p.working {
		if c == pc {
			p.working[i] = p.working[len(p.working)-1]
			p.working[len(p.working)-1] = nil
			p.working = p.working[:len(p.working)-1]
			break
		}
	}
	p.mu.Unlock()
	p.Stats.Open.Add(-1)
	pc.c.Close()
}

// serve reads lines, answers them, and writes the answers of one read in
// one write.
func (pc *poolConn) serve() {
	defer pc.drop()
	buf := make([]byte, 4096)
	var out []byte
	start, end := 0, 0
	for {
		if start > 0 && start == end {
			start, end = 0, 0
		}
		if end == len(buf) {
			if start > 0 {
				copy(buf, buf[start:end])
				end -= start
				start = 0
			} else {
				if len(buf) >= 64<<10 {
					pc.p.Stats.BadLines.Add(1)
					return
				}
				nb := make([]byte, 2*len(buf))
				copy(nb, buf[:end])
				buf = nb
			}
		}
		n, err := pc.c.Read(buf[end:])
		end += n
		authorized := false
		for {
			i := bytes.IndexByte(buf[start:end], '\n')
			if i < 0 {
				break
			}
			line := bytes.TrimSpace(buf[start : start+i])
			start += i + 1
			if len(line) == 0 {
				continue
			}
			var auth bool
			out, auth = pc.handle(out, line)
			authorized = authorized || auth
		}
		if len(out) > 0 || authorized {
			if !pc.flush(out, authorized) {
				return
			}
			out = out[:0]
			if cap(out) > 64<<10 {
				out = nil
			}
		}
		if err != nil {
			return
		}
	}
}

// flush writes the answers; a connection just authorized then gets the
// difficulty and the current job and joins the broadcasts, under its write
// lock so no broadcast overtakes its first job.
func (pc *poolConn) flush(out []byte, authorized bool) bool {
	p := pc.p
	pc.wmu.Lock()
	defer pc.wmu.Unlock()
	if authorized {
		out, _ = stratum.AppendRequest(out, nil, stratum.MethodSetDifficulty, []float64{p.cfg.Difficulty})
		p.mu.Lock()
		out = append(out, p.current...)
		joined := false
		for _, c := range p.working {
			joined = joined || c == pc
		}
		if !joined {
			p.working = append(p.working, pc)
		}
		p.mu.Unlock()
		p.Stats.Authorized.Add(1)
		p.Stats.Notifies.Add(1)
	}
	_ = pc.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := pc.c.Write(out); err != nil {
		pc.dead.Store(true)
		p.Stats.WriteErrors.Add(1)
		return false
	}
	return true
}

var (
	submitMethod = []byte(`"method":"mining.submit"`)
	answerTrue   = []byte(`,"result":true,"error":null}` + "\n")
)

// handle answers one line into out; authorized says it was an authorize.
func (pc *poolConn) handle(out, line []byte) ([]byte, bool) {
	p := pc.p
	if id, _, ok := responseID(line); ok && bytes.Contains(line, submitMethod) {
		p.Stats.Submits.Add(1)
		if p.dups != nil {
			if f, _, ok := submitFields(line); ok {
				var h maphash.Hash
				h.SetSeed(p.seed)
				h.WriteString(pc.en1)
				for _, s := range f[1:] {
					h.WriteByte('/')
					h.Write(s)
				}
				k := h.Sum64()
				p.mu.Lock()
				_, dup := p.dups[k]
				p.dups[k] = struct{}{}
				p.mu.Unlock()
				if dup {
					p.Stats.Duplicates.Add(1)
				}
			}
		}
		out = append(out, `{"id":`...)
		out = strconv.AppendUint(out, id, 10)
		return append(out, answerTrue...), false
	}
	m, err := stratum.Decode(line)
	if err != nil {
		p.Stats.BadLines.Add(1)
		return out, false
	}
	if !m.IsRequest() {
		return out, false
	}
	switch m.Method {
	case stratum.MethodConfigure:
		return stratum.AppendRawResponse(out, m.ID, []byte(`{"version-rolling":true,"version-rolling.mask":"1fffe000"}`)), false
	case stratum.MethodSubscribe:
		res, _ := json.Marshal([]any{
			[][]string{{stratum.MethodSetDifficulty, pc.en1}, {stratum.MethodNotify, pc.en1}},
			pc.en1, p.cfg.Extranonce2Size,
		})
		return stratum.AppendRawResponse(out, m.ID, res), false
	case stratum.MethodAuthorize:
		return stratum.AppendRawResponse(out, m.ID, []byte("true")), true
	case stratum.MethodExtranonceSubscribe, stratum.MethodSuggestDifficulty:
		return stratum.AppendRawResponse(out, m.ID, []byte("true")), false
	case stratum.MethodPing:
		return stratum.AppendRawResponse(out, m.ID, []byte(`"pong"`)), false
	case stratum.MethodSubmit:
		// A submit the fast path could not read.
		p.Stats.BadLines.Add(1)
		return stratum.AppendError(out, m.ID, stratum.NewError(stratum.ErrOther, "unreadable submit")), false
	}
	return stratum.AppendError(out, m.ID, stratum.NewError(stratum.ErrOther, "unknown method")), false
}
