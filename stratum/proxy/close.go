package proxy

import (
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/stratum"
)

// closeReason says why a miner connection ended; logged and counted.
type closeReason uint8

const (
	reasonEOF closeReason = iota
	reasonReadError
	reasonTimeout
	reasonLineTooLong
	reasonGarbage
	reasonSlowConsumer
	reasonWriteError
	reasonNoUpstream
	reasonReconnectIgnored
	reasonParked
	reasonShutdown
	reasonAllRejected
	reasonInvalidFlood
	reasonHandshakeTimeout
	reasonEvicted
	reasonStaleFlood
	reasonRefused
)

var reasonNames = [...]string{
	reasonEOF:              "miner closed the connection",
	reasonReadError:        "read error",
	reasonTimeout:          "miner silent past read timeout",
	reasonLineTooLong:      "line exceeds max_line_bytes",
	reasonGarbage:          "not Stratum (malformed JSON)",
	reasonSlowConsumer:     "slow consumer: does not read its jobs and answers in time",
	reasonWriteError:       "write error",
	reasonNoUpstream:       "no pool session available",
	reasonReconnectIgnored: "still connected after client.reconnect",
	reasonParked:           "parked by the switcher",
	reasonShutdown:         "proxy shutting down",
	reasonAllRejected:      "every share rejected for the abuse window",
	reasonInvalidFlood:     "invalid or duplicate submits at a high rate",
	reasonHandshakeTimeout: "not subscribed and authorized within handshake_timeout of connecting",
	reasonEvicted:          "evicted while in its handshake: the unauthenticated share of the slots was full",
	reasonStaleFlood:       "stale or unknown-job submits at a high rate",
	reasonRefused:          "refused by the admission gate (a name no record is kept for, or its network is full)",
}

func (r closeReason) String() string { return reasonNames[r] }

func (m *minerConn) isClosed() bool {
	m.qmu.Lock()
	defer m.qmu.Unlock()
	return m.closed
}

// drain writes what is still queued for a miner that closed its side,
// for at most write_timeout: one that half-closes after its last submits
// still reads their answers (close would drop them). For a miner that
// closed both sides the bytes go to the socket buffer (or a write fails)
// and it is closed right after.
func (m *minerConn) drain() {
	var deadline *time.Timer
	defer func() {
		if deadline != nil {
			deadline.Stop()
		}
	}()
	for range 1000 { // bounded; each turn waits for the flusher or writes
		m.qmu.Lock()
		if m.closed || len(m.queue) == 0 && !m.flushing {
			m.qmu.Unlock()
			return
		}
		if !m.flushing {
			m.flushing = true
			m.qmu.Unlock()
			m.flush()
			continue
		}
		if !m.waitRoomLocked(&deadline) {
			return
		}
	}
}

// readerClose closes the miner from its reader, after the answers it was
// already given (close drops what is queued): those of the read so far
// wait for its end on a poller, and a flusher may hold some on either
// path. A reader goroutine drains them itself, for at most write_timeout.
// A poller never waits: it writes what it can at once, and if a flusher
// still holds the rest, a goroutine drains and closes; otherwise the slow
// half of closing is left to the poller's detacher.
func (m *minerConn) readerClose(reason closeReason, cause error) {
	if !m.polled.Load() {
		m.drain()
		m.close(reason, cause)
		return
	}
	p := m.poller
	m.writeAnswers(&p.scratch)
	if !m.hasPending() {
		p.closeMiner(m, reason, cause)
		return
	}
	p.forget(m) // no more reads: the goroutine below owns the close
	m.srv.wg.Add(1)
	go func() {
		defer m.srv.wg.Done()
		m.drain()
		m.close(reason, cause)
	}()
}

// hasPending: something is queued for the miner or being written.
func (m *minerConn) hasPending() bool {
	m.qmu.Lock()
	defer m.qmu.Unlock()
	return !m.closed && (len(m.queue) > 0 || m.flushing)
}

// requestReconnect asks the miner to reconnect (client.reconnect with empty
// params: same host and port) and closes it if it is still here after the
// grace period.
func (m *minerConn) requestReconnect() {
	m.srv.stats.MinersReconnected.Add(1)
	m.send(stratum.AppendReconnect(nil), false)
	m.qmu.Lock()
	if !m.closed && m.reconnT == nil {
		m.reconnT = time.AfterFunc(m.srv.cfg.ReconnectGrace, func() { m.close(reasonReconnectIgnored, nil) })
	}
	m.qmu.Unlock()
}

