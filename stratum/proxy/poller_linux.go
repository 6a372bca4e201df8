//go:build linux

package proxy

import (
	"errors"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/hashgate/hashgate/stratum"
)

// readPoller waits for input on the sockets of working miners with one
// epoll set, so a miner that is at work and quiet has no goroutine at all.
// A parked reader goroutine costs ~4 KiB of stack (it grows past 2 KiB in
// the handshake and never shrinks back while blocked in a read): two
// thirds of an idle miner's memory. The handshake and anything unusual
// still run on a goroutine per miner (they may block: waiting for a pool
// grant, for room in the outbound queue); a miner is handed to a poller
// when it is at work with nothing buffered, and handed back to a goroutine
// for any line that is not a plain submit.
//
// The Go runtime's own poller watches the same sockets; only the poller
// reads a parked miner's socket, with non-blocking reads through the
// connection's syscall.RawConn (which holds the descriptor open meanwhile,
// so a closed miner's number reused by a new one is never read or
// unregistered by mistake).
type readPoller struct {
	srv   *Server
	epfd  int
	wakeR int // the read end of a pipe Close writes to
	wakeW int

	// yield is held (write) while the poller serves a wake-up's events
	// and read by every job fan-out: a job reaches the miners before
	// the pollers answer more shares. A late answer costs nothing; a job
	// that waits behind shares makes stale ones.
	yield sync.RWMutex

	mu     sync.Mutex
	closed bool
	miners map[uint64]*minerConn // by miner id, the epoll event's token

	// detach takes the second half of closing a miner the poller saw hang
	// up (telling the gate, which may wait on the switcher's lock while it
	// plans; the log) off the poller's goroutine, to one detacher
	// goroutine per poller. Full: the poller does it itself.
	detach chan detachReq

	// The poller's goroutine alone uses these.
	events   []syscall.EpollEvent
	scratch  []byte       // one write of a read's answers
	answered []*minerConn // parked miners of this wake-up with answers to write
	rr       rawRead
	readFn   func(fd uintptr) bool
	// drained: the last read of the miner being served was short, so its
	// socket held no more; another read this wake-up would only say so
	// (EAGAIN).
	drained bool
	epf     *os.File        // epfd, for the runtime's poller
	eprc    syscall.RawConn // nil: the runtime cannot watch the set; wait in epoll_wait (set once, when made)
	waitFn  func(fd uintptr) bool
	nev     int
	everr   error
	now     time.Time // when this wake-up began
}

type detachReq struct {
	m      *minerConn
	reason closeReason
	cause  error
}

// rawRead is a non-blocking read kept as a value with a method, so a read
// allocates no closure.
type rawRead struct {
	p   []byte
	n   int
	err error
}

func (r *rawRead) do(fd uintptr) bool {
	for {
		r.n, r.err = syscall.Read(int(fd), r.p)
		if r.err != syscall.EINTR {
			return true // never wait: EAGAIN goes back to epoll
		}
	}
}

func newReadPoller(s *Server) (*readPoller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if err := syscall.SetNonblock(epfd, true); err != nil { // so the runtime's poller takes it
		syscall.Close(epfd)
		return nil, err
	}
	var pipe [2]int
	if err := syscall.Pipe2(pipe[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		syscall.Close(epfd)
		return nil, err
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: -1, Pad: -1}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, pipe[0], &ev); err != nil {
		syscall.Close(epfd)
		syscall.Close(pipe[0])
		syscall.Close(pipe[1])
		return nil, err
	}
	p := &readPoller{srv: s, epfd: epfd, wakeR: pipe[0], wakeW: pipe[1], miners: map[uint64]*minerConn{}, events: make([]syscall.EpollEvent, 256), detach: make(chan detachReq, 1024)}
	p.readFn = p.rr.do
	p.waitFn = p.collect
	// The epoll set is itself pollable: the Go runtime's poller watches
	// it, so between wake-ups the poller's goroutine is parked like any
	// network read instead of holding a thread in a blocking epoll_wait
	// (whose return costs a thread hand-off each time: at a few events
	// per wake-up, more than the events).
	// A deadline is refused for a file the runtime's poller does not
	// watch: that is how the set's pollability shows (a kernel or sandbox
	// without nested epoll gets the blocking wait).
	p.epf = os.NewFile(uintptr(epfd), "hashgate-epoll")
	if rc, err := p.epf.SyscallConn(); err == nil && p.epf.SetReadDeadline(time.Time{}) == nil {
		p.eprc = rc
	} else {
		s.log.Warn().Msg("miner read poller: the runtime cannot watch its epoll set; it waits in epoll_wait")
	}
	return p, nil
}

