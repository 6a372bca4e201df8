package fleet

import (
	"container/heap"
	"time"
)

// scheduler wakes every tick: it releases due back-offs and read-backs,
// and queues the polls whose slot has come.
func (f *Fleet) scheduler() {
	defer f.wg.Done()
	t := time.NewTicker(f.tick)
	defer t.Stop()
	for {
		select {
		case <-f.ctx.Done():
			return
		case <-t.C:
			f.step(f.cfg.Now())
		}
	}
}

// step does one tick's work.
func (f *Fleet) step(now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.wakes) > 0 && !f.wakes[0].wakeAt.After(now) {
		r := heap.Pop(&f.wakes).(*rig)
		switch r.phase {
		case phBackoff:
			r.phase = phQueued
			f.enqueue(r, cmdQueue(r.cmd))
		case phVerifyWait:
			r.phase = phVerifyQueued
			f.enqueue(r, qPri)
		}
	}
	f.advancePolls(now)
}

// advancePolls queues every rig whose slot lies between the cursor and
// now's phase in the interval. After a stall longer than an interval it
// polls each rig once, not once per missed interval. Locked.
func (f *Fleet) advancePolls(now time.Time) {
	if len(f.sched) == 0 {
		return
	}
	elapsed := now.Sub(f.epoch)
	if elapsed < 0 {
		return
	}
	cycle := int64(elapsed / f.cfg.PollInterval)
	phase := elapsed % f.cfg.PollInterval
	if cycle > f.cycle {
		for ; f.cursor < len(f.sched); f.cursor++ {
			f.pollDue(f.sched[f.cursor])
		}
		f.cycle, f.cursor = cycle, 0
	}
	for ; f.cursor < len(f.sched) && f.sched[f.cursor].offset <= phase; f.cursor++ {
		f.pollDue(f.sched[f.cursor])
	}
}

// pollDue queues a poll of r unless r is busy, queued, or has a command
// in progress (whose read-backs stand for the poll). Locked.
func (f *Fleet) pollDue(r *rig) {
	switch {
	case r.cmd != 0:
	case r.busy || r.inQ != qNone:
		f.stats.PollsLate++
	default:
		f.enqueue(r, qPoll)
	}
}
