package bench

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/internal/sim"
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
		t.Fatalf("p50 = %v, want 495µs..505µs", p50)
	}
	if p99 < 980*time.Microsecond || p99 > 1000*time.Microsecond {
		t.Fatalf("p99 = %v, want 980µs..1ms", p99)
	}
	if h.Quantile(1) != time.Millisecond {
		t.Fatalf("max = %v, want %v", h.Quantile(1), time.Millisecond)
	}
	var m Hist
	m.Merge(&h)
	m.Merge(&h)
	if m.Count != 2000 || m.Quantile(0.5) != p50 {
		t.Fatalf("merge of h twice: count %d, p50 %v; want 2000, %v", m.Count, m.Quantile(0.5), p50)
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
		t.Fatalf("pool line: got %+v (ok %v), want ok, seq 42, stamp 1234567890123, not clean, job 2a", n, ok)
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
		t.Fatalf("re-encoded: got %+v (ok %v), want ok, seq 42, stamp 1234567890123, clean, job 1f.3, ntime %s", n, ok, sn.NTime)
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
			t.Fatalf("working miners after 10s: got %d, want %d; report %+v", f.Status(0, 0).Working, miners, f.Report(0))
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
		t.Fatalf("shares unanswered after 5s: got %d, want 0", out)
	}
	r := f.Report(last.Seq)
	if r.Accepted == 0 || r.Rejected != 0 || r.Accepted+r.StaleExpected != r.Sent {
		t.Fatalf("shares: got %+v, want some accepted, none rejected, accepted+stale = sent", r)
	}
	if r.SeenSeq != miners || r.BadLines != 0 || r.Disconnects != 0 {
		t.Fatalf("fleet: got %+v, want SeenSeq %d, no bad lines, no disconnects", r, miners)
	}
	if h := r.Rounds[last.Seq]; h == nil || h.Count != uint64(miners) {
		t.Fatalf("last round: got %+v, want %d arrivals", h, miners)
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
	if n := pool.Stats.Duplicates.Load(); n != 0 {
		t.Fatalf("duplicate submits at the pool: got %d, want 0", n)
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
	// The proxy answers a miner from its own verdict, before the share
	// goes upstream (its writer batches submits a millisecond at a time):
	// the pool's count catches up within moments.
	var forwarded, got uint64
	if err := sim.Poll(5*time.Second, func() bool {
		forwarded, got = srv.Stats().SharesForwarded, pool.Stats.Submits.Load()
		return forwarded == got
	}); err != nil || pool.Stats.Duplicates.Load() != 0 {
		t.Fatalf("proxy forwarded %d, pool got %d (%d dups): want equal counts and no dups", forwarded, got, pool.Stats.Duplicates.Load())
	}
}

func TestMemConnRecordsNotifies(t *testing.T) {
	p, err := StartPool(PoolConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := NewMemConn("")
	line := p.notifyLine(7, 1000, false)
	// Twice the same bytes (the cached path), then a clean one.
	for range 2 {
		if _, err := c.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Write(append([]byte(`{"id":1,"result":true,"error":null}`+"\n"), p.notifyLine(8, 2000, true)...)); err != nil {
		t.Fatal(err)
	}
	arr := c.Arrivals()
	if len(arr) != 3 || arr[0].Seq != 7 || arr[1].Seq != 7 || arr[2].Seq != 8 || !arr[2].Clean || arr[2].Stamp != 2000 {
		t.Fatalf("arrivals: got %+v, want seq 7, 7, then 8 clean with stamp 2000", arr)
	}
	if s, _ := c.Last(); s != 8 {
		t.Fatalf("Last() seq = %d, want 8", s)
	}
}

// BenchmarkLoopbackWrite is the machine's floor for one Stratum line: the
// writer's time for a 150-byte write to a loopback TCP socket that a
// goroutine drains (on Linux the receive path runs in the writer's
// syscall).
func BenchmarkLoopbackWrite(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 64<<10)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	line := AppendSubmit(nil, 1234, "bench.m12345", "1f", 42, 4, "6a7b8c9d", 7)
	line = append(line, make([]byte, max(0, 150-len(line)))...)
	b.SetBytes(int64(len(line)))
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(line); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	c.Close()
	<-done
}
