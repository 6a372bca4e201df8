package proxy_test

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/stratum/proxy"
)

func startFleet(t *testing.T, cfg sim.FleetConfig) *sim.Fleet {
	t.Helper()
	f, err := sim.StartFleet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

func checkNoWrongAnswers(t *testing.T, f *sim.Fleet) {
	t.Helper()
	if st := f.Stats(); st.WrongAnswers != 0 || st.ProtocolErrors != 0 {
		t.Fatalf("fleet saw wrong answers or garbage: %+v, want none", st)
	}
}

// checkOnlyStale is for tests where work is lost on purpose (a pool dies,
// changes its extranonce): shares mined on the lost work may come back
// stale (21), nothing else may be rejected, and the pools must have
// rejected nothing for a reason other than staleness.
func checkOnlyStale(t *testing.T, f *sim.Fleet, pools ...*sim.Pool) {
	t.Helper()
	st := f.Stats()
	for code, n := range st.WrongByCode {
		if code != 21 && n > 0 {
			t.Fatalf("fleet got %d rejections with code %d: %+v; want only code 21 (stale)", n, code, st)
		}
	}
	if st.ProtocolErrors != 0 {
		t.Fatalf("fleet saw garbage: %+v, want no protocol errors", st)
	}
	for _, p := range pools {
		for reason, n := range p.Stats().Rejected {
			if reason != sim.RejectStale && n > 0 {
				t.Fatalf("pool rejected %d shares as %s, want only stale ones", n, reason)
			}
		}
	}
}

// The "done when": 1,000 miners (half ASIC-style, half
// cpuminer-style) through the proxy on a handful of pool connections; the
// pool validates every share; killing the primary moves everyone to the
// secondary and shares keep flowing.
func TestThousandMinersAndFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 connections")
	}
	primary := startPool(t, sim.PoolConfig{Name: "primary", JobInterval: 300 * time.Millisecond})
	secondary := startPool(t, sim.PoolConfig{Name: "secondary", JobInterval: 300 * time.Millisecond})
	srv := startProxy(t, quickConfig(t, primary, secondary))
	fleet := startFleet(t, sim.FleetConfig{
		Addr: srv.Addr().String(), Miners: 1000, ASICFraction: 0.5,
		ShareInterval: time.Second, RampUp: 500 * time.Millisecond,
	})
	sim.WaitFor(t, 20*time.Second, "all miners working (fleet.Stats().Working == 1000)", func() (bool, any) {
		st := fleet.Stats()
		return st.Working == 1000, st
	})
	sim.WaitFor(t, 20*time.Second, "shares at the primary (primary.Stats().Accepted >= 2000)", func() (bool, any) {
		got := primary.Stats().Accepted
		return got >= 2000, got
	})
	if c := primary.Stats().Connections; c > 4 {
		t.Fatalf("%d pool connections for 1,000 miners, want a handful", c)
	}
	if r := primary.Stats().RejectedTotal(); r != 0 {
		t.Fatalf("primary rejected %d shares: %v, want 0", r, primary.Stats().Rejected)
	}
	checkNoWrongAnswers(t, fleet)

	primary.Close()
	sim.WaitFor(t, 20*time.Second, "shares at the secondary (secondary.Stats().Accepted >= 2000)", func() (bool, any) {
		got := secondary.Stats().Accepted
		return got >= 2000, got
	})
	sim.WaitFor(t, 20*time.Second, "all miners working again (fleet.Stats().Working == 1000)", func() (bool, any) {
		st := fleet.Stats()
		return st.Working == 1000, st
	})
	checkOnlyStale(t, fleet, secondary)
	st := srv.Stats()
	if st.Failovers != 1 || st.MinersMoved == 0 || st.MinersReconnected == 0 {
		t.Fatalf("failover %d, moved by set_extranonce %d, asked to reconnect %d; want 1 failover and some of each", st.Failovers, st.MinersMoved, st.MinersReconnected)
	}
	if r := secondary.Stats().Rejected; r["duplicate"] != 0 || r["low_difficulty"] != 0 || r["other"] != 0 {
		t.Fatalf("secondary rejected %v, want no duplicate, low_difficulty or other", r)
	}
	pools := srv.Pools()
	if pools[0].State != "failed" || pools[1].State != "active" || pools[1].Miners != 1000 {
		t.Fatalf("pool status %+v, want the primary failed, the secondary active with 1000 miners", pools)
	}
}

