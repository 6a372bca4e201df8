package proxy

import (
	"encoding/hex"
	"time"

	"github.com/hashgate/hashgate/stratum"
)

// admit is the Gate saying yes after it said no.
func (m *minerConn) admit() {
	m.mu.Lock()
	m.admitted = true
	m.mu.Unlock()
	m.maybeStart()
}

// maybeStart sends the first difficulty and job once the miner is
// subscribed, authorized and admitted.
func (m *minerConn) maybeStart() {
	m.mu.Lock()
	if m.working.Load() || !m.subscribed || !m.authorized || !m.admitted || m.sess == nil {
		m.mu.Unlock()
		return
	}
	m.working.Store(true)
	m.workSince.Store(time.Now().UnixNano())
	// Vardiff measures from now: the time without work is no silence.
	m.vd.Restart(time.Now())
	us := m.sess
	m.mu.Unlock()
	m.sendWork(us)
}

// sendWork sends the miner's difficulty and the session's current job
// (clean) to m.
func (m *minerConn) sendWork(us *upSession) {
	j := us.currentJob()
	m.diffMu.Lock() // a change made meanwhile is sent after this one
	m.mu.Lock()
	if m.sess != us || !m.working.Load() {
		// us died and m moved on (or stopped) after maybeStart let go of
		// the lock: its new session's start sent its work; us's job now
		// would put it on work no session knows, answered 21 throughout.
		m.mu.Unlock()
		m.diffMu.Unlock()
		return
	}
	d := m.diff
	if j != nil {
		m.sentFrom = j.seq // older jobs of the session never reach it
	} else {
		m.sentFrom = 0 // the session has no job yet: it gets them all
	}
	m.mu.Unlock()
	m.send(stratum.AppendSetDifficulty(nil, d), false)
	m.diffMu.Unlock()
	if j != nil {
		m.markJob(j.seq)
		m.send(j.cleanBytes(), true)
		m.srv.stats.JobsNotified.Add(1)
	}
}

// moveTo puts a detached miner on a new session (failover, failback, pool
// extranonce change): with extranonce.subscribe it gets set_extranonce and
// fresh work at once; without, it is asked to reconnect.
func (m *minerConn) moveTo(us *upSession, prefix uint32) {
	m.mu.Lock()
	m.working.Store(false)
	m.mu.Unlock()
	if !us.attach(m, prefix) {
		if !m.isClosed() {
			m.requestReconnect()
		}
		return
	}
	m.mu.Lock()
	prefixHex := m.prefixHex
	m.mu.Unlock()
	en1, size := us.minerExtranonce(prefixHex)
	m.send(stratum.AppendSetExtranonce(nil, en1, size), false)
	m.srv.stats.MinersMoved.Add(1)
	if grant := us.versionMask(); grant != 0 {
		m.mu.Lock()
		newMask := m.reqMask & grant
		changed := m.rolling && newMask != m.mask
		m.mask = newMask
		m.mu.Unlock()
		if changed {
			m.send(stratum.AppendSetVersionMask(nil, newMask), false)
		}
	}
	m.maybeStart()
}

// canMove reports whether m follows mining.set_extranonce.
func (m *minerConn) canMove() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.extranonceSub
}

// setPrefix is called by the session that attaches m; false, and nothing
// set, when m is closed (detachClosed ran or runs: it would not detach m
// from us).
func (m *minerConn) setPrefix(us *upSession, prefix uint32, k int) bool {
	m.mu.Lock()
	if m.detached {
		m.mu.Unlock()
		return false
	}
	m.sess, m.prefix = us, prefix
	m.prefixLen = uint8(k)
	appendPrefix(m.prefixBytes[:0], prefix, k)
	m.prefixHex = hex.EncodeToString(m.prefixBytes[:k])
	m.mu.Unlock()
	return true
}

// isWorking reports whether fan-out should include m; no lock, so a
// fan-out takes one lock per miner (the queue's), not two.
func (m *minerConn) isWorking() bool { return m.working.Load() }

// clearSession detaches m from us without touching us's bookkeeping (the
// session is being torn down or re-keyed).
func (m *minerConn) clearSession(us *upSession) {
	m.mu.Lock()
	if m.sess == us {
		m.sess, m.prefixHex = nil, ""
		m.working.Store(false)
	}
	m.mu.Unlock()
}
