package braiins

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	emubraiins "github.com/hashgate/hashgate/internal/emu/braiins"
	"github.com/hashgate/hashgate/internal/sim"
)

// connCounter dials through net.Dialer and counts the connections made
// and those still open.
type connCounter struct {
	mu          sync.Mutex
	dials, open int
}

type countedConn struct {
	net.Conn
	c    *connCounter
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.c.mu.Lock(); c.c.open--; c.c.mu.Unlock() })
	return c.Conn.Close()
}

func (c *connCounter) dial(ctx context.Context, network, addr string) (net.Conn, error) {
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

func (c *connCounter) get() (dials, open int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dials, c.open
}

// TestOneConnectionPerCall: a call's requests (the login, a read's
// details and stats) share one connection, and no connection is left
// open once the call returns: a fleet of 50,000 rigs holds no socket
// between polls.
func TestOneConnectionPerCall(t *testing.T) {
	w := newWorld(t, emubraiins.Config{})
	cc := &connCounter{}
	d := New(Config{Dial: cc.dial})
	wantOpen := func(step string, dials int) {
		t.Helper()
		var got, open int
		if err := sim.Poll(2*time.Second, func() bool { got, open = cc.get(); return open == 0 }); err != nil || got != dials {
			t.Fatalf("after %s: got %d connections made, %d still open; want %d made, 0 open", step, got, open, dials)
		}
	}
	if _, err := d.Read(ctx(t), w.tgt); err != nil { // login, details, stats
		t.Fatal(err)
	}
	wantOpen("a first read (login, details, stats)", 1)
	if _, err := d.Read(ctx(t), w.tgt); err != nil {
		t.Fatal(err)
	}
	wantOpen("a second read (details, stats)", 2)
	if err := d.Curtail(ctx(t), w.tgt); err != nil {
		t.Fatal(err)
	}
	wantOpen("a curtail", 3)
	w.tgt.Session = nil
	if err := d.Resume(ctx(t), w.tgt); err != nil { // login, resume
		t.Fatal(err)
	}
	wantOpen("a resume after a login", 4)
}
