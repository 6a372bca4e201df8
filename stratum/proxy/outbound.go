package proxy

import (
	"encoding/json"
	"errors"
	"net"
	"time"

	"github.com/hashgate/hashgate/stratum"
)

// outMsg is one queued line. Notifies are marked so that a clean_jobs
// notify can drop the older jobs still waiting in the queue.
type outMsg struct {
	b      []byte
	notify bool
	gen    uint32 // for a notify: the clean generation it was queued in
}

// queueNearlyFull: the outbound queue has no room left for the answer
// and the job or difficulty a share may bring. Such a miner is read by a
// goroutine, which may wait for room; a poller never waits.
func (m *minerConn) queueNearlyFull() bool {
	m.qmu.Lock()
	defer m.qmu.Unlock()
	return len(m.queue) >= max(1, m.srv.cfg.OutboundQueue-4)
}

// stopFlushingLocked ends a write turn (flusher, direct or poller write)
// and wakes a reader waiting in drain for it.
func (m *minerConn) stopFlushingLocked() {
	m.flushing = false
	if m.room != nil {
		select {
		case m.room <- struct{}{}:
		default:
		}
	}
}

// waitRoomLocked releases qmu and waits until the flusher takes a batch
// (or ends), or until the write_timeout deadline (started at the first
// wait) passes: false then.
func (m *minerConn) waitRoomLocked(deadline **time.Timer) bool {
	if m.room == nil {
		m.room = make(chan struct{}, 1)
	}
	room := m.room
	m.qmu.Unlock()
	if *deadline == nil {
		*deadline = time.NewTimer(m.srv.cfg.WriteTimeout)
	}
	select {
	case <-room:
		return true
	case <-(*deadline).C:
		return false
	}
}

// reply answers a request. Requests with a null id are answered too (with
// null): Stratum miners send them and expect the answer.
func (m *minerConn) reply(id json.RawMessage, result []byte) {
	// Sized once: appending to nil grew it four times, for every share.
	b := make([]byte, 0, len(`{"id":,"result":,"error":null}`)+1+len(id)+len(result)+4)
	m.answer(stratum.AppendRawResponse(b, id, result))
}

func (m *minerConn) replyError(id json.RawMessage, e *stratum.Error) {
	m.answer(stratum.AppendError(nil, id, e))
}

