package switcher

import (
	"os"
	"slices"
)

// MaxEvents bounds the events one query answers.
const MaxEvents = 10000

// EventFilter selects audit events; a zero field matches any event.
type EventFilter struct {
	Kinds []string // any of these kinds
	Rig   string   // the rig's own events
	Who   string   // events by this API token's name
	Cause uint64   // the per-rig events of one summary event (its seq)
}

// Match says whether e is selected.
func (f EventFilter) Match(e *Event) bool {
	return (len(f.Kinds) == 0 || slices.Contains(f.Kinds, e.Kind)) &&
		(f.Rig == "" || e.Rig == f.Rig) && (f.Who == "" || e.Who == f.Who) &&
		(f.Cause == 0 || e.Cause == f.Cause)
}

// onlyDecisions: f selects events of decisionKinds only.
func (f EventFilter) onlyDecisions() bool {
	if len(f.Kinds) == 0 {
		return false
	}
	for _, k := range f.Kinds {
		if !slices.Contains(decisionKinds, k) {
			return false
		}
	}
	return true
}

// Events returns up to limit events with Seq > since, oldest first (newest
// last). Events older than the in-memory cache are read from the files.
func (a *AuditLog) Events(since uint64, limit int) ([]Event, error) {
	return a.Query(since, limit, EventFilter{})
}

// Query returns up to limit events with Seq > since that f selects,
// oldest first. Events older than the in-memory cache are read from the
// files, oldest file first.
func (a *AuditLog) Query(since uint64, limit int, f EventFilter) ([]Event, error) {
	if limit <= 0 || limit > MaxEvents {
		limit = MaxEvents
	}
	a.mu.Lock()
	if len(a.recent) == 0 || a.recent[0].Seq-1 <= since {
		defer a.mu.Unlock()
		return a.cacheQueryLocked(nil, since, limit, f), nil
	}
	keep := a.keep
	a.mu.Unlock()
	var out []Event
	// Older than the cache: scan the files, oldest first, then the cache.
	for i := keep; i >= 0; i-- {
		evs, err := readEvents(a.file(i))
		if err != nil && !os.IsNotExist(err) {
			return nil, err
		}
		for j := range evs {
			e := &evs[j]
			if e.Seq <= since {
				continue
			}
			since = e.Seq // a line written twice is answered once
			if f.Match(e) {
				out = append(out, *e)
				if len(out) == limit {
					return out, nil
				}
			}
		}
	}
	// Events the files lack (a write failed) are still in memory.
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cacheQueryLocked(out, since, limit, f), nil
}

// cacheQueryLocked appends to out the cached events after since that f
// selects, up to limit in all.
func (a *AuditLog) cacheQueryLocked(out []Event, since uint64, limit int, f EventFilter) []Event {
	for i := range a.recent {
		if len(out) >= limit {
			break
		}
		if e := &a.recent[i]; e.Seq > since && f.Match(e) {
			out = append(out, *e)
		}
	}
	return out
}

// Latest returns the newest limit events f selects, oldest first (newest
// last). When the cache holds fewer, the files are read newest first: a
// rare kind (an allocation among hundreds of thousands of per-rig events)
// costs a read of the rotated files, bounded by the retention.
func (a *AuditLog) Latest(limit int, f EventFilter) ([]Event, error) {
	if limit <= 0 || limit > MaxEvents {
		limit = MaxEvents
	}
	a.mu.Lock()
	var out []Event // newest first until the end
	bound := a.seq + 1
	for i := len(a.recent) - 1; i >= 0 && len(out) < limit; i-- {
		if e := &a.recent[i]; f.Match(e) {
			out = append(out, *e)
		}
	}
	if len(a.recent) > 0 {
		bound = a.recent[0].Seq
	}
	if f.onlyDecisions() {
		// Older decisions are in memory too, as far as it holds them.
		for i := len(a.decisions) - 1; i >= 0 && len(out) < limit; i-- {
			if e := &a.decisions[i]; e.Seq < bound && f.Match(e) {
				out = append(out, *e)
			}
		}
		// A tenth is dropped at a time: fewer than maxDecisions in
		// memory does not mean none are older (decisionsCut).
		if !a.decisionsCut {
			bound = 1 // none older than memory: no file to read
		} else if len(a.decisions) > 0 {
			bound = min(bound, a.decisions[0].Seq)
		}
	}
	keep := a.keep
	a.mu.Unlock()
	for i := 0; i <= keep && len(out) < limit && bound > 1; i++ {
		evs, err := readEvents(a.file(i))
		if err != nil && !os.IsNotExist(err) {
			return nil, err
		}
		for j := len(evs) - 1; j >= 0 && len(out) < limit; j-- {
			e := &evs[j]
			if e.Seq >= bound {
				continue // in memory, or a line written twice
			}
			bound = e.Seq
			if f.Match(e) {
				out = append(out, *e)
			}
		}
	}
	slices.Reverse(out)
	return out, nil
}
