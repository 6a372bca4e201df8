package fleet

import (
	"fmt"
	"time"

	"github.com/hashgate/hashgate/switcher/device"
)

// Superseded starts the Err of an outcome whose command was replaced by a
// newer intent for the same rig before it ended.
const Superseded = "superseded by "

// Curtail queues a curtail of rig and returns at once. The latest intent
// for a rig wins: a curtail replaces a queued (or waiting) resume, and
// one arriving while a call runs on the rig runs after it. Curtails run
// before resumes and reads. An unknown rig is ignored (logged at debug);
// a monitor-only rig or one whose credentials were refused gets an
// outcome with Err at once, and no command.
func (f *Fleet) Curtail(name string) { f.intend(name, device.ActionCurtail) }

// Resume queues a resume of rig; see Curtail.
func (f *Fleet) Resume(name string) { f.intend(name, device.ActionResume) }

func (f *Fleet) intend(name string, act device.Action) {
	var out outbox
	f.mu.Lock()
	r := f.rigs[name]
	if r == nil {
		f.mu.Unlock()
		f.cfg.Log.Debug().Str("rig", name).Stringer("action", act).Msg("fleet: command for an unmanaged rig ignored")
		return
	}
	now := f.cfg.Now()
	switch {
	case r.m.MonitorOnly:
		if !r.warnedMon {
			r.warnedMon = true
			f.cfg.Log.Warn().Str("rig", name).Stringer("action", act).Msg("fleet: monitor-only rig is never commanded")
		}
		out.outcome(device.Outcome{Rig: name, Action: act, Err: "monitor only: never commanded", At: now})
	case r.authFailed:
		out.outcome(device.Outcome{Rig: name, Action: act, At: now,
			Err: "credentials refused earlier: not retried until the options change"})
	default:
		if act == device.ActionCurtail {
			r.want = device.StateSleeping
		} else {
			r.want = device.StateMining
		}
		f.request(r, act, now, &out)
	}
	f.mu.Unlock()
	out.deliver(&f.cfg)
}

// request makes act r's latest intent and starts it unless a call runs
// on r. Locked.
func (f *Fleet) request(r *rig, act device.Action, now time.Time, out *outbox) {
	r.intent = act
	f.applyIntent(r, now, out)
}

// applyIntent starts r's pending intent, superseding its active command,
// unless a call runs on r (the worker that ends it calls this). Locked.
func (f *Fleet) applyIntent(r *rig, now time.Time, out *outbox) {
	if r.intent == 0 || r.busy || r.removed {
		return
	}
	if r.cmd == r.intent {
		r.intent = 0
		return
	}
	if r.cmd != 0 {
		r.lastErr = Superseded + r.intent.String()
		f.endCommand(r, now, endSuperseded, nil, out)
	}
	act := r.intent
	r.intent = 0
	r.cmd, r.phase, r.attempts, r.accepted, r.lastErr = act, phQueued, 0, false, ""
	r.cmdStart = now
	f.stats.Commands++
	f.unwake(r)
	f.enqueue(r, cmdQueue(act))
}

func cmdQueue(act device.Action) qid {
	if act == device.ActionCurtail {
		return qCurtail
	}
	return qResume
}

// endHow is how a command ended.
type endHow uint8

const (
	endVerified endHow = iota + 1
	endSuperseded
	endFailed // unaccepted after its attempts, or accepted and not verified
)

// endCommand reports r's active command and clears it. Locked.
func (f *Fleet) endCommand(r *rig, now time.Time, how endHow, evidence *device.Reading, out *outbox) {
	o := device.Outcome{Rig: r.m.Name, Action: r.cmd, Accepted: r.accepted, Verified: how == endVerified,
		Attempts: int(r.attempts), Err: r.lastErr, Evidence: evidence, Took: now.Sub(r.cmdStart), At: now}
	switch {
	case how == endVerified:
		f.stats.Verified++
	case how == endSuperseded:
		f.stats.Superseded++
	case !r.accepted:
		f.stats.Failures++
		f.logFailure(r, "command_failed", "fleet: command failed")
	default:
		f.countUnverified(r.cmd)
		f.logFailure(r, "command_unverified", "fleet: command accepted but not verified")
	}
	if how == endFailed {
		if r.cmd == device.ActionSetPools {
			r.poolRetryAt = now.Add(f.cfg.RetryEvery)
		} else {
			r.retryAt = now.Add(f.cfg.RetryEvery)
		}
	}
	f.unqueue(r)
	f.unwake(r)
	r.cmd, r.phase, r.attempts, r.accepted, r.lastErr = 0, phNone, 0, false, ""
	out.outcome(o)
}

func (f *Fleet) countUnverified(act device.Action) {
	switch act {
	case device.ActionCurtail:
		f.stats.UnverifiedCurtails++
	case device.ActionResume:
		f.stats.UnverifiedResumes++
	default:
		f.stats.UnverifiedPools++
	}
}

// logFailure logs a failed or unverified command, rate-limited per key.
func (f *Fleet) logFailure(r *rig, key, msg string) {
	if f.limiter.Allow(key, f.cfg.Now()) {
		f.cfg.Log.Warn().Str("rig", r.m.Name).Str("firmware", r.m.Firmware).
			Stringer("action", r.cmd).Int("attempts", int(r.attempts)).Str("error", r.lastErr).Msg(msg)
	}
}

// outbox collects what a locked section must report; deliver runs the
// callbacks once the lock is released. Fixed arrays keep it on the stack.
type outbox struct {
	rig      string
	rd       device.Reading
	hasRd    bool
	oc       [2]device.Outcome
	no       int
	overflow []device.Outcome
}

func (o *outbox) reading(rig string, r device.Reading) {
	o.rig, o.rd, o.hasRd = rig, r, true
}

func (o *outbox) outcome(oc device.Outcome) {
	if o.no < len(o.oc) {
		o.oc[o.no] = oc
		o.no++
		return
	}
	o.overflow = append(o.overflow, oc)
}

func (o *outbox) deliver(c *Config) {
	if o.hasRd {
		c.OnReading(o.rig, o.rd)
	}
	for _, oc := range o.oc[:o.no] {
		c.OnOutcome(oc)
	}
	for _, oc := range o.overflow {
		c.OnOutcome(oc)
	}
}

func describe(r device.Reading) string {
	s := r.State.String()
	if r.HasHashrate {
		s += fmt.Sprintf(", %.1f TH/s", r.HashrateTHs)
	}
	if r.HasPower {
		s += fmt.Sprintf(", %.0f W", r.PowerW)
	}
	return s
}
