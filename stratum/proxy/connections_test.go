package proxy_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/stratum/proxy"
)

// dialerFrom dials from a loopback source address other than 127.0.0.1,
// so that one test can play several machines.
func dialerFrom(ip string) *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 2 * time.Second}
}

// fleetFrom starts sim miners that connect from source address ip.
func fleetFrom(t *testing.T, ip string, cfg sim.FleetConfig) *sim.Fleet {
	t.Helper()
	addr, d := cfg.Addr, dialerFrom(ip)
	cfg.Dial = func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
	return startFleet(t, cfg)
}

// A parked rig gets no job by design and so sends nothing: read_timeout
// must not cut it (each cut restarts the firmware's failover race and its
// wasted hashing). A rig at work that goes silent is still cut.
func TestReadTimeoutSparesParkedRigs(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{})
	g := &gate{allowed: map[string]bool{"acct.busy": true}}
	cfg := quickConfig(t, pool)
	cfg.Gate = g
	cfg.ReadTimeout = 300 * time.Millisecond
	cfg.ParkedKeepalive = 100 * time.Millisecond
	srv := startProxy(t, cfg)

	parked := startFleet(t, sim.FleetConfig{Addr: srv.Addr().String(), Miners: 3, NameFormat: "acct.parked-%d", SilenceTimeout: 5 * time.Second})
	sim.WaitFor(t, 5*time.Second, "parked rigs authorized (parked.Stats().Authorized == 3)", func() (bool, any) {
		st := parked.Stats()
		return st.Authorized == 3, st
	})
	// Ten read timeouts without a line from them.
	if err := sim.Poll(10*cfg.ReadTimeout, func() bool { return parked.Stats().Disconnects > 0 }); err == nil {
		t.Fatalf("a parked rig was cut: %d disconnects, want 0 (read_timeout %s)", parked.Stats().Disconnects, cfg.ReadTimeout)
	}
	if st := parked.Stats(); st.Working != 0 || st.Connected != 3 {
		t.Fatalf("parked fleet %+v: want 3 connected, none working", st)
	}

	// At work and silent: cut after read_timeout.
	busy := dialRaw(t, srv)
	busy.call("1", "mining.subscribe", `[]`)
	busy.call("2", "mining.authorize", `["acct.busy","x"]`)
	start := time.Now()
	if closed, got := busy.closedWithin(10 * cfg.ReadTimeout); !closed {
		t.Fatalf("a silent rig at work was not cut within %s (read_timeout %s): %s; want it closed", 10*cfg.ReadTimeout, cfg.ReadTimeout, got)
	}
	if d := time.Since(start); d < cfg.ReadTimeout/2 {
		t.Fatalf("silent rig at work cut after %s, want not before read_timeout %s (less a half)", d, cfg.ReadTimeout)
	}

	// A parked rig resumed and then silent is cut too, judged from the
	// resume (not from when it last spoke, long before).
	srv.SetAdmission("acct.parked-0", true)
	sim.WaitFor(t, 5*time.Second, "resumed rig working (parked.Stats().Working == 1)", func() (bool, any) {
		got := parked.Stats().Working
		return got == 1, got
	})
	resumed := time.Now()
	// The sim miner sends no shares (ShareInterval 0): silent at work.
	sim.WaitFor(t, 10*cfg.ReadTimeout, "resumed silent rig cut (parked.Stats().Disconnects >= 1)", func() (bool, any) {
		got := parked.Stats().Disconnects
		return got >= 1, got
	})
	if d := time.Since(resumed); d < cfg.ReadTimeout/2 {
		t.Fatalf("resumed rig cut %s after its resume, want not before read_timeout %s (less a half)", d, cfg.ReadTimeout)
	}
}

// handshake_timeout is one deadline from accept to authorize: a client
// that sends a harmless line every half of it is cut all the same.
func TestHandshakeTimeoutIsADeadline(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{})
	cfg := quickConfig(t, pool)
	cfg.HandshakeTimeout = time.Second
	srv := startProxy(t, cfg)
	c, err := net.DialTimeout("tcp", srv.Addr().String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	accepted := time.Now()
	r := bufio.NewReader(c)
	lines := []string{
		`{"id":1,"method":"mining.extranonce.subscribe","params":[]}`,
		`{"id":2,"method":"mining.no_such_method","params":[]}`,
	}
	for i := 0; ; i++ {
		if time.Since(accepted) > 4*cfg.HandshakeTimeout {
			t.Fatalf("a client sending a line every %s stayed %s without authorizing, want it cut at handshake_timeout %s",
				cfg.HandshakeTimeout/2, time.Since(accepted), cfg.HandshakeTimeout)
		}
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := c.Write([]byte(lines[i%2] + "\n")); err != nil {
			break // closed under us
		}
		next := time.Now().Add(cfg.HandshakeTimeout / 2)
		closed := false
		for !closed {
			_ = c.SetReadDeadline(next)
			if _, err := r.ReadString('\n'); err != nil {
				ne, ok := err.(net.Error)
				closed = !(ok && ne.Timeout())
				if !closed {
					break // the half interval passed: next line
				}
			}
		}
		if closed {
			break
		}
	}
	d := time.Since(accepted)
	if d < cfg.HandshakeTimeout*9/10 || d > cfg.HandshakeTimeout*2 {
		t.Fatalf("cut %s after accept, want about handshake_timeout %s", d, cfg.HandshakeTimeout)
	}
}

