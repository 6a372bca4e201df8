package proxy_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/stratum/proxy"
)

// rejectSite is a proxy on a primary refusing every nth share and a
// secondary, with a 2-second rejection window and 10 answers at least,
// its log kept, and three miners at work.
func rejectSite(t *testing.T, nth int, edit func(*proxy.Config)) (primary, secondary *sim.Pool, srv *proxy.Server, logs *sim.LogBuffer) {
	primary = startPool(t, sim.PoolConfig{Name: "primary"})
	secondary = startPool(t, sim.PoolConfig{Name: "secondary"})
	primary.SetRejectShares(nth)
	cfg := quickConfig(t, primary, secondary)
	logs = &sim.LogBuffer{}
	cfg.Log = zerolog.New(zerolog.MultiLevelWriter(logs, zerolog.NewTestWriter(t))).Level(zerolog.InfoLevel)
	for i := range cfg.Pools {
		cfg.Pools[i].RejectWindow = 2 * time.Second
		cfg.Pools[i].RejectMinShares = 10
	}
	if edit != nil {
		edit(&cfg)
	}
	srv = startProxy(t, cfg)
	startFleet(t, sim.FleetConfig{Addr: srv.Addr().String(), Miners: 3, ShareInterval: 20 * time.Millisecond})
	return primary, secondary, srv, logs
}

const startedMsg = "pool is rejecting shares: far more of them refused than normal"

// A pool that refuses every share is flagged (status, log once) and left
// for the next pool (failover_on_rejects, the default); when it still
// refuses after the failback, it is left again with a doubled hold-off,
// and the start is not logged again.
func TestRejectingPoolFailsOver(t *testing.T) {
	_, secondary, srv, logs := rejectSite(t, 1, nil)
	var ps []proxy.PoolStatus // the last seen, for the message
	sim.WaitFor(t, 20*time.Second, "the primary flagged and left, 3 miners at work on the secondary (20 accepted)", func() (bool, any) {
		ps = srv.Pools()
		acc := secondary.Stats().Accepted
		return ps[0].Rejecting && ps[1].State == "active" && ps[1].Miners == 3 && acc >= 20,
			fmt.Sprintf("pools %+v, secondary accepted %d", ps, acc)
	})
	if !strings.Contains(ps[0].LastError, "rejecting shares: 100.0% refused over 2s") || ps[0].RejectRatio != 0 {
		// The window restarts at the failover: the ratio waits for new answers.
		t.Fatalf("primary status %+v, want the reason in last_error and the window restarted", ps[0])
	}
	if n := logs.Count(`"level":"error"`, `"pool":"primary"`, startedMsg); n != 1 {
		t.Fatalf("%d lines saying the primary rejects, want 1", n)
	}
	if n := logs.Count(`"pool":"primary"`, `"retry_in":"2s"`, "failing over to the next pool"); n != 1 {
		t.Fatalf("%d lines leaving the primary with a 2 s hold-off, want 1", n)
	}
	// After the hold-off the primary is probed and taken back; it still
	// refuses, so it is left again, held off twice as long.
	sim.WaitFor(t, 30*time.Second, "a second failover with a doubled hold-off (one such log line, retry_in 4s)", func() (bool, any) {
		n := logs.Count(`"pool":"primary"`, `"retry_in":"4s"`, "still rejecting shares: failing over")
		return n == 1, fmt.Sprintf("%d such lines; pools %+v", n, srv.Pools())
	})
	if n := logs.Count(startedMsg); n != 1 {
		t.Fatalf("%d lines saying a pool started rejecting, want 1 (it never stopped)", n)
	}
	if r := secondary.Stats().RejectedTotal(); r != 0 {
		t.Fatalf("secondary rejected %d shares, want 0", r)
	}
}

// With failover_on_rejects off the pool is flagged and logged, and kept;
// once it accepts again the flag ends, logged once.
func TestRejectingPoolFlaggedWithoutFailover(t *testing.T) {
	primary, secondary, srv, logs := rejectSite(t, 1, func(c *proxy.Config) { c.Pools[0].NoRejectFailover = true })
	var ps []proxy.PoolStatus
	sim.WaitFor(t, 20*time.Second, "the primary flagged as rejecting", func() (bool, any) {
		ps = srv.Pools()
		return ps[0].Rejecting, ps
	})
	if ps[0].State != "active" || ps[0].RejectRatio < 0.99 || srv.Stats().Failovers != 0 || secondary.Stats().Connections != 0 {
		t.Fatalf("pools %+v, failovers %d, secondary connections %d: want the primary kept, flagged at 100%%",
			ps, srv.Stats().Failovers, secondary.Stats().Connections)
	}
	if n := logs.Count(`"pool":"primary"`, startedMsg, `"reject_ratio":"100.0%"`); n != 1 {
		t.Fatalf("%d lines saying the primary rejects, want 1", n)
	}
	primary.SetRejectShares(0)
	sim.WaitFor(t, 20*time.Second, "the rejecting flag cleared", func() (bool, any) {
		ps = srv.Pools()
		return !ps[0].Rejecting, ps
	})
	if n := logs.Count(`"pool":"primary"`, "pool accepts shares again"); n != 1 {
		t.Fatalf("%d lines saying the primary accepts again, want 1", n)
	}
	if n := logs.Count(startedMsg); n != 1 {
		t.Fatalf("%d lines saying a pool started rejecting, want 1", n)
	}
}

// A normal pool refusing a share in twenty (stale shares at block
// changes and the like, on a bad day) is not flagged.
func TestPoolWithFewRejectionsNotFlagged(t *testing.T) {
	primary, _, srv, logs := rejectSite(t, 20, nil)
	sim.WaitFor(t, 20*time.Second, "rejections at the pool (primary.Stats().Rejected[sim.RejectRefused] >= 15)", func() (bool, any) {
		got := primary.Stats().Rejected[sim.RejectRefused]
		return got >= 15, got
	})
	ps := srv.Pools()
	if ps[0].Rejecting || ps[0].State != "active" || ps[0].RejectRatio <= 0 || ps[0].RejectRatio > 0.15 || srv.Stats().Failovers != 0 {
		t.Fatalf("pools %+v, failovers %d: want the primary in use, unflagged, at ~5%% refused", ps, srv.Stats().Failovers)
	}
	if n := logs.Count("rejecting shares"); n != 0 {
		t.Fatalf("%d lines about a rejecting pool, want none", n)
	}
}
