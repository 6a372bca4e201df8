package proxy

import (
	"net"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/internal/sim"
)

// A miner closed while it waited for a pool session (evicted, or the
// proxy shutting down a part of it) is not attached when the session
// comes: its close ran with no session to detach it from, so nothing
// would ever detach it, and it held a prefix for the session's life.
func TestAttachRefusesClosedMiner(t *testing.T) {
	pool, err := sim.StartPool(sim.PoolConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s, err := New(Config{Pools: []PoolSpec{{Name: "p", Address: pool.Addr(), User: "acct"}}, Log: zerolog.Nop(), ReadPollers: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, b := net.Pipe()
	defer b.Close()
	m := newMinerConn(s, a)
	s.mu.Lock()
	s.miners[m] = struct{}{}
	s.mu.Unlock()
	us, prefix, err := s.pools.acquire(time.Now().Add(5*time.Second), nil)
	if err != nil {
		t.Fatal(err)
	}
	m.close(reasonEvicted, nil) // while it "waited"
	if ok := us.attach(m, prefix); ok {
		t.Errorf("attach of a closed miner = %v, want false (refused)", ok)
	}
	if inUse, _ := us.load(); inUse != 0 {
		t.Errorf("prefixes in use after a refused attach: %d, want 0", inUse)
	}
	us.mu.Lock()
	_, in := us.miners[m]
	us.mu.Unlock()
	if in {
		t.Errorf("the closed miner in the session's fan-out: %v, want false", in)
	}
}
