package proxy

import (
	"testing"
	"time"

	"github.com/hashgate/hashgate/stratum"
	"github.com/hashgate/hashgate/stratum/upstream"
)

// A forwarded share the pool never saw (refused for a pool that stopped
// reading) is counted apart from the pool's own rejections, for the
// proxy and for the worker.
func TestPoolVerdictsAccounting(t *testing.T) {
	stats := &Stats{}
	r := newRegistry(stats)
	w := r.attach("acct.rig", "127.0.0.1:1", time.Now())
	w.onPool(nil)
	w.onPool(stratum.NewError(stratum.ErrDuplicate, "duplicate"))
	w.onPool(upstream.ErrBacklog)
	w.onPool(upstream.ErrBacklog)
	if a, rj, u := stats.PoolAccepted.Load(), stats.PoolRejected.Load(), stats.PoolUnsent.Load(); a != 1 || rj != 1 || u != 2 {
		t.Fatalf("pool accepted/rejected/not sent = %d/%d/%d, want 1/1/2", a, rj, u)
	}
	got := w.snapshot(time.Now()).PoolRejected
	if got[PoolNotSent] != 2 || got[stratum.ErrDuplicate.String()] != 1 || len(got) != 2 {
		t.Fatalf("worker's pool rejections %v", got)
	}
}
