package switcher

import (
	"maps"
	"slices"

	"github.com/rs/zerolog"
)

// GroupCounts are a plan's actions in one group, as its audit event and
// log line give them.
type GroupCounts struct {
	Curtail  int `json:"curtail,omitempty"`
	Resume   int `json:"resume,omitempty"`
	Park     int `json:"park,omitempty"`
	Deferred int `json:"deferred,omitempty"`
}

// groupCounts counts a plan's actions per group (recs are the plan's
// input rigs, indexed as its actions are).
func groupCounts(p Plan, recs []*rigRec) map[string]GroupCounts {
	out := map[string]GroupCounts{}
	add := func(acts []Action, f func(*GroupCounts)) {
		for _, a := range acts {
			if a.Rig < 0 || a.Rig >= len(recs) {
				continue
			}
			g := recs[a.Rig].group.Name
			c := out[g]
			f(&c)
			out[g] = c
		}
	}
	add(p.Curtail, func(c *GroupCounts) { c.Curtail++ })
	add(p.Resume, func(c *GroupCounts) { c.Resume++ })
	add(p.Park, func(c *GroupCounts) { c.Park++ })
	add(p.Deferred, func(c *GroupCounts) { c.Deferred++ })
	return out
}

// tickWhyLocked is why a tick plans: "tick", or what asked for it since
// the last plan (a policy reload).
func (s *Switcher) tickWhyLocked() string {
	why := s.planWhy
	s.planWhy = ""
	if why == "" {
		why = "tick"
	}
	return why
}

// planAudit writes a plan's audit events and its log line. One summary
// event (head, or a plan event when it acts) carries the plan's figures
// and its counts per group, after the per-rig events (details) that point
// to it by Cause; who did it is on each. It returns the summary's seq
// (0: none written). One info line says the same:
// a plan that parks 10,000 rigs logs one line, not 10,000.
func (s *Switcher) planAudit(p Plan, recs []*rigRec, why string, head *Event, details []Event) (seq uint64) {
	if head == nil && p.Actions() == 0 && len(details) == 0 {
		return 0
	}
	groups := groupCounts(p, recs)
	summary := Event{Kind: EventPlan, Fields: map[string]any{}}
	if head != nil {
		summary = *head
		if summary.Fields == nil {
			summary.Fields = map[string]any{}
		}
	}
	maps.Copy(summary.Fields, planFields(p))
	summary.Fields["why"] = why
	summary.Fields["groups"] = groups
	now := s.cfg.Now().UTC()
	summary.Time = now
	for i := range details {
		details[i].Time, details[i].Who = now, summary.Who
	}
	summary, err := s.audit.AppendGroup(summary, details)
	s.auditOutcome(err)
	if p.Actions() == 0 {
		return summary.Seq
	}
	s.log.Info().Str("why", why).Str("who", summary.Who).Uint64("event", summary.Seq).
		Int("curtail", len(p.Curtail)).Int("resume", len(p.Resume)).
		Int("park", len(p.Park)).Int("deferred", len(p.Deferred)).
		Dict("groups", groupsDict(groups)).
		Float64("budget_kw", p.MiningBudgetKW).Float64("load_kw", p.LoadAfterKW).
		Float64("counted_kw", p.CountedLoadAfterKW).Int("parks_unverified", p.ParksUnverified()).Msg("plan applied")
	return summary.Seq
}

// groupsDict is counts per group as a log field, groups sorted.
func groupsDict(groups map[string]GroupCounts) *zerolog.Event {
	d := zerolog.Dict()
	for _, g := range slices.Sorted(maps.Keys(groups)) {
		c := groups[g]
		d.Dict(g, zerolog.Dict().Int("curtail", c.Curtail).Int("resume", c.Resume).Int("park", c.Park).Int("deferred", c.Deferred))
	}
	return d
}

// massReport gathers per-rig happenings of one kind found in one pass
// (rigs that left while parked, curtails that failed): each keeps its
// per-rig audit event, linked to one summary event, and the pass logs
// one line per kind with a count and a sample of names.
type massReport struct {
	kind    string
	msg     string
	level   zerolog.Level
	details []Event
}

// maxSample bounds the rig names a summary line or event gives.
const maxSample = 10

func (m *massReport) add(e Event) {
	e.Kind = m.kind
	m.details = append(m.details, e)
}

// flush writes the summary (with counts per group) and logs its line.
func (m *massReport) flush(s *Switcher, groupOf func(string) string) {
	if len(m.details) == 0 {
		return
	}
	byGroup := map[string]int{}
	sample := make([]string, 0, min(len(m.details), maxSample))
	for _, e := range m.details {
		byGroup[groupOf(e.Rig)]++
		if len(sample) < maxSample {
			sample = append(sample, e.Rig)
		}
	}
	now := s.cfg.Now().UTC()
	for i := range m.details {
		m.details[i].Time = now
	}
	if len(m.details) == 1 {
		// One rig: its own event is the whole story.
		s.auditOutcome(s.audit.AppendAll(m.details))
	} else {
		head := Event{Kind: m.kind, Time: now, Fields: map[string]any{"rigs": len(m.details), "groups": byGroup, "sample": sample}}
		_, err := s.audit.AppendGroup(head, m.details)
		s.auditOutcome(err)
	}
	d := zerolog.Dict()
	for _, g := range slices.Sorted(maps.Keys(byGroup)) {
		d.Int(g, byGroup[g])
	}
	s.log.WithLevel(m.level).Int("rigs", len(m.details)).Dict("groups", d).Strs("sample", sample).Msg(m.msg)
	m.details = nil
}

// PoolFailover audits a pool failover (the proxy's OnFailover): one
// event with the rigs connected at the time, per group, whose work now
// comes from the pool to. Their reconnections, if any, are the proxy's.
func (s *Switcher) PoolFailover(from, to string) {
	if s.closedNow() {
		return
	}
	s.mu.Lock()
	groups := map[string]int{}
	rigs := 0
	for _, r := range s.rigs {
		if r.conns > 0 {
			groups[r.group.Name]++
			rigs++
		}
	}
	s.event(Event{Kind: EventFailover, Reason: "pool " + from + " failed", Fields: map[string]any{
		"from": from, "to": to, "rigs": rigs, "groups": groups}})
	s.mu.Unlock()
}
