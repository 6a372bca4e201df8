package proxy_test

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/stratum"
)

// gatedConn is a miner connection whose writes wait for the test's go:
// it stands for a miner that reads slowly.
type gatedConn struct {
	script  string
	off     int
	release chan struct{}
	closed  chan struct{}
	once    sync.Once
	mu      sync.Mutex
	lines   []string
}

func (c *gatedConn) Read(p []byte) (int, error) {
	if c.off < len(c.script) {
		n := copy(p, c.script[c.off:])
		c.off += n
		return n, nil
	}
	<-c.closed
	return 0, io.EOF
}

func (c *gatedConn) Write(p []byte) (int, error) {
	select {
	case <-c.release:
	case <-c.closed:
		return 0, net.ErrClosed
	}
	c.mu.Lock()
	c.lines = append(c.lines, strings.Split(strings.TrimSpace(string(p)), "\n")...)
	c.mu.Unlock()
	return len(p), nil
}

func (c *gatedConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

func (c *gatedConn) notifies() []*stratum.Notify {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*stratum.Notify
	for _, l := range c.lines {
		if m, err := stratum.Decode([]byte(l)); err == nil && m.Method == stratum.MethodNotify {
			if n, err := stratum.ParseNotify(m.Params); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

func (c *gatedConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *gatedConn) RemoteAddr() net.Addr             { return &net.UnixAddr{Name: "gated"} }
func (c *gatedConn) SetDeadline(time.Time) error      { return nil }
func (c *gatedConn) SetReadDeadline(time.Time) error  { return nil }
func (c *gatedConn) SetWriteDeadline(time.Time) error { return nil }

// A clean_jobs notify is never written after older work: not even after
// older jobs the flusher had already taken for a slow miner.
func TestCleanJobNotQueuedBehindOlderWork(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{})
	cfg := quickConfig(t, pool)
	cfg.Listen = ""
	srv := startProxy(t, cfg)
	c := &gatedConn{script: sim.MinerScript("acct.slow"), release: make(chan struct{}), closed: make(chan struct{})}
	srv.ServeConn(c)
	// Let the handshake answers, difficulty and first job through.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(5 * time.Second)
	for len(c.notifies()) == 0 {
		select {
		case c.release <- struct{}{}:
		case <-tick.C: // look again
		case <-deadline:
			t.Fatalf("jobs written after 5 s: %d, want a first one", len(c.notifies()))
		}
	}
	// The miner stops reading; the pool sends three jobs, then a clean one.
	var old []string
	for range 3 {
		old = append(old, pool.NewJob(false))
	}
	sim.WaitFor(t, 5*time.Second, "jobs queued (srv.Stats().JobsNotified >= 4)", func() (bool, any) {
		got := srv.Stats().JobsNotified
		return got >= 4, got
	})
	// One write goes through: the flusher takes what is queued and blocks
	// on the next write with older jobs in its hands.
	c.release <- struct{}{}
	clean := pool.NewJob(true)
	sim.WaitFor(t, 5*time.Second, "clean job queued (srv.Stats().JobsNotified >= 5)", func() (bool, any) {
		got := srv.Stats().JobsNotified
		return got >= 5, got
	})
	// Now let everything through.
	got := func() bool {
		ns := c.notifies()
		return len(ns) > 0 && ns[len(ns)-1].Clean
	}
	deadline = time.After(5 * time.Second)
	for !got() {
		select {
		case c.release <- struct{}{}:
		case <-tick.C:
		case <-deadline:
			ns := c.notifies()
			t.Fatalf("after 5 s the last of %d jobs written is %+v, want the clean job %s", len(ns), ns[len(ns)-1], clean)
		}
	}
	ns := c.notifies()
	last := ns[len(ns)-1]
	if !last.Clean {
		t.Fatalf("the last job written is %+v, want the clean one %s", last, clean)
	}
	// Of the three older jobs, the first went out before the clean job was
	// sent, the second may have been being written when it came; the third
	// must not be written (the flusher before this fix wrote all three).
	written := 0
	for _, n := range ns[1:] {
		if !n.Clean {
			written++
		}
	}
	if written > 2 {
		t.Fatalf("%d older jobs written before the clean one, want at most 2 (%v, clean %s)", written, old, clean)
	}
	c.Close()
}
