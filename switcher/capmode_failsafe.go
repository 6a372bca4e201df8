package switcher

import (
	"slices"
	"strings"
	"time"

	"github.com/hashgate/hashgate/switcher/meter"
)

// The fail-safe: when an input the loop needs is stale — in cap mode the
// meters the non-mining load comes from (the `ai` meters, else the
// `site` ones), and the power desk's heartbeat when heartbeat_timeout is
// set — for failsafe_after (default 0: at the next tick or reading), the
// mining budget falls to safe_budget_kw (or stays tighter, if the
// allocation or the cap says so). The status, the metrics and the audit
// log (EventFailsafe, on entry and on exit) say so. It ends only once
// every input has been good for failsafe_hold. A meter is stale when its
// last good reading is older than its stale_after, or it never gave one
// within stale_after of the switcher's start; the heartbeat likewise.

// Fail-safe causes, as FailsafeReason starts.
const (
	FailsafeHeartbeat = "heartbeat"
	FailsafeMeter     = "meter"
)

type failsafe struct {
	on        bool
	reason    string
	since     time.Time
	meter     bool      // a meter is part of the cause: the cap budget is unknown
	badSince  time.Time // an input has been stale since (zero: all good)
	goodSince time.Time // while on: every input good since (zero: not)
	causeAt   time.Time // the last cause_changed event written
}

// failsafeCauseEvery bounds the fail-safe's cause_changed audit events.
const failsafeCauseEvery = time.Minute

// failsafeCauseLocked says what is stale at now ("" when nothing), since
// when, and whether a meter is part of it.
func (s *Switcher) failsafeCauseLocked(now time.Time) (cause string, since time.Time, meterCause bool) {
	var causes []string
	if t := s.policy.Cap.HeartbeatTimeout; t > 0 {
		last := s.cm.heartbeat
		if last.IsZero() {
			last = s.cm.started
		}
		// The grace for a first heartbeat does not count as good while
		// the fail-safe is on (put back at a restart): only a heartbeat
		// ends it.
		if now.Sub(last) > t || (s.cm.heartbeat.IsZero() && s.cm.fs.on) {
			causes, since = append(causes, FailsafeHeartbeat), last.Add(t)
		}
	}
	if s.cm.capKW > 0 {
		if _, _, ok := s.nonMiningLocked(now); !ok {
			if why, at := s.staleMetersLocked(now); why != "" {
				causes, meterCause = append(causes, why), true
				if since.IsZero() || at.Before(since) {
					since = at
				}
			}
		}
	}
	return strings.Join(causes, "; "), since, meterCause
}

// staleMetersLocked names the meters cap mode could use and cannot (the
// `ai` ones, then the `site` ones) and since when the first went stale;
// "" while the only ones missing have not had their stale_after since
// the switcher started to give a first reading (a restart does not drop
// the site to the safe budget while its meters are first read: the
// allocation's budget applies meanwhile).
func (s *Switcher) staleMetersLocked(now time.Time) (string, time.Time) {
	var names []string
	var since time.Time
	waiting := false
	for _, what := range []string{meter.AI, meter.Site} {
		for _, m := range s.cm.meters {
			if m.spec.Measures != what || m.fresh(now) {
				continue
			}
			at := m.good.At.Add(m.staleAfter())
			if m.good.At.IsZero() {
				at = s.cm.started.Add(m.staleAfter())
			}
			if now.Before(at) && !s.cm.fs.on {
				// Never read yet, within its grace; not while the
				// fail-safe is on (restored at a restart): only a good
				// reading ends it.
				waiting = true
				continue
			}
			names = append(names, m.spec.Name)
			if since.IsZero() || at.Before(since) {
				since = at
			}
		}
	}
	if len(names) == 0 {
		if waiting {
			return "", time.Time{}
		}
		return FailsafeMeter + ": no ai or site meter configured", now
	}
	slices.Sort(names)
	return FailsafeMeter + " " + strings.Join(names, ", ") + " stale", since
}

// failsafeLocked enters, updates or ends the fail-safe at now.
func (s *Switcher) failsafeLocked(now time.Time) {
	cause, since, meterCause := s.failsafeCauseLocked(now)
	fs := &s.cm.fs
	if cause == "" {
		fs.badSince = time.Time{}
		if !fs.on {
			return
		}
		if fs.goodSince.IsZero() {
			fs.goodSince = now
		}
		if now.Sub(fs.goodSince) >= s.policy.Cap.FailsafeHold {
			s.failsafeExitLocked(now)
		}
		return
	}
	fs.goodSince = time.Time{}
	if fs.badSince.IsZero() {
		fs.badSince = since
	}
	switch {
	case fs.on && cause != fs.reason:
		// The status shows every change; the audit log at most one a
		// failsafeCauseEvery (a meter flapping around its stale_after
		// would otherwise write one per reading). exited has the last.
		fs.reason, fs.meter = cause, meterCause
		if fs.causeAt.IsZero() || now.Sub(fs.causeAt) >= failsafeCauseEvery {
			fs.causeAt = now
			s.event(Event{Kind: EventFailsafe, Reason: cause, Fields: map[string]any{"state": "cause_changed", "cause": cause}})
		}
	case fs.on || now.Sub(fs.badSince) < s.policy.Cap.FailsafeAfter:
	default:
		*fs = failsafe{on: true, reason: cause, since: now, meter: meterCause, badSince: fs.badSince}
		if meterCause {
			s.cm.track = capTrack{}
		}
		safe := s.policy.Cap.SafeBudgetKW
		s.log.Error().Str("cause", cause).Float64("safe_budget_kw", safe).Time("stale_since", fs.badSince).
			Msg("fail-safe: an input the power loop needs is stale; mining falls to the safe budget")
		s.headLocked(Event{Kind: EventFailsafe, Reason: cause, Fields: map[string]any{
			"state": "entered", "cause": cause, "safe_budget_kw": safe, "stale_since": fs.badSince}})
		s.stale, s.planWhy, s.dirty = true, "failsafe", true
	}
}

func (s *Switcher) failsafeExitLocked(now time.Time) {
	fs := &s.cm.fs
	lasted := now.Sub(fs.since)
	s.log.Warn().Str("cause", fs.reason).Float64("lasted_seconds", lasted.Seconds()).Msg("fail-safe ended: its inputs have been good for failsafe_hold")
	s.headLocked(Event{Kind: EventFailsafe, Reason: "inputs good again", Fields: map[string]any{
		"state": "exited", "cause": fs.reason, "since": fs.since, "lasted_seconds": lasted.Seconds(), "good_since": fs.goodSince}})
	*fs = failsafe{}
	s.stale, s.planWhy, s.dirty = true, "failsafe", true
}
