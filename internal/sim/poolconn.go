package sim

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/hashgate/hashgate/stratum"
	"github.com/hashgate/hashgate/stratum/sharehash"
)

// poolConn is one connection to the pool, served by one goroutine.
type poolConn struct {
	p      *Pool
	id     uint64
	c      net.Conn
	remote string

	// wmu serialises writes. It is held while deciding what to send, so a
	// connection never gets an older job or difficulty after a newer one.
	// Lock order: wmu, then Pool.mu.
	wmu         sync.Mutex
	sentJobSeq  uint64 // under wmu
	sentDiffSeq uint64 // under wmu

	// Under Pool.mu.
	en1            uint32
	subscribed     bool
	extranonceSub  bool
	versionRolling bool
	requestedMask  uint32
	mask           uint32 // granted
	workers        map[string]bool
	accepted       int
	// cleanSeq is the seq of the last clean job sent on this connection:
	// older jobs are stale here. It is set before the notify is written,
	// under wmu, so a stale answer never overtakes the job that made the
	// share stale.
	cleanSeq uint64

	hasher sharehash.Hasher // serve goroutine only
}

func (c *poolConn) serve() {
	p := c.p
	defer p.wg.Done()
	defer c.drop()
	lr := stratum.NewLineReader(c.c, maxLine)
	for {
		_ = c.c.SetReadDeadline(time.Now().Add(p.cfg.IdleTimeout))
		line, err := lr.ReadLine()
		if err != nil {
			if errors.Is(err, stratum.ErrLineTooLong) {
				c.protocolError("line too long")
			} else if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				p.log.Debug().Uint64("conn", c.id).Err(err).Msg("read")
			}
			return
		}
		if p.silent.Load() {
			p.mu.Lock()
			p.ignoredSilent++
			p.mu.Unlock()
			continue
		}
		msg, err := stratum.Decode(line)
		if err != nil {
			c.protocolError(err.Error())
			return
		}
		if !msg.IsRequest() {
			continue // an answer to one of our notifications: nothing to do
		}
		if err := c.handle(msg); err != nil {
			return
		}
	}
}

func (c *poolConn) protocolError(why string) {
	c.p.mu.Lock()
	c.p.protocolErrors++
	c.p.mu.Unlock()
	c.p.log.Debug().Uint64("conn", c.id).Str("why", why).Msg("dropping connection")
}

// drop closes the connection and forgets it.
func (c *poolConn) drop() {
	_ = c.c.Close()
	c.p.mu.Lock()
	delete(c.p.conns, c)
	c.p.mu.Unlock()
}

// write sends b unless the pool is silent (force overrides that). A failed
// write closes the connection.
func (c *poolConn) write(b []byte, force bool) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeLocked(b, force)
}

func (c *poolConn) writeLocked(b []byte, force bool) error {
	if !force && c.p.silent.Load() {
		return errSilent
	}
	_ = c.c.SetWriteDeadline(time.Now().Add(c.p.cfg.WriteTimeout))
	if _, err := c.c.Write(b); err != nil {
		_ = c.c.Close()
		return err
	}
	return nil
}

var errSilent = errors.New("sim: pool is silent")

func (c *poolConn) isSubscribed() bool {
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	return c.subscribed
}

func (c *poolConn) sendJob(j *poolJob) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !c.isSubscribed() || c.sentJobSeq >= j.seq || c.p.silent.Load() {
		return
	}
	if j.clean {
		c.p.mu.Lock()
		c.cleanSeq = j.seq
		c.p.mu.Unlock()
	}
	if c.writeLocked(j.line, false) == nil {
		c.sentJobSeq = j.seq
	}
}

func (c *poolConn) sendDifficulty(seq uint64, line []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !c.isSubscribed() || c.sentDiffSeq >= seq {
		return
	}
	if c.writeLocked(line, false) == nil {
		c.sentDiffSeq = seq
	}
}

func (c *poolConn) sendSetExtranonce() bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	p := c.p
	if p.silent.Load() {
		return false
	}
	p.mu.Lock()
	if !c.subscribed || !c.extranonceSub {
		p.mu.Unlock()
		return false
	}
	c.en1 = p.allocEn1Locked()
	en1 := c.en1
	// Work sent under the old extranonce1 is void: shares for it would
	// be hashed with the new one. They are stale from here on, as after a
	// clean job; the next job carries the new extranonce1.
	c.cleanSeq = p.jobSeq + 1
	p.mu.Unlock()
	line, _ := stratum.AppendRequest(nil, nil, stratum.MethodSetExtranonce,
		[]any{stratum.FormatUint32(en1), p.cfg.Extranonce2Size})
	return c.writeLocked(line, false) == nil
}

func (c *poolConn) sendVersionMask(mask uint32) bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	p := c.p
	p.mu.Lock()
	if !c.versionRolling {
		p.mu.Unlock()
		return false
	}
	c.mask = c.requestedMask & mask
	granted := c.mask
	p.mu.Unlock()
	line, _ := stratum.AppendRequest(nil, nil, stratum.MethodSetVersionMask, []any{stratum.FormatUint32(granted)})
	return c.writeLocked(line, false) == nil
}

