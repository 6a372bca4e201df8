package bench

import (
	"bytes"
	"github.com/hashgate/hashgate/internal/sim"
	"net"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// MemConn is an in-memory miner connection for driving the proxy's session
// code without sockets: it reads a fixed script (the miner's handshake),
// then blocks until closed; of what the proxy writes it keeps only when
// each notify arrived, cheaply, so the figures measured around it are the
// proxy's. Its memory is allocated up front (make every MemConn before
// taking a memory baseline). Deadlines are accepted and ignored.
type MemConn struct {
	*sim.Script // the handshake, then a read that blocks until Close

	slow atomic.Int64 // each Write sleeps this long (a slow reader)

	notifies atomic.Uint32
	lastSeq  atomic.Uint64
	lastAt   atomic.Int64

	mu   sync.Mutex
	ring [memRing]Arrival
	next uint32
}

const memRing = 16

// Arrival is one notify written to a MemConn.
type Arrival struct {
	Seq   uint64
	Stamp int64 // pool send time
	At    int64 // written to the connection
	Clean bool
}

// NewMemConn returns a connection whose reads return script.
func NewMemConn(script string) *MemConn {
	return &MemConn{Script: sim.NewScript(script)}
}

// Write records notifies and drops everything.
func (c *MemConn) Write(b []byte) (int, error) {
	p := b
	if c.Closed() {
		return 0, net.ErrClosed
	}
	if d := c.slow.Load(); d > 0 {
		time.Sleep(time.Duration(d))
	}
	// The proxy encodes a job once and queues the same bytes to every
	// session: the first session to see them parses them, the others
	// find them in the cache by address.
	if k := lastNotify.Load(); k != nil && k.ptr == unsafe.SliceData(b) && k.n == len(b) {
		c.record(k.seq, k.stamp, k.clean, time.Now().UnixNano())
		return len(b), nil
	}
	for len(p) > 0 {
		line := p
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			line, p = p[:i+1], p[i+1:]
		} else {
			p = nil
		}
		if !IsNotify(line) {
			continue
		}
		seq, stamp, clean, ok := parseStamp(line)
		if !ok {
			continue
		}
		if len(line) == len(b) {
			lastNotify.Store(&parsedNotify{ptr: unsafe.SliceData(b), n: len(b), seq: seq, stamp: stamp, clean: clean})
		}
		c.record(seq, stamp, clean, time.Now().UnixNano())
	}
	return len(b), nil
}

// parsedNotify caches the last notify parsed, by the address of its bytes
// (the pointer keeps them alive, so the address is not reused meanwhile).
type parsedNotify struct {
	ptr   *byte
	n     int
	seq   uint64
	stamp int64
	clean bool
}

var lastNotify atomic.Pointer[parsedNotify]

func (c *MemConn) record(seq uint64, stamp int64, clean bool, now int64) {
	c.mu.Lock()
	c.ring[c.next%memRing] = Arrival{Seq: seq, Stamp: stamp, At: now, Clean: clean}
	c.next++
	c.mu.Unlock()
	if seq > c.lastSeq.Load() {
		c.lastAt.Store(now)
		c.lastSeq.Store(seq)
		memFresh.Add(1)
	}
	c.notifies.Add(1)
}

// memFresh counts, over every MemConn, the notifies newer than the
// connection's last one: waiting for a round is waiting for it to grow by
// the number of sessions, without scanning them.
var memFresh atomic.Int64

// FreshNotifies is that count.
func FreshNotifies() int64 { return memFresh.Load() }

// SetSlow makes every Write take d (0: none).
func (c *MemConn) SetSlow(d time.Duration) { c.slow.Store(int64(d)) }

// Notifies is how many notifies were written.
func (c *MemConn) Notifies() uint32 { return c.notifies.Load() }

// Last is the highest round seen and when it arrived.
func (c *MemConn) Last() (seq uint64, at int64) { return c.lastSeq.Load(), c.lastAt.Load() }

// Arrivals returns the last notifies written, oldest first.
func (c *MemConn) Arrivals() []Arrival {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Arrival
	start := uint32(0)
	if c.next > memRing {
		start = c.next - memRing
	}
	for i := start; i < c.next; i++ {
		out = append(out, c.ring[i%memRing])
	}
	return out
}

// parseStamp reads a notify's round, stamp and clean flag without
// allocating: coinb1 is the third string of the params.
func parseStamp(line []byte) (seq uint64, stamp int64, clean bool, ok bool) {
	p := bytes.Index(line, paramsKey)
	if p < 0 {
		return
	}
	c := cursor{b: line, i: p + len(paramsKey)}
	c.str()
	c.str()
	coinb1, ok1 := c.str()
	if !ok1 || len(coinb1) < stampDigits {
		return
	}
	st := coinb1[len(coinb1)-stampDigits:]
	seq, ok2 := hex64(st[:16])
	ns, ok3 := hex64(st[16:])
	if !ok2 || !ok3 {
		return
	}
	t := bytes.TrimRight(line, "\r\n")
	clean = bytes.HasSuffix(t, []byte("true]}"))
	return seq, int64(ns), clean, true
}

func hex64(b []byte) (uint64, bool) {
	var v uint64
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uint64(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | uint64(c-'a'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// TryWrite is the proxy's non-blocking write attempt (fan-out): a fast
// session takes the bytes at once, as an idle TCP socket would; a slow
// one takes nothing now, as a full socket would, and the proxy queues the
// bytes for its flusher.
func (c *MemConn) TryWrite(p []byte) (int, error) {
	if c.slow.Load() > 0 {
		return 0, nil
	}
	return c.Write(p)
}