// Silent connections in their handshake hold at most
// max_unauthenticated slots, max_unauthenticated_per_address from one
// address; real rigs still connect and authorize.
func TestHandshakeShare(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{})
	cfg := quickConfig(t, pool)
	cfg.MaxConnections = 30
	cfg.MaxUnauthenticated = 10
	cfg.MaxUnauthenticatedPerAddress = 4
	cfg.HandshakeTimeout = time.Minute // the silent ones stay as long as they are let
	srv := startProxy(t, cfg)
	addr := srv.Addr().String()

	var silent []net.Conn
	t.Cleanup(func() {
		for _, c := range silent {
			c.Close()
		}
	})
	// Every slot's worth of silent connections from eight addresses.
	for i := range cfg.MaxConnections {
		c, err := dialerFrom("127.0.0."+string(rune('2'+i%8))).Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		silent = append(silent, c)
	}
	sim.WaitFor(t, 5*time.Second, "every silent connection seen (TotalConnections+RefusedPerAddress == max_connections)", func() (bool, any) {
		st := srv.Stats()
		return st.TotalConnections+st.RefusedPerAddress == uint64(cfg.MaxConnections), st
	})
	if n := srv.Stats().Connections; n > int64(cfg.MaxUnauthenticated) {
		t.Fatalf("%d connections in their handshake held, want at most max_unauthenticated %d", n, cfg.MaxUnauthenticated)
	}
	// A fifth from one address is refused outright.
	before := srv.Stats().RefusedPerAddress
	var more []net.Conn
	for range cfg.MaxUnauthenticatedPerAddress + 1 {
		c, err := dialerFrom("127.0.0.20").Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		more = append(more, c)
	}
	silent = append(silent, more...)
	sim.WaitFor(t, 5*time.Second, "refused per address == before+1", func() (bool, any) {
		got := srv.Stats().RefusedPerAddress
		return got == before+1, got
	})

	fleet := startFleet(t, sim.FleetConfig{Addr: addr, Miners: 20, RampUp: time.Second, ShareInterval: 200 * time.Millisecond})
	sim.WaitFor(t, 20*time.Second, "20 rigs working beside the silent connections", func() (bool, any) {
		st := fleet.Stats()
		return st.Working == 20, st
	})
	if st := srv.Stats(); st.EvictedUnauthenticated == 0 {
		t.Fatalf("stats %+v: no silent connection evicted (the rigs got in some other way), want some", st)
	}
}

// 10,000 refused connections write a bounded number of log lines, and
// the summary counts the ones not logged one by one.
func TestRefusalsAreSummarized(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{})
	var logs sim.LogBuffer
	cfg := quickConfig(t, pool)
	cfg.Log = zerolog.New(&logs)
	cfg.MaxConnections = 1
	srv := startProxy(t, cfg)
	// One rig holds the only slot (in memory: its handshake is not in
	// the share that would be evicted).
	rig, rigEnd := net.Pipe()
	srv.ServeConn(rigEnd)
	defer rig.Close()
	rigR := bufio.NewReader(rig)
	for _, l := range []string{`{"id":1,"method":"mining.subscribe","params":[]}`, `{"id":2,"method":"mining.authorize","params":["acct.rig","x"]}`} {
		if _, err := rig.Write([]byte(l + "\n")); err != nil {
			t.Fatal(err)
		}
		if _, err := rigR.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	go func() { // what it is sent
		for {
			if _, err := rigR.ReadString('\n'); err != nil {
				return
			}
		}
	}()
	const n = 10000
	for range n {
		a, b := net.Pipe()
		srv.ServeConn(b)
		a.Close()
	}
	if got := srv.Stats().RefusedFull; got != n {
		t.Fatalf("refused %d, want %d", got, n)
	}
	srv.Close() // writes the summaries
	const msg = "miner refused: connection limit reached"
	full, summarized, lines := 0, 0, logs.JSON()
	for _, l := range lines {
		switch {
		case l["message"] == msg:
			full++
		case l["event"] == msg:
			c, _ := l["count"].(float64)
			summarized += int(c)
		}
	}
	if len(lines) > 40 {
		t.Fatalf("%d log lines for %d refusals, want a few (summarized)", len(lines), n)
	}
	if full+summarized != n || full == 0 {
		t.Fatalf("%d refusals logged in full and %d in summaries, want %d in all, some in full", full, summarized, n)
	}
}

