package sim

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ScriptedConn is an in-memory miner connection for measuring the proxy
// without sockets: it reads a fixed script (the miner's lines), then
// blocks until closed; what the proxy writes is counted and dropped. It
// costs the caller almost nothing, so memory and latency measured around
// it are the proxy's. Deadlines are accepted and ignored.
type ScriptedConn struct {
	script  string
	off     int
	closed  chan struct{}
	once    sync.Once
	closeAt atomic.Int64 // unix nanoseconds
	written *atomic.Int64
}

// NewScriptedConn returns a connection that reads script; written, if not
// nil, counts the bytes written to it.
func NewScriptedConn(script string, written *atomic.Int64) *ScriptedConn {
	if written == nil {
		written = new(atomic.Int64)
	}
	return &ScriptedConn{script: script, closed: make(chan struct{}), written: written}
}

// Read returns the script, then blocks until Close.
func (c *ScriptedConn) Read(p []byte) (int, error) {
	if c.off < len(c.script) {
		n := copy(p, c.script[c.off:])
		c.off += n
		return n, nil
	}
	<-c.closed
	return 0, io.EOF
}

// Write counts and drops p.
func (c *ScriptedConn) Write(p []byte) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	c.written.Add(int64(len(p)))
	return len(p), nil
}

// Close ends the connection once, remembering when.
func (c *ScriptedConn) Close() error {
	c.once.Do(func() {
		c.closeAt.Store(time.Now().UnixNano())
		close(c.closed)
	})
	return nil
}

// Done is closed when the connection is.
func (c *ScriptedConn) Done() <-chan struct{} { return c.closed }

// ClosedAt is when Close was first called (zero while open).
func (c *ScriptedConn) ClosedAt() time.Time {
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
func (c *ScriptedConn) LocalAddr() net.Addr { return memAddr{} }

// RemoteAddr is a placeholder address (not TCP: allow lists do not apply).
func (c *ScriptedConn) RemoteAddr() net.Addr { return memAddr{} }

// SetDeadline is accepted and ignored.
func (c *ScriptedConn) SetDeadline(time.Time) error { return nil }

// SetReadDeadline is accepted and ignored.
func (c *ScriptedConn) SetReadDeadline(time.Time) error { return nil }

// SetWriteDeadline is accepted and ignored.
func (c *ScriptedConn) SetWriteDeadline(time.Time) error { return nil }

// MinerScript is what a simple miner sends: subscribe and authorize as
// worker.
func MinerScript(worker string) string {
	return `{"id":1,"method":"mining.subscribe","params":["scripted/1.0"]}` + "\n" +
		`{"id":2,"method":"mining.authorize","params":["` + worker + `","x"]}` + "\n"
}

// TryWrite is Write: a ScriptedConn never blocks (the proxy's fan-out
// writes to it directly, as to an idle TCP socket).
func (c *ScriptedConn) TryWrite(p []byte) (int, error) { return c.Write(p) }
