package luxos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/hashgate/hashgate/switcher/device"
)

// request is one LuxOS API command: cgminer-style JSON, one a connection.
type request struct {
	Command   string `json:"command"`
	Parameter string `json:"parameter,omitempty"`
}

// roundtrip sends one request on a new connection and returns the answer,
// without its NUL terminator. Every read and write has the deadline of ctx.
func (d *Driver) roundtrip(ctx context.Context, addr string, req request) ([]byte, error) {
	conn, err := d.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("luxos: dial %s: %w", addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// A cancelled ctx ends any read or write at once.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	body, _ := json.Marshal(req)
	if _, err := conn.Write(body); err != nil {
		return nil, fmt.Errorf("luxos: %s: write: %w", req.Command, ctxErr(ctx, err))
	}
	ans, err := readAnswer(conn, d.maxAnswer)
	if err != nil {
		return nil, fmt.Errorf("luxos: %s: %w", req.Command, ctxErr(ctx, err))
	}
	return ans, nil
}

func (d *Driver) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if d.cfg.Dial != nil {
		return d.cfg.Dial(ctx, network, addr)
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

// ctxErr prefers the context's reason over the deadline error it caused.
func ctxErr(ctx context.Context, err error) error {
	if ce := ctx.Err(); ce != nil {
		return fmt.Errorf("%w (%v)", ce, err)
	}
	return err
}

// errTooLong: the answer passed the size bound.
var errTooLong = errors.New("answer too long")

// readAnswer reads one answer: bytes up to a NUL or the end of the
// stream, whichever comes first, at most max bytes. The answer may
// arrive in any number of pieces.
func readAnswer(r io.Reader, max int64) ([]byte, error) {
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
			return nil, fmt.Errorf("%w: %w", device.ErrProtocol, errTooLong)
		}
		if errors.Is(err, io.EOF) {
			if buf.Len() == 0 {
				return nil, fmt.Errorf("%w: empty answer", device.ErrProtocol)
			}
			return buf.Bytes(), nil
		}
		if err != nil {
			return nil, err
		}
	}
}
