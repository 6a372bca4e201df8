package switcher

// Evidence per decision (switcher/evidence): the site's figures sampled
// every evidence interval, the rigs each decision acted upon and their
// confirmations (the first device reading showing the wanted state, the
// Stratum evidence, a failure), and the report of one event built from
// them and the audit log.

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashgate/hashgate/switcher/device"
	evidencelog "github.com/hashgate/hashgate/switcher/evidence"
	"github.com/hashgate/hashgate/switcher/meter"
)

// evidenceWatch is how long after a decision its rigs' confirmations
// are watched for (past every verification window and grace).
const evidenceWatch = 10 * time.Minute

// maxSampleMeters bounds the meters a sample records.
const maxSampleMeters = 64

// evidenceState is the switcher's side of the evidence logs; watch and
// pending are guarded by Switcher.mu, lastSample by the step (one
// goroutine).
type evidenceState struct {
	log        *evidencelog.Log
	lastSample time.Time
	// watch: the rigs acted upon in the last evidenceWatch, by name (one
	// entry a rig: its latest decision); pending: the same entries in
	// decision order, with those a later decision took over (dead) until
	// the next pass drops them.
	watch   map[string]*evWatch
	pending []*evWatch
	failing atomic.Bool // the last write failed (logged once)
}

type evWatch struct {
	r       *rigRec
	seq     uint64
	action  string
	at      time.Time
	device  bool // a device confirmation is recorded
	stratum bool // a Stratum confirmation is recorded
	failed  bool // a failure is recorded, not since confirmed
	dead    bool // a later decision acted on the rig
}

// evidenceDir is Options.Dir, defaulting to the audit log's path
// without its extension, plus ".evidence".
func evidenceDir(cfg *Config) string {
	if cfg.Evidence.Dir != "" {
		return cfg.Evidence.Dir
	}
	return strings.TrimSuffix(cfg.AuditPath, filepath.Ext(cfg.AuditPath)) + ".evidence"
}

func (s *Switcher) openEvidence() error {
	o := s.cfg.Evidence
	o.Dir = evidenceDir(&s.cfg)
	l, err := evidencelog.Open(o)
	if err != nil {
		return fmt.Errorf("switcher: evidence log: %w", err)
	}
	s.ev = &evidenceState{log: l, watch: map[string]*evWatch{}}
	return nil
}

func (s *Switcher) closeEvidence() error {
	return s.ev.log.Close()
}

// evidenceOutcome logs a failing evidence log once, and its recovery.
func (s *Switcher) evidenceOutcome(err error) {
	switch {
	case err != nil && !s.ev.failing.Swap(true):
		s.log.Error().Err(err).Str("dir", evidenceDir(&s.cfg)).Msg("evidence log cannot be written: reports will lack what is not written")
	case err == nil && s.ev.failing.Swap(false):
		s.log.Warn().Str("dir", evidenceDir(&s.cfg)).Msg("evidence log written again")
	}
}

// evidenceDecisionLocked records the rigs plan (decision seq) acts upon,
// durably, before they are acted upon, and watches them for evidence.
func (s *Switcher) evidenceDecisionLocked(seq uint64, plan *Plan, recs []*rigRec, now time.Time) {
	n := len(plan.Curtail) + len(plan.Park) + len(plan.Resume)
	if n == 0 {
		return
	}
	rigs := make([]evidencelog.RigAction, 0, n)
	add := func(acts []Action, action string) {
		for _, a := range acts {
			r := recs[a.Rig]
			rigs = append(rigs, evidencelog.RigAction{Rig: r.name, Group: r.group.Name, Action: action})
			if old := s.ev.watch[r.name]; old != nil {
				old.dead = true
			}
			w := &evWatch{r: r, seq: seq, action: action, at: now}
			s.ev.watch[r.name] = w
			s.ev.pending = append(s.ev.pending, w)
		}
	}
	add(plan.Curtail, evidencelog.ActionCurtail)
	add(plan.Park, evidencelog.ActionPark)
	add(plan.Resume, evidencelog.ActionResume)
	s.evidenceOutcome(s.ev.log.Decision(seq, now, rigs))
}