// respond answers a request. A write error is returned so serve stops.
func (c *poolConn) respond(id json.RawMessage, result any) error {
	b, err := stratum.AppendResponse(nil, id, result)
	if err != nil {
		return err
	}
	return c.answer(b)
}

func (c *poolConn) respondError(id json.RawMessage, code stratum.ErrorCode, msg string) error {
	return c.answer(stratum.AppendError(nil, id, stratum.NewError(code, msg)))
}

// answer writes an answer; the pool going silent after the request was
// read is not an error.
func (c *poolConn) answer(b []byte) error {
	if err := c.write(b, false); err != nil && err != errSilent {
		return err
	}
	return nil
}

func (c *poolConn) handle(m *stratum.Message) error {
	p := c.p
	switch m.Method {
	case stratum.MethodConfigure:
		return c.configure(m)
	case stratum.MethodSubscribe:
		return c.subscribe(m)
	case stratum.MethodExtranonceSubscribe:
		p.mu.Lock()
		c.extranonceSub = true
		p.mu.Unlock()
		return c.respond(m.ID, true)
	case stratum.MethodAuthorize:
		ps, _ := stratum.SplitParams(m.Params)
		user, err := stratum.StringParam(ps, 0)
		if err != nil {
			return c.respondError(m.ID, stratum.ErrOther, err.Error())
		}
		if p.refuseAuth.Load() {
			return c.respondError(m.ID, stratum.ErrUnauthorized, "unauthorized worker")
		}
		p.mu.Lock()
		c.workers[user] = true
		p.mu.Unlock()
		return c.respond(m.ID, true)
	case stratum.MethodSuggestDifficulty:
		// Noted and ignored: the pool's difficulty is pool-wide.
		if !m.HasID() {
			return nil
		}
		return c.respond(m.ID, true)
	case stratum.MethodSubmit:
		return c.submit(m)
	}
	if !m.HasID() {
		return nil
	}
	return c.respondError(m.ID, stratum.ErrOther, "unknown method "+strconv.Quote(m.Method))
}

func (c *poolConn) configure(m *stratum.Message) error {
	p := c.p
	cfg, err := stratum.ParseConfigure(m.Params)
	if err != nil {
		return c.respondError(m.ID, stratum.ErrOther, err.Error())
	}
	res := map[string]any{}
	for _, ext := range cfg.Extensions {
		switch ext {
		case "version-rolling":
			if p.cfg.DisableVersionRolling {
				res[ext] = false
				continue
			}
			p.mu.Lock()
			c.versionRolling = true
			c.requestedMask = cfg.VersionRollingMask
			c.mask = cfg.VersionRollingMask & p.mask
			granted := c.mask
			p.mu.Unlock()
			res[ext] = true
			res["version-rolling.mask"] = stratum.FormatUint32(granted)
		case "minimum-difficulty":
			res[ext] = true
		case "subscribe-extranonce":
			p.mu.Lock()
			c.extranonceSub = true
			p.mu.Unlock()
			res[ext] = true
		default:
			res[ext] = false
		}
	}
	return c.respond(m.ID, res)
}

// subscribe answers mining.subscribe and sends the difficulty and the
// current job (clean) right after, under the write lock so no broadcast
// can slip an older job in between.
func (c *poolConn) subscribe(m *stratum.Message) error {
	p := c.p
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if p.silent.Load() {
		return nil
	}
	p.mu.Lock()
	c.subscribed = true
	en1 := c.en1
	diff, diffSeq := p.diff, p.diffSeq
	job := p.cur
	c.cleanSeq = job.seq
	p.mu.Unlock()

	sub := p.jobPrefix + strconv.FormatUint(c.id, 16)
	b, err := stratum.AppendResponse(nil, m.ID, []any{
		[]any{[]string{stratum.MethodSetDifficulty, sub}, []string{stratum.MethodNotify, sub}},
		stratum.FormatUint32(en1),
		p.cfg.Extranonce2Size,
	})
	if err != nil {
		return err
	}
	b, _ = stratum.AppendRequest(b, nil, stratum.MethodSetDifficulty, []any{diff})
	b = append(b, job.cleanLine...)
	if err := c.writeLocked(b, false); err != nil {
		if err == errSilent {
			return nil
		}
		return err
	}
	c.sentDiffSeq = max(c.sentDiffSeq, diffSeq)
	c.sentJobSeq = max(c.sentJobSeq, job.seq)
	return nil
}

// reject counts a rejected share and answers it.
func (c *poolConn) reject(m *stratum.Message, reason string, code stratum.ErrorCode, msg string) error {
	c.p.mu.Lock()
	c.p.rejected[reason]++
	c.p.mu.Unlock()
	c.p.log.Debug().Uint64("conn", c.id).Str("reason", reason).Str("msg", msg).Msg("share rejected")
	return c.respondError(m.ID, code, msg)
}

