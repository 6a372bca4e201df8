package api

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// The site's history: the API keeps the power status of the last hours in
// memory (a ring of HistoryPoints, one every Config.HistoryEvery), so the
// dashboard can draw load against budget and cap with no database and no
// Prometheus. It starts empty at each start of the binary.
const (
	DefaultHistoryEvery  = 10 * time.Second
	DefaultHistoryPoints = 2160 // 6 h at 10 s
	MaxHistoryPoints     = 100_000
)

// HistoryPoint is the power status at one time.
type HistoryPoint struct {
	Time      time.Time `json:"t"`
	LoadKW    float64   `json:"load_kw"`   // mining_load_kw
	BudgetKW  float64   `json:"budget_kw"` // mining_budget_kw
	CapKW     float64   `json:"cap_kw"`    // the site cap in force, 0: none
	AIKW      float64   `json:"ai_kw"`
	Parked    int       `json:"parked"`
	Compliant bool      `json:"compliant"`
	Failsafe  bool      `json:"failsafe"`
}

// History is GET /api/v1/history: the points oldest first.
type History struct {
	EverySeconds float64        `json:"every_seconds"`
	Capacity     int            `json:"capacity"` // the most points kept
	Points       []HistoryPoint `json:"points"`
}

// history is a bounded ring of points sampled by its own goroutine, from
// start until close.
type history struct {
	every  time.Duration
	sample func() (HistoryPoint, bool)

	mu   sync.Mutex
	buf  []HistoryPoint
	next int // where the next point goes
	full bool

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// newHistory keeps points (≤ 0: DefaultHistoryPoints; at most
// MaxHistoryPoints) sampled every every (≤ 0: DefaultHistoryEvery).
func newHistory(every time.Duration, points int, sample func() (HistoryPoint, bool)) *history {
	if every <= 0 {
		every = DefaultHistoryEvery
	}
	if points <= 0 {
		points = DefaultHistoryPoints
	}
	points = min(points, MaxHistoryPoints)
	return &history{every: every, sample: sample, buf: make([]HistoryPoint, points),
		stop: make(chan struct{}), done: make(chan struct{})}
}

// start takes a first sample now, then one every h.every until close.
func (h *history) start() {
	h.take()
	go func() {
		defer close(h.done)
		t := time.NewTicker(h.every)
		defer t.Stop()
		for {
			select {
			case <-h.stop:
				return
			case <-t.C:
				h.take()
			}
		}
	}()
}

// close stops the sampling and returns once stopped (Handler.Close may
// be called more than once).
func (h *history) close() {
	h.closeOnce.Do(func() { close(h.stop) })
	<-h.done
}

func (h *history) take() {
	if p, ok := h.sample(); ok {
		h.add(p)
	}
}

// add puts p in the ring, over the oldest point when full.
func (h *history) add(p HistoryPoint) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buf[h.next] = p
	h.next++
	if h.next == len(h.buf) {
		h.next, h.full = 0, true
	}
}

// points returns the points after since (zero: all), oldest first.
func (h *history) points(since time.Time) []HistoryPoint {
	h.mu.Lock()
	defer h.mu.Unlock()
	var parts [][]HistoryPoint
	if h.full {
		parts = append(parts, h.buf[h.next:])
	}
	parts = append(parts, h.buf[:h.next])
	out := []HistoryPoint{}
	for _, part := range parts {
		for _, p := range part {
			if p.Time.After(since) {
				out = append(out, p)
			}
		}
	}
	return out
}

// samplePower is the history's sample: the switcher's status now.
func (h *Handler) samplePower() (HistoryPoint, bool) {
	st := h.sw.Status()
	return HistoryPoint{Time: h.cfg.Now().UTC(), LoadKW: st.MiningLoadKW, BudgetKW: st.MiningBudgetKW,
		CapKW: st.CapKW, AIKW: st.AIKW, Parked: st.Curtailed, Compliant: st.Compliant, Failsafe: st.Failsafe}, true
}

// serveHistory serves GET /api/v1/history[?since=RFC3339]: the points
// kept, oldest first; with since only the later ones (a dashboard polls
// for what it has not drawn yet). 503 without a switcher.
func (h *Handler) serveHistory(w http.ResponseWriter, r *http.Request) {
	q, ok := readQuery(w, r, "since")
	if !ok || h.noSwitcher(w) {
		return
	}
	var since time.Time
	if s := q.Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("since %q: not an RFC 3339 time such as 2025-06-01T18:00:00Z", s))
			return
		}
		since = t
	}
	writeJSON(w, http.StatusOK, History{EverySeconds: h.history.every.Seconds(), Capacity: len(h.history.buf), Points: h.history.points(since)})
}