// evidenceReadingLocked records r's device reading (just kept in r.dev)
// as the confirmation of its decision when it shows the wanted state and
// was read after the decision.
func (s *Switcher) evidenceReadingLocked(r *rigRec) {
	w := s.ev.watch[r.name]
	if w == nil || w.seq != r.cause || (w.device && !w.failed) || r.dev.at.Before(w.at) || r.dev.state == device.StateUnreachable {
		return
	}
	hashing := r.dev.hashing(deviceIdleW(r.group))
	if hashing != (w.action == evidencelog.ActionResume) {
		return
	}
	w.device, w.failed = true, false
	rd := r.dev.reading()
	c := evidencelog.Confirmation{Rig: r.name, OK: true, Source: evidencelog.SourceDevice, State: rd.State.String(), At: rd.At}
	if rd.HasPower {
		c.PowerW = &rd.PowerW
	}
	if rd.HasHashrate {
		c.HashrateTHs = &rd.HashrateTHs
	}
	s.evidenceOutcome(s.ev.log.Confirm(w.seq, c))
}

// evidenceClosedLocked records the Stratum evidence of a curtail: the
// parked rig's connection closed (now); a share it sent between the
// curtail and the close is named. Shares after (past the curtail grace)
// flag it curtail_failed: watchLocked records that as a failure.
func (s *Switcher) evidenceClosedLocked(r *rigRec, now time.Time) {
	w := s.ev.watch[r.name]
	if w == nil || w.seq != r.cause || w.stratum || w.action != evidencelog.ActionCurtail {
		return
	}
	detail := "connection closed"
	if s.shares != nil {
		if last := s.shares.LastSubmit(r.name); last.After(r.curtailedAt) {
			detail = fmt.Sprintf("connection closed; its last share came %s after the curtail, before the close", last.Sub(r.curtailedAt).Round(time.Millisecond))
		}
	}
	w.stratum = true
	s.evidenceOutcome(s.ev.log.Confirm(w.seq, evidencelog.Confirmation{Rig: r.name, OK: true, Source: evidencelog.SourceStratum, Detail: detail, At: now}))
}

// evidenceStep samples the site's figures and checks the watched rigs
// for Stratum evidence and failures, once per evidence interval, and
// writes the confirmations found. The step's goroutine calls it,
// holding no lock.
func (s *Switcher) evidenceStep(now time.Time) {
	if now.Sub(s.ev.lastSample) < s.ev.log.Options().Interval*9/10 {
		return
	}
	s.ev.lastSample = now
	s.evidenceOutcome(s.ev.log.Sample(s.sample()))
	s.mu.Lock()
	found := s.watchPassLocked(now)
	s.mu.Unlock()
	var err error
	for _, c := range found {
		err = errors.Join(err, s.ev.log.Confirm(c.seq, c.Confirmation))
	}
	s.evidenceOutcome(errors.Join(err, s.ev.log.Flush()))
}

// seqConfirmation is a confirmation of a rig of decision seq.
type seqConfirmation struct {
	seq uint64
	evidencelog.Confirmation
}

// watchPassLocked checks every watched rig once, dropping those past
// evidenceWatch or taken over by a later decision, and returns what it
// found.
func (s *Switcher) watchPassLocked(now time.Time) []seqConfirmation {
	var found []seqConfirmation
	keep := s.ev.pending[:0]
	for _, w := range s.ev.pending {
		if w.dead || w.r.cause != w.seq || now.Sub(w.at) > evidenceWatch {
			if s.ev.watch[w.r.name] == w {
				delete(s.ev.watch, w.r.name)
			}
			continue
		}
		keep = append(keep, w)
		if c, ok := s.watchLocked(w.r, w); ok {
			found = append(found, seqConfirmation{w.seq, c})
		}
	}
	clear(s.ev.pending[len(keep):])
	s.ev.pending = keep
	return found
}

// watchLocked is what a watched rig shows now: a resumed rig's first
// share, or a failure flagged since.
func (s *Switcher) watchLocked(r *rigRec, w *evWatch) (evidencelog.Confirmation, bool) {
	c := evidencelog.Confirmation{Rig: r.name, Source: evidencelog.SourceStratum}
	switch {
	case w.action == evidencelog.ActionResume && !w.stratum && s.shares != nil:
		if last := s.shares.LastShare(r.name); last.After(w.at) {
			w.stratum, w.failed = true, false
			c.OK, c.At, c.Detail = true, last, "share accepted after the resume"
			return c, true
		}
	}
	if w.failed {
		return c, false
	}
	switch {
	case w.action != evidencelog.ActionResume && r.curtailFail:
		c.Detail = "curtail_failed: still hashing after the curtail (shares, or its device)"
	case w.action == evidencelog.ActionResume && r.wontWake:
		c.Source, c.Detail = evidencelog.SourceDevice, "resume_failed: its device did not wake"
	case w.action == evidencelog.ActionResume && r.resumeFail:
		c.Detail = "resume_failed: no share since the resume"
	default:
		return c, false
	}
	w.failed, c.At = true, s.cfg.Now()
	return c, true
}

