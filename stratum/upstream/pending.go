package upstream

import "time"

// pendingSubmits holds the submits waiting for the pool's answer, in the
// order they were sent. Submit takes an id and pushes it under one lock
// (pings take ids too, which only leaves gaps), and every submit gets the
// same timeout, so the queue is sorted by id and by deadline at once. A
// pool answers in order almost always, which makes settling a pop at the
// head; an answer out of order is found by binary search and marked. The
// marks are popped when they reach the head, or squeezed out once they
// outnumber the submits still waiting (a submit the pool never answers
// would otherwise keep every later one in the slice until it expires).
// Expiry pops from the head too, instead of walking every pending submit.
type pendingSubmits struct {
	q    []pendingSubmit // q[head:] are pending or settled out of order (cb nil)
	head int
	live int // entries with a callback
}

type pendingSubmit struct {
	id   uint64
	cb   SubmitResult
	gen  uint64        // the sweep generation it was sent in
	sent time.Duration // since the session started: the round trip's start
}

// compactSlack is how many settled entries the queue may hold beyond as
// many as it has pending before push squeezes them out.
const compactSlack = 64

// push adds a submit; id must be above every id pushed before.
func (p *pendingSubmits) push(id uint64, cb SubmitResult, gen uint64, sent time.Duration) {
	if len(p.q) == cap(p.q) && len(p.q)-p.live > p.live+compactSlack {
		p.compact()
	}
	p.q = append(p.q, pendingSubmit{id: id, cb: cb, gen: gen, sent: sent})
	p.live++
}

// compact keeps the pending entries only, in order, at the front of the
// slice; a slice far larger than they need is given back. Amortized O(1)
// per push: it runs when the slice is full and over half of it settled,
// and copies the pending half at most.
func (p *pendingSubmits) compact() {
	q := p.q
	if cap(q) > 4*(p.live+compactSlack) {
		q = make([]pendingSubmit, 0, 2*(p.live+compactSlack))
	} else {
		q = q[:0]
	}
	for _, e := range p.q[p.head:] {
		if e.cb != nil {
			q = append(q, e)
		}
	}
	clear(p.q[len(q):]) // same slice: drop the callbacks left past the kept entries (a new slice: the old one's tail, harmless)
	p.q, p.head = q, 0
}

// take removes submit id and returns its callback and when it was sent;
// nil: not pending (a ping's answer, a duplicate answer, or one after the
// submit timed out).
func (p *pendingSubmits) take(id uint64) (SubmitResult, time.Duration) {
	q := p.q[p.head:]
	if len(q) == 0 || id < q[0].id || id > q[len(q)-1].id {
		return nil, 0
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
		if q[lo].id != id { // lo < len(q): id <= the last id
			return nil, 0
		}
		i = lo
	}
	cb, sent := q[i].cb, q[i].sent
	if cb == nil {
		return nil, 0
	}
	q[i].cb = nil
	p.live--
	p.popSettled()
	return cb, sent
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
