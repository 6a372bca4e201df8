package proxy_test

import (
	"fmt"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/bench"
	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/stratum/proxy"
)

// heldAfterGC is the heap and stack held after full GCs.
func heldAfterGC() uint64 {
	ms := bench.MemAfterGC()
	return ms.HeapInuse + ms.StackInuse
}

// TestIdleMinerMemory measures what one idle, working miner session costs
// the proxy: subscribed, authorized, holding a job, nothing in flight.
// Budget: 8 KiB. The figure goes in docs/PERFORMANCE.md.
func TestIdleMinerMemory(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("10,000 sessions; memory is measured without -race")
	}
	const n = 10000
	pool := startPool(t, sim.PoolConfig{})
	cfg := quickConfig(t, pool)
	cfg.Listen = ""
	srv, err := proxy.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	sim.WaitFor(t, 5*time.Second, "a pool session (Healthy)", func() (bool, any) { return srv.Healthy(), srv.Pools() })

	var written atomic.Int64
	conns := make([]*sim.ScriptedConn, n)
	for i := range conns {
		conns[i] = sim.NewScriptedConn(`{"id":1,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":"1fffe000"}]}`+"\n"+
			`{"id":2,"method":"mining.subscribe","params":["bmminer/2.0.0"]}`+"\n"+
			`{"id":3,"method":"mining.extranonce.subscribe","params":[]}`+"\n"+
			`{"id":4,"method":"mining.authorize","params":["acct.rig-`+strconv.Itoa(i)+`","x"]}`+"\n", &written)
	}
	before, rssBefore := heldAfterGC(), bench.SelfRSS()
	for _, c := range conns {
		srv.ServeConn(c)
	}
	// Every miner has its answers, difficulty and job: ~1 KiB each.
	sim.WaitFor(t, 30*time.Second, "all sessions working (n*900 bytes written, n jobs notified)", func() (bool, any) {
		w, j := written.Load(), srv.Stats().JobsNotified
		return w >= n*900 && j >= n, fmt.Sprintf("%d bytes written, %d jobs notified", w, j)
	})
	// Let the flushers exit.
	sim.WaitFor(t, 10*time.Second, "flushers done (runtime.NumGoroutine() < n+200)", func() (bool, any) {
		got := runtime.NumGoroutine()
		return got < n+200, got
	})
	after, rssAfter := heldAfterGC(), bench.SelfRSS()
	per := float64(after-before) / n
	rssPer := (float64(rssAfter) - float64(rssBefore)) / n
	t.Logf("idle miner session: %.0f B heap+stack each, %.0f B RSS each (%d sessions, %d goroutines)", per, rssPer, n, runtime.NumGoroutine())
	if per > 8192 {
		t.Fatalf("an idle miner costs %.0f B, want at most the 8 KiB budget", per)
	}
	runtime.KeepAlive(conns)
}
