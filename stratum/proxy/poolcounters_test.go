package proxy_test

import (
	"math"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/stratum/proxy"
)

// The per-pool counters agree with the proxy's totals and with what each
// pool saw, across a failover; the failover is counted from and to the
// right pools; every forwarded share has exactly one verdict once the
// miners stop.
func TestPoolCountersAcrossFailover(t *testing.T) {
	primary := startPool(t, sim.PoolConfig{Name: "primary", JobInterval: 200 * time.Millisecond})
	secondary := startPool(t, sim.PoolConfig{Name: "secondary", JobInterval: 200 * time.Millisecond})
	srv := startProxy(t, quickConfig(t, primary, secondary))
	fleet := startFleet(t, sim.FleetConfig{Addr: srv.Addr().String(), Miners: 8, ShareInterval: 20 * time.Millisecond})
	sim.WaitFor(t, 10*time.Second, "shares at the primary (primary.Stats().Accepted >= 50)", func() (bool, any) {
		got := primary.Stats().Accepted
		return got >= 50, got
	})
	primary.Close()
	sim.WaitFor(t, 10*time.Second, "shares at the secondary (secondary.Stats().Accepted >= 50)", func() (bool, any) {
		got := secondary.Stats().Accepted
		return got >= 50, got
	})
	fleet.Close()

	var pcs []proxy.PoolCounters
	settled := func() bool {
		pcs = srv.PoolCounters()
		for _, p := range pcs {
			if p.Forwarded != p.Accepted+p.Rejected+p.NotSent+p.Lost {
				return false
			}
		}
		return pcs[1].Accepted == uint64(secondary.Stats().Accepted)
	}
	sim.WaitFor(t, 10*time.Second, "every forwarded share with a verdict", func() (bool, any) {
		ok := settled()
		return ok, pcs
	})

	if len(pcs) != 2 || pcs[0].Name != "primary" || pcs[1].Name != "secondary" {
		t.Fatalf("pools: got %+v, want primary then secondary", pcs)
	}
	if got := pcs[0].FailoversTo; len(got) != 1 || got["secondary"] != 1 {
		t.Errorf("failovers from primary: got %v, want secondary:1", got)
	}
	if got := pcs[1].FailoversTo; len(got) != 1 || got["primary"] != 0 {
		t.Errorf("failovers from secondary: got %v, want primary:0", got)
	}
	// The primary accepted what it answered before it died; shares it
	// never answered are lost, not accepted.
	if got, want := pcs[0].Accepted, uint64(primary.Stats().Accepted); got > want || got == 0 {
		t.Errorf("primary accepted: got %d, want 1..%d (what the pool accepted)", got, want)
	}
	st := srv.Stats()
	var fwd, acc, rej, unsent, lost uint64
	var work float64
	for _, p := range pcs {
		fwd, acc, rej, unsent, lost = fwd+p.Forwarded, acc+p.Accepted, rej+p.Rejected, unsent+p.NotSent, lost+p.Lost
		work += p.WorkAccepted
		if answered := p.Accepted + p.Rejected; p.RoundTrip.Count != answered {
			t.Errorf("%s: round trips: got %d, want one per answered share (%d)", p.Name, p.RoundTrip.Count, answered)
		}
		if p.WorkAccepted <= 0 {
			t.Errorf("%s: work accepted %v, want > 0", p.Name, p.WorkAccepted)
		}
	}
	if fwd != st.SharesForwarded || acc != st.PoolAccepted || rej != st.PoolRejected || unsent != st.PoolUnsent || lost != st.PoolLost {
		t.Errorf("per pool summed: forwarded %d accepted %d rejected %d not_sent %d lost %d; want the totals %d %d %d %d %d",
			fwd, acc, rej, unsent, lost, st.SharesForwarded, st.PoolAccepted, st.PoolRejected, st.PoolUnsent, st.PoolLost)
	}
	var accounts float64
	for _, w := range srv.Workers() {
		accounts += w.Work
	}
	if math.Abs(work-accounts) > 1e-9*accounts {
		t.Errorf("work accepted: got %v over the pools, want %v (the workers' accounts)", work, accounts)
	}
	if st.FanOut.Count == 0 || st.FanOut.Buckets[10] != st.FanOut.Count {
		t.Errorf("fan-out histogram: got %+v, want every job of this small fleet under 10 s", st.FanOut)
	}
}
