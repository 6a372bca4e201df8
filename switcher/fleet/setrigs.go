package fleet

import (
	"cmp"
	"hash/maphash"
	"slices"
	"time"

	"github.com/hashgate/hashgate/switcher/device"
)

var seed = maphash.MakeSeed()

// SetRigs replaces the set of managed rigs. Removed rigs lose their
// queued work and their call in flight is cancelled. A rig keeps its
// state across calls; a change of address, firmware or options resets
// its driver session, and new options lift a credentials block. A known
// Want replaces the rig's; an unknown one (StateUnknown) keeps it, and a
// rig whose Want is unknown is never commanded. A new rig with Want
// StateSleeping is read at once (ahead of polls) and curtailed if it is
// hashing: that finishes a plan a restart cut short.
func (f *Fleet) SetRigs(rigs []device.Managed) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.cfg.Now()
	seen := make(map[string]*rig, len(rigs))
	var added, noDriver, dup int
	var unknownFW string
	for i := range rigs {
		m := &rigs[i]
		drv := f.cfg.Drivers[m.Firmware]
		switch {
		case drv == nil:
			noDriver++
			unknownFW = m.Firmware
			continue
		case seen[m.Name] != nil || m.Name == "":
			dup++
			continue
		}
		r := f.rigs[m.Name]
		isNew := r == nil
		if isNew {
			r = &rig{heapIdx: -1, want: m.Want, hash: maphash.String(seed, m.Name)}
			added++
		}
		f.update(r, m, drv)
		seen[m.Name] = r
		if isNew && r.want == device.StateSleeping && !m.MonitorOnly {
			f.enqueue(r, qPri) // reconcile read
		}
	}
	removed := 0
	for name, r := range f.rigs {
		if seen[name] == nil {
			f.remove(r)
			removed++
		}
	}
	f.rigs = seen
	f.rebuildSchedule(now)
	if added+removed+noDriver+dup > 0 {
		f.cfg.Log.Info().Int("rigs", len(seen)).Int("added", added).Int("removed", removed).
			Int("no_driver", noDriver).Str("unknown_firmware", unknownFW).Int("duplicate", dup).Msg("fleet: rig set changed")
	}
}

// update copies m into r. Locked.
func (f *Fleet) update(r *rig, m *device.Managed, drv device.Driver) {
	if r.drv != drv || r.m.Address != m.Address || optionsChanged(r.m.Options, m.Options) {
		r.gen++
		r.session = nil
		r.authFailed = false
		r.retryAt, r.poolRetryAt = time.Time{}, time.Time{}
	}
	r.drv = drv
	r.m = *m
	if m.Want != device.StateUnknown {
		r.want = m.Want
	}
}

func optionsChanged(a, b *device.Options) bool {
	return !a.Equal(b)
}

// remove drops r's queued work and cancels its call in flight. Locked.
func (f *Fleet) remove(r *rig) {
	r.removed = true
	f.unqueue(r)
	f.unwake(r)
	if r.cancel != nil {
		r.cancel()
	}
	r.cmd, r.intent, r.phase = 0, 0, phNone
}

// rebuildSchedule spreads the rigs evenly over the poll interval in the
// order of their names' hash (stable across calls, so a change of the
// set moves each rig's slot little) and puts the cursor at the current
// phase, so no rig is read twice or all at once. Locked.
func (f *Fleet) rebuildSchedule(now time.Time) {
	f.sched = f.sched[:0]
	for _, r := range f.rigs {
		f.sched = append(f.sched, r)
	}
	slices.SortFunc(f.sched, func(a, b *rig) int { return cmp.Compare(a.hash, b.hash) })
	n := time.Duration(len(f.sched))
	for i, r := range f.sched {
		r.offset = f.cfg.PollInterval * time.Duration(i) / n
	}
	if !f.started {
		return
	}
	phase := now.Sub(f.epoch) % f.cfg.PollInterval
	f.cursor, _ = slices.BinarySearchFunc(f.sched, phase, func(r *rig, p time.Duration) int {
		if r.offset <= p {
			return -1
		}
		return 1
	})
}
