package switcher

// What the fleet's readings and outcomes change: measured draws, parks
// verified or failed, resumes that did not wake, pools that lead
// elsewhere (see devices.go and the package comment's power accounting).

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hashgate/hashgate/config/tomlfile"

	"github.com/hashgate/hashgate/switcher/device"
)

// DeviceReading takes a reading of rig's device from the fleet (any
// goroutine; the fleet holds none of its locks). The last one is kept in
// the rig's record; it replaces the policy's figures in the counting
// (measured power, hashing whatever the proxy thinks), verifies a park
// (asleep) or flags it curtail_failed (still hashing DeviceVerifyWindow
// after the curtail: counted at its measured draw, and the curtail is
// sent again), and flags a resume that did not wake the rig. A reading
// older than the one kept, of a rig not managed, or after Close, is
// ignored.
func (s *Switcher) DeviceReading(rig string, rd device.Reading) {
	if s.closedNow() {
		return
	}
	s.counters.DeviceReadings.Add(1)
	if rd.At.IsZero() {
		rd.At = s.cfg.Now()
	}
	s.mu.Lock()
	r := s.rigs[rig]
	var again bool
	if r != nil && s.monitoredLocked(r) {
		again = s.readingLocked(r, rd, "device_reading")
	}
	s.mu.Unlock()
	if again {
		s.cfg.Devices.Curtail(rig)
	}
}

// readingLocked keeps rd as r's reading and applies what it shows; it
// reports whether r's curtail is to be sent again (flagged just now).
func (s *Switcher) readingLocked(r *rigRec, rd device.Reading, source string) (again bool) {
	if rd.At.Before(r.dev.at) {
		return false
	}
	old := r.dev
	r.dev = compactReading(rd)
	s.evidenceReadingLocked(r)
	idleW := deviceIdleW(r.group)
	if old.at.IsZero() || rd.At.Sub(old.at) >= s.cfg.DeviceStaleAfter || material(&old, &r.dev, idleW) {
		s.stale = true
	}
	s.poolsLocked(r, rd.Pools)
	if rd.State == device.StateUnreachable {
		// Nothing shown: the policy's figures, a park unverified.
		if r.deviceIdle {
			r.deviceIdle, s.stale = false, true
		}
		return false
	}
	hashing := r.dev.hashing(idleW)
	asleep := rd.State == device.StateSleeping && !hashing
	if hashing && rd.HasPower && rd.PowerW > 0 {
		r.minedW = float32(rd.PowerW)
	}
	after := func(t time.Time) bool { return !t.IsZero() && !rd.At.Before(t) }
	if r.reloaded && s.deviceActsLocked(r) {
		// Its first reading since a restart: the fleet curtails it now if
		// it hashes (a plan the restart cut short), which may be long
		// after the load when its start-up reads queue through a bounded
		// pool. Its verification window starts here, not at the load.
		r.reloaded = false
		if hashing && !r.curtailFail {
			r.curtailedAt = rd.At
		}
	}
	if r.state == RigParked || r.state == RigPending {
		if idle := asleep && !rd.At.Before(r.curtailedAt); idle != r.deviceIdle {
			r.deviceIdle, s.stale = idle, true
		}
		switch {
		case asleep && r.curtailFail && after(r.curtailedAt):
			r.curtailFail, s.stale = false, true
			s.event(Event{Kind: EventCurtailFail, Rig: r.name, Cause: r.cause, Fields: map[string]any{"cleared": true, "source": source, "state": rd.State}})
		case hashing && !r.curtailFail && after(r.curtailedAt.Add(s.cfg.DeviceVerifyWindow)):
			s.curtailFailedLocked(r, rd, source, "")
			again = s.deviceActsLocked(r) && r.want == device.StateSleeping
		}
	}
	if r.state == RigMining {
		if hashing {
			s.awakeLocked(r)
		}
		switch {
		case hashing && r.wontWake:
			r.wontWake, r.resumeFail, s.stale = false, false, true
			s.event(Event{Kind: EventResumeFail, Rig: r.name, Cause: r.cause, Fields: map[string]any{"cleared": true, "source": source}})
		case asleep && !r.wontWake && r.want == device.StateMining && after(r.resumedAt.Add(s.cfg.DeviceVerifyWindow)):
			s.resumeFailedLocked(r, &rd, source, "")
		}
	}
	return again
}

