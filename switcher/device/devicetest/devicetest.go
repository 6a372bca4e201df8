package devicetest

import (
	"context"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/sim"
)

// HangBound: a call to a hung device with a 200ms timeout must give up
// within this. It is generous so a loaded CI machine does not fail it;
// a call that ignored its timeout would hang until the test ends.
const HangBound = 1500 * time.Millisecond

// CheckLeaks fails the test if goroutines started during it outlive it.
func CheckLeaks(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		var now int
		if err := sim.Poll(5*time.Second, func() bool { now = runtime.NumGoroutine(); return now <= before }); err != nil {
			t.Errorf("goroutines: got %d after the test, want at most %d as before it", now, before)
		}
	})
}

// Context is a 10s context cancelled when the test ends.
func Context(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// ClosedAddr is a 127.0.0.1 address nothing listens on (it did a moment
// ago): a dial there is refused.
func ClosedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// ConnCounter dials through net.Dialer and counts the connections made
// and those still open. Its Dial goes into a driver's Config.Dial.
type ConnCounter struct {
	mu          sync.Mutex
	dials, open int
}

type countedConn struct {
	net.Conn
	c    *ConnCounter
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.c.mu.Lock(); c.c.open--; c.c.mu.Unlock() })
	return c.Conn.Close()
}

// Dial opens a counted connection.
func (c *ConnCounter) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.dials++
	c.open++
	c.mu.Unlock()
	return &countedConn{Conn: conn, c: c}, nil
}

// Counts returns the connections made and those still open.
func (c *ConnCounter) Counts() (dials, open int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dials, c.open
}

// WantClosed fails the test unless, within 2s, every connection is
// closed and dials were made in all; step names what ran before.
func (c *ConnCounter) WantClosed(t *testing.T, step string, dials int) {
	t.Helper()
	var got, open int
	if err := sim.Poll(2*time.Second, func() bool { got, open = c.Counts(); return open == 0 }); err != nil || got != dials {
		t.Fatalf("after %s: got %d connections made, %d still open; want %d made, 0 open", step, got, open, dials)
	}
}
