package proxy_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/stratum/proxy"
)

// A pool's set_difficulty of NaN or ±Inf (strings strconv reads as such,
// numbers past float64) is ignored at the decoder: the proxy keeps the
// last good difficulty and keeps forwarding shares, which the pool
// accepts. Before, "NaN" became a target of 0 and forwarding stopped.
func TestPoolNonFiniteDifficultyKeepsForwarding(t *testing.T) {
	for _, v := range []string{`"NaN"`, `"Inf"`, `"-Infinity"`, `1e400`, `"1e400"`} {
		t.Run(v, func(t *testing.T) {
			pool := startPool(t, sim.PoolConfig{})
			srv := startProxy(t, quickConfig(t, pool))
			fleet := startFleet(t, sim.FleetConfig{Addr: srv.Addr().String(), Miners: 2, ShareInterval: 20 * time.Millisecond})
			sim.Eventually(t, 10*time.Second, func() bool { return pool.Stats().Accepted >= 5 }, "shares at the pool")
			if n := pool.SendRaw([]byte(`{"id":null,"method":"mining.set_difficulty","params":[` + v + `]}` + "\n")); n != 1 {
				t.Fatalf("sent to %d pool connections, want 1", n)
			}
			// A clean job after it: every share from here on is on a job
			// made after the bad difficulty.
			pool.NewJob(true)
			before := pool.Stats().Accepted
			var st proxy.StatsSnapshot
			sim.Eventually(t, 10*time.Second, func() bool { st = srv.Stats(); return pool.Stats().Accepted >= before+10 },
				"shares still forwarded after a set_difficulty of %s: the pool accepted %d before it; proxy %+v", v, before, &st)
			checkOnlyStale(t, fleet, pool)
			if st := srv.Pools()[0]; st.State != "active" {
				t.Fatalf("pool %+v, want still active", st)
			}
		})
	}
}

// A pool's extranonce2_size of 17 to 32 works: the proxy keeps 4 prefix
// bytes, the miners get the rest (13 to 28 bytes), and their shares are
// validated by the proxy and accepted by the pool. Before, the share
// path's 16-byte buffer refused every share ("extranonce2 must be 24
// bytes" for 24 bytes).
func TestPoolLargeExtranonce2(t *testing.T) {
	for _, n := range []int{17, 28, 32} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			pool := startPool(t, sim.PoolConfig{Extranonce2Size: n})
			srv := startProxy(t, quickConfig(t, pool))
			fleet := startFleet(t, sim.FleetConfig{Addr: srv.Addr().String(), Miners: 3, ShareInterval: 20 * time.Millisecond})
			var ps sim.PoolStats
			var st proxy.StatsSnapshot
			sim.Eventually(t, 10*time.Second, func() bool { ps, st = pool.Stats(), srv.Stats(); return ps.Accepted >= 20 },
				"shares accepted by the pool: pool %+v, proxy %+v", &ps, &st)
			for i := range 3 {
				if got := fleet.Miner(i).Extranonce2Size; got != n-4 {
					t.Fatalf("miner %d told extranonce2_size %d, want %d (the pool's %d less 4 prefix bytes)", i, got, n-4, n)
				}
			}
			checkNoWrongAnswers(t, fleet)
			if r := pool.Stats().RejectedTotal(); r != 0 {
				t.Fatalf("pool rejected %d shares: %v", r, pool.Stats().Rejected)
			}
			if r := srv.Stats().SharesRejected; r["extranonce2"] != 0 {
				t.Fatalf("proxy rejected %d shares for their extranonce2", r["extranonce2"])
			}
		})
	}
}

// A pool offering more than 32 bytes of extranonce2 is refused at
// subscribe, with an error naming the size in the pool's status; no
// miner is ever given work from it.
func TestPoolExtranonce2Over32Refused(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{Extranonce2Size: 33})
	cfg := quickConfig(t, pool)
	srv, err := proxy.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	var st string
	sim.Eventually(t, 10*time.Second, func() bool {
		p := srv.Pools()[0]
		st = p.State + ": " + p.LastError
		return p.State == "failed" && p.LastError != ""
	}, "pool not failed")
	if !strings.Contains(st, "extranonce2_size must be an integer 0..32, got 33") {
		t.Fatalf("pool status %q, want the refused size named", st)
	}
	if srv.Healthy() {
		t.Fatal("proxy healthy on a pool it cannot use")
	}
}