// markJob records that job seq (or a newer one) was queued to m.
func (m *minerConn) markJob(seq uint64) {
	for {
		cur := m.lastJob.Load()
		if cur >= seq || m.lastJob.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// offerJob queues a session job unless it (or a newer one) already was:
// the fan-out and the miner's own reader may both offer it, and it goes
// out once, before anything either of them queues after.
func (m *minerConn) offerJob(seq uint64, b []byte, clean bool, now int64) bool {
	for {
		cur := m.lastJob.Load()
		if cur >= seq {
			return false
		}
		if m.lastJob.CompareAndSwap(cur, seq) {
			m.sendNotify(b, clean, now)
			return true
		}
	}
}

// keepalive sends a rig that waits without work its difficulty again when
// it has heard nothing for a while: harmless, and it proves the pool alive.
func (m *minerConn) keepalive(now time.Time) {
	m.mu.Lock()
	waiting := m.subscribed && m.authorized && !m.working.Load()
	d := m.diff
	m.mu.Unlock()
	if !waiting || now.Sub(time.Unix(0, m.lastSend.Load())) < m.srv.cfg.ParkedKeepalive {
		return
	}
	m.send(stratum.AppendSetDifficulty(nil, d), false)
	m.srv.stats.Keepalives.Add(1)
}

// send queues b for the miner without blocking. A full queue means the
// miner does not read fast enough: it is cut as a slow consumer rather
// than allowed to hold back anyone else.
func (m *minerConn) send(b []byte, notify bool) {
	m.enqueue(outMsg{b: b, notify: notify}, false, writeByFlusher)
}

// sendNotify queues a job; a clean job first drops older queued jobs.
func (m *minerConn) sendNotify(b []byte, clean bool, now int64) {
	if m.tryDirect(b, now) {
		return
	}
	m.enqueue(outMsg{b: b, notify: true}, clean, writeByFlusher)
}

// tryDirect writes b at once from the calling goroutine when the miner
// has nothing queued and no flusher running, without blocking; whatever
// the socket does not take now is queued for a flusher. It reports whether
// b was handled.
func (m *minerConn) tryDirect(b []byte, now int64) bool {
	if m.tw == nil {
		return false
	}
	m.qmu.Lock()
	if m.closed || m.flushing || len(m.queue) > 0 {
		m.qmu.Unlock()
		return false
	}
	m.flushing = true // this goroutine writes now
	m.lastSend.Store(now)
	m.qmu.Unlock()
	if m.tryWriteFlushing(b, false, now) {
		m.srv.stats.JobsDirect.Add(1)
	}
	return true
}

// writeAnswers writes the answers a poller queued for the lines of one
// read, in one non-blocking write through scratch; what the socket does
// not take goes to a flusher. With a job queued too, the flusher writes
// it all (it knows which jobs a clean one voided).
func (m *minerConn) writeAnswers(scratch *[]byte) {
	if m.tw == nil {
		return
	}
	m.qmu.Lock()
	if m.closed || m.flushing || len(m.queue) == 0 {
		m.qmu.Unlock()
		return
	}
	m.flushing = true
	b := (*scratch)[:0]
	for _, q := range m.queue {
		if q.notify {
			m.qmu.Unlock()
			m.startFlusher()
			return
		}
		b = append(b, q.b...)
	}
	clear(m.queue)
	m.queue = m.queue[:0]
	m.qmu.Unlock()
	*scratch = b
	m.tryWriteFlushing(b, true, 0)
}

// startFlusher starts a flusher goroutine for a miner whose flushing flag
// the caller set.
func (m *minerConn) startFlusher() {
	m.srv.wg.Add(1)
	go func() {
		defer m.srv.wg.Done()
		m.flush()
	}()
}

// tryWriteFlushing writes b without blocking for a caller that set
// m.flushing; what the socket does not take now goes first in the queue,
// for a flusher it starts (copied when b is the caller's scratch). It
// reports whether b went out whole. now is the time in unix nanoseconds,
// or 0 to read the clock if needed.
func (m *minerConn) tryWriteFlushing(b []byte, scratch bool, now int64) bool {
	// A flusher's write deadline outlives its writes; once it has passed,
	// every later attempt would fail at once and fall back to a flusher
	// (a goroutine and a late write, for most miners write_timeout after
	// their handshake). Nobody else writes now: clear it.
	if a := m.writeArmed.Load(); a != 0 {
		if now == 0 {
			now = time.Now().UnixNano()
		}
		if now-a >= int64(m.srv.cfg.WriteTimeout) {
			m.disarmWriteDeadline()
		}
	}
	n, err := m.tw.TryWrite(b)
	m.qmu.Lock()
	if err != nil {
		m.stopFlushingLocked()
		m.qmu.Unlock()
		m.close(reasonWriteError, err)
		return false
	}
	if n < len(b) {
		// The rest of a line already started: it must go out whole, so it
		// is no longer a job a clean one could drop.
		rest := b[n:]
		if scratch {
			rest = append([]byte(nil), rest...)
		}
		m.queue = append(m.queue, outMsg{})
		copy(m.queue[1:], m.queue)
		m.queue[0] = outMsg{b: rest}
	}
	if len(m.queue) == 0 {
		m.stopFlushingLocked()
		m.qmu.Unlock()
		return n == len(b)
	}
	m.qmu.Unlock()
	m.startFlusher()
	return n == len(b)
}

// answer queues a response from the reader. Answers come from
// the miner's own requests, so a full queue pushes back on the reader (the
// miner waits for its answers, as TCP would make it) instead of cutting a
// miner that pipelines many submits; one that does not read them within
// write_timeout is a slow consumer.
func (m *minerConn) answer(b []byte) {
	var deadline *time.Timer
	defer func() {
		if deadline != nil {
			deadline.Stop()
		}
	}()
	for {
		m.qmu.Lock()
		// A poller never waits for room (it serves many miners): it hands a
		// miner with a nearly full queue to a goroutine first, and a queue
		// filled meanwhile cuts the miner (enqueue) rather than stall it.
		if m.closed || m.polled.Load() || len(m.queue) < m.srv.cfg.OutboundQueue || m.dropOldestNotifyLocked() {
			m.qmu.Unlock()
			mode := writeInline
			switch {
			case m.polled.Load():
				mode = writeLater
			case m.moreInput:
				mode = writeByFlusher
			}
			m.enqueue(outMsg{b: b}, false, mode)
			return
		}
		if !m.waitRoomLocked(&deadline) {
			m.close(reasonSlowConsumer, nil)
			return
		}
	}
}

// writeMode says who writes a queued message when no flusher runs.
type writeMode uint8

const (
	writeByFlusher writeMode = iota // a flusher goroutine, started for it
	writeInline                     // the caller, now (a reader's own answer: no goroutine per share)
	writeLater                      // the poller, after the lines of this read (writeAnswers)
)

// enqueue queues msg; mode says who writes it when no flusher runs.
func (m *minerConn) enqueue(msg outMsg, dropNotifies bool, mode writeMode) {
	m.qmu.Lock()
	if m.closed {
		m.qmu.Unlock()
		return
	}
	if msg.notify {
		if dropNotifies {
			m.cleanGen.Add(1) // older jobs, queued or in a batch, are void
		}
		msg.gen = m.cleanGen.Load()
	}
	if dropNotifies {
		kept := m.queue[:0]
		for _, q := range m.queue {
			if !q.notify {
				kept = append(kept, q)
			}
		}
		m.srv.stats.JobsDropped.Add(uint64(len(m.queue) - len(kept)))
		clear(m.queue[len(kept):])
		m.queue = kept
	}
	if len(m.queue) >= m.srv.cfg.OutboundQueue && !m.dropOldestNotifyLocked() {
		m.qmu.Unlock()
		m.close(reasonSlowConsumer, nil)
		return
	}
	m.queue = append(m.queue, msg)
	if mode == writeLater {
		// No "last sent" mark for a poller's answers: only a miner without
		// work (never a poller's) reads it, and the clock is a few percent
		// of a share.
		m.qmu.Unlock()
		return
	}
	m.lastSend.Store(time.Now().UnixNano())
	start := !m.flushing
	m.flushing = true
	m.qmu.Unlock()
	switch {
	case start && mode == writeInline:
		m.flush()
	case start:
		// The flusher lives only while there is something to write.
		m.startFlusher()
	}
}

// dropOldestNotifyLocked makes room in a full queue by dropping the oldest
// queued job: a newer one is coming behind it, so the miner loses nothing
// but a job it would have replaced at once. A queue full of answers cannot
// be thinned: that miner is a slow consumer.
func (m *minerConn) dropOldestNotifyLocked() bool {
	for i, q := range m.queue {
		if q.notify {
			copy(m.queue[i:], m.queue[i+1:])
			m.queue[len(m.queue)-1] = outMsg{}
			m.queue = m.queue[:len(m.queue)-1]
			m.srv.stats.JobsDropped.Add(1)
			return true
		}
	}
	return false
}

// flush writes queued lines with vectored writes until the queue is empty.
func (m *minerConn) flush() {
	var bufs net.Buffers
	var batch []outMsg
	for {
		m.qmu.Lock()
		if len(m.queue) == 0 || m.closed {
			m.stopFlushingLocked()
			m.qmu.Unlock()
			return
		}
		batch, m.queue = m.queue, batch[:0]
		if m.room != nil {
			select { // a reader waiting for room may go on
			case m.room <- struct{}{}:
			default:
			}
		}
		m.qmu.Unlock()
		// One vectored write per run of messages; each job starts a new
		// run, so a clean_jobs notify queued while a slow miner takes the
		// batch voids the older jobs of the batch not yet written.
		bufs = bufs[:0]
		for _, q := range batch {
			if q.notify {
				if err := m.write(&bufs); err != nil {
					return
				}
				if q.gen < m.cleanGen.Load() {
					m.srv.stats.JobsDropped.Add(1)
					continue
				}
			}
			bufs = append(bufs, q.b)
		}
		clear(batch)
		if err := m.write(&bufs); err != nil {
			return
		}
	}
}

// write sends bufs (and empties it); on failure the miner is closed.
func (m *minerConn) write(bufs *net.Buffers) error {
	if len(*bufs) == 0 {
		return nil
	}
	// Re-armed at most once a second or a quarter of write_timeout, like
	// the read deadline.
	if now := time.Now().UnixNano(); now-m.writeArmed.Load() >= int64(min(time.Second, m.srv.cfg.WriteTimeout/4)) {
		m.writeArmed.Store(now)
		_ = m.conn.SetWriteDeadline(time.Unix(0, now).Add(m.srv.cfg.WriteTimeout))
	}
	_, err := bufs.WriteTo(m.conn)
	*bufs = (*bufs)[:0]
	if err == nil {
		return nil
	}
	m.qmu.Lock()
	m.stopFlushingLocked()
	m.qmu.Unlock()
	reason := reasonWriteError
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		// It did not take a write within write_timeout.
		reason = reasonSlowConsumer
		err = nil
	}
	m.close(reason, err)
	return errors.New("closed")
}

// disarmWriteDeadline clears the write deadline a flusher left; only the
// one writer of the moment (flushing set, or a close holding qmu) calls it.
func (m *minerConn) disarmWriteDeadline() {
	_ = m.conn.SetWriteDeadline(time.Time{})
	m.writeArmed.Store(0)
}