// Extranonce splitting end to end: a pool with extranonce2_size 4 leaves
// one prefix byte, 256 miners per session, so 2,000 miners need 8 sessions,
// and no two miners may ever share a prefix.
func TestTwoThousandMinersSplitAcrossSessions(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("2,000 connections: too heavy for the race detector on 2 cores; the smaller tests race the same paths")
	}
	pool := startPool(t, sim.PoolConfig{Extranonce2Size: 4, JobInterval: 500 * time.Millisecond})
	srv := startProxy(t, quickConfig(t, pool))
	fleet := startFleet(t, sim.FleetConfig{Addr: srv.Addr().String(), Miners: 2000, ShareInterval: 2 * time.Second, RampUp: time.Second})
	sim.WaitFor(t, 30*time.Second, "all miners working (fleet.Stats().Working == 2000)", func() (bool, any) {
		st := fleet.Stats()
		return st.Working == 2000, st
	})
	if n := proxy.UpstreamSessions(srv); n < 8 || n > 9 {
		t.Fatalf("%d upstream sessions for 2,000 miners at 256 each, want 8", n)
	}
	seen := map[string]bool{}
	for _, p := range proxy.MinerPrefixes(srv) {
		if seen[p] {
			t.Fatalf("two miners share extranonce1+prefix %s, want each its own", p)
		}
		seen[p] = true
	}
	if len(seen) != 2000 {
		t.Fatalf("%d distinct prefixes, want 2000", len(seen))
	}
	sim.WaitFor(t, 30*time.Second, "shares (pool.Stats().Accepted >= 3000)", func() (bool, any) {
		got := pool.Stats().Accepted
		return got >= 3000, got
	})
	if r := pool.Stats().RejectedTotal(); r != 0 {
		t.Fatalf("pool rejected %v, want none", pool.Stats().Rejected)
	}
	checkNoWrongAnswers(t, fleet)
}

// A silent primary is failed over; once it answers again and stays healthy
// for failback_after, the miners go back to it.
func TestFailbackToPrimary(t *testing.T) {
	primary := startPool(t, sim.PoolConfig{JobInterval: 100 * time.Millisecond})
	secondary := startPool(t, sim.PoolConfig{JobInterval: 100 * time.Millisecond})
	cfg := quickConfig(t, primary, secondary)
	for i := range cfg.Pools {
		cfg.Pools[i].FailoverTimeout = 400 * time.Millisecond
		cfg.Pools[i].ConnectTimeout = 300 * time.Millisecond
		cfg.Pools[i].FailbackAfter = 500 * time.Millisecond
	}
	srv := startProxy(t, cfg)
	fleet := startFleet(t, sim.FleetConfig{Addr: srv.Addr().String(), Miners: 40, ShareInterval: 50 * time.Millisecond})
	sim.WaitFor(t, 5*time.Second, "mining on the primary (primary.Stats().Accepted >= 50)", func() (bool, any) {
		got := primary.Stats().Accepted
		return got >= 50, got
	})

	primary.SetSilent(true)
	sim.WaitFor(t, 10*time.Second, "failed over to the secondary (secondary.Stats().Accepted >= 50)", func() (bool, any) {
		got := secondary.Stats().Accepted
		return got >= 50, got
	})
	if st := srv.Pools(); st[1].State != "active" {
		t.Fatalf("pools %+v, want the secondary active", st)
	}
	primary.SetSilent(false)
	before := primary.Stats().Accepted
	sim.WaitFor(t, 10*time.Second, "failed back (srv.Pools()[0].State == \"active\")", func() (bool, any) {
		ps := srv.Pools()
		return ps[0].State == "active", ps
	})
	sim.WaitFor(t, 10*time.Second, "mining on the primary again (primary.Stats().Accepted >= before+50)", func() (bool, any) {
		got := primary.Stats().Accepted
		return got >= before+50, got
	})
	sim.WaitFor(t, 10*time.Second, "everyone working (fleet.Stats().Working == 40)", func() (bool, any) {
		st := fleet.Stats()
		return st.Working == 40, st
	})
	checkOnlyStale(t, fleet, primary, secondary)
}

