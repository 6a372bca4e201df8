package switcher

import (
	"cmp"
	"math"
	"time"
)

// RigState is where the planner sees a rig.
type RigState uint8

const (
	// RigOffline is a known rig with no connection (the zero value: such a
	// rig counts 0 kW and is never acted on).
	RigOffline RigState = iota
	// RigMining has work and draws its full power.
	RigMining
	// RigParked is curtailed: held without work (connected) or away.
	RigParked
	// RigPending is connected and waits for admission, held without work.
	RigPending
)

func (s RigState) String() string {
	switch s {
	case RigOffline:
		return "offline"
	case RigMining:
		return "mining"
	case RigParked:
		return "parked"
	case RigPending:
		return "pending"
	}
	return "unknown"
}

// Pin is an operator's override on one rig (PUT /api/v1/rigs/{name}/pin).
type Pin string

// Pin modes. Any other value, "auto" included, is PinAuto.
const (
	PinAuto Pin = ""
	PinOn   Pin = "on"  // never curtailed
	PinOff  Pin = "off" // parked and never resumed (maintenance)
)

// Rig is one rig (one miner connection) as the planner sees it.
type Rig struct {
	Name  string
	Group *Group // resolved by the caller; nil: the policy's default group

	State RigState
	// Since is when the rig entered State: min_on counts from it for a
	// mining rig, min_off for a parked one. Zero: long ago.
	Since time.Time
	// Connected: a live connection. A mining or pending rig that is not
	// connected counts as offline; a parked one may be away (see AwaySince).
	Connected bool
	// Reached: the rig is known to be on the site whatever the proxy
	// says (it is in the rig inventory, or its firmware actuator reaches
	// it): it is counted as if connected. ByDevice: its firmware actuator
	// can act on it, so the planner curtails and resumes it as if
	// connected; ByDevice implies Reached.
	Reached  bool
	ByDevice bool
	// AwaySince is when a parked rig disconnected; release_vanished_after
	// counts from it. Zero with LeftWhileParked: never released.
	AwaySince time.Time
	// LeftWhileParked: a parked rig disconnected and stayed away (flagged
	// left_while_parked); it is counted at its full draw, since it may be
	// hashing on a backup pool.
	LeftWhileParked bool
	// KnownMining: the state file says the rig was mining when hashgate
	// stopped; it is readmitted at once when it reconnects, and its room is
	// kept while it is offline. The caller clears it.
	KnownMining bool
	// KnownByReconnect: KnownMining because the rig was mining when its
	// connection closed in this run (not from the state file): its
	// readmission reads ReasonReconnected, not ReasonReadmitted.
	KnownByReconnect bool

	Pin Pin
	// VerifiedIdle: a device readback shows this parked rig idle (its
	// hashboards stopped, Switcher.DeviceReading or SetDeviceIdle), which
	// makes its park count at idle_kw (or its measured draw) whatever its
	// group's pools_bound says.
	VerifiedIdle bool
	// CurtailFailed: the rig kept submitting shares after it was parked,
	// or its device did not go to sleep (flagged curtail_failed): its
	// park counts at rig_kw whatever pools_bound or a readback say (at
	// its measured draw, planned so too, once its device shows it
	// hashing: DeviceHashing).
	CurtailFailed bool
	// DeviceHashing: its device reports it hashing (by state, hashrate or
	// power). A rig that is not mining as the switcher sees it (parked,
	// pending, offline) is then counted and planned at its measured draw
	// (rig_kw if none) as device_hashing, and never resumed by the plan
	// (resuming it would cost nothing; its curtail is being retried).
	DeviceHashing bool
	// WontWake: its device did not wake after a resume (resume_failed):
	// this mining rig is counted at its measured draw, else idle_kw.
	WontWake bool
	// HasMeasured: MeasuredKW is the draw its device measured last. It
	// replaces the policy's figure whatever the rig's state, in the load
	// planned and the load counted. A mining rig measured is also
	// curtailed for its measured draw; a parked one resumes to ReportedKW
	// or rig_kw.
	HasMeasured bool
	MeasuredKW  float64
	// ReportedKW is the rig's draw while mining, when known better than
	// the group's rig_kw (the switcher gives the last its device measured
	// while hashing); 0: unknown, rig_kw is used.
	ReportedKW float64
	// HashrateTHs is measured from shares; it feeds Plan.LoadEstKW only.
	HashrateTHs float64
}

