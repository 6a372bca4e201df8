package proxy

// Rig is what the Gate is told about a miner connection: the rig's name is
// the first worker it authorized with.
type Rig struct {
	ConnID uint64
	Name   string
	Remote string
}

// Gate decides whether an authorized rig may get jobs now. cmd sets it;
// until the switcher exists it is AlwaysAdmit. A Gate that changes its mind
// later tells the Server through SetAdmission.
type Gate interface {
	// Authorized is asked once per connection, when it is first named.
	Authorized(r Rig) bool
	// Disconnected is told when that connection closes.
	Disconnected(r Rig)
}

// AlwaysAdmit admits every rig.
type AlwaysAdmit struct{}

// Authorized always says yes.
func (AlwaysAdmit) Authorized(Rig) bool { return true }

// Disconnected does nothing.
func (AlwaysAdmit) Disconnected(Rig) {}
