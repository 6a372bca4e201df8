package proxy

// Rig is what the Gate is told about a miner connection: the rig's name is
// the first worker it authorized with.
type Rig struct {
	ConnID uint64
	Name   string
	Remote string
}

// Verdict is the Gate's answer for a rig that authorized.
type Verdict uint8

const (
	// Hold keeps the rig connected without work (parked, or waiting for
	// its turn) until SetAdmission admits it.
	Hold Verdict = iota
	// Admit gives it work now.
	Admit
	// Refuse answers its authorize with error 24 and closes it (and any
	// standby connection of the rig): the Gate keeps nothing of it, e.g.
	// a name it keeps no record of, or a network full of records. No
	// Disconnected follows.
	Refuse
)

// Gate decides whether an authorized rig may get jobs now. cmd sets it;
// until the switcher exists it is AlwaysAdmit. A Gate that changes its mind
// later tells the Server through SetAdmission.
//
// Per rig the calls are strictly ordered: Authorized once, and, unless it
// refused, Disconnected once after it returned, when the rig's last
// connection is gone (also if that happened while Authorized ran).
type Gate interface {
	// Authorized is asked once per rig, when its first connection is named.
	Authorized(r Rig) Verdict
	// Disconnected is told when its last connection closes.
	Disconnected(r Rig)
}

// AlwaysAdmit admits every rig.
type AlwaysAdmit struct{}

// Authorized always says yes.
func (AlwaysAdmit) Authorized(Rig) Verdict { return Admit }

// Disconnected does nothing.
func (AlwaysAdmit) Disconnected(Rig) {}
