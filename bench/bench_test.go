package bench

import (
	"net/netip"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/stratum"
	"github.com/hashgate/hashgate/stratum/proxy"
	"github.com/hashgate/hashgate/stratum/vardiff"
)

func TestHistQuantiles(t *testing.T) {
	var h Hist
	for i := 1; i <= 1000; i++ {
		h.Add(int64(i) * int64(time.Microsecond))
	}
	p50, p99 := h.Quantile(0.5), h.Quantile(0.99)
	if p50 < 495*time.Microsecond || p50 > 505*time.Microsecond {
		t.Fatalf("p50 %v", p50)
	}
	if p99 < 980*time.Microsecond || p99 > 1000*time.Microsecond {
		t.Fatalf("p99 %v", p99)
	}
	if h.Quantile(1) != time.Millisecond {
		t.Fatalf("max %v", h.Quantile(1))
	}
	var m Hist
	m.Merge(&h)
	m.Merge(&h)
	if m.Count != 2000 || m.Quantile(0.5) != p50 {
		t.Fatalf("merge: %d %v", m.Count, m.Quantile(0.5))
	}
}

func TestParseNotifyAfterReencode(t *testing.T) {
	p, err := StartPool(PoolConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	line := p.notifyLine(42, 1234567890123, false)
	n, ok := ParseNotify(line)
	if !ok || n.Seq != 42 || n.Stamp != 1234567890123 || n.Clean || n.JobID != "2a" {
		t.Fatalf("pool line: %+v %v", n, ok)
	}
	// The proxy decodes the params and encodes them again with its own id.
	msg, err := stratum.Decode(line)
	if err != nil {
		t.Fatal(err)
	}
	sn, err := stratum.ParseNotify(msg.Params)
	if err != nil {
		t.Fatal(err)
	}
	sn.Clean = true
	re, _ := stratum.AppendRequest(nil, nil, stratum.MethodNotify, sn.Params("1f.3"))
	n, ok = ParseNotify(re)
	if !ok || n.Seq != 42 || n.Stamp != 1234567890123 || !n.Clean || n.JobID != "1f.3" || n.NTime != sn.NTime {
		t.Fatalf("re-encoded: %+v %v", n, ok)
	}
}

func runFleet(t *testing.T, pool *Pool, target string, miners int) {
	t.Helper()
	f := NewFleet(FleetConfig{Target: target, Miners: miners})
	f.Start()
	defer f.Close()
	deadline := time.Now().Add(10 * time.Second)
	for f.Status(0, 0).Working < miners {
		if time.Now().After(deadline) {
			t.Fatalf("working: %+v", f.Report(0))
		}
		time.Sleep(10 * time.Millisecond)
	}
	var last Round
	for range 3 {
		last = pool.Broadcast(false)
		time.Sleep(50 * time.Millisecond)
	}
	f.SubmitOpen(50)
	time.Sleep(300 * time.Millisecond)
	last = pool.Broadcast(true)
	time.Sleep(200 * time.Millisecond)
	if out := f.StopSubmitting(5 * time.Second); out != 0 {
		t.Fatalf("%d shares unanswered", out)
	}
	r := f.Report(last.Seq)
	if r.Accepted == 0 || r.Rejected != 0 || r.Accepted+r.StaleExpected != r.Sent {
		t.Fatalf("shares: %+v", r)
	}
	if r.SeenSeq != miners || r.BadLines != 0 || r.Disconnects != 0 {
		t.Fatalf("fleet: %+v", r)
	}
	if h := r.Rounds[last.Seq]; h == nil || h.Count != uint64(miners) {
		t.Fatalf("last round: %+v", h)
	}
	t.Logf("sent %d accepted %d stale %d; last round %s; rtt %s", r.Sent, r.Accepted, r.StaleExpected, r.Rounds[last.Seq], &r.ShareRTT)
}

func TestFleetBaseline(t *testing.T) {
	pool, err := StartPool(PoolConfig{DupCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	runFleet(t, pool, pool.Addr(), 50)
	if pool.Stats.Duplicates.Load() != 0 {
		t.Fatal("duplicates")
	}
}

func TestFleetThroughProxy(t *testing.T) {
	pool, err := StartPool(PoolConfig{DupCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	d := pool.Difficulty()
	srv, err := proxy.New(proxy.Config{
		Listen:     "127.0.0.1:0",
		Allow:      []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		Pools:      []proxy.PoolSpec{{Name: "bench", Address: pool.Addr(), User: "bench.proxy", Password: "x"}},
		Difficulty: vardiff.Config{Initial: d, Min: d, Max: d, TargetShareSeconds: 10},
		Log:        zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	runFleet(t, pool, srv.Addr().String(), 50)
	st := srv.Stats()
	if st.SharesForwarded != pool.Stats.Submits.Load() || pool.Stats.Duplicates.Load() != 0 {
		t.Fatalf("proxy forwarded %d, pool got %d (%d dups)", st.SharesForwarded, pool.Stats.Submits.Load(), pool.Stats.Duplicates.Load())
	}
}
