package fleet

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hashgate/hashgate/switcher/device"
)

// jobKind is what a worker does with the rig it took.
type jobKind uint8

const (
	jCommand   jobKind = iota + 1 // r.cmd
	jVerify                       // read back after r.cmd was accepted
	jReconcile                    // start-up read of a rig wanted asleep
	jPoll                         // scheduled read
)

// job is one call, prepared under the lock and run without it.
type job struct {
	r      *rig
	kind   jobKind
	act    device.Action
	gen    uint32
	drv    device.Driver
	target device.Target
	pools  []device.Pool // set_pools
	wantPl bool          // read the pool list if Read did not
	polled bool          // taken from the poll queue: counted in Fleet.polling
	light  bool          // a light poll (device.LightReader)
	ctx    context.Context
	cancel context.CancelFunc
}

type result struct {
	err     error
	reading device.Reading
}

func (f *Fleet) worker() {
	defer f.wg.Done()
	var j job // one per worker: the driver gets &j.target
	for {
		var ok bool
		if j, ok = f.take(); !ok {
			return
		}
		res := run(&j)
		f.finish(&j, res)
	}
}

// take waits for work: curtails first, then resumes, read-backs, polls.
func (f *Fleet) take() (job, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for {
		if f.closed {
			return job{}, false
		}
		for id := qCurtail; id < nQueues; id++ {
			if id == qPoll && f.polling >= f.maxPolls {
				break // the rest of the workers are kept for commands
			}
			if r := f.qs[id].pop(); r != nil {
				j := f.prepare(r, id)
				if id == qPoll {
					j.polled = true
					f.polling++
				}
				return j, true
			}
		}
		f.cond.Wait()
	}
}

// prepare marks r busy and builds the call for the queue it came from. Locked.
func (f *Fleet) prepare(r *rig, from qid) job {
	j := job{r: r, gen: r.gen, drv: r.drv, act: r.cmd,
		target: device.Target{Rig: r.m.Name, Address: r.m.Address, Options: r.m.Options, Session: r.session}}
	switch {
	case from == qCurtail || from == qResume:
		j.kind = jCommand
		r.phase = phRunning
		r.attempts++
		f.stats.Attempts++
		if r.cmd == device.ActionSetPools {
			j.pools = r.m.BindPools
		}
	case r.phase == phVerifyQueued:
		j.kind = jVerify
		r.phase = phVerifying
		j.wantPl = r.cmd == device.ActionSetPools
	case from == qPri:
		j.kind = jReconcile
	default:
		j.kind = jPoll
	}
	if j.kind == jPoll {
		j.light = f.lightPoll(r)
	}
	if j.kind != jCommand && !j.light {
		j.wantPl = j.wantPl || len(r.m.BindPools) > 0 && !r.m.MonitorOnly
	}
	r.busy = true
	f.stats.InFlight++
	j.ctx, j.cancel = context.WithTimeout(f.ctx, r.m.Options.CallTimeout())
	r.cancel = j.cancel
	return j
}

// run makes the driver call; no lock held.
func run(j *job) result {
	defer j.cancel()
	t := &j.target
	if j.kind == jCommand {
		switch j.act {
		case device.ActionCurtail:
			return result{err: j.drv.Curtail(j.ctx, t)}
		case device.ActionResume:
			return result{err: j.drv.Resume(j.ctx, t)}
		}
		pd, ok := j.drv.(device.PoolDriver)
		if !ok {
			return result{err: fmt.Errorf("set pools: %w", device.ErrUnsupported)}
		}
		return result{err: pd.SetPools(j.ctx, t, j.pools)}
	}
	if j.light {
		rd, err := j.drv.(device.LightReader).ReadLight(j.ctx, t)
		return result{err: err, reading: rd}
	}
	rd, err := j.drv.Read(j.ctx, t)
	if err == nil && j.wantPl && rd.Pools == nil {
		if pd, ok := j.drv.(device.PoolDriver); ok {
			if pools, perr := pd.Pools(j.ctx, t); perr == nil {
				rd.Pools = pools
			}
		}
	}
	return result{err: err, reading: rd}
}

