package api

import (
	"math"
	"net/http"
	"strconv"
	"sync"

	"github.com/hashgate/hashgate/switcher"
)

// Paging of GET /api/v1/events.
const (
	DefaultEventsLimit = 100
	MaxEventsLimit     = 10000 // the switcher's own cap
)

// events serves GET /api/v1/events?since=SEQ&limit=N: up to N events with
// seq > SEQ, oldest first (newest last). Without since it answers the
// newest N events (still newest last), which is what a dashboard or a
// "what just happened" look wants; since=0 reads from the start. The
// newest seq is in X-Last-Seq, so a client can follow with
// ?since=<X-Last-Seq>.
func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	if h.noSwitcher(w) {
		return
	}
	q := r.URL.Query()
	limit, ok := queryInt(w, q.Get("limit"), "limit", DefaultEventsLimit, 1, MaxEventsLimit)
	if !ok {
		return
	}
	var evs []switcher.Event
	var err error
	if s := q.Get("since"); s != "" {
		since, ok := queryInt(w, s, "since", 0, 0, math.MaxInt)
		if !ok {
			return
		}
		evs, err = h.sw.Events(uint64(since), limit)
	} else {
		evs, err = h.tail.latest(h.sw, limit)
	}
	if err != nil {
		h.log.Error().Err(err).Msg("api: reading the audit log")
		writeError(w, http.StatusInternalServerError, "reading the audit log: "+err.Error())
		return
	}
	if evs == nil {
		evs = []switcher.Event{}
	}
	if last, err := h.tail.lastSeq(h.sw); err == nil {
		w.Header().Set("X-Last-Seq", strconv.FormatUint(last, 10))
	}
	writeJSON(w, http.StatusOK, evs)
}

// eventTail finds the newest events. The switcher's audit log pages
// forward from a seq (cheaply while the seq is within its in-memory cache
// of the newest events, by reading the files otherwise) and has no call
// for "the newest N", so the newest seq is searched for with one-event
// probes and remembered: later searches start from it and stay in the
// cache unless thousands of events came since.
type eventTail struct {
	mu   sync.Mutex
	last uint64
}

// lastSeq returns the newest event's seq (0: none).
func (t *eventTail) lastSeq(sw *switcher.Switcher) (uint64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	// has(s): is there an event after s, i.e. last > s.
	has := func(s uint64) (bool, error) {
		evs, err := sw.Events(s, 1)
		return len(evs) > 0, err
	}
	evs, err := sw.Events(t.last, 1)
	if err != nil || len(evs) == 0 {
		return t.last, err
	}
	lo := evs[0].Seq // last ≥ lo
	// Gallop up until there is nothing after hi (last ≤ hi).
	hi, step := lo, uint64(8192)
	for {
		ok, err := has(hi)
		if err != nil {
			return t.last, err
		}
		if !ok {
			break
		}
		lo = hi + 1
		if hi > math.MaxUint64/2 {
			return t.last, nil // cannot happen: seqs count events
		}
		hi += step
		step *= 2
	}
	// The smallest s in [lo, hi] with nothing after it is the last seq.
	for lo < hi {
		mid := lo + (hi-lo)/2
		ok, err := has(mid)
		if err != nil {
			return t.last, err
		}
		if ok {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	t.last = lo
	return lo, nil
}

// latest returns the newest n events, oldest first.
func (t *eventTail) latest(sw *switcher.Switcher, n int) ([]switcher.Event, error) {
	n = min(max(n, 1), MaxEventsLimit)
	last, err := t.lastSeq(sw)
	if err != nil {
		return nil, err
	}
	from := last - min(last, uint64(n))
	return sw.Events(from, n)
}
