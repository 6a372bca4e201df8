package switcher

// The firmware side of the switcher: which rigs the fleet (Config.Devices)
// manages and what it is told about them, the rig inventory, and what the
// fleet's readings and outcomes change in the counting (see the package
// comment's power accounting).
//
// A rig is managed through its device when its group has a firmware
// actuator (or, read only, a monitor), a fleet is configured, and its
// device has an address: the inventory's, else the host its connection
// came from (kept while it is parked or mining: a rig asleep never
// reconnects and must still be woken). Managed rigs are handed to the
// fleet with Devices.SetRigs when the set changes (connections, the
// inventory, the policy, a decision), not on every tick.

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/hashgate/hashgate/switcher/device"
)

// Audit event kinds of the firmware side.
const (
	// EventInventory: the rig inventory was (re)loaded.
	EventInventory = "inventory"
	// EventDeviceCommands: a summary of the firmware commands that ended
	// verified since the last one (one event, not one per rig).
	EventDeviceCommands = "device_commands"
	// EventDeviceCommandFailed: a firmware command other than a curtail
	// or a resume failed (those are curtail_failed / resume_failed).
	EventDeviceCommandFailed = "device_command_failed"
	// EventPoolsUnbound: a rig's device lists a pool that is not
	// hashgate, or no longer does.
	EventPoolsUnbound = "pools_unbound"
)

// minHashingTHs is the hashrate above which a device is hashing (1 GH/s:
// scrypt rigs report a few GH/s, a sleeping rig 0).
const minHashingTHs = 0.001

// deviceIdleW is the draw in W under which a device's reported power is
// idle: the group's idle_kw with a margin of half of it, at least 100 W
// (PSU fans and control boards vary from rig to rig).
func deviceIdleW(g *Group) float64 {
	return 1000 * max(1.5*g.IdleKW, g.IdleKW+0.1)
}

// isFirmware: the group's actuator is a firmware (not the Stratum park).
func isFirmware(g *Group) bool {
	return g.Actuator != "" && g.Actuator != ActuatorStratum
}

// devReading is a device.Reading kept compactly in a rig's record: the
// fleet budgets 2 KiB per rig, and the switcher keeps 50,000 of these.
type devReading struct {
	at      time.Time
	powerW  float32
	hashTHs float32
	state   device.State
	has     uint8
}

const (
	devHasPower uint8 = 1 << iota
	devHasHashrate
)

func compactReading(rd device.Reading) devReading {
	d := devReading{at: rd.At, state: rd.State, powerW: float32(rd.PowerW), hashTHs: float32(rd.HashrateTHs)}
	if rd.HasPower {
		d.has |= devHasPower
	}
	if rd.HasHashrate {
		d.has |= devHasHashrate
	}
	return d
}

func (d *devReading) reading() device.Reading {
	return device.Reading{State: d.state, PowerW: float64(d.powerW), HasPower: d.has&devHasPower != 0,
		HashrateTHs: float64(d.hashTHs), HasHashrate: d.has&devHasHashrate != 0, At: d.at}
}

// hashing: the reading shows the rig hashing (an unreachable one shows
// nothing).
func (d *devReading) hashing(idleW float64) bool {
	return d.state != device.StateUnreachable && d.reading().Hashing(minHashingTHs, idleW)
}

// material says whether a new reading changes the counting enough to
// plan again: its state, whether it hashes, what it reports, or its power
// by more than 50 W and 2 %.
func material(old, nu *devReading, idleW float64) bool {
	if old.state != nu.state || old.has != nu.has || old.hashing(idleW) != nu.hashing(idleW) {
		return true
	}
	if nu.has&devHasPower == 0 {
		return false
	}
	d := float64(nu.powerW - old.powerW)
	if d < 0 {
		d = -d
	}
	return d > 50 && d > 0.02*float64(max(old.powerW, nu.powerW))
}

// deviceActsLocked: a fleet puts r to sleep and wakes it (its group has
// a firmware actuator).
func (s *Switcher) deviceActsLocked(r *rigRec) bool {
	return s.cfg.Devices != nil && isFirmware(r.group)
}

// monitoredLocked: a fleet reads r's device (a firmware actuator, or a
// monitor).
func (s *Switcher) monitoredLocked(r *rigRec) bool {
	return s.cfg.Devices != nil && (isFirmware(r.group) || r.group.Monitor != "")
}

// reachedLocked: r is on the site whatever the proxy says: in the
// inventory, or a firmware rig the switcher holds parked or mining whose
// device it can reach (counted, and acted on, as if connected).
func (s *Switcher) reachedLocked(r *rigRec) bool {
	return r.listed || (s.deviceActsLocked(r) && r.devAddr != "" && (r.state == RigParked || r.state == RigMining))
}

// managedRigLocked: r is in the set handed to the fleet, and its
// readings count.
func (s *Switcher) managedRigLocked(r *rigRec) bool {
	return s.monitoredLocked(r) && r.devAddr != "" && (r.conns > 0 || s.reachedLocked(r))
}