// collect takes the events ready now, without waiting; false: none yet.
func (p *readPoller) collect(fd uintptr) bool {
	for {
		p.nev, p.everr = syscall.EpollWait(int(fd), p.events, 0)
		if p.everr != syscall.EINTR {
			return p.nev > 0 || p.everr != nil
		}
	}
}

// wait returns the number of events in p.events, waiting for one if
// there are none.
func (p *readPoller) wait() (int, error) {
	if p.eprc != nil {
		if err := p.eprc.Read(p.waitFn); err != nil {
			return 0, err
		}
		return p.nev, p.everr
	}
	for {
		n, err := syscall.EpollWait(p.epfd, p.events, -1)
		if err != syscall.EINTR {
			return n, err
		}
	}
}

// run waits for input until stop; the server's wait group owns it.
func (p *readPoller) run() {
	defer p.shut()
	for {
		n, err := p.wait()
		if err != nil {
			p.srv.log.Error().Err(err).Msg("miner read poller failed; its miners are dropped")
			return
		}
		p.yield.Lock()
		stop := p.serveEvents(n)
		p.yield.Unlock()
		if stop {
			return
		}
	}
}

// serveEvents handles the events of one wait; true when woken by stop.
func (p *readPoller) serveEvents(n int) bool {
	stop := false
	p.now = time.Now() // one reading for the wake-up's reads and shares
	for _, ev := range p.events[:n] {
		if ev.Fd == -1 && ev.Pad == -1 {
			stop = true // woken by stop: the answers below still go out
			continue
		}
		id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
		p.mu.Lock()
		m := p.miners[id]
		p.mu.Unlock()
		if m != nil && p.serve(m) {
			p.answered = append(p.answered, m)
		}
	}
	// The answers of this wake-up go out together, after all its reads:
	// back-to-back writes find the miners' side already awake more often
	// than writes spread between reads and hashing (on loopback the writer
	// pays for waking the reader).
	for i, m := range p.answered {
		m.writeAnswers(&p.scratch)
		p.answered[i] = nil
	}
	p.answered = p.answered[:0]
	return stop
}

// pause holds the poller between wake-ups until resume (a fan-out).
func (p *readPoller) pause()  { p.yield.RLock() }
func (p *readPoller) resume() { p.yield.RUnlock() }

// detacher runs the second half of the closes the poller hands it, until
// the poller shuts; the server's wait group owns it.
func (p *readPoller) detacher() {
	for r := range p.detach {
		r.m.detachClosed(r.reason, r.cause)
	}
}

// closeMiner closes a miner from the poller's goroutine: the connection at
// once, the rest by the detacher.
func (p *readPoller) closeMiner(m *minerConn, reason closeReason, cause error) {
	if !m.closeConn(reason) {
		return
	}
	select {
	case p.detach <- detachReq{m, reason, cause}:
	default:
		m.detachClosed(reason, cause)
	}
}

// stop wakes the poller's goroutine, which then exits.
func (p *readPoller) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed { // after shut the number may be another file's
		_, _ = syscall.Write(p.wakeW, []byte{1})
	}
}

// shut closes the poller's descriptors and drops the miners still parked
// (none after a Server.Close, which closes every miner first).
func (p *readPoller) shut() {
	p.mu.Lock()
	p.closed = true
	left := make([]*minerConn, 0, len(p.miners))
	for _, m := range p.miners {
		left = append(left, m)
	}
	clear(p.miners)
	p.mu.Unlock()
	_ = p.epf.Close() // the epoll set's descriptor
	syscall.Close(p.wakeR)
	syscall.Close(p.wakeW)
	for _, m := range left {
		m.close(reasonShutdown, nil)
	}
	close(p.detach) // only this goroutine sends on it
}

