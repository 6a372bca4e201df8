package sim

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Script is what every in-memory miner connection shares (ScriptedConn
// here, the load harness's MemConn): reads return a fixed script (the
// miner's lines), then block until Close; no addresses, deadlines accepted
// and ignored. A connection embeds it and adds its own Write.
type Script struct {
	script  string
	off     int
	closed  chan struct{}
	once    sync.Once
	closeAt atomic.Int64 // unix nanoseconds
}

// NewScript returns the reading half of a connection that reads script.
func NewScript(script string) *Script {
	return &Script{script: script, closed: make(chan struct{})}
}

// Read returns the script, then blocks until Close.
func (c *Script) Read(p []byte) (int, error) {
	if c.off < len(c.script) {
		n := copy(p, c.script[c.off:])
		c.off += n
		return n, nil
	}
	<-c.closed
	return 0, io.EOF
}

// Close ends the connection once, remembering when.
func (c *Script) Close() error {
	c.once.Do(func() {
		c.closeAt.Store(time.Now().UnixNano())
		close(c.closed)
	})
	return nil
}

// Closed reports whether Close was called (cheap: an atomic load).
func (c *Script) Closed() bool { return c.closeAt.Load() != 0 }

// Done is closed when the connection is.
func (c *Script) Done() <-chan struct{} { return c.closed }

// ClosedAt is when Close was first called (zero while open).
func (c *Script) ClosedAt() time.Time {
	n := c.closeAt.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

type memAddr struct{}

func (memAddr) Network() string { return "mem" }
func (memAddr) String() string  { return "mem" }

// LocalAddr is a placeholder address.
func (c *Script) LocalAddr() net.Addr { return memAddr{} }

// RemoteAddr is a placeholder address (not TCP: allow lists do not apply).
func (c *Script) RemoteAddr() net.Addr { return memAddr{} }

// SetDeadline is accepted and ignored.
func (c *Script) SetDeadline(time.Time) error { return nil }

// SetReadDeadline is accepted and ignored.
func (c *Script) SetReadDeadline(time.Time) error { return nil }

// SetWriteDeadline is accepted and ignored.
func (c *Script) SetWriteDeadline(time.Time) error { return nil }

// ScriptedConn is an in-memory miner connection for measuring the proxy
// without sockets: it reads a fixed script, then blocks until closed; what
// the proxy writes is counted and dropped. It costs the caller almost
// nothing, so memory and latency measured around it are the proxy's.
type ScriptedConn struct {
	*Script
	written *atomic.Int64
}

// NewScriptedConn returns a connection that reads script; written, if not
// nil, counts the bytes written to it.
func NewScriptedConn(script string, written *atomic.Int64) *ScriptedConn {
	if written == nil {
		written = new(atomic.Int64)
	}
	return &ScriptedConn{Script: NewScript(script), written: written}
}

// Write counts and drops p.
func (c *ScriptedConn) Write(p []byte) (int, error) {
	if c.Closed() {
		return 0, net.ErrClosed
	}
	c.written.Add(int64(len(p)))
	return len(p), nil
}

// MinerScript is what a simple miner sends: subscribe and authorize as
// worker.
func MinerScript(worker string) string {
	return `{"id":1,"method":"mining.subscribe","params":["scripted/1.0"]}` + "\n" +
		`{"id":2,"method":"mining.authorize","params":["` + worker + `","x"]}` + "\n"
}

// TryWrite is Write: a ScriptedConn never blocks (the proxy's fan-out
// writes to it directly, as to an idle TCP socket).
func (c *ScriptedConn) TryWrite(p []byte) (int, error) { return c.Write(p) }