// remoteHost is the host of a connection's remote address ("" when it is
// not an IP address: an in-memory connection).
func remoteHost(remote string) string {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap().WithZone("").String()
	}
	if a, err := netip.ParseAddr(remote); err == nil {
		return a.Unmap().WithZone("").String()
	}
	return ""
}

// deviceArrivedLocked notes a connection of r: a rig not in the inventory
// is reached at its remote host.
func (s *Switcher) deviceArrivedLocked(r *rigRec) {
	if !r.listed {
		if h := remoteHost(r.remote); h != "" {
			r.devAddr = h
		}
	}
	if s.monitoredLocked(r) {
		s.devDirty = true
	}
}

// deviceViewLocked adds r's device to the planner's view of it: whether
// it is reached without a connection, its measured draw, and whether it
// hashes. A reading counts when it is fresh (DeviceStaleAfter), made after
// the last command, and not the command taking effect: a held rig still
// hashing, or a resumed one still asleep, within DeviceVerifyWindow of the
// command (unless already flagged).
func (s *Switcher) deviceViewLocked(r *rigRec, now time.Time, pr *Rig) {
	acts := s.deviceActsLocked(r) && r.devAddr != ""
	switch {
	case r.listed:
		pr.Reached, pr.ByDevice = true, acts
	case acts && (r.state == RigParked || r.state == RigMining):
		pr.Reached, pr.ByDevice = true, true
	}
	if !s.managedRigLocked(r) {
		return
	}
	pr.WontWake = r.wontWake
	d := &r.dev
	if r.minedW > 0 && d.state != device.StateUnreachable {
		pr.ReportedKW = float64(r.minedW) / 1000
	}
	if d.at.IsZero() || d.state == device.StateUnreachable || now.Sub(d.at) >= s.cfg.DeviceStaleAfter || d.at.Before(r.devActed) {
		return
	}
	hashing := d.hashing(deviceIdleW(r.group))
	held := r.state == RigParked || r.state == RigPending
	win := s.cfg.DeviceVerifyWindow
	switch {
	case hashing && held && !r.curtailFail && !r.curtailedAt.IsZero() && d.at.Before(r.curtailedAt.Add(win)):
		return // going to sleep: an unverified park for now
	case !hashing && r.state == RigMining && !r.wontWake && !r.resumedAt.IsZero() && d.at.Before(r.resumedAt.Add(win)):
		return // waking: at its full draw for now
	}
	pr.DeviceHashing = hashing
	if d.has&devHasPower != 0 {
		pr.MeasuredKW, pr.HasMeasured = float64(d.powerW)/1000, true
	}
}

// SetInventory puts the rig inventory in force: every rig listed is
// managed and counted whether or not it connects through the proxy, and
// reached at its listed address. A rig listed that the switcher does not
// hold parked is counted as mining at its group's rig_kw (the safe side)
// until its device reports otherwise. Records of listed rigs are bounded
// by the inventory and are neither capped per network nor forgotten while
// listed; a rig no longer listed goes back to the common rules. Call it
// before Start (after New), so the first plan counts the inventory.
// Entries with a name no record is kept for, or no address, are skipped
// (the inventory's parser refuses them first).
func (s *Switcher) SetInventory(rigs []InventoryRig) {
	now := s.cfg.Now()
	want := make(map[string]string, len(rigs))
	skipped := 0
	for _, ir := range rigs {
		if validRigName(ir.Name) != nil || ir.Address == "" {
			skipped++
			continue
		}
		want[ir.Name] = ir.Address
	}
	s.mu.Lock()
	removed, added := 0, 0
	for name, r := range s.rigs {
		if _, ok := want[name]; r.listed && !ok {
			s.unlistLocked(r, now)
			removed++
		}
	}
	for name, addr := range want {
		r := s.rigs[name]
		if r == nil {
			r = &rigRec{name: name, group: s.policy.GroupFor(name), state: RigMining}
			s.rigs[name] = r
			added++
		}
		if !r.listed {
			s.markOnlineLocked(r) // not counted in its network's offline records any more
			r.listed, r.pinnedAhead = true, false
			if r.conns == 0 && r.state != RigParked {
				r.state, r.knownMining = RigMining, false
			}
		}
		r.devAddr = addr
	}
	s.stale, s.dirty, s.devDirty = true, true, true
	s.mu.Unlock()
	if skipped > 0 {
		s.log.Warn().Int("skipped", skipped).Msg("inventory: entries without a valid name or address skipped")
	}
	s.log.Info().Int("rigs", len(want)).Int("new", added).Int("removed", removed).Msg("inventory in force")
	s.event(Event{Kind: EventInventory, Fields: map[string]any{"rigs": len(want), "new": added, "removed": removed, "skipped": skipped}})
	s.poke()
}

