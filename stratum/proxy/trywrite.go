package proxy

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
)

// TryWriter is a connection that can attempt a write without blocking:
// it writes what the peer's buffer takes now and returns. The proxy uses
// it to fan a job out from one goroutine to many idle miners without
// starting a flusher for each; a TCP connection gets it through its raw
// file descriptor.
type TryWriter interface {
	TryWrite(b []byte) (n int, err error)
}

// tcpTryWriter makes a non-blocking write on a TCP connection's socket.
type tcpTryWriter struct{ rc syscall.RawConn }

// rawWrite is one non-blocking write; pooled with its method value, so a
// write does not allocate a closure (it runs for every answer and every
// job sent).
type rawWrite struct {
	b   []byte
	n   int
	err error
	fn  func(fd uintptr) bool
}

func (r *rawWrite) do(fd uintptr) bool {
	r.n, r.err = syscall.Write(int(fd), r.b)
	return true // never wait: what does not fit goes to the flusher
}

var rawWrites = sync.Pool{New: func() any {
	r := new(rawWrite)
	r.fn = r.do
	return r
}}

func (w tcpTryWriter) TryWrite(b []byte) (int, error) {
	op := rawWrites.Get().(*rawWrite)
	op.b = b
	err := w.rc.Write(op.fn)
	n, werr := op.n, op.err
	op.b, op.n, op.err = nil, 0, nil
	rawWrites.Put(op)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// An old write deadline has passed: not an error of this write;
		// the flusher arms a fresh one.
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if werr == syscall.EAGAIN || werr == syscall.EINTR {
		return max(n, 0), nil
	}
	return max(n, 0), werr
}

func tryWriterOf(c net.Conn) TryWriter {
	switch c := c.(type) {
	case TryWriter:
		return c
	case *net.TCPConn:
		if rc, err := c.SyscallConn(); err == nil {
			return tcpTryWriter{rc}
		}
	}
	return nil
}