// Allocation is one PUT /api/v1/allocation.
type Allocation struct {
	AIKW      float64   `json:"ai_kw"`
	Reason    string    `json:"reason"`
	Who       string    `json:"who,omitempty"`       // the API token's name
	At        time.Time `json:"at"`                  // when it was made
	Until     time.Time `json:"until,omitzero"`      // zero: none; else the allocation before it returns then
	Emergency bool      `json:"emergency,omitempty"` // ignore min_on, hold every resume until a non-emergency allocation
}

// InForce reports whether a is in force at now (no Until, or Until ahead).
func (a Allocation) InForce(now time.Time) bool {
	return a.Until.IsZero() || now.Before(a.Until)
}

// sameRequest: the same PUT body again (who and when aside).
func (a Allocation) sameRequest(b Allocation) bool {
	return a.AIKW == b.AIKW && a.Reason == b.Reason && a.Emergency == b.Emergency && a.Until.Equal(b.Until)
}

// PushAllocation returns the allocation stack after a new allocation at now:
// allocations that have given way are dropped from the top; the same request
// as the one in force is a no-op (the stack is returned unchanged); an
// allocation without Until replaces the whole stack; one with Until is pushed
// on top of the one in force, which returns at Until. stack is not modified.
func PushAllocation(stack []Allocation, a Allocation, now time.Time) []Allocation {
	top := inForce(stack, now)
	stack = stack[:top+1]
	if top >= 0 && stack[top].sameRequest(a) {
		return stack
	}
	if a.Until.IsZero() {
		return []Allocation{a}
	}
	return append(stack[:len(stack):len(stack)], a)
}

// inForce is the index of the allocation in force at now, -1 for none.
func inForce(stack []Allocation, now time.Time) int {
	for i := len(stack) - 1; i >= 0; i-- {
		if stack[i].InForce(now) {
			return i
		}
	}
	return -1
}

// RampState is the resume rate limiter's window, carried between plans.
type RampState struct {
	WindowStart time.Time // start of the current one-minute window; zero: none open
	ResumedKW   float64   // load added by resumes in that window
}

// rampWindow is how long ramp_up_kw_per_min applies to.
const rampWindow = time.Minute

// Input is everything a plan depends on.
type Input struct {
	Policy      *Policy // required
	Rigs        []Rig
	Allocations []Allocation // oldest first; see PushAllocation
	Ramp        RampState    // as returned by the previous plan

	// Limits bound the mining budget besides the allocation (cap mode,
	// the fail-safe: capmode.go); the tightest rule wins.
	Limits []BudgetLimit

	// Uneconomic: the groups curtailed for the power price, by name
	// (DefaultGroupName for the default group), with the reason their
	// rigs are parked (ReasonUneconomic + figures); see economic.go.
	Uneconomic map[string]string
}