func (c *poolConn) submit(m *stratum.Message) error {
	p := c.p
	s, perr := stratum.ParseSubmit(m.Params)

	p.mu.Lock()
	p.submitted++
	subscribed := c.subscribed
	authorized := perr == nil && c.workers[s.Worker]
	var job *poolJob
	if perr == nil {
		if j := p.jobs[s.JobID]; j != nil && j.seq >= c.cleanSeq {
			job = j
		}
	}
	en1, mask := c.en1, c.mask
	curDiff, curTarget := p.diff, p.target
	p.mu.Unlock()

	switch {
	case !subscribed:
		return c.reject(m, RejectNotSubscribed, stratum.ErrNotSubscribed, "not subscribed")
	case perr != nil:
		return c.reject(m, RejectOther, stratum.ErrOther, perr.Error())
	case !authorized:
		return c.reject(m, RejectUnauthorized, stratum.ErrUnauthorized, "unauthorized worker")
	case job == nil:
		return c.reject(m, RejectStale, stratum.ErrJobNotFound, "job not found")
	case !eightDigitNonce(m.Params):
		// Like a strict pool: a proxy must forward a short nonce padded.
		return c.reject(m, RejectOther, stratum.ErrOther, "nonce must be 8 hex digits")
	case !stratum.IsHex(s.Extranonce2, p.cfg.Extranonce2Size):
		return c.reject(m, RejectBadExtranonce2, stratum.ErrOther, "extranonce2 must be "+strconv.Itoa(p.cfg.Extranonce2Size)+" bytes")
	}
	ntime, _ := stratum.HexUint32(s.NTime) // ParseSubmit checked the form
	nonce, _ := stratum.HexUint32(s.Nonce)
	version := job.job.Version
	if s.Version != "" {
		bits, _ := stratum.HexUint32(s.Version)
		if bits&^mask != 0 {
			return c.reject(m, RejectBadVersion, stratum.ErrOther, "version bits outside the mask "+stratum.FormatUint32(mask))
		}
		version = sharehash.RollVersion(version, mask, bits)
	}
	if ntime < job.job.NTime || ntime-job.job.NTime > maxNTimeRoll {
		return c.reject(m, RejectOther, stratum.ErrOther, "ntime out of range")
	}
	en2, _ := hex.DecodeString(s.Extranonce2)
	var en1b [4]byte
	binary.BigEndian.PutUint32(en1b[:], en1)

	hash := c.hasher.Hash(job.job, en1b[:], en2, ntime, nonce, version)
	credit := 0.0
	if curTarget.Met(&hash) {
		credit = curDiff
	}
	if job.target.Met(&hash) && job.diff > credit {
		credit = job.diff
	}
	if credit == 0 {
		return c.reject(m, RejectLowDifficulty, stratum.ErrLowDifficulty, "low difficulty share")
	}

	key := shareKey{en1: en1, en2: string(en2), ntime: ntime, nonce: nonce, version: version}
	p.mu.Lock()
	if _, dup := job.seen[key]; dup {
		p.mu.Unlock()
		return c.reject(m, RejectDuplicate, stratum.ErrDuplicate, "duplicate share")
	}
	job.seen[key] = struct{}{}
	p.good++
	if nth := p.rejectNth.Load(); nth > 0 && int64(p.good)%nth == 0 {
		p.mu.Unlock()
		return c.reject(m, RejectRefused, stratum.ErrOther, "share refused (test pool rejecting shares)")
	}
	p.accepted++
	p.byWorker[s.Worker]++
	c.accepted++
	p.mu.Unlock()

	if p.cfg.OnShare != nil {
		p.cfg.OnShare(Share{
			ConnID:      c.id,
			Worker:      s.Worker,
			JobID:       s.JobID,
			Extranonce1: stratum.FormatUint32(en1),
			Extranonce2: s.Extranonce2,
			NTime:       s.NTime,
			Nonce:       s.Nonce,
			Version:     s.Version,
			Difficulty:  credit,
		})
	}
	return c.respond(m.ID, true)
}

// eightDigitNonce reports whether the nonce of submit params (which
// ParseSubmit accepted: an array of strings) is sent with all 8 digits:
// ParseSubmit pads a shorter one, which this pool, like some real ones,
// refuses. A scan for the fifth string, without allocating: the load
// harness measures the proxy's share path with this pool in it.
func eightDigitNonce(params json.RawMessage) bool {
	n, start, in := 0, 0, false
	for i := 0; i < len(params); i++ {
		switch c := params[i]; {
		case in && c == '\\':
			i++ // the escaped byte
		case c == '"' && !in:
			in, start = true, i
		case c == '"':
			if in = false; n == 4 {
				return i-start+1 == len(`"00000000"`)
			}
			n++
		}
	}
	return false
}
