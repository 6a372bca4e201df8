package proxy_test

import (
	"fmt"
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
			sim.WaitFor(t, 10*time.Second, "shares at the pool (pool.Stats().Accepted >= 5)", func() (bool, any) {
				got := pool.Stats().Accepted
				return got >= 5, got
			})
			if n := pool.SendRaw([]byte(`{"id":null,"method":"mining.set_difficulty","params":[` + v + `]}` + "\n")); n != 1 {
				t.Fatalf("sent to %d pool connections, want 1", n)
			}
			// A clean job after it: every share from here on is on a job
			// made after the bad difficulty.
			pool.NewJob(true)
			before := pool.Stats().Accepted
			sim.WaitFor(t, 10*time.Second, "shares still forwarded after the bad set_difficulty (pool accepted >= before+10)", func() (bool, any) {
				acc, st := pool.Stats().Accepted, srv.Stats()
				return acc >= before+10, fmt.Sprintf("pool accepted %d (%d before); proxy %+v", acc, before, st)
			})
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
			sim.WaitFor(t, 10*time.Second, "shares accepted by the pool (>= 20)", func() (bool, any) {
				ps, st := pool.Stats(), srv.Stats()
				return ps.Accepted >= 20, fmt.Sprintf("pool %+v, proxy %+v", ps, st)
			})
			for i := range 3 {
				if got := fleet.Miner(i).Extranonce2Size; got != n-4 {
					t.Fatalf("miner %d told extranonce2_size %d, want %d (the pool's %d less 4 prefix bytes)", i, got, n-4, n)
				}
			}
			checkNoWrongAnswers(t, fleet)
			if r := pool.Stats().RejectedTotal(); r != 0 {
				t.Fatalf("pool rejected %d shares: %v, want 0", r, pool.Stats().Rejected)
			}
			if r := srv.Stats().SharesRejected; r["extranonce2"] != 0 {
				t.Fatalf("proxy rejected %d shares for their extranonce2, want 0", r["extranonce2"])
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
	sim.WaitFor(t, 10*time.Second, "the pool failed, with an error", func() (bool, any) {
		p := srv.Pools()[0]
		st = p.State + ": " + p.LastError
		return p.State == "failed" && p.LastError != "", st
	})
	if !strings.Contains(st, "extranonce2_size must be an integer 0..32, got 33") {
		t.Fatalf("pool status %q, want the refused size named", st)
	}
	if srv.Healthy() {
		t.Fatalf("proxy healthy on a pool it cannot use (pools %+v), want not healthy", srv.Pools())
	}
}
