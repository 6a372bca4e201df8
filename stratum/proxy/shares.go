package proxy

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"

	"github.com/hashgate/hashgate/stratum"
	"github.com/hashgate/hashgate/stratum/sharehash"
	"github.com/hashgate/hashgate/stratum/upstream"
)

// diffEpoch is the span of jobs sent between two difficulty changes: the
// jobs from sequence from on, and the difficulty a share on them is
// judged at: the lowest one in force from this epoch's change until now.
//
// The rule: a share is judged at a difficulty the miner could have been
// working at. Between a job being sent and a share on it, the miner may
// have worked at any difficulty it was sent in that time (firmware differs
// on when a new one takes effect: cgminer at once, others at the next
// job), so the lowest of them is the bar. Hence a rise applies to jobs
// sent after it (shares on older jobs are judged at the old, lower
// difficulty) and a fall is honoured at once, on older jobs too.
//
// Credit (accounting, vardiff) is the difficulty judged, or the current
// one when the share meets it: after a rise cgminer-family firmware works
// at the new difficulty at once, on the job it holds, and crediting its
// shares at the old one until the pool's next job made vardiff see a
// hashrate divided by the rise (and undo it). Firmware that waits for the
// next job is over-credited by less than 2× in that span.
type diffEpoch struct {
	from   uint64
	diff   float64
	target sharehash.Target
}

// diffEpochs is how many epochs a connection keeps. Jobs last until the
// next clean job (a block, ~10 min) and a few changes happen in that time
// at most, mostly while vardiff ramps up after connecting. The oldest slot
// stands for every job before the next one, at the lowest difficulty of
// them all: never stricter than the rule.
const diffEpochs = 4

// pendingEpoch is the from of an epoch whose set_difficulty is being
// queued: no job is in it yet.
const pendingEpoch = ^uint64(0)

// resetDifficulty takes vardiff's difficulty as the only one the miner
// was ever given: at connect, and when a rig's difficulty from before is
// restored (before it was sent anything to work on). Under mu, or before
// m is shared.
func (m *minerConn) resetDifficulty() {
	m.diff = m.vd.Difficulty()
	for i := range m.eps {
		m.eps[i] = diffEpoch{diff: m.diff, target: m.srv.target(m.diff)}
	}
}

