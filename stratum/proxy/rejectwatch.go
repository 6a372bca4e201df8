package proxy

import (
	"strconv"
	"time"
)

// Rejection watch defaults (PoolSpec; [[pools]] reject_window,
// reject_min_shares, reject_ratio). A healthy pool refuses a few percent
// at most: stale shares in flight at a block change, the odd duplicate.
// Half of them refused over five minutes is far outside that, and 20
// answers keep a small site (a few forwarded shares a minute) from being
// judged on two or three.
const (
	DefaultRejectWindow    = 5 * time.Minute
	DefaultRejectMinShares = 20
	DefaultRejectRatio     = 0.5
)

// maxRejectHoldoff bounds how long a pool left for its rejections waits
// before it is probed again.
const maxRejectHoldoff = time.Hour

type verdicts struct{ answered, rejected uint64 }

type verdictSample struct {
	at time.Time
	v  verdicts
}

// rejectWatch follows one pool's answers to the shares forwarded to it,
// from the counts its sessions keep (no work per share here): the
// supervisor samples them at most every window/8 and judges the ratio
// of refusals over the last window. It is under poolManager.mu.
type rejectWatch struct {
	base    verdicts        // sessions that ended, folded in
	live    []*upSession    // sessions whose counts are read live
	samples []verdictSample // cumulative counts, oldest first; samples[0] is the window's start

	rejecting bool
	since     time.Time
	ratio     float64 // refused/answered over the window at the last check (0 below RejectMinShares answers)
	strikes   int     // failovers for rejections since the pool last looked healthy
}

func (w *rejectWatch) total() verdicts {
	t := w.base
	for _, us := range w.live {
		a, r := us.sess.Verdicts()
		t.answered += a
		t.rejected += r
	}
	return t
}

// fold moves an ended session's counts into base.
func (w *rejectWatch) fold(us *upSession) {
	for i, x := range w.live {
		if x == us {
			a, r := us.sess.Verdicts()
			w.base.answered += a
			w.base.rejected += r
			w.live = append(w.live[:i], w.live[i+1:]...)
			return
		}
	}
}

// restart forgets the window: after a failover for rejections, the pool
// is judged again on answers it gives from then on only.
func (w *rejectWatch) restart() { w.samples = w.samples[:0] }

// check samples the counts and judges the window. It reports whether the
// pool just started or just stopped refusing; it stops when the ratio
// falls under half the threshold, so a pool near it does not flap.
func (w *rejectWatch) check(now time.Time, spec *PoolSpec) (started, ended bool) {
	cur := w.total()
	if n := len(w.samples); n == 0 || now.Sub(w.samples[n-1].at) >= spec.RejectWindow/8 {
		w.samples = append(w.samples, verdictSample{at: now, v: cur})
	}
	// Keep one sample at or before the window's start as its base.
	start := now.Add(-spec.RejectWindow)
	drop := 0
	for drop+1 < len(w.samples) && !w.samples[drop+1].at.After(start) {
		drop++
	}
	w.samples = append(w.samples[:0], w.samples[drop:]...)
	base := w.samples[0].v
	answered, rejected := cur.answered-base.answered, cur.rejected-base.rejected
	if answered < uint64(spec.RejectMinShares) {
		w.ratio = 0
		return false, false
	}
	w.ratio = float64(rejected) / float64(answered)
	switch {
	case !w.rejecting && w.ratio >= spec.RejectRatio:
		w.rejecting, w.since = true, now
		return true, false
	case w.rejecting && w.ratio < spec.RejectRatio/2:
		w.rejecting, w.since, w.strikes = false, time.Time{}, 0
		return false, true
	}
	return false, false
}

// holdoff is how long a pool left for its rejections waits before it is
// probed again: the window, doubled at each failover in a row.
func (w *rejectWatch) holdoff(window time.Duration) time.Duration {
	d := window << min(max(w.strikes-1, 0), 10)
	return min(d, maxRejectHoldoff)
}

// watchRejectsLocked runs the rejection watch of every pool and logs its
// changes, one line each. The pool in use, when it refuses shares and
// its spec allows a failover, is left for the next pool: its sessions are
// returned to be closed (their miners then move to the next pool's
// sessions), and it is probed again after a hold-off that doubles at
// each failover in a row, so a pool that still refuses after a failback
// is not taken back every failback_after.
func (m *poolManager) watchRejectsLocked(now time.Time) []*upSession {
	var toClose []*upSession
	for i := range m.pools {
		p := &m.pools[i]
		started, ended := p.watch.check(now, &p.spec)
		// Judged on this window (ratio is 0 below the minimum of answers):
		// after a failback the flag still stands, the evidence must be new.
		leave := i == m.active && p.watch.rejecting && p.watch.ratio >= p.spec.RejectRatio &&
			!p.spec.NoRejectFailover && len(m.pools) > 1
		if !started && !ended && !leave {
			continue
		}
		ev := m.srv.log.Info()
		msg := "pool accepts shares again"
		switch {
		case started:
			ev, msg = m.srv.log.Error(), "pool is rejecting shares: far more of them refused than normal"
		case leave:
			ev, msg = m.srv.log.Warn(), "pool is still rejecting shares"
		}
		ev = ev.Str("pool", p.spec.Name).Str("reject_ratio", formatRatio(p.watch.ratio)).Str("window", p.spec.RejectWindow.String())
		if !leave {
			ev.Msg(msg)
			continue
		}
		p.watch.strikes++
		hold := p.watch.holdoff(p.spec.RejectWindow)
		p.failures++
		p.lastErr = "rejecting shares: " + formatRatio(p.watch.ratio) + " refused over " + p.spec.RejectWindow.String()
		p.nextTry = now.Add(hold)
		p.watch.restart()
		ev.Str("retry_in", hold.String()).Int("sessions", len(m.sessions)).Msg(msg + ": failing over to the next pool")
		toClose = append(toClose, m.sessions...)
		m.sessions = nil
		m.active = -1
	}
	return toClose
}

// leftForRejects reports whether pool i was left for its rejections and
// is still held off: a session dialed for it before then is not used.
func (m *poolManager) leftForRejectsLocked(i int, now time.Time) bool {
	p := &m.pools[i]
	return p.watch.rejecting && i != m.active && now.Before(p.nextTry)
}

func formatRatio(r float64) string { return strconv.FormatFloat(100*r, 'f', 1, 64) + "%" }
