package device

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// DialFunc opens a connection, as net.Dialer.DialContext does. A
// driver's Config takes one to replace the dialer (tests, a SOCKS hop).
type DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error)

// ErrTooLong: an answer passed its size bound. It always comes wrapped
// with ErrProtocol.
var ErrTooLong = errors.New("answer too long")

// Exchange makes one request/answer exchange on a new TCP connection:
// it dials addr (with dial, or net.Dialer when nil), writes req and reads
// one answer with read, then closes the connection. Every write and read
// has ctx's deadline, and a cancelled ctx ends them at once. An error
// says which step failed ("dial ADDR: ...", "write: ...", or read's own)
// and, when ctx ended, carries ctx's error for errors.Is.
func Exchange(ctx context.Context, dial DialFunc, addr string, req []byte, read func(io.Reader) ([]byte, error)) ([]byte, error) {
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	conn, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := conn.Write(req); err != nil {
		return nil, fmt.Errorf("write: %w", ctxErr(ctx, err))
	}
	ans, err := read(conn)
	if err != nil {
		return nil, ctxErr(ctx, err)
	}
	return ans, nil
}

// ctxErr prefers the context's reason over the deadline error it caused.
func ctxErr(ctx context.Context, err error) error {
	if ce := ctx.Err(); ce != nil {
		return fmt.Errorf("%w (%v)", ce, err)
	}
	return err
}

// ReadToNUL reads one cgminer-style answer: the bytes up to a NUL or the
// end of the stream, whichever comes first. Passing max bytes without a
// NUL is ErrProtocol and ErrTooLong (the bound is checked after each
// read of up to 4 KiB, so an answer whose NUL comes in that read may
// pass max by less than 4 KiB); nothing at all is ErrProtocol. The
// answer may arrive in any number of pieces; bytes after the NUL are
// dropped.
func ReadToNUL(r io.Reader, max int64) ([]byte, error) {
	var buf bytes.Buffer
	chunk := make([]byte, 4096)
	for {
		n, err := r.Read(chunk)
		if i := bytes.IndexByte(chunk[:n], 0); i >= 0 {
			buf.Write(chunk[:i])
			return buf.Bytes(), nil
		}
		buf.Write(chunk[:n])
		if int64(buf.Len()) > max {
			return nil, fmt.Errorf("%w: %w", ErrProtocol, ErrTooLong)
		}
		if errors.Is(err, io.EOF) {
			if buf.Len() == 0 {
				return nil, fmt.Errorf("%w: empty answer", ErrProtocol)
			}
			return buf.Bytes(), nil
		}
		if err != nil {
			return nil, err
		}
	}
}
