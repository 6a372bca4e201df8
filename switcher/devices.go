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
	"net/netip"
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

// MinHashingTHs is the hashrate above which a device is hashing (1 GH/s:
// scrypt rigs report a few GH/s, a sleeping rig 0). The fleet that runs
// the devices must judge with the same (its Config.MinHashTHs), or it
// verifies as asleep a rig the switcher then flags curtail_failed.
const MinHashingTHs = 0.001

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
	return d.state != device.StateUnreachable && d.reading().Hashing(MinHashingTHs, idleW)
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

// devGroupLocked is the group whose firmware actuator acts on r's
// device: its own group's, else the group that put it to sleep before a
// policy reload took the firmware actuator away (sleptBy: it must still
// be woken through its device); nil when none does, or no fleet runs.
func (s *Switcher) devGroupLocked(r *rigRec) *Group {
	switch {
	case s.cfg.Devices == nil:
		return nil
	case isFirmware(r.group):
		return r.group
	}
	return r.sleptBy
}

// deviceActsLocked: a fleet puts r to sleep and wakes it (its group has
// a firmware actuator, or had one when it put r to sleep).
func (s *Switcher) deviceActsLocked(r *rigRec) bool {
	return s.devGroupLocked(r) != nil
}

// monitoredLocked: a fleet reads r's device (a firmware actuator, or a
// monitor).
func (s *Switcher) monitoredLocked(r *rigRec) bool {
	return s.deviceActsLocked(r) || s.cfg.Devices != nil && r.group.Monitor != ""
}

// regroupLocked moves r to group g (a policy reload). A rig its device
// put to sleep keeps that device's firmware (sleptBy) until it is woken
// when g has no firmware actuator; a rig parked through Stratum whose
// group gets one is wanted asleep on its device too (the fleet's reads
// curtail it if it hashes), like a rig parked by a plan.
func (s *Switcher) regroupLocked(r *rigRec, g *Group) {
	old := r.group
	r.group = g
	switch {
	case isFirmware(g):
		r.sleptBy = nil
		if s.cfg.Devices != nil && r.state == RigParked && r.want == device.StateUnknown {
			r.want, r.heldAtAdmission = device.StateSleeping, false
		}
	case r.want == device.StateSleeping && isFirmware(old):
		r.sleptBy = old
	case r.want != device.StateSleeping:
		r.sleptBy = nil
	}
}

// awakeLocked notes that r's device was seen awake after a resume: a
// firmware kept only to wake it (sleptBy) is no longer needed.
func (s *Switcher) awakeLocked(r *rigRec) {
	if r.sleptBy != nil && r.want == device.StateMining {
		r.sleptBy, s.devDirty = nil, true
	}
}

// reachedLocked: r is on the site whatever the proxy says: in the
// inventory, or a firmware rig the switcher holds parked or mining whose
// device it can reach (counted, and acted on, as if connected).
func (s *Switcher) reachedLocked(r *rigRec) bool {
	return r.listed || (s.deviceActsLocked(r) && r.devAddr != "" && (r.state == RigParked || r.state == RigMining))
}

// managedRigLocked: r is in the set handed to the fleet, and its
// readings count: connected, reached, or parked (a monitored rig parked
// through Stratum that left is still read at its last address: what its
// device says counts, not the guess that it hashes elsewhere).
func (s *Switcher) managedRigLocked(r *rigRec) bool {
	return s.monitoredLocked(r) && r.devAddr != "" && (r.conns > 0 || r.state == RigParked || s.reachedLocked(r))
}

// curtailUnheldLocked: nothing holds r but a device command that failed,
// and no reading says what it does now: a firmware rig held, flagged
// curtail_failed (its curtail timed out, was refused, or went unverified),
// and not connected through the proxy, so no Stratum park holds it either.
// It is taken to draw what it drew before the curtail (ReportedKW, else
// rig_kw), as a device seen hashing is (device_hashing): planned so, so
// the plan curtails the next rig in its place. A hung management API is
// no evidence the rig stopped; planning it at idle_kw would leave the
// site over budget by its whole draw.
func (s *Switcher) curtailUnheldLocked(r *rigRec) bool {
	held := r.state == RigParked || r.state == RigPending
	return held && r.curtailFail && r.conns == 0 && s.deviceActsLocked(r) && r.devAddr != ""
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
	if pr.VerifiedIdle && !r.dev.at.IsZero() && now.Sub(r.dev.at) >= s.cfg.DeviceStaleAfter {
		// The reading that verified the park is stale: no longer shown.
		pr.VerifiedIdle = false
	}
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
		pr.DeviceHashing = s.curtailUnheldLocked(r)
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
