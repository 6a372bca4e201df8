package device

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"go.uber.org/goleak"
)

// sampleAnswer is a cgminer-style multi-command answer (LuxOS).
const sampleAnswer = `{"summary":[{"STATUS":[{"STATUS":"S","Code":11,"Msg":"Summary"}],"SUMMARY":[{"GHS 5s":"104500.5","GHS av":100000}]}],` +
	`"power":[{"STATUS":[{"STATUS":"S","Code":311}],"POWER":[{"PSU":true,"Watts":3250}]}],"id":1}`

// The answer arrives in pieces: any split reads the same.
func TestReadToNULSplit(t *testing.T) {
	body := sampleAnswer
	cases := []struct {
		name string
		r    io.Reader
	}{
		{"nul", strings.NewReader(body + "\x00trailing")},
		{"eof", strings.NewReader(body)},
		{"one byte", iotest.OneByteReader(strings.NewReader(body + "\x00"))},
		{"half", iotest.HalfReader(strings.NewReader(body + "\x00"))},
		{"half, junk after NUL", iotest.HalfReader(strings.NewReader(body + "\x00junk"))},
		{"data+eof", iotest.DataErrReader(strings.NewReader(body))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ReadToNUL(c.r, 1<<20)
			if err != nil || string(got) != body {
				t.Errorf("%s: got %q, %v; want the body", c.name, got, err)
			}
		})
	}
	for i := 1; i < len(body); i++ {
		r := io.MultiReader(strings.NewReader(body[:i]), iotest.OneByteReader(strings.NewReader(body[i:]+"\x00")))
		if got, err := ReadToNUL(r, 1<<20); err != nil || string(got) != body {
			t.Fatalf("split at %d: got %q, %v; want err == nil, string(got) == body", i, got, err)
		}
	}
}

func TestReadToNULErrors(t *testing.T) {
	if _, err := ReadToNUL(strings.NewReader(""), 10); !errors.Is(err, ErrProtocol) {
		t.Errorf("empty: got %v, want ErrProtocol", err)
	}
	_, err := ReadToNUL(bytes.NewReader(bytes.Repeat([]byte("x"), 5000)), 100)
	if !errors.Is(err, ErrProtocol) || !errors.Is(err, ErrTooLong) {
		t.Errorf("too long: got %v, want ErrProtocol and ErrTooLong", err)
	}
	if _, err := ReadToNUL(iotest.ErrReader(io.ErrUnexpectedEOF), 100); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("read error: got %v, want it passed on", err)
	}
}

func FuzzReadToNUL(f *testing.F) {
	f.Add([]byte(sampleAnswer))
	f.Add([]byte("{\"STATUS\":[{\"STATUS\":\"E\",\"Code\":402}]}\x00x"))
	f.Add([]byte("\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ans, err := ReadToNUL(bytes.NewReader(b), 1<<10)
		if err != nil {
			return
		}
		// The bound is checked after each read of up to 4 KiB.
		if bytes.IndexByte(ans, 0) >= 0 || len(ans) > 1<<10+4096 || !bytes.HasPrefix(b, ans) {
			t.Fatalf("answer of %d bytes: holds a NUL, passes the bound by a read or more, or is not a prefix of the input; want bytes.IndexByte(ans, 0) < 0, len(ans) <= 1<<10+4096, bytes.HasPrefix(b, ans)", len(ans))
		}
	})
}

// serveOnce accepts one connection on 127.0.0.1:0 and runs h on it.
func serveOnce(t *testing.T, h func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		h(c)
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

func TestExchange(t *testing.T) {
	addr := serveOnce(t, func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 64)
		n, _ := c.Read(buf)
		_, _ = c.Write(append([]byte("echo "), buf[:n]...))
		_, _ = c.Write([]byte{0})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := Exchange(ctx, nil, addr, []byte("hi"), func(r io.Reader) ([]byte, error) { return ReadToNUL(r, 100) })
	if err != nil || string(got) != "echo hi" {
		t.Fatalf("got %q, %v; want \"echo hi\"", got, err)
	}
}

// A peer that never answers: the read ends at ctx's deadline with a
// timeout (ctx's own error when its timer fired first).
func TestExchangeDeadline(t *testing.T) {
	hold := make(chan struct{})
	addr := serveOnce(t, func(net.Conn) { <-hold })
	defer close(hold)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Exchange(ctx, nil, addr, []byte("hi"), func(r io.Reader) ([]byte, error) { return ReadToNUL(r, 100) })
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("got %v, want a timeout", err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("took %v, want about the 100ms deadline", el)
	}
}

// A cancelled ctx without deadline ends the read at once.
func TestExchangeCancel(t *testing.T) {
	hold := make(chan struct{})
	addr := serveOnce(t, func(net.Conn) { <-hold })
	defer close(hold)
	ctx, cancel := context.WithCancel(context.Background())
	read := func(r io.Reader) ([]byte, error) {
		cancel()
		return ReadToNUL(r, 100)
	}
	_, err := Exchange(ctx, nil, addr, []byte("hi"), read)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestExchangeDialError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = Exchange(context.Background(), nil, addr, nil, func(io.Reader) ([]byte, error) { return nil, nil })
	if err == nil || !strings.HasPrefix(err.Error(), "dial "+addr) {
		t.Fatalf("got %v, want a dial error naming %s", err, addr)
	}
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
