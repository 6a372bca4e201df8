package switcher

// The managed set handed to the fleet, the outcome summaries, and the
// devices as the status and the workers API show them (see devices.go).

import (
	"cmp"
	"slices"
	"time"

	"github.com/hashgate/hashgate/switcher/device"
)

// DeviceStatus is a rig's device as the workers API shows it: its state
// as last read ("unknown" before any reading), power and hashrate (nil
// when the firmware does not report them), and when it was read (nil:
// never). CheckedAt says how old it is: readings older than
// DeviceStaleAfter no longer count.
type DeviceStatus struct {
	State       string     `json:"state"`
	PowerW      *float64   `json:"power_w"`
	HashrateTHs *float64   `json:"hashrate_ths"`
	CheckedAt   *time.Time `json:"checked_at"`
}

// deviceStatusLocked is r's DeviceStatus; nil for a rig no fleet reads.
func (s *Switcher) deviceStatusLocked(r *rigRec) *DeviceStatus {
	if !s.monitoredLocked(r) {
		return nil
	}
	d := &r.dev
	ds := &DeviceStatus{State: d.state.String()}
	if d.at.IsZero() {
		ds.State = device.StateUnknown.String()
		return ds
	}
	t := d.at.UTC()
	ds.CheckedAt = &t
	if d.has&devHasPower != 0 {
		p := float64(d.powerW)
		ds.PowerW = &p
	}
	if d.has&devHasHashrate != 0 {
		h := float64(d.hashTHs)
		ds.HashrateTHs = &h
	}
	return ds
}

// deviceTotalsLocked fills the status's measured load and device counts.
func (s *Switcher) deviceTotalsLocked(st *Status, now time.Time) {
	st.Devices = map[string]int{}
	for _, x := range []device.State{device.StateMining, device.StateSleeping, device.StateUnreachable, device.StateUnknown} {
		st.Devices[x.String()] = 0
	}
	if s.cfg.Devices == nil {
		return
	}
	var mw int64
	for _, r := range s.rigs {
		if !s.managedRigLocked(r) {
			continue
		}
		d := &r.dev
		st.Devices[d.state.String()]++
		if d.has&devHasPower != 0 && d.state != device.StateUnreachable && now.Sub(d.at) < s.cfg.DeviceStaleAfter {
			mw += planDraw(float64(d.powerW) / 1000)
			st.MeasuredRigs++
		}
	}
	st.MiningLoadMeasuredKW = planKW(mw)
}

// managedLocked describes r for the fleet (ok false: not managed).
func (s *Switcher) managedLocked(r *rigRec) (m device.Managed, ok bool) {
	if !s.managedRigLocked(r) {
		return m, false
	}
	g, fg := r.group, s.devGroupLocked(r)
	m = device.Managed{Name: r.name, Address: r.devAddr, Options: g.Device, IdleW: deviceIdleW(g), Want: r.want}
	if fg == nil {
		m.Firmware, m.MonitorOnly, m.Want = g.Monitor, true, device.StateUnknown
		return m, true
	}
	m.Firmware, m.Options = fg.Actuator, fg.Device
	if fg == g && g.BindPools && len(s.cfg.PoolURLs) > 0 {
		m.BindPools = make([]device.Pool, len(s.cfg.PoolURLs))
		for i, u := range s.cfg.PoolURLs {
			m.BindPools[i] = device.Pool{URL: u, User: r.name, Password: "x"}
		}
	}
	return m, true
}

func sameManaged(a, b *device.Managed) bool {
	return a.Name == b.Name && a.Firmware == b.Firmware && a.Address == b.Address && a.Options == b.Options &&
		a.MonitorOnly == b.MonitorOnly && a.Want == b.Want && a.IdleW == b.IdleW && slices.Equal(a.BindPools, b.BindPools)
}

// buildManagedLocked rebuilds the managed set when something it depends
// on changed, and queues it for the fleet when it differs from the last.
func (s *Switcher) buildManagedLocked() {
	if !s.devDirty || s.cfg.Devices == nil {
		return
	}
	s.devDirty = false
	set := make([]device.Managed, 0, len(s.devLast))
	for _, r := range s.rigs {
		if m, ok := s.managedLocked(r); ok {
			set = append(set, m)
		}
	}
	slices.SortFunc(set, func(a, b device.Managed) int { return cmp.Compare(a.Name, b.Name) })
	if s.devGen > 0 && slices.EqualFunc(set, s.devLast, func(a, b device.Managed) bool { return sameManaged(&a, &b) }) {
		return
	}
	s.devLast, s.devPending = set, set
	s.devGen++
}

// flushDevices hands the managed set to the fleet if it changed, outside
// the lock; hand-overs keep their order (a later set is never replaced by
// an earlier one). The fleet must not modify the slice.
func (s *Switcher) flushDevices() {
	if s.cfg.Devices == nil {
		return
	}
	s.mu.Lock()
	s.buildManagedLocked()
	set, gen := s.devPending, s.devGen
	s.devPending = nil
	s.mu.Unlock()
	if set == nil {
		return
	}
	s.devMu.Lock()
	defer s.devMu.Unlock()
	if gen > s.devSent {
		s.devSent = gen
		s.counters.DeviceSetRigs.Add(1)
		s.cfg.Devices.SetRigs(set)
	}
}

// deviceReportEvery bounds the summaries of firmware outcomes.
const deviceReportEvery = 10 * time.Second

// deviceReport accumulates outcomes between summaries.
type deviceReport struct {
	oks, fails [4]int // by device.Action
	sample     []string
	lastAt     time.Time
}

func (d *deviceReport) ok(a device.Action) {
	if int(a) < len(d.oks) {
		d.oks[a]++
	}
}

func (d *deviceReport) failed(a device.Action, rig string) {
	if int(a) < len(d.fails) {
		d.fails[a]++
	}
	if len(d.sample) < boundSample {
		d.sample = append(d.sample, shortName(rig))
	}
}

// reportDevicesLocked logs and audits the outcomes since the last
// summary, at most once per deviceReportEvery: failures were audited one
// by one already, verified commands only here.
func (s *Switcher) reportDevicesLocked(now time.Time) {
	d := &s.devReport
	if d.oks == [4]int{} && d.fails == [4]int{} || now.Sub(d.lastAt) < deviceReportEvery {
		return
	}
	ok, failed := map[string]int{}, map[string]int{}
	for a := device.ActionCurtail; a <= device.ActionSetPools; a++ {
		if d.oks[a] > 0 {
			ok[a.String()] = d.oks[a]
		}
		if d.fails[a] > 0 {
			failed[a.String()] = d.fails[a]
		}
	}
	if len(ok) > 0 {
		s.event(Event{Kind: EventDeviceCommands, Fields: map[string]any{"verified": ok}})
		s.log.Info().Interface("verified", ok).Msg("firmware commands verified")
	}
	if len(failed) > 0 {
		s.log.Warn().Interface("failed", failed).Strs("sample", d.sample).Msg("firmware commands failed or not verified (see the audit log)")
	}
	*d = deviceReport{lastAt: now}
}