// onSubmit validates a share itself and answers the miner from that
// verdict; shares that meet the pool's difficulty are forwarded, and the
// pool's verdict on those is only counted.
//
// id may alias the reader's line buffer: it is only used before onSubmit
// returns. parseErr is ParseSubmit's verdict on the params. now is when
// the share was read (a poller reads the clock once per wake-up: a
// reading costs 50-80 ns on some VMs, a few percent of a share).
func (m *minerConn) onSubmit(id json.RawMessage, sub *stratum.Submit, parseErr error, now time.Time) {
	m.mu.Lock()
	subscribed, us, mask := m.subscribed, m.sess, m.mask
	prefix, k := m.prefixBytes, int(m.prefixLen)
	prefixHex, sentFrom := m.prefixHex, m.sentFrom
	m.mu.Unlock()
	if !subscribed {
		m.rejectShare(id, nil, rejectNotSubscribed, "", now)
		return
	}
	if parseErr != nil {
		m.rejectShare(id, nil, rejectOther, "bad params: "+parseErr.Error(), now)
		return
	}
	w := m.account(sub.Worker)
	if w == nil {
		m.rejectShare(id, nil, rejectUnauthorized, "", now)
		return
	}
	if us == nil {
		m.rejectShare(id, w, rejectStale, "job not found (pool session changed)", now)
		return
	}
	v := us.viewShare(sub.JobID)
	j := v.job
	if j != nil && j.seq < sentFrom {
		// A job of the session this connection was never sent (it came
		// before the connection got work: before it connected, or while it
		// waited parked). cpuminer keeps hashing its last job across a
		// reconnect: that work is stale, not low difficulty.
		j = nil
	}
	if j == nil {
		// Stale: most likely a clean job is being fanned out right now. The
		// miner gets that job before this answer, never the other way round.
		if cur := v.current; cur != nil && m.isWorking() && m.offerJob(cur.seq, cur.bytes, cur.notify.Clean, now.UnixNano()) {
			m.srv.stats.JobsNotified.Add(1)
		}
		m.rejectShare(id, w, rejectStale, "", now)
		return
	}
	en1, curPoolTarget := v.en1, v.poolTarget
	// The pool's whole extranonce2, on the stack: up to the 32 bytes a
	// pool may give (stratum.MaxExtranonce2Size, checked at subscribe).
	var en2 [stratum.MaxExtranonce2Size]byte
	n := k + len(sub.Extranonce2)/2
	if n > len(en2) || len(sub.Extranonce2) != 2*v.en2Size {
		m.rejectShare(id, w, rejectExtranonce2, fmt.Sprintf("extranonce2 must be %d bytes", v.en2Size), now)
		return
	}
	copy(en2[:k], prefix[:k])
	if _, err := hex.Decode(en2[k:n], []byte(sub.Extranonce2)); err != nil {
		m.rejectShare(id, w, rejectExtranonce2, "", now)
		return
	}
	ntime, _ := stratum.HexUint32(sub.NTime)
	nonce, _ := stratum.HexUint32(sub.Nonce)
	if ntime < j.hj.NTime || ntime > j.hj.NTime+maxNTimeRoll {
		m.rejectShare(id, w, rejectNTime, "", now)
		return
	}
	var rolled uint32
	if sub.Version != "" {
		rolled, _ = stratum.HexUint32(sub.Version)
		if rolled&^mask != 0 {
			m.rejectShare(id, w, rejectVersion, "", now)
			return
		}
	}
	version := sharehash.RollVersion(j.hj.Version, mask, rolled)
	root := m.rootFor(j, en1, en2[:n])
	hash := sharehash.HashWithRoot(j.hj, root, ntime, nonce, version)
	if m.seen(&hash) {
		m.rejectShare(id, w, rejectDuplicate, "", now)
		return
	}
	ep, cur := m.judgeEpoch(j.seq)
	if !ep.target.Met(&hash) {
		m.rejectShare(id, w, rejectLowDifficulty, "", now)
		return
	}
	credit := ep.diff
	if cur.diff > credit && cur.target.Met(&hash) { // only on a job sent before a rise
		credit = cur.diff
	}
	// A good share: count it, forward it if the pool wants it, and answer
	// from our own verdict.
	m.rejectStreak = 0
	block := j.netTarget.Met(&hash)
	forward := block || j.poolTarget.Met(&hash) || curPoolTarget.Met(&hash)
	m.srv.stats.SharesAccepted.Add(1)
	us.counters.work.add(credit)
	w.accept(now, credit, cur.diff, forward, block)
	if forward {
		// Upstream first: a block candidate must not wait for anything.
		m.srv.stats.SharesForwarded.Add(1)
		us.sess.Submit(upstream.Share{
			JobID: j.poolJobID, Extranonce2Prefix: prefixHex, Extranonce2: sub.Extranonce2,
			NTime: sub.NTime, Nonce: sub.Nonce, Version: sub.Version, Block: block, At: now,
		}, w.onPool)
	}
	if block {
		m.srv.stats.BlockCandidates.Add(1)
		l := m.logger()
		l.Warn().Str("hash", hash.String()).Str("job", j.id).Str("pool", us.sess.Pool()).Msg("block candidate found: forwarded at once")
	}
	m.reply(id, []byte("true"))
	m.mu.Lock()
	_, changed := m.vd.OnShare(now, credit)
	m.mu.Unlock()
	if changed {
		m.changeDifficulty(true)
	}
}

// maxNTimeRoll is how far past the job's ntime a share may be: room for
// firmware that rolls ntime.
const maxNTimeRoll = 7000

var hasherPool = sync.Pool{New: func() any { return new(sharehash.Hasher) }}

// rootFor is the merkle root of a share on job j with this extranonce2
// (prefix included). A miner rolls nonce, version and ntime under one
// extranonce2 before it moves to the next, so the last root is kept: a
// share on the same one costs the header hash (~0.3 µs) instead of the
// coinbase and branches (~4 µs with a dozen branches). At the
// difficulties pools give ASICs, about one share in two reuses it; a
// miner on a tiny difficulty reuses it for nearly every share.
func (m *minerConn) rootFor(j *job, en1, en2 []byte) *[32]byte {
	if m.rootJob == j && int(m.rootEN2Len) == len(en2) && string(m.rootEN2[:len(en2)]) == string(en2) {
		return &m.root
	}
	h := hasherPool.Get().(*sharehash.Hasher)
	m.root = h.Root(j.hj, en1, en2)
	hasherPool.Put(h)
	m.rootJob, m.rootEN2Len = j, uint8(copy(m.rootEN2[:], en2))
	return &m.root
}

// dupWindow is how many recent shares a miner is checked against. A
// duplicate is the same header, so the hash (low 64 bits) is the key.
const dupWindow = 64

func (m *minerConn) seen(h *chainhash.Hash) bool {
	key := binary.LittleEndian.Uint64(h[:8])
	for _, k := range m.recent {
		if k == key {
			return true
		}
	}
	if len(m.recent) < dupWindow {
		m.recent = append(m.recent, key)
	} else {
		m.recent[m.recentNext] = key
		m.recentNext = (m.recentNext + 1) % dupWindow
	}
	return false
}

// judgeEpoch returns the epoch a share on the job with this sequence is
// judged in (see diffEpoch), nearly always the newest (one comparison),
// and the newest.
func (m *minerConn) judgeEpoch(seq uint64) (judged, cur diffEpoch) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range len(m.eps) - 1 {
		if seq >= m.eps[i].from {
			return m.eps[i], m.eps[0]
		}
	}
	return m.eps[len(m.eps)-1], m.eps[0]
}

