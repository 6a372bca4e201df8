package upstream

// pendingSubmits holds the submits waiting for the pool's answer, in the
// order they were sent: ids only grow (under Session.mu) and every submit
// gets the same timeout, so the queue is sorted by id and by deadline at
// once. A pool answers in order almost always, which makes settling a pop
// at the head; an answer out of order is found by binary search and
// marked, and the marks are popped when they reach the head. Expiry pops
// from the head too, instead of walking every pending submit.
//
// It replaced a map: per forwarded share an insert and a delete in a
// map that holds a second of a large site's shares cost 3-4% of the
// proxy's CPU back to back, and the sweep walked the whole map.
type pendingSubmits struct {
	q    []pendingSubmit // q[head:] are pending or settled out of order (cb nil)
	head int
	live int // entries with a callback
}

type pendingSubmit struct {
	id  uint64
	cb  SubmitResult
	gen uint64 // the sweep generation it was sent in
}

// push adds a submit; id must be above every id pushed before.
func (p *pendingSubmits) push(id uint64, cb SubmitResult, gen uint64) {
	if p.head > 0 && p.head >= len(p.q)/2 {
		// Reuse the front: copy the rest down once half the slice is
		// spent, so the queue's memory follows what is pending.
		n := copy(p.q, p.q[p.head:])
		clear(p.q[n:])
		p.q, p.head = p.q[:n], 0
	}
	p.q = append(p.q, pendingSubmit{id: id, cb: cb, gen: gen})
	p.live++
}

// take removes submit id and returns its callback; nil: not pending (a
// ping's answer, a duplicate answer, or one after the submit timed out).
func (p *pendingSubmits) take(id uint64) SubmitResult {
	q := p.q[p.head:]
	if len(q) == 0 || id < q[0].id || id > q[len(q)-1].id {
		return nil
	}
	i := 0
	if q[0].id != id {
		lo, hi := 1, len(q) // the answer is late for a later submit: search
		for lo < hi {
			mid := int(uint(lo+hi) >> 1)
			if q[mid].id < id {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		if lo == len(q) || q[lo].id != id {
			return nil
		}
		i = lo
	}
	cb := q[i].cb
	if cb == nil {
		return nil
	}
	q[i].cb = nil
	p.live--
	p.popSettled()
	return cb
}

// expire removes the submits sent in a generation before gen and returns
// their callbacks appended to into.
func (p *pendingSubmits) expire(gen uint64, into []SubmitResult) []SubmitResult {
	for p.head < len(p.q) && p.q[p.head].gen < gen {
		if cb := p.q[p.head].cb; cb != nil {
			into = append(into, cb)
			p.live--
		}
		p.q[p.head] = pendingSubmit{}
		p.head++
	}
	p.popSettled()
	return into
}

// drain removes every pending submit and returns the callbacks.
func (p *pendingSubmits) drain() []SubmitResult {
	var cbs []SubmitResult
	for _, e := range p.q[p.head:] {
		if e.cb != nil {
			cbs = append(cbs, e.cb)
		}
	}
	*p = pendingSubmits{}
	return cbs
}

// popSettled drops settled entries at the head; an empty queue starts
// again at the front of its slice.
func (p *pendingSubmits) popSettled() {
	for p.head < len(p.q) && p.q[p.head].cb == nil {
		p.q[p.head] = pendingSubmit{}
		p.head++
	}
	if p.head == len(p.q) {
		p.q, p.head = p.q[:0], 0
	}
}

// len is the number of submits waiting for an answer.
func (p *pendingSubmits) len() int { return p.live }
