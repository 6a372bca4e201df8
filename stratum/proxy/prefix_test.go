package proxy

import (
	"fmt"
	"testing"
)

func TestPrefixBytes(t *testing.T) {
	cases := []struct{ n, min, k int }{
		{8, 3, 4}, {4, 3, 1}, {3, 3, 0}, {2, 3, 0}, {16, 3, 4}, {7, 3, 4}, {6, 3, 3}, {8, 8, 0},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("N=%d min=%d", c.n, c.min), func(t *testing.T) {
			if got := prefixBytes(c.n, c.min); got != c.k {
				t.Errorf("N=%d min=%d: k=%d, want %d", c.n, c.min, got, c.k)
			}
		})
	}
}

// 100,000 prefixes from one allocator, no sockets, no collisions; with
// miners leaving and the freed prefixes quarantined until a clean.
func TestPrefixAllocatorNoCollisions(t *testing.T) {
	a := newPrefixAllocator(3) // 16.7M prefixes
	owner := map[uint32]int{}
	var order []uint32
	for i := range 100_000 {
		p, ok := a.alloc()
		if !ok {
			t.Fatalf("allocator full after %d prefixes, want room for 100000", i)
		}
		if _, dup := owner[p]; dup {
			t.Fatalf("prefix %x handed out twice, want each once", p)
		}
		owner[p] = i
		order = append(order, p)
		// Every 10th miner leaves again.
		if i%10 == 9 {
			old := order[i-5]
			delete(owner, old)
			a.release(old)
		}
	}
	// Quarantined prefixes are not reused before a clean.
	for range 1000 {
		p, _ := a.alloc()
		for _, q := range a.quarantined {
			if p == q {
				t.Fatalf("quarantined prefix %x handed out before clean, want it held", p)
			}
		}
		owner[p] = -1
	}
	if a.inUse != len(owner) {
		t.Fatalf("inUse %d, want the %d owners", a.inUse, len(owner))
	}
}

func TestPrefixAllocatorReuseAfterClean(t *testing.T) {
	a := newPrefixAllocator(1)
	seen := map[uint32]bool{}
	for range 256 {
		p, ok := a.alloc()
		if !ok || seen[p] {
			t.Fatalf("alloc = %x, %v (already seen %v); want a new prefix", p, ok, seen[p])
		}
		seen[p] = true
	}
	if p, ok := a.alloc(); ok || !a.full() {
		t.Fatalf("257th alloc of a k=1 allocator = %x, %v (full %v); want none, full", p, ok, a.full())
	}
	a.release(7)
	a.release(200)
	if p, ok := a.alloc(); ok {
		t.Fatalf("alloc after freeing 7 and 200 = %x before clean_jobs, want none", p)
	}
	a.clean()
	got := map[uint32]bool{}
	for range 2 {
		p, ok := a.alloc()
		if !ok {
			t.Fatalf("alloc after clean = %x, false (so far %v); want the freed 7 and 200", p, got)
		}
		got[p] = true
	}
	if !got[7] || !got[200] {
		t.Fatalf("got %v, want 7 and 200", got)
	}
	if p, ok := a.alloc(); ok {
		t.Fatalf("third alloc after clean = %x, want none (only two were freed)", p)
	}
	// k=4 hands out 100,000 distinct prefixes with the right byte layout.
	b := newPrefixAllocator(4)
	bytesSeen := map[string]bool{}
	for range 100_000 {
		p, _ := b.alloc()
		s := string(appendPrefix(nil, p, 4))
		if len(s) != 4 || bytesSeen[s] {
			t.Fatalf("prefix %x encoded %q (seen before %v), want 4 new bytes", p, s, bytesSeen[s])
		}
		bytesSeen[s] = true
	}
}
