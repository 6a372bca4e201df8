package antminer

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/emu"
	emuam "github.com/hashgate/hashgate/internal/emu/antminer"
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

// TestOneConnectionPerCall: a call's requests (the digest challenge's
// 401, get_miner_conf.cgi, then stats.cgi or set_miner_conf.cgi) share
// one connection, and none is left open once the call returns: a fleet
// of tens of thousands of rigs holds no socket between polls.
func TestOneConnectionPerCall(t *testing.T) {
	rg := startRig(t, emuam.Config{}, emu.Faults{})
	cc := &connCounter{}
	d := New(Config{Dial: cc.dial})
	wantOpen := func(step string, dials int) {
		t.Helper()
		var got, open int
		if err := sim.Poll(2*time.Second, func() bool { got, open = cc.get(); return open == 0 }); err != nil || got != dials {
			t.Fatalf("after %s: got %d connections made, %d still open; want %d made, 0 open", step, got, open, dials)
		}
	}
	read(t, d, rg.t) // 401, get_miner_conf, stats
	wantOpen("a first read (challenge, conf, stats)", 1)
	read(t, d, rg.t)
	wantOpen("a second read (conf, stats)", 2)
	if err := d.Curtail(context.Background(), rg.t); err != nil {
		t.Fatal(err)
	}
	wantOpen("a curtail (conf, set_miner_conf)", 3)
	if _, err := d.Pools(context.Background(), rg.t); err != nil {
		t.Fatal(err)
	}
	wantOpen("a pool read (conf)", 4)
}