// unlistLocked returns r, no longer in the inventory, to the common
// rules: reached at its remote host when it connects, offline (and
// counted in its network) when it does not, unless it is a firmware rig
// held parked, which its device still reaches.
func (s *Switcher) unlistLocked(r *rigRec, now time.Time) {
	r.listed = false
	if h := remoteHost(r.remote); r.conns > 0 && h != "" {
		r.devAddr = h
	}
	if r.conns > 0 {
		return
	}
	switch {
	case r.state == RigParked && s.deviceActsLocked(r):
	case r.state == RigParked:
		if r.awaySince.IsZero() {
			r.awaySince = now
		}
	case r.state == RigMining:
		r.state, r.since = RigOffline, now
		r.knownMining, r.knownUntil = true, now.Add(s.cfg.KnownMiningGrace)
	default:
		r.state, r.since = RigOffline, now
	}
	s.markOfflineLocked(r)
}

// DeviceReading takes a reading of rig's device from the fleet (any
// goroutine; the fleet holds none of its locks). The last one is kept in
// the rig's record; it replaces the policy's figures in the counting
// (measured power, hashing whatever the proxy thinks), verifies a park
// (asleep) or flags it curtail_failed (still hashing DeviceVerifyWindow
// after the curtail: counted at its measured draw, and the curtail is
// sent again), and flags a resume that did not wake the rig. A reading
// older than the one kept, or of a rig not managed, is ignored.
func (s *Switcher) DeviceReading(rig string, rd device.Reading) {
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
	if r.state == RigParked || r.state == RigPending {
		if idle := asleep && !rd.At.Before(r.curtailedAt); idle != r.deviceIdle {
			r.deviceIdle, s.stale = idle, true
		}
		switch {
		case asleep && r.curtailFail && after(r.curtailedAt):
			r.curtailFail, s.stale = false, true
			s.event(Event{Kind: EventCurtailFail, Rig: r.name, Fields: map[string]any{"cleared": true, "source": source, "state": rd.State}})
		case hashing && !r.curtailFail && after(r.curtailedAt.Add(s.cfg.DeviceVerifyWindow)):
			s.curtailFailedLocked(r, rd, source, "")
			again = s.deviceActsLocked(r) && r.want == device.StateSleeping
		}
	}
	if r.state == RigMining {
		switch {
		case hashing && r.wontWake:
			r.wontWake, r.resumeFail, s.stale = false, false, true
			s.event(Event{Kind: EventResumeFail, Rig: r.name, Fields: map[string]any{"cleared": true, "source": source}})
		case asleep && !r.wontWake && r.want == device.StateMining && after(r.resumedAt.Add(s.cfg.DeviceVerifyWindow)):
			s.resumeFailedLocked(r, &rd, source, "")
		}
	}
	return again
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
	r.curtailFail, r.deviceIdle, s.stale = true, false, true
	s.counters.CurtailFailed.Add(1)
	f := evidence(map[string]any{"source": source, "curtailed_at": r.curtailedAt}, &rd)
	if errText != "" {
		f["error"] = errText
	}
	s.event(Event{Kind: EventCurtailFail, Rig: r.name, Fields: f})
	s.devReport.failed(device.ActionCurtail, r.name)
}

// resumeFailedLocked flags r resume_failed: its device did not wake. It
// is not counted as mining: at its measured draw, else idle_kw.
func (s *Switcher) resumeFailedLocked(r *rigRec, rd *device.Reading, source, errText string) {
	r.wontWake, r.resumeFail, s.stale = true, true, true
	s.counters.ResumeFailed.Add(1)
	f := evidence(map[string]any{"source": source, "resumed_at": r.resumedAt}, rd)
	if errText != "" {
		f["error"] = errText
	}
	s.event(Event{Kind: EventResumeFail, Rig: r.name, Fields: f})
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
	if o.Evidence != nil {
		ev := *o.Evidence
		if ev.At.IsZero() {
			ev.At = o.At
		}
		s.readingLocked(r, ev, "device_outcome")
	}
	again := s.outcomeLocked(r, &o)
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
	default:
		// A pool rewrite, or a command a later decision overtook.
		f := evidence(map[string]any{"action": o.Action, "accepted": o.Accepted, "attempts": o.Attempts, "error": o.Err}, o.Evidence)
		s.event(Event{Kind: EventDeviceCommandFailed, Rig: r.name, Fields: f})
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
		f["pool"] = other
	}
	s.event(Event{Kind: EventPoolsUnbound, Rig: r.name, Fields: f})
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
	g := r.group
	m = device.Managed{Name: r.name, Firmware: g.Actuator, Address: r.devAddr, Options: g.Device, IdleW: deviceIdleW(g), Want: r.want}
	if !isFirmware(g) {
		m.Firmware, m.MonitorOnly, m.Want = g.Monitor, true, device.StateUnknown
		return m, true
	}
	if g.BindPools && len(s.cfg.PoolURLs) > 0 {
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
