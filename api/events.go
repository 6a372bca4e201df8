package api

import (
	"math"
	"net/http"
	"strconv"

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

// eventTail finds the newest events, from the audit log's own last seq.
type eventTail struct{}

// lastSeq returns the newest event's seq (0: none).
func (eventTail) lastSeq(sw *switcher.Switcher) (uint64, error) {
	return sw.LastEventSeq(), nil
}

// latest returns the newest n events, oldest first.
func (t eventTail) latest(sw *switcher.Switcher, n int) ([]switcher.Event, error) {
	n = min(max(n, 1), MaxEventsLimit)
	last := sw.LastEventSeq()
	from := last - min(last, uint64(n))
	return sw.Events(from, n)
}
