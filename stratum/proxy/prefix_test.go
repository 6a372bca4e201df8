package proxy

import "testing"

func TestPrefixBytes(t *testing.T) {
	cases := []struct{ n, min, k int }{
		{8, 3, 4}, {4, 3, 1}, {3, 3, 0}, {2, 3, 0}, {16, 3, 4}, {7, 3, 4}, {6, 3, 3}, {8, 8, 0},
	}
	for _, c := range cases {
		if got := prefixBytes(c.n, c.min); got != c.k {
			t.Errorf("N=%d min=%d: k=%d, want %d", c.n, c.min, got, c.k)
		}
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
			t.Fatalf("allocator full after %d", i)
		}
		if _, dup := owner[p]; dup {
			t.Fatalf("prefix %x handed out twice", p)
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
				t.Fatalf("quarantined prefix %x reused before clean", p)
			}
		}
		owner[p] = -1
	}
	if a.inUse != len(owner) {
		t.Fatalf("inUse %d, owners %d", a.inUse, len(owner))
	}
}

func TestPrefixAllocatorReuseAfterClean(t *testing.T) {
	a := newPrefixAllocator(1)
	seen := map[uint32]bool{}
	for range 256 {
		p, ok := a.alloc()
		if !ok || seen[p] {
			t.Fatalf("alloc %x ok=%v dup=%v", p, ok, seen[p])
		}
		seen[p] = true
	}
	if _, ok := a.alloc(); ok || !a.full() {
		t.Fatal("k=1 allocator gave out more than 256 prefixes")
	}
	a.release(7)
	a.release(200)
	if _, ok := a.alloc(); ok {
		t.Fatal("freed prefix reused before clean_jobs")
	}
	a.clean()
	got := map[uint32]bool{}
	for range 2 {
		p, ok := a.alloc()
		if !ok {
			t.Fatal("freed prefixes not available after clean")
		}
		got[p] = true
	}
	if !got[7] || !got[200] {
		t.Fatalf("got %v, want 7 and 200", got)
	}
	if _, ok := a.alloc(); ok {
		t.Fatal("more than the freed prefixes available")
	}
	// k=4 hands out 100,000 distinct prefixes with the right byte layout.
	b := newPrefixAllocator(4)
	bytesSeen := map[string]bool{}
	for range 100_000 {
		p, _ := b.alloc()
		s := string(appendPrefix(nil, p, 4))
		if len(s) != 4 || bytesSeen[s] {
			t.Fatalf("prefix %x: bad or repeated encoding", p)
		}
		bytesSeen[s] = true
	}
}
