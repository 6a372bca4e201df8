package proxy

import (
	"testing"
	"time"
)

// A drain waiting for a write turn to end wakes when it ends, whoever
// ended it (here a direct write, which used to end without a signal and
// left the drain asleep for the whole write_timeout).
func TestDrainWakesWhenAWriteTurnEnds(t *testing.T) {
	m := &minerConn{srv: &Server{cfg: Config{WriteTimeout: 5 * time.Second}}}
	m.flushing = true // a fan-out's direct write in progress, nothing queued
	go func() {
		<-time.After(10 * time.Millisecond) // the write itself
		m.qmu.Lock()
		m.stopFlushingLocked()
		m.qmu.Unlock()
	}()
	t0 := time.Now()
	m.drain()
	if d := time.Since(t0); d > time.Second {
		t.Fatalf("drain returned after %s, want at most 1s (when the write ended)", d)
	}
}