// finish records a call's result and reports it once the lock is released.
func (f *Fleet) finish(j *job, res result) {
	var out outbox
	now := f.cfg.Now()
	f.mu.Lock()
	r := j.r
	r.busy = false
	r.cancel = nil
	f.stats.InFlight--
	if j.polled {
		f.polling--
		f.cond.Signal() // a poll waiting for its share of workers may go
	}
	if f.closed || r.removed {
		f.mu.Unlock()
		return
	}
	if r.gen == j.gen {
		r.session = j.target.Session
	}
	if j.kind == jCommand {
		f.afterCommand(r, res.err, now, &out)
	} else {
		if j.light && res.err == nil {
			f.carryState(r, &res.reading)
		}
		rd := f.record(r, res, now)
		out.reading(r.m.Name, rd)
		switch {
		case j.kind == jVerify && r.phase == phVerifying:
			f.afterVerify(r, rd, res.err, now, &out)
		case r.cmd == 0 && r.intent == 0:
			f.reconcile(r, rd, now, j.kind == jReconcile, &out)
		}
	}
	f.applyIntent(r, now, &out)
	f.mu.Unlock()
	out.deliver(&f.cfg)
}

// lightPoll decides whether r's poll is a light one, and counts it: not
// before a reading with a state to carry over (the first poll, the one
// after a failed or stateless read are full). Locked.
func (f *Fleet) lightPoll(r *rig) bool {
	_, ok := r.drv.(device.LightReader)
	known := r.last.State == device.StateMining || r.last.State == device.StateSleeping
	if !ok || !known || int(r.lightPolls)+1 >= f.cfg.FullReadEvery {
		r.lightPolls = 0
		return false
	}
	r.lightPolls++
	return true
}

// carryState gives a light reading that does not say the state the
// state of r's last reading, when its power and hashrate agree with it
// (hashing and mining, idle and sleeping); else it stays unknown and
// r's next poll is a full read. Locked.
func (f *Fleet) carryState(r *rig, rd *device.Reading) {
	if rd.State != device.StateUnknown {
		return
	}
	if rd.HasPower || rd.HasHashrate {
		hashing := f.hashing(r, *rd)
		switch {
		case r.last.State == device.StateMining && hashing,
			r.last.State == device.StateSleeping && !hashing:
			rd.State = r.last.State
			return
		}
	}
	r.lightPolls = MaxFullReadEvery // the next poll is full
}

// record makes a call's result r's last reading. Locked.
func (f *Fleet) record(r *rig, res result, now time.Time) device.Reading {
	f.stats.Reads++
	rd := res.reading
	if res.err != nil {
		f.stats.ReadErrors++
		rd = device.Reading{State: device.StateUnreachable}
		if f.limiter.Allow("read_failed", now) {
			f.cfg.Log.Warn().Str("rig", r.m.Name).Str("firmware", r.m.Firmware).
				Str("error", res.err.Error()).Msg("fleet: read failed")
		}
	}
	rd.At = now
	r.last = rd
	return rd
}

// afterCommand: accepted → read back; retryable → back off; else end. Locked.
func (f *Fleet) afterCommand(r *rig, err error, now time.Time, out *outbox) {
	if err == nil {
		r.accepted, r.lastErr = true, ""
		r.phase = phVerifyWait
		r.verifyBy = now.Add(f.cfg.VerifyWithin)
		f.wakeAt(r, now.Add(f.cfg.VerifyEvery))
		return
	}
	r.lastErr = err.Error()
	if errors.Is(err, device.ErrAuth) {
		r.authFailed = true
	}
	if device.Retryable(err) && int(r.attempts) < f.cfg.Attempts && r.intent == 0 {
		f.stats.Retries++
		r.phase = phBackoff
		f.wakeAt(r, now.Add(f.backoff(int(r.attempts))))
		return
	}
	f.endCommand(r, now, endFailed, nil, out)
}

// backoff is the jittered wait before attempt n+1.
func (f *Fleet) backoff(n int) time.Duration {
	d := f.cfg.BackoffMin << min(n-1, 30)
	if d <= 0 || d > f.cfg.BackoffMax {
		d = f.cfg.BackoffMax
	}
	return d/2 + rand.N(d/2+1)
}
