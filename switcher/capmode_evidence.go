package switcher

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