// park hands a miner's reads to the poller; false leaves them with the
// miner's goroutine. The caller's goroutine must not touch m.lr after true.
func (p *readPoller) park(m *minerConn) bool {
	rc := m.rawConn()
	if rc == nil {
		return false
	}
	m.lastRead.Store(time.Now().UnixNano())
	m.polled.Store(true) // before the first event can arrive
	p.mu.Lock()
	// Under p.mu so shut cannot close (and the system reuse) epfd between
	// the check and the call.
	var err error
	cerr := errPollerClosed
	if !p.closed {
		p.miners[m.id] = m
		cerr = rc.Control(func(fd uintptr) {
			ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(uint32(m.id)), Pad: int32(uint32(m.id >> 32))}
			err = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
		})
		if cerr != nil || err != nil {
			delete(p.miners, m.id)
		}
	}
	p.mu.Unlock()
	if cerr != nil || err != nil {
		m.polled.Store(false)
		return false
	}
	if m.isClosed() {
		// Closed meanwhile: close saw polled false or true, either way
		// it is gone from the set now.
		p.forget(m)
	}
	return true
}

var errPollerClosed = errors.New("proxy: read poller closed")

// forget takes a miner out of the set (idempotent). It runs before the
// miner's connection is closed, or with its descriptor held by Control.
func (p *readPoller) forget(m *minerConn) {
	p.mu.Lock()
	if _, ok := p.miners[m.id]; ok && !p.closed {
		delete(p.miners, m.id)
		if rc := m.rawConn(); rc != nil {
			_ = rc.Control(func(fd uintptr) {
				_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil)
			})
		}
	}
	p.mu.Unlock()
	m.polled.Store(false)
}

// serve handles what one wake-up brought for m: plain submits here, the
// rest by handing m back to a goroutine with the line it stopped at. True:
// m stays parked and its answers wait for the end of the wake-up.
func (p *readPoller) serve(m *minerConn) bool {
	p.drained = false
	for i := range p.srv.cfg.ReadPollerBatch {
		if !m.polled.Load() {
			return false // closed by another goroutine meanwhile
		}
		if m.queueNearlyFull() {
			m.writeAnswers(&p.scratch) // this batch's own answers first
			if m.queueNearlyFull() {
				// Its answers pile up: a goroutine may wait for room.
				p.handOff(m, nil)
				return false
			}
		}
		line, err := m.lr.ReadLine()
		if err == errWouldBlock {
			return true
		}
		if err != nil {
			// A miner that half-closes after its last submits still gets
			// their answers (readerClose writes them first).
			m.readerClose(readFailure(err))
			return false
		}
		if i == 0 {
			// A line, not a byte, resets the read timeout; once a wake-up
			// is enough (it is checked every few seconds).
			m.lastRead.Store(p.now.UnixNano())
		}
		var sub stratum.Submit
		if id, ok := stratum.ParseSubmitLine(line, &sub); ok {
			m.onSubmit(id, &sub, nil, p.now)
			if !m.polled.Load() {
				return false // closed (closing takes it out of the set)
			}
			continue
		}
		p.handOff(m, line)
		return false
	}
	// The batch is spent. Lines already read would raise no epoll event:
	// a goroutine goes on with them.
	if m.lr.HasLine() {
		p.handOff(m, nil)
		return false
	}
	return true
}

// handOff gives m back to a reader goroutine, which handles line (if any)
// first. Answers already queued are written before.
func (p *readPoller) handOff(m *minerConn, line []byte) {
	m.srv.stats.PollerHandOffs.Add(1)
	p.forget(m)
	m.writeAnswers(&p.scratch)
	m.srv.wg.Add(1)
	go func() {
		defer m.srv.wg.Done()
		m.serveFrom(line)
	}()
}

// readNow is a parked miner's read: what the socket holds now, or
// errWouldBlock. Only the poller's goroutine calls it.
func (p *readPoller) readNow(m *minerConn, b []byte) (int, error) {
	if p.drained {
		// A short read emptied the socket: skip the system call that would
		// say EAGAIN. The set is level-triggered, so input that came since
		// wakes the poller again.
		return 0, errWouldBlock
	}
	rc := m.rawConn()
	p.rr.p = b
	if err := rc.Read(p.readFn); err != nil {
		return 0, err
	}
	n, err := p.rr.n, p.rr.err
	p.rr.p = nil
	switch {
	case err == syscall.EAGAIN:
		return 0, errWouldBlock
	case err != nil:
		return 0, err
	case n == 0:
		return 0, io.EOF
	}
	p.drained = n < len(b)
	return n, nil
}

// errWouldBlock: a parked miner's socket holds no more input now.
var errWouldBlock = errors.New("proxy: no input now")

// waitsInRuntime: the runtime's poller watches the set (fixed when made).
func (p *readPoller) waitsInRuntime() bool { return p.eprc != nil }

// parked counts the miners in the set.
func (p *readPoller) parked() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.miners)
}
