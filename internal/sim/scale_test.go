package sim

import (
	"runtime"
	"testing"
	"time"
)

// TestFleetScale runs a thousand miners against one pool: all of them
// work and submit, with no wrong answers.
func TestFleetScale(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	pool := startPool(t, PoolConfig{Name: "scale", JobInterval: 200 * time.Millisecond})
	const n = 1000
	fleet := startFleet(t, FleetConfig{Addr: pool.Addr(), Miners: n, ShareInterval: 500 * time.Millisecond, RampUp: 200 * time.Millisecond})
	start := time.Now()
	waitFleet(t, fleet, 60*time.Second, "scale", func(s FleetStats) bool {
		return s.Working == n && s.Accepted >= 2*n
	})
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("%d miners working and %d shares accepted after %v; %d goroutines, heap %d MiB",
		n, fleet.Stats().Accepted, time.Since(start).Round(time.Millisecond), runtime.NumGoroutine(), ms.HeapAlloc>>20)
	fleet.Close()
	if s := fleet.Stats(); s.WrongAnswers != 0 {
		t.Fatalf("fleet %+v, want no wrong answers", s)
	}
}