// close ends the connection once, with a reason.
func (m *minerConn) close(reason closeReason, cause error) {
	if m.closeConn(reason) {
		m.detachClosed(reason, cause)
	}
}

// closeConn is the first half of close: mark the miner closed, drop what
// is queued, take it out of its poller and close the connection. False if
// it was closed already.
func (m *minerConn) closeConn(reason closeReason) bool {
	m.qmu.Lock()
	if m.closed {
		m.qmu.Unlock()
		return false
	}
	m.closed = true
	if reason == reasonSlowConsumer {
		// Counted here, once: the reader waiting for room and the flusher's
		// write may both give up on the same miner.
		m.srv.stats.SlowConsumers.Add(1)
	}
	if m.room != nil {
		select { // wake a reader waiting for room
		case m.room <- struct{}{}:
		default:
		}
	}
	if reason == reasonParked || reason == reasonShutdown {
		m.writeLastAnswersLocked()
	}
	clear(m.queue)
	m.queue = nil
	if m.reconnT != nil {
		m.reconnT.Stop()
	}
	m.qmu.Unlock()
	if m.polled.Load() {
		m.poller.forget(m) // before the descriptor can be reused
	}
	_ = m.conn.Close()
	return true
}

// writeLastAnswersLocked gives a miner we close on purpose (a park, a
// shutdown) the answers still queued for it, in one write that does not
// wait: a read poller queues a wake-up's answers and writes them after
// all its reads, and a close in between would drop verdicts on shares
// already credited. Jobs are left out (the close is there to abort the
// work); other queued messages (a difficulty) go with the answers. Nothing
// is written while a writer holds the queue (its write would interleave).
// A socket that takes only part of it gets a cut line before the close,
// which miners drop with the connection.
func (m *minerConn) writeLastAnswersLocked() {
	if m.tw == nil || m.flushing || len(m.queue) == 0 {
		return
	}
	if m.writeArmed.Load() != 0 {
		// A flusher's old deadline would fail this write before it starts;
		// nobody else writes now (flushing is false).
		m.disarmWriteDeadline()
	}
	var b []byte
	for _, q := range m.queue {
		if !q.notify {
			b = append(b, q.b...)
		}
	}
	if len(b) > 0 {
		_, _ = m.tw.TryWrite(b)
	}
}

// detachClosed is the second half of close: the connection is closed; detach
// it everywhere, tell the gate, log why.
func (m *minerConn) detachClosed(reason closeReason, cause error) {
	m.mu.Lock()
	us, prefix := m.sess, m.prefix
	m.sess = nil
	m.working.Store(false)
	accounts, standby := m.accounts, m.standby
	m.detached = true // no promote from now on
	m.mu.Unlock()
	for _, w := range accounts {
		if standby {
			w.retag(false)
		}
		m.srv.workers.detach(w)
	}
	if us != nil {
		us.detach(m, prefix)
	}
	m.srv.pools.dropOrphan(m)
	// The Gate hears of the rig once: when its last connection goes.
	if last, name := m.srv.forget(m); last {
		m.srv.cfg.Gate.Disconnected(Rig{ConnID: m.id, Name: name, Remote: m.remote})
	}
	if reason == reasonLineTooLong || reason == reasonGarbage {
		m.srv.stats.ProtocolErrors.Add(1)
	}
	m.logClosed(reason, cause)
}

// logClosed logs why m was closed. Closes for one reason come in mass
// (a failover, a flood of silent connections): past a few per reason and
// interval they are summarized.
func (m *minerConn) logClosed(reason closeReason, cause error) {
	level := zerolog.InfoLevel
	switch reason {
	case reasonEOF, reasonShutdown, reasonParked:
		level = zerolog.DebugLevel
	case reasonLineTooLong, reasonGarbage:
		level = zerolog.WarnLevel
	}
	l := m.logger()
	if l.GetLevel() > level || !m.srv.limit.Allow("miner disconnected: "+reason.String(), time.Now()) {
		return
	}
	l.WithLevel(level).Str("reason", reason.String()).AnErr("cause", cause).Msg("miner disconnected")
}