// sample is the site's figures now, from the status. Its time is taken
// after the status: an event while it is read is not before the sample
// that shows its effect.
//
// Only the parts of Status a sample holds are read (the plan's figures,
// the devices' measured draw, cap mode's): Status also counts the parked
// rigs and builds the counted-as table, a pass over every rig each
// second that cost 50,000-rig sites ~0.5% of a core in cap mode's loop.
func (s *Switcher) sample() evidencelog.Sample {
	s.mu.Lock()
	now := s.cfg.Now()
	p := &s.last
	st := Status{AIKW: p.AIKW, MiningBudgetKW: p.MiningBudgetKW, MiningLoadKW: p.CountedLoadAfterKW}
	s.deviceTotalsLocked(&st, now)
	s.capStatusLocked(&st, now)
	s.mu.Unlock()
	return sampleOf(&st, s.cfg.Meters, s.cfg.Now())
}

// sampleOf is a sample of st at now: the meters' good readings that are
// not stale by their spec (at most maxSampleMeters), and the sum of
// those that measure mining.
func sampleOf(st *Status, specs []meter.Spec, now time.Time) evidencelog.Sample {
	sm := evidencelog.Sample{At: now, MiningKW: st.MiningLoadKW, MeasuredKW: st.MiningLoadMeasuredKW, MeasuredRigs: st.MeasuredRigs,
		BudgetKW: st.MiningBudgetKW, CapKW: st.CapKW, AIKW: st.AIKW, AIKWMeasured: st.AIKWMeasured, SiteLoadKW: st.SiteLoadKW,
		Failsafe: st.Failsafe}
	stale := map[string]time.Duration{}
	for _, m := range specs {
		stale[m.Name] = m.StaleAfter
	}
	var mining float64
	miningOK := false
	for _, name := range slices.Sorted(maps.Keys(st.Meters)) {
		rd := st.Meters[name]
		if !rd.OK() || len(sm.Meters) >= maxSampleMeters || (stale[name] > 0 && now.Sub(rd.At) > stale[name]) {
			continue
		}
		if sm.Meters == nil {
			sm.Meters = map[string]float64{}
		}
		sm.Meters[name] = rd.KW
		if rd.Measures == meter.Mining {
			mining, miningOK = mining+rd.KW, true
		}
	}
	if miningOK {
		sm.MiningMeterKW = &mining
	}
	return sm
}

// ErrNoEvent: no event has the seq asked for (or it is past the
// retention).
var ErrNoEvent = errors.New("no such event")

// NotDecisionError: a report was asked of a per-rig event; Cause is its
// decision's seq (0: none).
type NotDecisionError struct {
	Seq   uint64
	Kind  string
	Cause uint64
}

func (e *NotDecisionError) Error() string {
	if e.Cause != 0 {
		return fmt.Sprintf("event %d is a per-rig %s event of decision %d: ask for the report of %d", e.Seq, e.Kind, e.Cause, e.Cause)
	}
	return fmt.Sprintf("event %d is a per-rig %s event, not a decision: no report", e.Seq, e.Kind)
}

// Report is the evidence of event seq: the samples before and after it,
// the time to reach its target, the deviation and the rigs it acted
// upon with their confirmations. Every event that is not a per-rig one
// has a report (one that acted on no rig lists none); a per-rig event (a
// curtail, a flag) is a NotDecisionError.
func (s *Switcher) Report(seq uint64) (evidencelog.Report, error) {
	if seq == 0 {
		return evidencelog.Report{}, ErrNoEvent
	}
	evs, err := s.audit.Query(seq-1, 1, EventFilter{})
	if err != nil {
		return evidencelog.Report{}, err
	}
	if len(evs) == 0 || evs[0].Seq != seq {
		return evidencelog.Report{}, ErrNoEvent
	}
	e := evs[0]
	if e.Cause != 0 || (e.Rig != "" && e.Kind != EventPin) {
		return evidencelog.Report{}, &NotDecisionError{Seq: e.Seq, Kind: e.Kind, Cause: e.Cause}
	}
	return s.ev.log.Report(evidencelog.Event{Seq: e.Seq, Time: e.Time, Kind: e.Kind, Who: e.Who, Reason: e.Reason, Rig: e.Rig, Fields: e.Fields}, s.cfg.Now())
}
