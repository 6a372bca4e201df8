package api

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hashgate/hashgate/switcher"
)

// Paging of GET /api/v1/events.
const (
	DefaultEventsLimit = 100
	MaxEventsLimit     = switcher.MaxEvents // the switcher's own cap
)

// eventsParams are the query parameters GET /api/v1/events knows; any
// other is a 400 (a mistyped filter must not answer everything).
var eventsParams = []string{"since", "limit", "kind", "rig", "who", "cause"}

// events serves GET /api/v1/events?since=SEQ&limit=N&kind=K[,K]&rig=R&who=W&cause=SEQ:
// up to N events with seq > SEQ that the filters select, oldest first
// (newest last). Without since it answers the newest N such events (still
// newest last), which is what a dashboard or a "what just happened" look
// wants; since=0 reads from the start. The newest seq of the whole log is
// in X-Last-Seq; X-Next-Since is the since to ask next to miss nothing
// (the last event's seq when the page is full, else X-Last-Seq), so a
// client follows with ?since=<X-Next-Since> and the same filters. An
// allocation, pin or plan is one event with counts per group; the per-rig
// events it caused carry its seq in cause (?cause=SEQ lists them).
func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	if h.noSwitcher(w) {
		return
	}
	// r.URL.Query() drops a pair that does not parse ("rig=%zz",
	// "kind=pin;limit=1"): the filter would vanish and the whole log be
	// answered. A bad query string is a 400 as in readQuery.
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("bad query string: %v", err))
		return
	}
	f, msg := eventFilter(q)
	if msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	limit, ok := queryInt(w, q.Get("limit"), "limit", DefaultEventsLimit, 1, MaxEventsLimit)
	if !ok {
		return
	}
	// Read the last seq first: a follower that asks since it then misses
	// nothing written while this answer is made.
	last, _ := h.tail.lastSeq(h.sw)
	next := last
	var evs []switcher.Event
	if s := q.Get("since"); s != "" {
		since, ok := queryInt(w, s, "since", 0, 0, math.MaxInt)
		if !ok {
			return
		}
		evs, err = h.sw.QueryEvents(uint64(since), limit, f)
		if n := len(evs); n == limit {
			next = evs[n-1].Seq // a full page: more may follow it
		}
	} else {
		evs, err = h.sw.LatestEvents(limit, f)
	}
	if err != nil {
		h.log.Error().Err(err).Msg("api: reading the audit log")
		writeError(w, http.StatusInternalServerError, "reading the audit log: "+err.Error())
		return
	}
	if evs == nil {
		evs = []switcher.Event{}
	}
	if n := len(evs); n > 0 && next == last && evs[n-1].Seq > next {
		next = evs[n-1].Seq // written while this answer was made
	}
	w.Header().Set("X-Last-Seq", strconv.FormatUint(max(last, next), 10))
	w.Header().Set("X-Next-Since", strconv.FormatUint(next, 10))
	writeJSON(w, http.StatusOK, evs)
}

// eventFilter reads the filters of GET /api/v1/events; msg says what is
// wrong for a 400.
func eventFilter(q url.Values) (f switcher.EventFilter, msg string) {
	var unknown []string
	for k := range q {
		if !slices.Contains(eventsParams, k) {
			unknown = append(unknown, strconv.Quote(k))
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return f, fmt.Sprintf("unknown query parameter %s; known: %s", strings.Join(unknown, ", "), strings.Join(eventsParams, ", "))
	}
	for k, vs := range q {
		if len(vs) > 1 {
			return f, fmt.Sprintf("query parameter %q given %d times; give it once (kind takes a comma-separated list)", k, len(vs))
		}
	}
	if k := q.Get("kind"); k != "" {
		for kind := range strings.SplitSeq(k, ",") {
			if !slices.Contains(switcher.EventKinds, kind) {
				return f, fmt.Sprintf("kind %q: not a kind of event; known: %s", kind, strings.Join(switcher.EventKinds, ", "))
			}
			f.Kinds = append(f.Kinds, kind)
		}
	}
	f.Rig, f.Who = q.Get("rig"), q.Get("who")
	if c := q.Get("cause"); c != "" {
		n, err := strconv.ParseUint(c, 10, 64)
		if err != nil || n == 0 {
			return f, fmt.Sprintf("cause %q: must be the seq of an event (an integer ≥ 1)", c)
		}
		f.Cause = n
	}
	return f, ""
}

// eventTail finds the newest events, from the audit log's own last seq.
type eventTail struct{}

// lastSeq returns the newest event's seq (0: none).
func (eventTail) lastSeq(sw *switcher.Switcher) (uint64, error) {
	return sw.LastEventSeq(), nil
}

// latest returns the newest n events, oldest first.
func (t eventTail) latest(sw *switcher.Switcher, n int) ([]switcher.Event, error) {
	return sw.LatestEvents(min(max(n, 1), MaxEventsLimit), switcher.EventFilter{})
}
