package fleet

import (
	"slices"
	"time"

	"github.com/hashgate/hashgate/switcher/device"
)

// hashing: the reading shows r hashing (by state, hashrate or power).
func (f *Fleet) hashing(r *rig, rd device.Reading) bool {
	idleW := r.m.IdleW
	if idleW <= 0 {
		idleW = f.cfg.IdleW
	}
	return rd.Hashing(f.cfg.MinHashTHs, idleW)
}

// idle: the reading shows r not hashing, with some evidence (a sleeping
// state, or a hashrate or power under the thresholds).
func (f *Fleet) idle(r *rig, rd device.Reading) bool {
	if rd.State == device.StateUnreachable || f.hashing(r, rd) {
		return false
	}
	return rd.State == device.StateSleeping || rd.HasHashrate || rd.HasPower
}

// satisfied: the reading shows what act asked for.
func (f *Fleet) satisfied(r *rig, act device.Action, rd device.Reading) bool {
	switch act {
	case device.ActionCurtail:
		return f.idle(r, rd)
	case device.ActionResume:
		return rd.State != device.StateUnreachable && f.hashing(r, rd)
	}
	return rd.Pools != nil && samePools(rd.Pools, r.m.BindPools)
}

func samePools(have []string, want []device.Pool) bool {
	return slices.EqualFunc(have, want, func(h string, w device.Pool) bool { return h == w.URL })
}

// afterVerify ends r's command when the read-back shows the wanted
// state, or when the window is over; else it reads again later. Locked.
func (f *Fleet) afterVerify(r *rig, rd device.Reading, err error, now time.Time, out *outbox) {
	ev := rd
	if f.satisfied(r, r.cmd, rd) {
		r.lastErr = ""
		f.endCommand(r, now, endVerified, &ev, out)
		return
	}
	if now.Before(r.verifyBy) {
		r.phase = phVerifyWait
		f.wakeAt(r, now.Add(f.cfg.VerifyEvery))
		return
	}
	switch {
	case err != nil:
		r.lastErr = "accepted, but no read-back within " + f.cfg.VerifyWithin.String() + ": " + err.Error()
	case r.cmd == device.ActionSetPools:
		r.lastErr = "accepted, but the pools still differ after " + f.cfg.VerifyWithin.String()
	case r.cmd == device.ActionCurtail:
		r.lastErr = "accepted, but still hashing after " + f.cfg.VerifyWithin.String() + " (" + describe(rd) + ")"
	default:
		r.lastErr = "accepted, but not hashing after " + f.cfg.VerifyWithin.String() + " (" + describe(rd) + ")"
	}
	f.endCommand(r, now, endFailed, &ev, out)
}

// reconcile commands r when a reading disagrees with its Want (at most
// once per RetryEvery after a command ended badly; at once for the
// start-up read of a rig wanted asleep), and rewrites its pools when
// they differ from BindPools. Never for a monitor-only rig, an unknown
// Want, refused credentials or an unreachable rig. Locked.
func (f *Fleet) reconcile(r *rig, rd device.Reading, now time.Time, startup bool, out *outbox) {
	if r.m.MonitorOnly || r.authFailed || rd.State == device.StateUnreachable {
		return
	}
	var act device.Action
	switch {
	case r.want == device.StateSleeping && f.hashing(r, rd):
		act = device.ActionCurtail
	case r.want == device.StateMining && f.idle(r, rd):
		act = device.ActionResume
	}
	if act != 0 && (startup || !now.Before(r.retryAt)) {
		f.stats.Reconciles++
		f.request(r, act, now, out)
		return
	}
	if len(r.m.BindPools) > 0 && rd.Pools != nil && !samePools(rd.Pools, r.m.BindPools) &&
		!now.Before(r.poolRetryAt) {
		if _, ok := r.drv.(device.PoolDriver); ok {
			f.request(r, device.ActionSetPools, now, out)
		}
	}
}
