package proxy_test

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/stratum/proxy"
)

// tallyGate admits every rig and keeps, per name, Authorized minus
// Disconnected, and whether Disconnected ever came first.
type tallyGate struct {
	mu    sync.Mutex
	live  map[string]int
	early int // Disconnected before Authorized
}

func (g *tallyGate) Authorized(r proxy.Rig) proxy.Verdict {
	g.mu.Lock()
	g.live[r.Name]++
	g.mu.Unlock()
	return proxy.Admit
}

func (g *tallyGate) Disconnected(r proxy.Rig) {
	g.mu.Lock()
	if g.live[r.Name]--; g.live[r.Name] < 0 {
		g.early++
	}
	g.mu.Unlock()
}

// Evictions landing while a rig authorizes (clients handshaking in a loop
// against a handshake share of 2): every account is let go and the Gate
// hears Authorized then Disconnected for every rig, in that order. Before,
// ~1,150 accounts kept a connection for ever (attached after the evicted
// connection's close), and ~90 names stayed "connected" in the Gate (told
// Disconnected before Authorized).
func TestEvictionDuringAuthorizeKeepsCountsExact(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{})
	cfg := quickConfig(t, pool)
	g := &tallyGate{live: map[string]int{}}
	cfg.Gate = g
	cfg.MaxUnauthenticated = 2
	cfg.MaxUnauthenticatedPerAddress = 1000
	srv := startProxy(t, cfg)
	var wg sync.WaitGroup
	deadline := time.Now().Add(2 * time.Second)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// At most 2,000 dials each: unbounded, a fast machine made ~63,000
			// in 2 s, near the ephemeral port range with TIME_WAIT.
			for i := 0; i < 2000 && time.Now().Before(deadline); i++ {
				c, err := net.Dial("tcp", srv.Addr().String())
				if err != nil {
					continue
				}
				fmt.Fprintf(c, `{"id":1,"method":"mining.subscribe","params":[]}`+"\n"+`{"id":2,"method":"mining.authorize","params":["r%d-%d","x"]}`+"\n", w, i)
				c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
				c.Read(make([]byte, 512))
				c.Close()
			}
		}()
	}
	wg.Wait()
	sim.WaitFor(t, 10*time.Second, "connections left (srv.Stats().Connections == 0)", func() (bool, any) {
		got := srv.Stats().Connections
		return got == 0, got
	})
	off := func() (n int, sample string) {
		g.mu.Lock()
		defer g.mu.Unlock()
		for name, v := range g.live {
			if v != 0 {
				n++
				sample = fmt.Sprintf("%s at %d", name, v)
			}
		}
		return n, sample
	}
	held := func() (n int) {
		for _, w := range srv.Workers() {
			if w.Connections != 0 || w.Standby != 0 {
				n++
			}
		}
		return n
	}
	// Closes finish on their goroutines after the count drops.
	_ = sim.Poll(5*time.Second, func() bool { n, _ := off(); return n == 0 && held() == 0 }) // judged below
	n, sample := off()
	g.mu.Lock()
	early := g.early
	g.mu.Unlock()
	if n > 0 || early > 0 {
		t.Errorf("Gate counts off for %d names (e.g. %s), Disconnected before Authorized %d times; want 0 and 0", n, sample, early)
	}
	if h := held(); h > 0 {
		t.Errorf("%d accounts still hold a connection with none live, want 0", h)
	}
	t.Logf("evicted %d connections", srv.Stats().EvictedUnauthenticated)
	if n := srv.Stats().EvictedUnauthenticated; n == 0 {
		t.Errorf("%d evictions (the test did not test anything), want some", n)
	}
}