// closedNow: Close was called. The fleet may still report while
// hashgate shuts down; its reports are then ignored (the state is saved
// and the audit log closed: nothing they change would be kept).
func (s *Switcher) closedNow() bool {
	s.life.Lock()
	defer s.life.Unlock()
	return s.closed
}

// evidence are an event's fields for a reading (nil: none could be made).
func evidence(f map[string]any, rd *device.Reading) map[string]any {
	if rd == nil {
		f["evidence"] = "none: no reading after the command"
		return f
	}
	f["state"] = rd.State
	if rd.HasPower {
		f["power_w"] = rd.PowerW
	}
	if rd.HasHashrate {
		f["hashrate_ths"] = rd.HashrateTHs
	}
	if !rd.At.IsZero() {
		f["read_at"] = rd.At.UTC()
	}
	return f
}

// curtailFailedLocked flags r curtail_failed: its device still hashes
// after a curtail (or the curtail failed). It is counted at its measured
// draw (rig_kw without one) once a reading shows it hashing, so the plan
// curtails the next rig; a reading that shows it asleep clears the flag.
func (s *Switcher) curtailFailedLocked(r *rigRec, rd device.Reading, source, errText string) {
	if !r.curtailFail {
		s.counters.CurtailFailed.Add(1) // rigs flagged, not failed outcomes
	}
	r.curtailFail, r.deviceIdle, s.stale = true, false, true
	f := evidence(map[string]any{"source": source, "curtailed_at": r.curtailedAt}, &rd)
	if errText != "" {
		f["error"] = errText
	}
	s.event(Event{Kind: EventCurtailFail, Rig: r.name, Cause: r.cause, Fields: f})
	s.devReport.failed(device.ActionCurtail, r.name)
}

// resumeFailedLocked flags r resume_failed: its device did not wake. It
// is not counted as mining: at its measured draw, else idle_kw.
func (s *Switcher) resumeFailedLocked(r *rigRec, rd *device.Reading, source, errText string) {
	if !r.resumeFail {
		s.counters.ResumeFailed.Add(1)
	}
	r.wontWake, r.resumeFail, s.stale = true, true, true
	f := evidence(map[string]any{"source": source, "resumed_at": r.resumedAt}, rd)
	if errText != "" {
		f["error"] = errText
	}
	s.event(Event{Kind: EventResumeFail, Rig: r.name, Cause: r.cause, Fields: f})
	s.devReport.failed(device.ActionResume, r.name)
}

// DeviceOutcome takes how a firmware command ended, from the fleet (any
// goroutine). Its evidence is taken as a reading. A curtail not verified
// flags the rig curtail_failed, a resume not verified resume_failed (one
// audit event each, with the evidence and the error; the curtail is sent
// again once); a pool rewrite verified clears pools_unbound. Outcomes of
// commands a later decision overtook only count. Verified commands are
// summarized in one audit event and one log line every few seconds.
func (s *Switcher) DeviceOutcome(o device.Outcome) {
	if s.closedNow() {
		return
	}
	now := s.cfg.Now()
	if o.At.IsZero() {
		o.At = now
	}
	s.countOutcome(&o)
	s.mu.Lock()
	r := s.rigs[o.Rig]
	if r == nil || !s.monitoredLocked(r) {
		s.mu.Unlock()
		return
	}
	// The evidence may flag the rig itself (read after the window): its
	// retry is then the reading's to ask for.
	again := false
	if o.Evidence != nil {
		ev := *o.Evidence
		if ev.At.IsZero() {
			ev.At = o.At
		}
		again = s.readingLocked(r, ev, "device_outcome")
	}
	again = s.outcomeLocked(r, &o) || again
	s.mu.Unlock()
	if again {
		s.cfg.Devices.Curtail(o.Rig)
	}
}

func (s *Switcher) countOutcome(o *device.Outcome) {
	c := &s.counters
	if o.Err != "" {
		c.DeviceErrors.Add(1)
	}
	switch {
	case o.Action == device.ActionCurtail && o.Verified:
		c.DeviceCurtailOK.Add(1)
	case o.Action == device.ActionCurtail:
		c.DeviceCurtailFailed.Add(1)
	case o.Action == device.ActionResume && o.Verified:
		c.DeviceResumeOK.Add(1)
	case o.Action == device.ActionResume:
		c.DeviceResumeFailed.Add(1)
	case o.Action == device.ActionSetPools && o.Verified:
		c.DevicePoolsOK.Add(1)
	case o.Action == device.ActionSetPools:
		c.DevicePoolsFailed.Add(1)
	}
}