// standbyGate counts what the Gate hears, per rig name.
type standbyGate struct {
	mu         sync.Mutex
	allowed    bool
	authorized map[string]int
	gone       map[string]int
}

func (g *standbyGate) Authorized(r proxy.Rig) proxy.Verdict {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.authorized[r.Name]++
	if g.allowed {
		return proxy.Admit
	}
	return proxy.Hold
}

func (g *standbyGate) Disconnected(r proxy.Rig) {
	g.mu.Lock()
	g.gone[r.Name]++
	g.mu.Unlock()
}

func (g *standbyGate) live(name string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.authorized[name] - g.gone[name]
}

// A rig that lists hashgate as primary and backup pool keeps two
// connections from its address under one name: one rig with a standby
// connection, not a duplicate. A park holds on both; the same name from
// another address is a duplicate as before.
func TestStandbyConnectionIsOneRig(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{JobInterval: 200 * time.Millisecond})
	var logs sim.LogBuffer
	g := &standbyGate{allowed: true, authorized: map[string]int{}, gone: map[string]int{}}
	cfg := quickConfig(t, pool)
	cfg.Gate = g
	cfg.Log = zerolog.New(&logs)
	cfg.ParkedKeepalive = 100 * time.Millisecond
	srv := startProxy(t, cfg)
	const name = "acct.rig-00000"
	rigCfg := sim.FleetConfig{Addr: srv.Addr().String(), Miners: 1, ShareInterval: 100 * time.Millisecond,
		SilenceTimeout: 5 * time.Second, ReconnectDelay: 50 * time.Millisecond}
	primary, backup := startFleet(t, rigCfg), startFleet(t, rigCfg)
	sim.WaitFor(t, 5*time.Second, "both connections working", func() (bool, any) {
		p, b := primary.Stats(), backup.Stats()
		return p.Working == 1 && b.Working == 1, fmt.Sprintf("primary %+v, standby %+v", p, b)
	})
	if n := g.live(name); n != 1 {
		t.Fatalf("the gate sees %d live rigs named %s, want 1 (a standby connection is the same rig)", n, name)
	}
	w, _ := srv.Worker(name)
	if w.Connections != 1 || w.Standby != 1 {
		t.Fatalf("worker %s: %d connections, %d standby; want 1 and 1", name, w.Connections, w.Standby)
	}

	// Park: the gate says no from now on and tells the proxy.
	g.mu.Lock()
	g.allowed = false
	g.mu.Unlock()
	srv.SetAdmission(name, false)
	sim.WaitFor(t, 5*time.Second, "both connections parked and back (a disconnect each, authorized again)", func() (bool, any) {
		p, b := primary.Stats(), backup.Stats()
		return p.Disconnects >= 1 && b.Disconnects >= 1 && p.Authorized == 1 && b.Authorized == 1,
			fmt.Sprintf("primary %+v, standby %+v", p, b)
	})
	if err := sim.Poll(time.Second, func() bool { return primary.Stats().Working+backup.Stats().Working > 0 }); err == nil {
		t.Fatalf("a parked rig got work: primary %+v, standby %+v; want none working", primary.Stats(), backup.Stats())
	}
	if n := g.live(name); n != 1 {
		t.Fatalf("after the park the gate sees %d live rigs named %s, want 1", n, name)
	}
	g.mu.Lock()
	g.allowed = true
	g.mu.Unlock()
	srv.SetAdmission(name, true)
	sim.WaitFor(t, 5*time.Second, "both connections resumed", func() (bool, any) {
		p, b := primary.Stats(), backup.Stats()
		return p.Working == 1 && b.Working == 1, fmt.Sprintf("primary %+v, standby %+v", p, b)
	})
	for _, l := range logs.JSON() {
		if m, _ := l["message"].(string); strings.Contains(m, "same worker name") {
			t.Fatalf("a standby connection was logged as a duplicate: %v, want no such line", l)
		}
	}

	// Another machine with the same name: a real duplicate.
	other := fleetFrom(t, "127.0.0.2", rigCfg)
	sim.WaitFor(t, 3*time.Second, "the other machine working (other.Stats().Working == 1)", func() (bool, any) {
		st := other.Stats()
		return st.Working == 1, st
	})
	if n := g.live(name); n != 2 {
		t.Fatalf("the gate sees %d live rigs named %s with another address in, want 2", n, name)
	}
	if w, _ := srv.Worker(name); w.Connections != 2 {
		t.Fatalf("worker %s: %d connections, want 2 (a duplicate)", name, w.Connections)
	}
	dups := 0
	for _, l := range logs.JSON() {
		if m, _ := l["message"].(string); strings.Contains(m, "same worker name") {
			dups++
		}
	}
	if dups != 1 {
		t.Fatalf("%d duplicate-name log lines, want 1", dups)
	}
}
