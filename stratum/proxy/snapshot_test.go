package proxy

import "testing"

// The fan-out walks a session's miners in connection order, and the
// snapshot follows miners coming and going.
func TestSnapshotInConnectionOrder(t *testing.T) {
	us := &upSession{miners: map[*minerConn]struct{}{}}
	ms := make([]*minerConn, 50)
	for i := range ms {
		ms[i] = &minerConn{id: uint64(i + 1)}
	}
	// Attached out of order, as failovers and reconnects do.
	for i := range ms {
		us.miners[ms[(i*17)%len(ms)]] = struct{}{}
		us.scratchStale = true
	}
	check := func(want int) {
		t.Helper()
		us.mu.Lock()
		got := us.snapshotLocked()
		us.mu.Unlock()
		got = us.inOrder(got)
		if len(got) != want {
			t.Fatalf("snapshot has %d miners, want %d", len(got), want)
		}
		for i := 1; i < len(got); i++ {
			if got[i-1].id >= got[i].id {
				t.Fatalf("snapshot out of connection order at %d: id %d then %d, want increasing ids", i, got[i-1].id, got[i].id)
			}
		}
	}
	check(50)
	delete(us.miners, ms[10])
	us.scratchStale = true
	check(49)
	us.miners[ms[10]] = struct{}{}
	us.scratchStale = true
	check(50)
}