// outcomeLocked applies o to r; it reports whether r's curtail is to be
// sent again.
func (s *Switcher) outcomeLocked(r *rigRec, o *device.Outcome) (again bool) {
	if o.Verified {
		if o.Action == device.ActionSetPools && r.poolsUnbound {
			r.poolsUnbound = false
			s.event(Event{Kind: EventPoolsUnbound, Rig: r.name, Fields: map[string]any{"cleared": true, "source": "set_pools"}})
		}
		if o.Action == device.ActionResume {
			s.awakeLocked(r)
		}
		s.devReport.ok(o.Action)
		return false
	}
	held := r.state == RigParked || r.state == RigPending
	switch {
	case o.Action == device.ActionCurtail && held && r.want == device.StateSleeping:
		wasFlagged := r.curtailFail
		s.curtailFailedLocked(r, evidenceOf(o), "device_outcome", outcomeError(o))
		return !wasFlagged
	case o.Action == device.ActionResume && r.state == RigMining && r.want == device.StateMining:
		s.resumeFailedLocked(r, o.Evidence, "device_outcome", outcomeError(o))
	case o.Action == device.ActionCurtail && r.want != device.StateSleeping,
		o.Action == device.ActionResume && r.want != device.StateMining:
		// A command a later decision overtook: counted only.
	default:
		// A pool rewrite, or a command that failed for another reason.
		f := evidence(map[string]any{"action": o.Action, "accepted": o.Accepted, "attempts": o.Attempts, "error": o.Err}, o.Evidence)
		s.event(Event{Kind: EventDeviceCommandFailed, Rig: r.name, Cause: r.cause, Fields: f})
		s.devReport.failed(o.Action, r.name)
	}
	return false
}

// evidenceOf is o's evidence (a zero reading: none).
func evidenceOf(o *device.Outcome) device.Reading {
	if o.Evidence != nil {
		return *o.Evidence
	}
	return device.Reading{}
}

// outcomeError says why a command is not verified.
func outcomeError(o *device.Outcome) string {
	switch {
	case o.Err != "":
		return o.Err
	case o.Accepted:
		return "accepted, but the read back does not show it done"
	}
	return "not accepted"
}

// poolsLocked flags r pools_unbound when its device lists a pool that is
// not one of Config.PoolURLs (pools nil: not read; no PoolURLs: not
// judged).
func (s *Switcher) poolsLocked(r *rigRec, pools []string) {
	if pools == nil || len(s.poolSet) == 0 {
		return
	}
	unbound := false
	var other string
	for _, p := range pools {
		if !s.poolSet[normPool(p)] {
			unbound, other = true, p
			break
		}
	}
	if unbound == r.poolsUnbound {
		return
	}
	r.poolsUnbound = unbound
	f := map[string]any{"unbound": unbound}
	if unbound {
		f["pool"] = poolForAudit(other)
	}
	s.event(Event{Kind: EventPoolsUnbound, Rig: r.name, Fields: f})
}

// maxAuditPool bounds a device's pool URL as the audit log names it.
const maxAuditPool = 200

// poolForAudit is a pool URL read from a device as the audit log names
// it: its credentials (user:password@) redacted, at most maxAuditPool
// bytes (the device says what it likes).
func poolForAudit(u string) string {
	u = tomlfile.RedactURL(u)
	if len(u) <= maxAuditPool {
		return u
	}
	cut := maxAuditPool
	for cut > 0 && !utf8.RuneStart(u[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes)", u[:cut], len(u))
}

// normPool is a pool URL as compared: host:port, lower case, without the
// scheme, credentials or path.
func normPool(u string) string {
	u = strings.ToLower(strings.TrimSpace(u))
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	if i := strings.LastIndexByte(u, '@'); i >= 0 {
		u = u[i+1:]
	}
	if i := strings.IndexByte(u, '/'); i >= 0 {
		u = u[:i]
	}
	return u
}

func poolSet(urls []string) map[string]bool {
	m := make(map[string]bool, len(urls))
	for _, u := range urls {
		m[normPool(u)] = true
	}
	return m
}
