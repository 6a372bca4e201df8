package proxy_test

import (
	"bufio"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/stratum/proxy"
)

// delayedPool is a relay to pool that accepts only after delay: the
// proxy's first dial waits in the listen backlog, as after a restart
// with the pool not reachable yet.
func delayedPool(t *testing.T, pool *sim.Pool, delay time.Duration) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-time.After(delay):
		case <-stop:
			return
		}
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", pool.Addr())
			if err != nil {
				c.Close()
				continue
			}
			wg.Add(2)
			go func() { defer wg.Done(); io.Copy(u, c); u.Close() }()
			go func() { defer wg.Done(); io.Copy(c, u); c.Close() }()
		}
	}()
	return l.Addr().String()
}

// Rigs that reconnect in mass after a restart (or a failover) wait in
// mining.subscribe (or mining.configure) for a pool session: the proxy owes them the answer,
// so they are not evicted from the handshake share to make room for
// newcomers, and every one is served. Before, 20 of 30 were cut with a
// share of 10, and each evicted rig stayed attached to the session once
// it opened (a prefix held for ever by a connection long closed).
func TestStormWaitingForPoolIsNotEvicted(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{})
	cfg := quickConfig(t, pool)
	cfg.Pools[0].Address = delayedPool(t, pool, 2*time.Second)
	cfg.MaxConnections = 100
	cfg.MaxUnauthenticated = 10
	cfg.MaxUnauthenticatedPerAddress = 100
	cfg.HandshakeTimeout = 15 * time.Second
	srv, err := proxy.New(cfg) // not startProxy: it waits for the pool
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	if srv.Healthy() {
		t.Fatalf("healthy before the pool is reachable (pools %+v; the test would test nothing), want no session", srv.Pools())
	}
	const rigs = 30
	var served, cut atomic.Int32
	var wg sync.WaitGroup
	conns := make(chan net.Conn, rigs)
	for i := range rigs {
		c, err := net.DialTimeout("tcp", srv.Addr().String(), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conns <- c
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Pipelined subscribe and authorize; cgminer sends authorize
			// after the subscribe answer, which waits all the same.
			// Antminer firmware asks for version rolling first, which
			// waits for the pool's grant.
			hello := `{"id":1,"method":"mining.subscribe","params":["cgminer/4.13.6"]}` + "\n" + `{"id":2,"method":"mining.authorize","params":["acct.r","x"]}` + "\n"
			if i%2 == 1 {
				hello = `{"id":0,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":"1fffe000"}]}` + "\n" + hello
			}
			c.Write([]byte(hello))
			c.SetReadDeadline(time.Now().Add(12 * time.Second))
			if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
				cut.Add(1)
				return
			}
			served.Add(1)
		}()
		time.Sleep(20 * time.Millisecond) // a storm, not one burst: each newcomer finds the others waiting
	}
	wg.Wait()
	if cut.Load() > 0 || srv.Stats().EvictedUnauthenticated > 0 {
		t.Errorf("%d of %d rigs cut while waiting for the pool session (evicted %d), want 0",
			cut.Load(), rigs, srv.Stats().EvictedUnauthenticated)
	}
	close(conns)
	for c := range conns {
		c.Close()
	}
	sim.WaitFor(t, 5*time.Second, "connections closed (srv.Stats().Connections == 0)", func() (bool, any) {
		got := srv.Stats().Connections
		return got == 0, got
	})
	sim.WaitFor(t, 5*time.Second, "no miner attached to a session after every connection closed", func() (bool, any) {
		n := attached(srv)
		return n == 0, n
	})
}

func attached(srv *proxy.Server) int {
	n := 0
	for _, p := range srv.Pools() {
		n += p.Miners
	}
	return n
}
