package switcher

import (
	"time"

	"github.com/hashgate/hashgate/switcher/device"
	"github.com/hashgate/hashgate/switcher/firmware"
)

// Actuator names, as written in a group's actuator key.
const (
	ActuatorStratum = "stratum"
)

// firmwareActuators are the actuators that act through a rig's own
// management API (one driver package each under switcher/), in the order
// the docs list them (the one list, in package firmware). See firmwares
// for what each takes.
var firmwareActuators = firmware.Names()

// DefaultGroupName is the implicit group of rigs that match no group.
const DefaultGroupName = "default"

// Group is one [[group]] of the policy (or its [default]).
type Group struct {
	Name          string
	Workers       []string // globs on the rig name; first matching group wins
	RigKW         float64  // nameplate draw of one rig while mining
	IdleKW        float64  // draw while parked
	EfficiencyJTH float64
	Priority      int // higher mines longer: curtail from the tail of (priority desc, J/TH asc, name)
	Actuator      string
	// ActuatorOptions is [group.actuator_options] as written (file
	// paths, never what the files hold), for Diff and logs; Device is
	// what the drivers use.
	ActuatorOptions map[string]string
	// PoolsBound: the ops declare that every pool entry of these rigs is
	// hashgate (or the site's network blocks every other pool), so a rig
	// parked through Stratum has nowhere else to hash. Without it a
	// Stratum park is not evidence: real cgminer 4.13.6 switched to its
	// backup pool 10 s after a park and mined there for the whole
	// curtailment, so such a rig is counted (reported, judged for
	// compliance) at rig_kw until a device readback shows it idle.
	PoolsBound bool
	// Device is actuator_options resolved (credentials read from their
	// files) for a firmware actuator or a monitor; nil for stratum
	// without a monitor.
	Device *device.Options
	// Monitor names a firmware read (never acted upon) for a stratum
	// group: its rigs' state, power and pools verify Stratum parks.
	Monitor string
	// BindPools: rewrite the rigs' pool lists to hashgate's addresses
	// (bind_pools; only with a firmware whose driver can: antminer,
	// braiins, luxos, whatsminer, vnish).
	BindPools bool
	// EconomicExempt: `economic = false`, the group is never curtailed
	// for the power price (policy_economic.go).
	EconomicExempt bool

	// credentials fingerprints the credential files read for Device, by
	// option key ("password_file"), so that Diff can say a file's
	// content changed without holding it.
	credentials map[string]credentialSum
}

// Firmware is the driver a group's rigs are reached through: its firmware
// actuator, else its monitor; "" for a stratum group without a monitor.
func (g *Group) Firmware() string {
	if g.Actuator != ActuatorStratum {
		return g.Actuator
	}
	return g.Monitor
}

// Policy is the ops' policy file after validation.
type Policy struct {
	Path                 string
	SiteCapacityKW       float64
	ReserveKW            float64
	RampUpKWPerMin       float64 // resuming is rate limited; curtailing is not
	MinOff               time.Duration
	MinOn                time.Duration
	ReleaseVanishedAfter time.Duration // 0: never count a vanished parked rig as off
	Groups               []Group       // in file order
	Default              Group         // name "default", priority 0
	Cap                  CapPolicy     // cap mode and the fail-safe (capmode_policy.go)

	// Economic is the [economic] table: economic curtailment
	// (policy_economic.go, economic.go).
	Economic EconomicPolicy

	index *groupIndex // GroupFor's lookup, built by ParsePolicy or Compile
}

// InventoryRig is one line of the rig inventory (`[switcher] inventory`):
// a rig managed through its firmware whether or not it connects through
// the proxy, and the host (or host:port) of its management interface.
type InventoryRig struct {
	Name    string
	Address string
}

// DeviceFleet runs firmware actuators for the switcher (switcher/fleet
// implements it; cmd wires it). The switcher calls it outside its lock;
// its methods return at once (the work is queued), and it reports back
// through Switcher.DeviceReading and Switcher.DeviceOutcome from its own
// goroutines.
type DeviceFleet interface {
	// SetRigs replaces the set of firmware-managed rigs.
	SetRigs(rigs []device.Managed)
	// Curtail and Resume queue a command for a rig in the set; the latest
	// one for a rig wins, curtails run before resumes.
	Curtail(rig string)
	Resume(rig string)
}
