package proxy

// prefixAllocator hands out the k-byte extranonce2 prefixes of one pool
// session, so that no two miners on it search the same nonce space.
//
// A freed prefix is quarantined until the next clean_jobs: the jobs its old
// owner worked on are still valid until then, and a new owner of the same
// prefix would repeat that work (duplicate shares, lost hashrate).
// Memory is proportional to the prefixes in use, not to 256^k.
type prefixAllocator struct {
	size        uint64 // 256^k
	next        uint64 // never handed out below this... above it all are fresh
	free        []uint32
	quarantined []uint32
	inUse       int
}

func newPrefixAllocator(k int) *prefixAllocator {
	return &prefixAllocator{size: uint64(1) << (8 * uint(k))}
}

// alloc returns an unused prefix, or false when the session is full.
func (a *prefixAllocator) alloc() (uint32, bool) {
	if n := len(a.free); n > 0 {
		p := a.free[n-1]
		a.free = a.free[:n-1]
		a.inUse++
		return p, true
	}
	if a.next < a.size {
		p := uint32(a.next)
		a.next++
		a.inUse++
		return p, true
	}
	return 0, false
}

// release quarantines p until the next clean.
func (a *prefixAllocator) release(p uint32) {
	a.quarantined = append(a.quarantined, p)
	a.inUse--
}

// clean is called on clean_jobs: quarantined prefixes become free again.
func (a *prefixAllocator) clean() {
	a.free = append(a.free, a.quarantined...)
	a.quarantined = a.quarantined[:0]
}

// full reports whether alloc would fail.
func (a *prefixAllocator) full() bool { return len(a.free) == 0 && a.next >= a.size }

// capacity is the number of prefixes of the session.
func (a *prefixAllocator) capacity() uint64 { return a.size }

// prefixBytes is k = clamp(N - minMinerEN2, 0, 4) from the contract.
func prefixBytes(poolEN2Size, minMinerEN2 int) int {
	k := poolEN2Size - minMinerEN2
	if k < 0 {
		k = 0
	}
	if k > 4 {
		k = 4
	}
	return k
}

// appendPrefix writes p as k big-endian bytes.
func appendPrefix(dst []byte, p uint32, k int) []byte {
	for i := k - 1; i >= 0; i-- {
		dst = append(dst, byte(p>>(8*uint(i))))
	}
	return dst
}
