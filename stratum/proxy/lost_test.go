package proxy_test

import (
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/stratum/proxy"
)

// A pool that goes silent while miners submit: the shares forwarded to
// it in the window before it is declared dead were answered true to the
// miners and never by the pool. They are counted as lost (the proxy's
// PoolLost, hashgate_pool_shares_total{result="lost"}, the worker's
// pool_rejected["lost"]), not as pool rejections, and for every worker
// lost = forwarded - answered.
func TestSilentPoolLostShares(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{})
	cfg := quickConfig(t, pool)
	cfg.Pools[0].FailoverTimeout = time.Second
	srv := startProxy(t, cfg)
	fleet := startFleet(t, sim.FleetConfig{Addr: srv.Addr().String(), Miners: 4, ShareInterval: 10 * time.Millisecond})
	sim.WaitFor(t, 10*time.Second, "shares at the pool (pool.Stats().Accepted >= 40)", func() (bool, any) {
		got := pool.Stats().Accepted
		return got >= 40, got
	})
	pool.SetSilent(true)
	sim.WaitFor(t, 10*time.Second, "the silent pool declared dead (not Healthy)", func() (bool, any) {
		return !srv.Healthy(), srv.Pools()
	})
	fleet.Close()
	settled := func(st proxy.StatsSnapshot) bool {
		return st.SharesForwarded == st.PoolAccepted+st.PoolRejected+st.PoolUnsent+st.PoolLost
	}
	var st proxy.StatsSnapshot
	sim.WaitFor(t, 10*time.Second, "every forwarded share settled (forwarded = accepted+rejected+unsent+lost)", func() (bool, any) {
		st = srv.Stats()
		return settled(st), st
	})
	if st.PoolLost == 0 || st.PoolRejected != 0 {
		t.Fatalf("lost %d, rejected by the pool %d: want some lost (the silent window) and no rejection (the pool rejected nothing)", st.PoolLost, st.PoolRejected)
	}
	// The pool credited at least what it answered, and at most that plus
	// the lost ones (a share it took just as it fell silent is lost to us).
	if ps := pool.Stats(); uint64(ps.Accepted) < st.PoolAccepted || uint64(ps.Accepted) > st.PoolAccepted+st.PoolLost {
		t.Fatalf("pool accepted %d; proxy heard %d accepted and %d lost; want the pool's count between accepted and accepted+lost", ps.Accepted, st.PoolAccepted, st.PoolLost)
	}
	var lost, forwarded uint64
	for _, w := range srv.Workers() {
		wl := w.PoolRejected[proxy.PoolLost]
		if answered := w.PoolAccepted; wl != w.Forwarded-answered-w.PoolRejected[proxy.PoolNotSent] {
			t.Errorf("worker %s: forwarded %d, pool accepted %d, pool_rejected %v: want lost = forwarded - answered - not sent", w.Name, w.Forwarded, answered, w.PoolRejected)
		}
		lost += wl
		forwarded += w.Forwarded
	}
	if lost != st.PoolLost || forwarded != st.SharesForwarded {
		t.Fatalf("workers' lost %d and forwarded %d, want the proxy's %d and %d", lost, forwarded, st.PoolLost, st.SharesForwarded)
	}
	t.Logf("forwarded %d, pool accepted %d, lost %d", st.SharesForwarded, st.PoolAccepted, st.PoolLost)
}
