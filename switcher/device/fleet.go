package device

import "time"

// Managed is one rig the fleet manages through its firmware, as the
// switcher describes it. The switcher hands the fleet the whole set
// (SetRigs) whenever it changes; the fleet reads each rig on its
// schedule and runs the commands the switcher asks for.
type Managed struct {
	Name     string   // the rig's name in hashgate
	Firmware string   // the driver: "antminer", "braiins", ...
	Address  string   // host, or host:port
	Options  *Options // the group's, shared
	// MonitorOnly: read, never act (a stratum group's monitor).
	MonitorOnly bool
	// Want is what the switcher last decided for the rig: StateSleeping
	// (curtailed), StateMining (resumed in this process's life), or
	// StateUnknown (no decision yet: never acted upon). After a restart
	// the switcher passes StateSleeping for rigs it holds curtailed, so
	// the fleet finishes a plan cut short, StateMining for rigs it had
	// resumed through their device (a resume cut short is finished too),
	// and StateUnknown for the others, so a restart never wakes a rig
	// hashgate did not decide to wake.
	Want State
	// IdleW is the draw under which a sleeping rig's reported power
	// counts as idle (the group's idle_kw, in W, with a margin).
	IdleW float64
	// BindPools: when set, a rig whose pool list differs is rewritten
	// to this list.
	BindPools []Pool
}

// Action is what a command asked of a rig.
type Action uint8

// Actions.
const (
	ActionCurtail Action = iota + 1
	ActionResume
	ActionSetPools
)

var actionNames = [...]string{"", "curtail", "resume", "set_pools"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "unknown"
}

// Outcome is how one command ended, after its retries and its
// verification by read-back.
type Outcome struct {
	Rig      string
	Action   Action
	Accepted bool // the device accepted the command (its word only)
	// Verified: a read back after the command shows the rig in the
	// wanted state. Accepted && !Verified is the lying device.
	Verified bool
	Attempts int
	Err      string   // the last error, "" when none (never holds a secret)
	Evidence *Reading // the last read back, nil when none could be made
	Took     time.Duration
	At       time.Time
}