// A primary that accepts connections and never answers subscribe is
// skipped for the next pool.
func TestMutePrimaryIsSkipped(t *testing.T) {
	mute, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer mute.Close()
	wg.Add(1)
	go func() { // accepts, never answers; closes what it accepted at the end
		defer wg.Done()
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := mute.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	good := startPool(t, sim.PoolConfig{JobInterval: 100 * time.Millisecond})
	cfg := quickConfig(t, good)
	cfg.Pools = append([]proxy.PoolSpec{{Name: "mute", Address: mute.Addr().String(), User: "u", ConnectTimeout: 300 * time.Millisecond, FailbackAfter: time.Hour}}, cfg.Pools...)
	srv := startProxy(t, cfg)
	if st := srv.Pools(); st[1].State != "active" || st[0].LastError == "" {
		t.Fatalf("pools %+v: want the mute one failed and the next active", st)
	}
	fleet := startFleet(t, sim.FleetConfig{Addr: srv.Addr().String(), Miners: 20, ShareInterval: 50 * time.Millisecond})
	sim.WaitFor(t, 5*time.Second, "mining on the second pool (good.Stats().Accepted >= 40)", func() (bool, any) {
		got := good.Stats().Accepted
		return got >= 40, got
	})
	checkNoWrongAnswers(t, fleet)
}

// A pool that sends garbage loses its session; the proxy reconnects (here
// to the same pool, healthy again, first in order) and mining goes on.
func TestPoolGarbageDropsSession(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{JobInterval: 100 * time.Millisecond})
	backup := startPool(t, sim.PoolConfig{JobInterval: 100 * time.Millisecond})
	srv := startProxy(t, quickConfig(t, pool, backup))
	fleet := startFleet(t, sim.FleetConfig{Addr: srv.Addr().String(), Miners: 20, ShareInterval: 50 * time.Millisecond})
	sim.WaitFor(t, 5*time.Second, "mining (pool.Stats().Accepted >= 20)", func() (bool, any) {
		got := pool.Stats().Accepted
		return got >= 20, got
	})
	pool.SendRaw([]byte("\x00\x01 this is not json\n"))
	sim.WaitFor(t, 5*time.Second, "the session dropped (a failure, or the pool no longer active)", func() (bool, any) {
		p := srv.Pools()[0]
		return p.Failures > 0 || p.State != "active", p
	})
	total := func() int { return pool.Stats().Accepted + backup.Stats().Accepted }
	before := total()
	sim.WaitFor(t, 5*time.Second, "mining after the garbage (total() >= before+40)", func() (bool, any) {
		got := total()
		return got >= before+40, got
	})
	sim.WaitFor(t, 5*time.Second, "all working (fleet.Stats().Working == 20)", func() (bool, any) {
		got := fleet.Stats().Working
		return got == 20, got
	})
	checkOnlyStale(t, fleet, pool, backup)
}

// The pool changes our extranonce1: miners that follow set_extranonce get a
// new one, the others reconnect; no share is judged wrongly.
func TestPoolChangesExtranonce(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{JobInterval: 100 * time.Millisecond})
	srv := startProxy(t, quickConfig(t, pool))
	fleet := startFleet(t, sim.FleetConfig{Addr: srv.Addr().String(), Miners: 20, ShareInterval: 50 * time.Millisecond})
	sim.WaitFor(t, 5*time.Second, "mining (pool.Stats().Accepted >= 40)", func() (bool, any) {
		got := pool.Stats().Accepted
		return got >= 40, got
	})
	pool.SendSetExtranonce()
	before := pool.Stats().Accepted
	sim.WaitFor(t, 5*time.Second, "set_extranonce relayed (fleet.Stats().SetExtranonceReceived >= 1)", func() (bool, any) {
		got := fleet.Stats().SetExtranonceReceived
		return got >= 1, got
	})
	sim.WaitFor(t, 5*time.Second, "mining after the change (pool.Stats().Accepted >= before+40)", func() (bool, any) {
		got := pool.Stats().Accepted
		return got >= before+40, got
	})
	sim.WaitFor(t, 5*time.Second, "all working (fleet.Stats().Working == 20)", func() (bool, any) {
		got := fleet.Stats().Working
		return got == 20, got
	})
	checkOnlyStale(t, fleet, pool)
}