// Action is one rig in a plan list.
type Action struct {
	Rig    int    `json:"-"` // index in Input.Rigs (names may repeat)
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// Reasons given in plans. A min_off deferral reads ReasonMinOff followed by
// the time of day (HH:MM:SS, in the location of the rig's Since) it ends.
const (
	ReasonPinnedOff     = "pinned off"
	ReasonPinnedOn      = "pinned on"
	ReasonOverBudget    = "over budget"
	ReasonMinOnOverride = "over budget, min_on overridden"
	ReasonEmergency     = "emergency"
	ReasonFits          = "fits budget"
	ReasonAdmitted      = "admitted"
	ReasonReadmitted    = "readmitted after restart"
	// ReasonReconnected: a rig mining when its connection closed, back
	// within KnownMiningGrace (a pool failover that asks miners to
	// reconnect, a rig reboot, a network blip: the switcher sees only the
	// connection close and come back, not why).
	ReasonReconnected   = "readmitted on reconnect: mining when its connection closed"
	ReasonNoFit         = "does not fit budget"
	ReasonEmergencyHold = "emergency hold"
	ReasonRampLimit     = "ramp limit"
	ReasonMinOff        = "min_off until "
)

// Plan is what MakePlan decides. Lists are in the order the actions should
// be applied: curtailments tail first, resumes head first.
type Plan struct {
	At          time.Time
	Allocation  Allocation   // in force at At (zero when none)
	Allocations []Allocation // Input.Allocations without those that gave way
	Emergency   bool         // resumes are held

	CapacityKW     float64
	ReserveKW      float64
	AIKW           float64
	MiningBudgetKW float64 // capacity − reserve − AI, at least 0, or a tighter limit's (BudgetRule)
	LoadKW         float64 // now
	LoadAfterKW    float64 // once Curtail, Resume and Park are applied
	LoadEstKW      float64 // Σ hashrate × J/TH: reported, never used
	// LeftWhileParkedKW is the part of LoadKW drawn (as far as we know) by
	// parked rigs that left and are not released.
	LeftWhileParkedKW float64
	// Compliant: LoadAfterKW ≤ MiningBudgetKW, the load the plan is made
	// with (parks at idle_kw), and AI + reserve ≤ capacity. What is
	// reported and judged is CountedCompliant.
	Compliant bool

	// The load as reported and judged: unverified parks at their full
	// draw (see the package comment's power accounting).
	CountedLoadKW      float64 // now
	CountedLoadAfterKW float64 // once the plan is applied
	CountedCompliant   bool    // CountedLoadAfterKW ≤ MiningBudgetKW, and AI + reserve ≤ capacity
	// Counted splits CountedLoadAfterKW by how each rig is counted
	// (indexed by CountedAs).
	Counted [NumCountedAs]CountedLoad
	// PinnedOnKW is the part of Counted[CountedMining] drawn by rigs
	// pinned on (they mine whatever the budget).
	PinnedOnKW float64

	Curtail  []Action // mining rigs to park
	Resume   []Action // parked or pending rigs to give work
	Park     []Action // pending rigs parked at admission (they hold no work)
	Deferred []Action // rigs the plan wants to act on, or could, but may not yet

	// ETASeconds estimates how long until the resumes this plan wants and
	// defers (ramp, min_off) are all done: the later of the last min_off end
	// and the ramp windows their load needs. 0 when nothing waits.
	ETASeconds float64
	Ramp       RampState // persist and pass to the next plan

	// BudgetRule names the rule MiningBudgetKW comes from: "allocation"
	// (capacity − reserve − AI), "cap" (cap − measured non-mining −
	// reserve) or "failsafe" (safe_budget_kw); CapKW is the site cap in
	// force (0: none).
	BudgetRule string
	CapKW      float64
}

// Actions is the number of rigs the plan acts on now.
func (p *Plan) Actions() int { return len(p.Curtail) + len(p.Resume) + len(p.Park) }

// Names lists the rig names of actions, for the API's plan answer.
func Names(actions []Action) []string {
	names := make([]string, len(actions))
	for i, a := range actions {
		names[i] = a.Name
	}
	return names
}

// Planner arithmetic is in integer milliwatts.
const planUnitsPerKW = 1e6

func planUnits(kw float64) int64 {
	if math.IsNaN(kw) {
		return 0
	}
	return int64(math.Round(kw * planUnitsPerKW))
}

func planDraw(kw float64) int64 { // a rig's draw: never negative
	if !(kw > 0) {
		return 0
	}
	return planUnits(kw)
}

func planKW(u int64) float64 { return float64(u) / planUnitsPerKW }

// planKey is a rig's place in the order, sorted once: four words that
// compare as (priority desc, J/TH asc, name) for most pairs, the names
// themselves and the rigs' indexes for the rest. pre holds the 16 bytes of
// the name after the prefix all names share, big-endian and zero-padded:
// ordering by them agrees with ordering by the names, and reads no string.
type planKey struct {
	prio uint64 // order-preserving, inverted: higher priority first
	jth  uint64 // order-preserving bits of the float
	pre  [2]uint64
	idx  int32
}

func planPrioKey(p int) uint64 { return ^(uint64(p) ^ 1<<63) }

func planFloatKey(f float64) uint64 {
	if f == 0 {
		f = 0 // -0 sorts as 0
	}
	b := math.Float64bits(f)
	if b&(1<<63) != 0 {
		return ^b
	}
	return b | 1<<63
}

func planCompareKeys(rigs []Rig, a, b *planKey) int {
	switch {
	case a.prio != b.prio:
		return cmp.Compare(a.prio, b.prio)
	case a.jth != b.jth:
		return cmp.Compare(a.jth, b.jth)
	case a.pre[0] != b.pre[0]:
		return cmp.Compare(a.pre[0], b.pre[0])
	case a.pre[1] != b.pre[1]:
		return cmp.Compare(a.pre[1], b.pre[1])
	}
	if c := cmp.Compare(rigs[a.idx].Name, rigs[b.idx].Name); c != 0 {
		return c
	}
	return cmp.Compare(a.idx, b.idx)
}

// planCommonPrefix is the length of the prefix all rigs' names share.
func planCommonPrefix(rigs []Rig) int {
	if len(rigs) == 0 {
		return 0
	}
	first := rigs[0].Name
	l := len(first)
	for i := 1; i < len(rigs) && l > 0; i++ {
		name := rigs[i].Name
		if len(name) < l {
			l = len(name)
		}
		for j := 0; j < l; j++ {
			if name[j] != first[j] {
				l = j
				break
			}
		}
	}
	return l
}

func planNamePrefix(name string, from int) uint64 {
	var k uint64
	for j := range 8 {
		k <<= 8
		if from+j < len(name) {
			k |= uint64(name[from+j])
		}
	}
	return k
}

// planRig is one rig's arithmetic in a plan, laid out in plan order so the
// passes over the order read memory in sequence.
type planRig struct {
	draw  int64 // now
	full  int64 // when mining
	idle  int64 // when parked
	idx   int32 // in Input.Rigs
	state RigState
	count CountedAs // before the plan
	flags uint8
	act   uint8
}

// planRig flags.
const (
	planConnected uint8 = 1 << iota
	planPinOn
	planPinOff
	planKnown
	planMinOn    // mining, resumed less than min_on ago
	planMinOff   // parked, curtailed less than min_off ago
	planMeasured // its draw is measured by its device
	planHashing  // counted device_hashing
)

func (p *planRig) is(f uint8) bool { return p.flags&f != 0 }

// held: connected (or reached by its device) and waiting for work
// (parked or pending).
func (p *planRig) held() bool {
	return p.is(planConnected) && (p.state == RigParked || p.state == RigPending)
}

// live: held, and not hashing all the same (device_hashing: its curtail
// is being retried; resuming it would cost nothing and end that). Only a
// pin "on" resumes such a rig.
func (p *planRig) live() bool { return p.held() && !p.is(planHashing) }

// mining: connected and working.
func (p *planRig) mining() bool { return p.is(planConnected) && p.state == RigMining }

// planRig actions.
const (
	planNone uint8 = iota
	planCurtail
	planResume
	planPark
	planDefer
)

// MakePlan decides which rigs stop and which come back. It is pure: the same
// input and now give the same plan, and nothing in the input is modified.
// The rules are the package comment's; each numbered step is one method of
// planner (plansteps.go).
func MakePlan(in Input, now time.Time) Plan {
	pl := newPlanner(in, now)
	pl.pinnedOff()               // 1
	pl.pinnedOn()                // 2
	pl.uneconomic(in.Uneconomic) // 2b: economic.go
	pl.overBudget()              // 3
	pl.admit()                   // 4
	pl.finish()
	pl.eta()
	return pl.plan
}