// account returns the account of an authorized worker of this connection.
func (m *minerConn) account(worker string) *workerStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, w := range m.workers {
		if w == worker {
			return m.accounts[i]
		}
	}
	return nil
}

// rejectShare answers a bad share (msg: a more precise message than
// the reason's own, or ""), counts it, and drops a miner whose shares
// have all been rejected for the abuse window, or that sends invalid
// shares faster than the abuse rate allows.
func (m *minerConn) rejectShare(id json.RawMessage, w *workerStats, reason rejectReason, msg string, now time.Time) {
	m.srv.stats.reject(reason)
	if w != nil {
		w.reject(reason, now)
	}
	e := reason.answer(msg)
	m.replyError(id, e)
	a := &m.srv.cfg.Abuse
	if m.rejectStreak == 0 {
		m.streakSince = sinceEpoch(now)
	}
	m.rejectStreak++
	if streak := time.Duration(sinceEpoch(now) - m.streakSince); m.rejectStreak >= a.RejectMinShares && streak >= a.RejectWindow {
		m.srv.stats.AbuseDisconnects.Add(1)
		m.readerClose(reasonAllRejected, fmt.Errorf("%d shares rejected in a row over %s, last: %s", m.rejectStreak, streak.Round(time.Second), reason))
		return
	}
	if reason == rejectStale {
		// Stale shares come in bursts after every block: a bucket of their
		// own, far larger than the invalid one.
		if !m.stale.take(now, a.StalePerSecond, a.StaleBurst) {
			m.srv.stats.AbuseDisconnects.Add(1)
			m.readerClose(reasonStaleFlood, fmt.Errorf("stale or unknown-job submits faster than %g/s (burst %g), last: %s", a.StalePerSecond, a.StaleBurst, e.Message))
		}
		return
	}
	if !m.invalid.take(now, a.InvalidPerSecond, a.InvalidBurst) {
		m.srv.stats.AbuseDisconnects.Add(1)
		m.readerClose(reasonInvalidFlood, fmt.Errorf("invalid submits faster than %g/s, last: %s", a.InvalidPerSecond, reason))
	}
}

// tokenBucket allows events at rate per second on average, in bursts of
// at most burst. It reads no clock: the caller passes the time it has.
type tokenBucket struct {
	tokens float64
	at     time.Time
}

// take spends one token; false when there was none left.
func (b *tokenBucket) take(now time.Time, rate, burst float64) bool {
	b.tokens = min(b.tokens+now.Sub(b.at).Seconds()*rate, burst) - 1
	b.at = now
	return b.tokens >= 0
}

// changeDifficulty applies the difficulty vardiff now says (the caller
// just changed it). The miner is sent mining.set_difficulty and nothing
// else: re-sending the current job (under a new id, clean) made
// cgminer-family firmware, which restarts extranonce2 at 0 on every
// notify, search the same headers again and submit shares it had already
// submitted, rejected as duplicates. The new difficulty takes effect as
// the rule in diffEpoch says: a fall at once, a rise with the jobs sent
// after it. measured says vardiff set it from the miner's shares (the
// difficulty its rig gets back on its next connection).
func (m *minerConn) changeDifficulty(measured bool) {
	m.diffMu.Lock()
	defer m.diffMu.Unlock()
	m.mu.Lock()
	d := m.vd.Difficulty() // the newest, whichever change this call follows
	if d == m.diff {
		m.mu.Unlock()
		return
	}
	t := m.srv.target(d)
	m.diff = d
	// A new epoch, no job in it yet; the oldest slot is kept (it folds in
	// the one before it, whose difficulty is never above its own).
	copy(m.eps[1:len(m.eps)-1], m.eps[:len(m.eps)-2])
	m.eps[0] = diffEpoch{from: pendingEpoch, diff: d, target: t}
	for i := 1; i < len(m.eps); i++ {
		if d < m.eps[i].diff { // a fall counts for the jobs sent before it
			m.eps[i].diff, m.eps[i].target = d, t
		}
	}
	working := m.working.Load() && m.sess != nil
	accounts := m.accounts
	m.mu.Unlock()
	for _, w := range accounts {
		w.setDifficulty(d, measured)
	}
	if working {
		m.send(stratum.AppendSetDifficulty(nil, d), false)
	}
	// Jobs queued from here on follow the set_difficulty. One queued in
	// between lands in the older epoch: judged at the lower difficulty of
	// the two, as a job sent before a rise.
	m.mu.Lock()
	m.eps[0].from = m.lastJob.Load() + 1
	m.mu.Unlock()
}

// idleCheck lowers the difficulty of a miner that stopped finding shares.
func (m *minerConn) idleCheck(now time.Time) {
	m.mu.Lock()
	if !m.working.Load() {
		m.mu.Unlock()
		return
	}
	_, changed := m.vd.Idle(now)
	m.mu.Unlock()
	if changed {
		m.changeDifficulty(false)
	}
}
