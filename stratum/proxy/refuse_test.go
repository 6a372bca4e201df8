package proxy_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/stratum"
	"github.com/hashgate/hashgate/stratum/proxy"
)

// refusingGate refuses names starting with "bad.", holds the others,
// and counts what it hears.
type refusingGate struct {
	mu         sync.Mutex
	authorized map[string]int
	gone       map[string]int
}

func (g *refusingGate) Authorized(r proxy.Rig) proxy.Verdict {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.authorized[r.Name]++
	if strings.HasPrefix(r.Name, "bad.") {
		return proxy.Refuse
	}
	return proxy.Hold
}

func (g *refusingGate) Disconnected(r proxy.Rig) {
	g.mu.Lock()
	g.gone[r.Name]++
	g.mu.Unlock()
}

func (g *refusingGate) heard(name string) (authorized, gone int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.authorized[name], g.gone[name]
}

// A rig the Gate refuses (the switcher keeps no record of its name, or
// its network is full of records) is answered 24 and closed, with no
// account left and no Disconnected for the Gate; before, it was held
// without work for ever (held rigs are not cut by read_timeout), with up
// to 64 accounts. A rig the Gate holds stays.
func TestGateRefusalClosesRig(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{})
	g := &refusingGate{authorized: map[string]int{}, gone: map[string]int{}}
	cfg := quickConfig(t, pool)
	cfg.Gate = g
	cfg.ReadTimeout = 300 * time.Millisecond
	srv := startProxy(t, cfg)
	held := waitingWorker(t, srv, "acct.held")

	m := dialRaw(t, srv)
	m.call("1", "mining.subscribe", `[]`)
	if r := m.call("2", "mining.authorize", `["bad.rig","x"]`); errCode(t, r) != stratum.ErrUnauthorized {
		t.Errorf("authorize of a refused rig: %s %s, want error 24", r.Result, r.Error)
	}
	if closed, got := m.closedWithin(3 * time.Second); !closed {
		t.Errorf("a refused rig is still connected: %s; want it closed", got)
	}
	sim.WaitFor(t, 3*time.Second, "connections (srv.Stats().Connections == 1)", func() (bool, any) {
		got := srv.Stats().Connections
		return got == 1, got
	})
	if acct, ok := srv.Worker("bad.rig"); ok {
		t.Errorf("a refused rig has an account %+v, want none", acct)
	}
	if a, gone := g.heard("bad.rig"); a != 1 || gone != 0 {
		t.Errorf("Gate heard Authorized %d and Disconnected %d times for the refused rig, want 1 and 0", a, gone)
	}
	if got := srv.Stats().RefusedByGate; got != 1 {
		t.Errorf("refused by gate: %d, want 1", got)
	}
	// The held rig is kept past read_timeout, and the proxy still answers it.
	if r := held.call("3", "mining.ping", `[]`); errCode(t, r) != 0 {
		t.Fatalf("held rig's ping after the refusal: error %s, want none", r.Error)
	}
	if n := srv.Stats().Connections; n != 1 {
		t.Errorf("connections: %d, want the held rig's", n)
	}
}

// Worker names follow the switcher's rule (rigname): at most 256 bytes,
// UTF-8, no control characters. Any other is answered 24 and gets no
// account, for the rig's name and for extra workers; before, one
// connection could hold 64 accounts of max_line_bytes names each (50
// connections: 3,200 accounts, +51 MiB of heap).
func TestLongWorkerNameRefused(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{})
	srv := startProxy(t, quickConfig(t, pool))
	m := dialRaw(t, srv)
	m.call("1", "mining.subscribe", `[]`)
	long := "acct." + strings.Repeat("n", 15000)
	for i, name := range []string{long, "acct.\u001b[2J", "acct." + strings.Repeat("x", 252)} {
		m.subtest(t, fmt.Sprintf("%d: %d bytes", i, len(name)), func(t *testing.T) {
			if r := m.call("2", "mining.authorize", mustJSON([]string{name, "x"})); errCode(t, r) != stratum.ErrUnauthorized {
				t.Errorf("rig name %d (%d bytes): %s %s, want error 24", i, len(name), r.Result, r.Error)
			}
		})
	}
	ok := "acct." + strings.Repeat("x", 251) // 256 bytes
	if r := m.call("3", "mining.authorize", mustJSON([]string{ok, "x"})); errCode(t, r) != 0 {
		t.Fatalf("a 256-byte name: %s, want accepted", r.Error)
	}
	if r := m.call("4", "mining.authorize", mustJSON([]string{long + "2", "x"})); errCode(t, r) != stratum.ErrUnauthorized {
		t.Errorf("extra worker of 15 KB: %s %s, want error 24", r.Result, r.Error)
	}
	if n := len(srv.Workers()); n != 1 {
		t.Errorf("%d accounts, want the one valid name's", n)
	}
	if n := srv.Stats().NamesRefused; n != 4 {
		t.Errorf("names refused %d, want the 4 answered 24 counted", n)
	}
}
