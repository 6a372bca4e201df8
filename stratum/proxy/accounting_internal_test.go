package proxy

import (
	"testing"
	"time"

	"github.com/hashgate/hashgate/stratum"
	"github.com/hashgate/hashgate/stratum/upstream"
)

// A forwarded share the pool never saw (refused for a pool that stopped
// reading, or submitted as its session closed) or never answered (its
// connection ended, the submit timed out) is counted apart from the
// pool's own rejections, for the proxy and for the worker.
func TestPoolVerdictsAccounting(t *testing.T) {
	stats := &Stats{}
	r := newRegistry(stats)
	w := r.attach("acct.rig", "127.0.0.1:1", time.Now())
	w.onPool(nil)
	w.onPool(stratum.NewError(stratum.ErrDuplicate, "duplicate"))
	w.onPool(upstream.ErrBacklog)
	w.onPool(upstream.ErrNotSent)
	w.onPool(upstream.ErrLost)
	w.onPool(upstream.ErrLost)
	w.onPool(upstream.ErrNoAnswer)
	if a, rj, u, l := stats.PoolAccepted.Load(), stats.PoolRejected.Load(), stats.PoolUnsent.Load(), stats.PoolLost.Load(); a != 1 || rj != 1 || u != 2 || l != 3 {
		t.Fatalf("pool accepted/rejected/not sent/lost = %d/%d/%d/%d, want 1/1/2/3", a, rj, u, l)
	}
	snap := w.snapshot(time.Now())
	got := snap.PoolRejected
	if got[PoolNotSent] != 2 || got[PoolLost] != 3 || got[stratum.ErrDuplicate.String()] != 1 || len(got) != 3 || snap.PoolAccepted != 1 {
		t.Fatalf("worker's pool rejections %v, pool accepted %d; want not_sent 2, lost 3, duplicate 1 and 1 accepted", got, snap.PoolAccepted)
	}
}
