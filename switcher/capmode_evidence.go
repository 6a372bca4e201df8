package switcher

import (
	"strings"
	"time"
)

// A decision the loop makes by itself (the fail-safe entered or ended, a
// cap whose until passed) changes the budget, and the next plan carries
// it out. Its audit event is that plan's: the plan's figures
// (mining_budget_kw: the report's target) and the rigs it acted on are
// the decision's evidence. Written apart from the plan, its report would
// list no rig, and the rigs would be another event's.

// headLocked queues e, the loop's own decision, as the head of the next
// plan, which it marks stale.
func (s *Switcher) headLocked(e Event) {
	s.heads = append(s.heads, e)
	s.stale = true
}

// takeHeadsLocked is the head of a plan about to be made: head when
// given (the queued ones are written first, as events of their own),
// else the last queued one (the others written first).
func (s *Switcher) takeHeadsLocked(head *Event) *Event {
	if len(s.heads) == 0 {
		return head
	}
	if head == nil {
		last := s.heads[len(s.heads)-1]
		s.heads = s.heads[:len(s.heads)-1]
		head = &last
	}
	s.events(s.takeAllHeadsLocked())
	return head
}

// takeAllHeadsLocked empties the queue (at shutdown they are written
// as they are).
func (s *Switcher) takeAllHeadsLocked() []Event {
	h := s.heads
	s.heads = nil
	return h
}

// The fail-safe across a restart: a restart is no evidence the inputs
// came back. The fail-safe in force is kept in the state file and put
// back at start, so the site stays on the safe budget until its inputs
// have been good for failsafe_hold, and its exited event follows the
// entered one written before the restart.
type persistedFailsafe struct {
	Reason string    `json:"reason"`
	Since  time.Time `json:"since"`
}

// persistFailsafeLocked is the fail-safe to save (nil: off).
func (s *Switcher) persistFailsafeLocked() *persistedFailsafe {
	if !s.cm.fs.on {
		return nil
	}
	return &persistedFailsafe{Reason: s.cm.fs.reason, Since: s.cm.fs.since.UTC()}
}

// restoreFailsafe puts a saved fail-safe back at start.
func (s *Switcher) restoreFailsafe(pf *persistedFailsafe) {
	if pf == nil {
		return
	}
	s.cm.fs = failsafe{on: true, reason: pf.Reason, since: pf.Since, badSince: pf.Since,
		meter: strings.Contains(pf.Reason, FailsafeMeter)}
}
