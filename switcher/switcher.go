package switcher

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/internal/rigname"
	"github.com/hashgate/hashgate/switcher/device"
	evidencelog "github.com/hashgate/hashgate/switcher/evidence"
	"github.com/hashgate/hashgate/switcher/meter"
)

// Actuator parks and resumes rigs. The Stratum adapter (wired by cmd) is
// the one that exists today: Park closes the rig's connection, which aborts
// the work it holds, and keeps it without work when it comes back; Resume
// gives it its difficulty and the current job at once.
type Actuator interface {
	Park(rig string) error
	Resume(rig string) error
}

// ShareSource tells the switcher what a rig's shares say: whether a parked
// rig really stopped, whether a resumed one really started, and its
// measured hashrate (for the load estimate only).
type ShareSource interface {
	// LastShare is when the rig last sent a share that was accepted: a
	// resumed rig is working.
	LastShare(rig string) time.Time
	// LastSubmit is when the rig last sent any share, accepted or
	// rejected (stale, unknown job, duplicate, ...): a parked rig that
	// submits is still hashing, whatever the verdict. cpuminer keeps
	// hashing its last job for 120 s after each reconnect, and every
	// share it sends then is rejected.
	LastSubmit(rig string) time.Time
	HashrateTHs(rig string) float64
}

// Config tunes a Switcher; zero values take the defaults.
type Config struct {
	StatePath string // required: the state file
	AuditPath string // required: the audit log

	Tick time.Duration // how often the plan is re-made (ramp, until, min_off); default 1s
	// CurtailGrace: shares still arriving this long after a curtail flag
	// the rig curtail_failed (and it is parked again). Default 30s.
	CurtailGrace time.Duration
	// ResumeGrace: a resumed rig with no share this long after is flagged
	// resume_failed. Default 3m.
	ResumeGrace time.Duration
	// LeftGrace: a parked rig away this long is flagged left_while_parked.
	// Default 60s (parking closes the connection; firmware reconnects in
	// seconds).
	LeftGrace time.Duration
	// KnownMiningGrace: a mining rig that lost its connection (or was
	// mining before a restart) is readmitted at once if it comes back
	// within this; later it waits its turn. Default 10m.
	KnownMiningGrace time.Duration
	// AuditMaxBytes and AuditKeep rotate the audit log.
	AuditMaxBytes int64
	AuditKeep     int

	// ForgetAfter: an offline rig record that holds nothing worth keeping
	// (no pin, not parked) is forgotten this long after it went offline.
	// Default 24h.
	ForgetAfter time.Duration
	// MaxOfflinePerNetwork bounds the offline rig records kept per source
	// network (NetworkPrefixV4 / NetworkPrefixV6 bits of the remote
	// address). Default 4096.
	MaxOfflinePerNetwork int
	NetworkPrefixV4      int // default 24
	NetworkPrefixV6      int // default 64

	// Devices runs the firmware actuators (cmd wires switcher/fleet);
	// nil: no firmware actuation, every rig is parked through Stratum
	// only, as before firmware actuators. See devices.go.
	Devices DeviceFleet
	// PoolURLs are hashgate's own Stratum addresses as rigs should list
	// them: a rig whose device lists any other pool is flagged
	// pools_unbound, and a group with bind_pools has its rigs' pool
	// lists rewritten to these. Empty: pools are not judged.
	PoolURLs []string
	// DeviceVerifyWindow: a device read back this long after a curtail
	// still hashing is flagged curtail_failed (counted at its measured
	// draw, and the plan curtails the next rig); one read back asleep
	// this long after a resume, resume_failed. Readings before it are
	// the command taking effect. Default 2m.
	DeviceVerifyWindow time.Duration
	// DeviceStaleAfter: a device reading older than this is no longer
	// used (the policy's figures are). Default 5m.
	DeviceStaleAfter time.Duration

	// Meters are the site's configured meters (the config's [[meters]]);
	// their readings come through MeterReading. A meter that has given
	// no good reading yet is stale.
	Meters []meter.Spec

	// Evidence: the sample log and per-decision rig lists behind the
	// event reports (evidence.go); Dir defaults next to the audit log.
	Evidence evidencelog.Options

	Log zerolog.Logger
	Now func() time.Time // tests
}

// Defaults for a zero field of Config. The config file's [switcher]
// table takes its defaults from these (config.Default): one value each,
// and a key left out of the file runs the switcher as a zero field does.
const (
	DefaultTick                 = time.Second
	DefaultCurtailGrace         = 30 * time.Second
	DefaultResumeGrace          = 3 * time.Minute
	DefaultLeftGrace            = time.Minute
	DefaultKnownMiningGrace     = 10 * time.Minute
	DefaultForgetAfter          = 24 * time.Hour
	DefaultMaxOfflinePerNetwork = 4096
	DefaultNetworkPrefixV4      = 24
	DefaultNetworkPrefixV6      = 64
	DefaultDeviceVerifyWindow   = 2 * time.Minute
	DefaultDeviceStaleAfter     = 5 * time.Minute
	// The audit log rotates at DefaultAuditMaxBytes and keeps
	// DefaultAuditKeep rotated files: 96 MiB in all, about 6 days of a
	// 50,000-rig site's events.
	DefaultAuditMaxBytes = 16 << 20
	DefaultAuditKeep     = 5
)

// orDefault sets *p to v when it is zero or negative (unset).
func orDefault[T ~int | ~int64](p *T, v T) {
	if *p <= 0 {
		*p = v
	}
}

func (c *Config) setDefaults() {
	orDefault(&c.Tick, DefaultTick)
	orDefault(&c.CurtailGrace, DefaultCurtailGrace)
	orDefault(&c.ResumeGrace, DefaultResumeGrace)
	orDefault(&c.LeftGrace, DefaultLeftGrace)
	orDefault(&c.KnownMiningGrace, DefaultKnownMiningGrace)
	orDefault(&c.ForgetAfter, DefaultForgetAfter)
	orDefault(&c.MaxOfflinePerNetwork, DefaultMaxOfflinePerNetwork)
	orDefault(&c.NetworkPrefixV4, DefaultNetworkPrefixV4)
	orDefault(&c.NetworkPrefixV6, DefaultNetworkPrefixV6)
	orDefault(&c.DeviceVerifyWindow, DefaultDeviceVerifyWindow)
	orDefault(&c.DeviceStaleAfter, DefaultDeviceStaleAfter)
	c.NetworkPrefixV4, c.NetworkPrefixV6 = min(c.NetworkPrefixV4, 32), min(c.NetworkPrefixV6, 128)
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Rig flags, as the API shows them.
const (
	FlagCurtailFailed   = "curtail_failed"
	FlagResumeFailed    = "resume_failed"
	FlagLeftWhileParked = "left_while_parked"
	FlagDuplicateName   = "duplicate_name"
	FlagPinned          = "pinned"
	// FlagPoolsUnbound: the rig's device lists a pool that is not
	// hashgate (Config.PoolURLs): a Stratum park does not hold it.
	FlagPoolsUnbound = "pools_unbound"
)

// rigRec is everything the switcher knows about one rig.
type rigRec struct {
	name        string
	group       *Group
	state       RigState
	since       time.Time
	conns       int
	remote      string
	net         netip.Prefix // the network it last connected from (see rigNetwork)
	awaySince   time.Time
	leftParked  bool
	knownMining bool
	knownUntil  time.Time
	// knownByReconnect: knownMining was set when its connection closed
	// in this run, not from the state file (the readmission's reason).
	knownByReconnect bool
	pin              Pin
	pinReason        string
	// cause is the seq of the audit summary (allocation, pin, plan) whose
	// plan acted on the rig last: its firmware outcome events name it.
	cause       uint64
	curtailedAt time.Time
	// heldAtAdmission: parked without having been given work since it
	// connected (Plan.Park of a pending rig). Such a rig is not hashing
	// elsewhere because of a park any more than an unknown machine is:
	// when it disconnects it is offline (0 kW, forgettable), not away
	// and then left_while_parked. A curtail (from mining) clears it.
	heldAtAdmission bool
	resumedAt       time.Time
	curtailFail     bool
	resumeFail      bool
	// deviceIdle: the device readback says this parked rig is idle (see
	// SetDeviceIdle); cleared at every curtail and resume.
	deviceIdle bool
	// pinnedAhead: made by a pin before the rig ever connected; pinned
	// back to auto before it does, the record goes.
	pinnedAhead bool
	// The firmware side (devices.go). listed: in the rig inventory;
	// devAddr: how its device is reached (the inventory's address, else
	// its remote host); want: what its device was last asked
	// (StateSleeping, StateMining; StateUnknown: nothing yet); dev: its
	// last reading; wontWake: its device did not wake after a resume;
	// poolsUnbound: its device lists a pool that is not hashgate.
	listed       bool
	wontWake     bool
	poolsUnbound bool
	want         device.State
	devAddr      string
	dev          devReading
	// minedW: the draw its device last measured while hashing (its
	// own nameplate: what curtailing it saves and resuming it costs).
	minedW float32
	// devActed: when the switcher last changed what the rig draws (a
	// curtail, a resume, a device put to sleep at admission): readings
	// from before no longer count.
	devActed time.Time
	// sleptBy: the firmware group that put its device to sleep, kept
	// after a policy reload gave it a group without a firmware actuator,
	// so that its device is still woken (see regroupLocked).
	sleptBy *Group
	// reloaded: parked when the state was loaded, and not read since (see
	// readingLocked: its verification window starts at its first
	// reading); cleared by the next curtail or resume.
	reloaded bool
}

// Switcher keeps the site within its power budget: it owns the rigs'
// power states, the allocation stack and the ramp, plans with MakePlan and
// acts through the Actuator. One goroutine (started by Start) re-plans on a tick and
// when woken; API calls and rig events take its lock briefly and never call
// the Actuator under it (parking a rig calls back into RigDisconnected).
type Switcher struct {
	cfg    Config
	log    zerolog.Logger
	act    Actuator
	shares ShareSource
	audit  *AuditLog

	mu        sync.Mutex
	policy    *Policy
	policyErr string // why the policy file on disk is not the one in force ("" when it is)
	planWhy   string // why the next tick plans ("": "tick"), for its audit event
	// heads: decisions the loop made by itself (the fail-safe, a cap
	// that ended) waiting for the plan that carries them out: the next
	// plan's audit event is the last one, so its report has the rigs
	// (capmode_evidence.go).
	heads          []Event
	rigs           map[string]*rigRec
	allocs         []Allocation
	ramp           RampState
	last           Plan
	planned        bool
	lastPlanAt     time.Time
	stale          bool // something the plan depends on changed since it was made
	compliantSince time.Time
	dirty          bool
	stateErr       error     // the last save failed with this; nil: saved
	stateErrSince  time.Time // since when the state is not persisted
	stateWarnAt    time.Time // last "still not persisted" log line
	nextSave       time.Time // a failed save is retried from then on (backoff)
	saveBackoff    time.Duration

	// offline counts the records without a live connection per network,
	// for MaxOfflinePerNetwork (see records.go).
	offline   map[netip.Prefix]map[*rigRec]struct{}
	lastSweep time.Time
	bound     boundReport

	cm capMode // cap mode and the fail-safe (capmode*.go)

	// The firmware side (devices.go): the managed set is rebuilt when
	// devDirty, and handed to Devices.SetRigs when it changed (devGen
	// orders the hand-overs; devMu serializes them outside mu).
	devDirty   bool
	devGen     uint64
	devLast    []device.Managed
	devPending []device.Managed // built, not yet handed over
	devReport  deviceReport
	poolSet    map[string]bool
	devMu      sync.Mutex
	devSent    uint64

	auditFailing atomic.Bool    // the audit log could not be written (logged once)
	ev           *evidenceState // evidence.go

	econ econState // economic curtailment (economic.go), guarded by mu

	counters Counters

	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	life    sync.Mutex // guards started and closed: Start and Close
	started bool
	closed  bool
}

// Counters are the switcher's action counts, for metrics.
type Counters struct {
	Curtails, Resumes, Parks atomic.Uint64
	ActionErrors             atomic.Uint64
	CurtailFailed            atomic.Uint64
	ResumeFailed             atomic.Uint64
	Plans                    atomic.Uint64
	Steps                    atomic.Uint64 // rounds of the switcher's loop, planning or not
	RigsForgotten            atomic.Uint64 // records dropped: ForgetAfter, a full network, DELETE, a bounded state file
	RigsRefusedName          atomic.Uint64 // not admitted: a name no record is kept for
	RigsRefusedNetwork       atomic.Uint64 // not admitted: its network is full of offline records worth keeping
	StateSaveErrors          atomic.Uint64 // failed writes of the state file
	// Firmware commands by their outcome (DeviceOutcome): verified, or
	// not (a curtail or resume that failed also counts in CurtailFailed
	// or ResumeFailed); DeviceErrors are outcomes with an error.
	DeviceCurtailOK, DeviceCurtailFailed atomic.Uint64
	DeviceResumeOK, DeviceResumeFailed   atomic.Uint64
	DevicePoolsOK, DevicePoolsFailed     atomic.Uint64
	DeviceErrors                         atomic.Uint64
	DeviceReadings                       atomic.Uint64
	DeviceSetRigs                        atomic.Uint64 // hand-overs of the managed set
	// CapReplans: meter readings (or ticks) that moved the cap budget
	// enough to call for a plan (capmode.go).
	CapReplans atomic.Uint64
}

// New loads the state file (a missing one is a fresh start) and opens the
// audit log. Rigs that were mining before are readmitted at once when they
// come back; parked ones stay parked.
func New(cfg Config, policy *Policy, act Actuator, shares ShareSource) (*Switcher, error) {
	cfg.setDefaults()
	if policy == nil {
		return nil, errors.New("switcher: no policy")
	}
	if cfg.StatePath == "" || cfg.AuditPath == "" {
		return nil, errors.New("switcher: state and audit paths are required")
	}
	st, err := loadState(cfg.StatePath)
	if err != nil {
		return nil, err
	}
	audit, err := OpenAuditLog(cfg.AuditPath, cfg.AuditMaxBytes, cfg.AuditKeep)
	if err != nil {
		return nil, err
	}
	s := &Switcher{
		cfg: cfg, log: cfg.Log, act: act, shares: shares, audit: audit,
		policy: policy, rigs: make(map[string]*rigRec), offline: map[netip.Prefix]map[*rigRec]struct{}{},
		allocs: st.Allocations, ramp: st.Ramp,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		poolSet: poolSet(cfg.PoolURLs), devDirty: true,
	}
	now := cfg.Now()
	s.cm = newCapMode(st.Caps, cfg.Meters, now)
	s.restoreEcon(st.Economic, now)
	s.restoreFailsafe(st.Failsafe)
	s.cm.capKW, s.cm.capSource = s.capInForceLocked(now)
	for name, pr := range st.Rigs {
		r := &rigRec{name: name, group: policy.GroupFor(name), since: pr.Since, pin: pr.Pin, pinReason: pr.PinReason, pinnedAhead: pr.PinnedAhead, net: pr.Net, devAddr: pr.Addr, cause: pr.Cause}
		switch pr.State {
		case "mining":
			r.state, r.knownMining, r.knownUntil = RigOffline, true, now.Add(cfg.KnownMiningGrace)
			r.knownByReconnect = false
			if pr.Woken && pr.Addr != "" && cfg.Devices != nil && isFirmware(r.group) {
				// Resumed through its device, perhaps still asleep (a
				// restart cut the resume short): reached at its address,
				// wanted mining, so the fleet wakes it and a device still
				// asleep after the window is resume_failed.
				r.state, r.knownMining, r.knownUntil = RigMining, false, time.Time{}
				r.want, r.resumedAt, r.devActed = device.StateMining, now, now
			}
		case "parked":
			if pr.HeldAtAdmission {
				// Never given work in this park: nothing to hold it to
				// after a restart; it goes through admission again.
				r.state, r.since = RigOffline, now
				break
			}
			// Curtailed from mining (a file written before
			// held_at_admission says so of every park: the safe side).
			// The curtail check counts from the load: it was not saved.
			r.state, r.leftParked, r.awaySince, r.curtailedAt = RigParked, pr.LeftWhileParked, pr.AwaySince, now
			r.reloaded = true
			// Its device (if any) was asked to sleep: it stays asleep,
			// and a curtail cut short by the restart is finished.
			r.want = device.StateSleeping
			if r.awaySince.IsZero() {
				r.awaySince = now // it will reconnect after the restart
			}
		default:
			r.state = RigOffline
		}
		s.rigs[name] = r
		s.markOfflineLocked(r)
	}
	s.boundLoadedLocked(now)
	if err := s.openEvidence(); err != nil {
		audit.Close()
		return nil, err
	}
	s.event(Event{Kind: EventStart, Fields: map[string]any{"rigs": len(s.rigs), "allocations": len(st.Allocations), "forgotten": len(st.Rigs) - len(s.rigs)}})
	return s, nil
}

// minPlanGap bounds how often a burst of events (a reconnect storm) makes
// a plan: rigs that connect within it are admitted by the same plan.
const minPlanGap = 50 * time.Millisecond

// Start starts the switcher's loop in its own goroutine and returns: it
// re-plans at once, then on every tick and when woken, until Close. Calling
// it twice, or after Close, does nothing.
func (s *Switcher) Start() {
	s.life.Lock()
	defer s.life.Unlock()
	if s.closed || s.started {
		return // after Close the state is saved: nothing may write it again
	}
	s.started = true
	go s.loop()
}

// loop is the switcher's goroutine; it closes done when it returns.
func (s *Switcher) loop() {
	defer close(s.done)
	t := time.NewTicker(s.cfg.Tick)
	defer t.Stop()
	s.step()
	for {
		select {
		case <-s.stop:
			s.finalSave()
			return
		case <-t.C:
		case <-s.wake:
			// Let the rest of a burst arrive: one plan for all of it.
			gap := time.NewTimer(minPlanGap)
			select {
			case <-gap.C:
			case <-s.stop:
				gap.Stop()
				continue
			}
		}
		s.step()
	}
}

// Close stops the loop (if started) and returns once it has stopped, then
// saves the state and closes the audit log.
func (s *Switcher) Close() error {
	s.life.Lock()
	first, started := !s.closed, s.started
	s.closed = true
	s.life.Unlock()
	if first {
		close(s.stop)
	}
	if started {
		<-s.done
	} else {
		s.finalSave()
	}
	err := s.audit.Close()
	if eerr := s.closeEvidence(); err == nil {
		err = eerr
	}
	s.mu.Lock()
	if s.stateErr != nil {
		err = &NotPersistedError{What: "state file", Since: s.stateErrSince, Err: s.stateErr}
	}
	s.mu.Unlock()
	return err
}

func (s *Switcher) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Switcher) event(e Event) { s.events([]Event{e}) }

// events writes a batch to the audit log with one flush.
func (s *Switcher) events(evs []Event) {
	if len(evs) == 0 {
		return
	}
	now := s.cfg.Now().UTC()
	for i := range evs {
		if evs[i].Time.IsZero() {
			evs[i].Time = now
		}
	}
	s.auditOutcome(s.audit.AppendAll(evs))
}

// auditOutcome logs the audit log's failures and recovery once each: the
// events stay in memory (and in /api/v1/events) meanwhile, and the file
// catches up when it can be written again.
func (s *Switcher) auditOutcome(err error) {
	switch {
	case err != nil && !s.auditFailing.Swap(true):
		s.log.Error().Err(err).Str("file", s.cfg.AuditPath).Msg("audit log cannot be written: events are kept in memory and written when it can be again")
	case err == nil && s.auditFailing.Swap(false):
		s.log.Warn().Str("file", s.cfg.AuditPath).Msg("audit log written again: it caught up")
	}
}

// step is one round: flags, verification, plan, actions, state.
func (s *Switcher) step() {
	defer s.counters.Steps.Add(1)
	now := s.cfg.Now()
	s.mu.Lock()
	reparks := s.checkLocked(now)
	forgotten := s.forgetAgedLocked(now)
	s.economicLocked(now) // economic.go: stale price, min_hold
	s.capUpdateLocked(now)
	var acts []action
	if s.needPlanLocked(now) {
		_, acts = s.planLocked(now, s.tickWhyLocked(), nil)
	}
	s.reportBoundLocked(now)
	s.reportDevicesLocked(now)
	s.mu.Unlock()
	s.auditOutcome(s.audit.Retry())
	s.tellForgotten(forgotten)
	s.evidenceStep(now)
	for _, name := range reparks {
		acts = append(acts, action{rig: name, stratum: true})
	}
	s.apply(acts)
	// Saved after the actions are sent: at 50,000 rigs the state file
	// takes longer to write than a cap breach may wait for its curtails.
	s.mu.Lock()
	s.saveLocked(false)
	s.mu.Unlock()
}

// idleReplan bounds how long the switcher goes without a plan when nothing
// changed (a safety net; a plan of 50,000 rigs costs ~30 ms).
const idleReplan = 10 * time.Second

// needPlanLocked: plan only when something changed, when the last plan was
// waiting on time (ramp, min_off, an allocation's until), or now and then.
func (s *Switcher) needPlanLocked(now time.Time) bool {
	if s.stale || !s.planned || waitsOnTime(s.last.Deferred) || s.last.ETASeconds > 0 || now.Sub(s.lastPlanAt) >= idleReplan {
		return true
	}
	for _, a := range s.allocs {
		if !a.Until.IsZero() {
			return true
		}
	}
	// min_on ends change what may be curtailed only when over budget,
	// which a plan would have said (not compliant).
	return !s.last.Compliant
}

// action is one actuator call decided under the lock, made after it:
// through the Actuator (stratum: the Stratum park or resume), through
// Config.Devices (device), or both.
type action struct {
	rig     string
	group   string // for the log line and audit event of a failure
	resume  bool
	stratum bool
	device  bool
}

// apply hands the managed set over if it changed, then queues the
// firmware commands (they return at once), then calls the Actuator,
// outside the lock.
func (s *Switcher) apply(acts []action) {
	s.flushDevices()
	if d := s.cfg.Devices; d != nil {
		for _, a := range acts {
			switch {
			case !a.device:
			case a.resume:
				d.Resume(a.rig)
			default:
				d.Curtail(a.rig)
			}
		}
	}
	parks := massReport{kind: EventCurtail, level: zerolog.ErrorLevel, msg: "actuator failed to park rigs"}
	resumes := massReport{kind: EventResume, level: zerolog.ErrorLevel, msg: "actuator failed to resume rigs"}
	groups := map[string]string{}
	for _, a := range acts {
		if !a.stratum {
			continue
		}
		var err error
		rep := &parks
		if a.resume {
			rep = &resumes
			err = s.act.Resume(a.rig)
		} else {
			err = s.act.Park(a.rig)
		}
		if err != nil {
			s.counters.ActionErrors.Add(1)
			groups[a.rig] = a.group
			rep.add(Event{Rig: a.rig, Fields: map[string]any{"outcome": "error", "error": err.Error()}})
		}
	}
	groupOf := func(name string) string { return groups[name] }
	parks.flush(s, groupOf)
	resumes.flush(s, groupOf)
}

// checkLocked updates the flags that time and shares decide and returns
// rigs to park again.
func (s *Switcher) checkLocked(now time.Time) []string {
	var reparks []string
	left := massReport{kind: EventLeftParked, level: zerolog.WarnLevel, msg: "parked rigs left and have not come back: counted at full power"}
	stillHash := massReport{kind: EventCurtailFail, level: zerolog.ErrorLevel, msg: "curtailed rigs still send shares: parking them again"}
	noShares := massReport{kind: EventResumeFail, level: zerolog.WarnLevel, msg: "resumed rigs send no shares"}
	defer func() {
		groupOf := func(name string) string {
			if r := s.rigs[name]; r != nil {
				return r.group.Name
			}
			return ""
		}
		left.flush(s, groupOf)
		stillHash.flush(s, groupOf)
		noShares.flush(s, groupOf)
	}()
	for _, r := range s.rigs {
		if r.knownMining && r.state == RigOffline && now.After(r.knownUntil) {
			r.knownMining = false
			s.stale = true
		}
		if r.state == RigParked && r.conns == 0 && !r.leftParked && !r.awaySince.IsZero() && now.Sub(r.awaySince) >= s.cfg.LeftGrace && !s.reachedLocked(r) {
			r.leftParked = true
			s.dirty, s.stale = true, true
			left.add(Event{Rig: r.name, Fields: map[string]any{"away_since": r.awaySince}})
		}
		if s.shares == nil {
			continue
		}
		switch {
		case r.state == RigParked && !r.curtailedAt.IsZero() && !r.curtailFail:
			// Any submit counts, rejected ones too: a parked rig that
			// submits is hashing (see ShareSource.LastSubmit), unless its
			// device was read asleep after that submit (the reading that
			// cleared the flag: the share is older evidence).
			last := s.shares.LastSubmit(r.name)
			if last.After(r.curtailedAt.Add(s.cfg.CurtailGrace)) && !(r.deviceIdle && !last.After(r.dev.at)) {
				r.curtailFail = true
				s.stale = true // it counts at rig_kw now
				s.counters.CurtailFailed.Add(1)
				stillHash.add(Event{Rig: r.name, Fields: map[string]any{"last_submit": last, "curtailed_at": r.curtailedAt}})
				reparks = append(reparks, r.name)
			}
		case r.state == RigMining && !r.resumedAt.IsZero() && !r.resumeFail && now.Sub(r.resumedAt) >= s.cfg.ResumeGrace && (r.conns > 0 || !s.reachedLocked(r)):
			if last := s.shares.LastShare(r.name); !last.After(r.resumedAt) {
				r.resumeFail = true
				s.counters.ResumeFailed.Add(1)
				noShares.add(Event{Rig: r.name, Fields: map[string]any{"resumed_at": r.resumedAt}})
			}
		case r.state == RigMining && r.resumeFail:
			// Shares since the resume: it hashes, whatever its device
			// said last (wontWake counted it at its idle draw).
			if last := s.shares.LastShare(r.name); last.After(r.resumedAt) {
				r.resumeFail = false
				if r.wontWake {
					r.wontWake, s.stale = false, true
				}
			}
		}
	}
	return reparks
}

// planRigLocked is the record as the planner sees it (hashrate aside),
// its device's evidence included (devices.go).
func (s *Switcher) planRigLocked(r *rigRec, now time.Time) Rig {
	pr := Rig{
		Name: r.name, Group: r.group, State: r.state, Since: r.since,
		Connected: r.conns > 0, AwaySince: r.awaySince, LeftWhileParked: r.leftParked,
		KnownMining: r.knownMining, KnownByReconnect: r.knownMining && r.knownByReconnect, Pin: r.pin, VerifiedIdle: r.deviceIdle, CurtailFailed: r.curtailFail,
	}
	if r.listed || s.cfg.Devices != nil {
		s.deviceViewLocked(r, now, &pr)
	}
	return pr
}

// inputLocked builds the planner's input, rigs sorted by name so the same
// state always gives the same plan.
func (s *Switcher) inputLocked() (Input, []*rigRec) {
	recs := s.sortedRigsLocked()
	rigs := make([]Rig, len(recs))
	now := s.cfg.Now()
	for i, r := range recs {
		rigs[i] = s.planRigLocked(r, now)
		if s.shares != nil {
			rigs[i].HashrateTHs = s.shares.HashrateTHs(r.name)
		}
	}
	return Input{Policy: s.policy, Rigs: rigs, Allocations: s.allocs, Ramp: s.ramp, Limits: s.capLimitsLocked(), Uneconomic: s.uneconomicLocked()}, recs
}

// planLocked makes a plan and applies it to the switcher's state; the
// actuator calls it returns are made by the caller after unlocking. Its
// audit events are one summary (head: an allocation or a pin, with the
// plan's figures and counts per group added; nil: a plan event, written
// when the plan acts) after the per-rig events it caused (planAudit).
func (s *Switcher) planLocked(now time.Time, why string, head *Event) (Plan, []action) {
	head = s.takeHeadsLocked(head)
	in, recs := s.inputLocked()
	plan := MakePlan(in, now)
	s.counters.Plans.Add(1)
	var acts []action
	var evs []Event
	for _, a := range plan.Curtail {
		r := recs[a.Rig]
		r.state, r.since, r.curtailedAt, r.curtailFail, r.resumeFail = RigParked, now, now, false, false
		r.knownMining, r.deviceIdle, r.heldAtAdmission, r.wontWake = false, false, false, false
		r.devActed, r.reloaded = now, false
		// A firmware rig: its device is put to sleep, and the Stratum
		// park (when connected) is the fast first step.
		fw := s.deviceActsLocked(r)
		if fw {
			r.want = device.StateSleeping
		}
		acts = append(acts, action{rig: r.name, group: r.group.Name, stratum: !fw || r.conns > 0, device: fw})
		s.counters.Curtails.Add(1)
		evs = append(evs, Event{Kind: EventCurtail, Rig: r.name, Reason: a.Reason, Fields: map[string]any{"outcome": "parked", "group": r.group.Name}})
	}
	for _, a := range plan.Park {
		// A pending rig holds no work: it only stays without a job. Its
		// curtail check starts now: a curtail from an earlier stay would
		// judge its shares from before the hold as evidence.
		r := recs[a.Rig]
		r.state, r.since, r.heldAtAdmission = RigParked, now, true
		r.curtailedAt, r.curtailFail = now, false
		if s.deviceActsLocked(r) {
			// Held without work is not enough for a firmware rig: its
			// device sleeps too, so it is a park like a curtail (it may
			// leave the proxy once asleep).
			r.want, r.heldAtAdmission, r.deviceIdle, r.devActed = device.StateSleeping, false, false, now
			acts = append(acts, action{rig: r.name, device: true})
		}
		s.counters.Parks.Add(1)
		evs = append(evs, Event{Kind: EventPark, Rig: r.name, Reason: a.Reason, Fields: map[string]any{"outcome": "held without work"}})
	}
	for _, a := range plan.Resume {
		r := recs[a.Rig]
		r.state, r.since, r.resumedAt, r.curtailFail = RigMining, now, now, false
		r.knownMining, r.awaySince, r.deviceIdle, r.heldAtAdmission = false, time.Time{}, false, false
		r.wontWake, r.resumeFail, r.devActed, r.reloaded = false, false, now, false
		// Its device is woken only if it was put to sleep (a rig admitted
		// at connection is awake: a needless wake restarts some firmware).
		dev := s.deviceActsLocked(r) && r.want == device.StateSleeping
		if dev {
			r.want = device.StateMining
		}
		if r.conns > 0 || dev {
			acts = append(acts, action{rig: r.name, group: r.group.Name, resume: true, stratum: r.conns > 0, device: dev})
		}
		s.counters.Resumes.Add(1)
		evs = append(evs, Event{Kind: EventResume, Rig: r.name, Reason: a.Reason, Fields: map[string]any{"outcome": "resumed", "group": r.group.Name}})
	}
	if seq := s.planAudit(plan, recs, why, head, evs); seq != 0 {
		s.evidenceDecisionLocked(seq, &plan, recs, now)
		for _, acts := range [][]Action{plan.Curtail, plan.Park, plan.Resume} {
			for _, a := range acts {
				recs[a.Rig].cause = seq
			}
		}
	}
	s.allocs, s.ramp = plan.Allocations, plan.Ramp
	if plan.Actions() > 0 {
		s.dirty, s.devDirty = true, true
		s.capActedLocked(&plan, now)
	}
	// Compliance as reported: unverified parks at rig_kw.
	switch {
	case plan.CountedCompliant && s.compliantSince.IsZero():
		s.compliantSince = now
	case !plan.CountedCompliant:
		s.compliantSince = time.Time{}
	}
	s.last, s.planned, s.lastPlanAt, s.stale = plan, true, now, false
	return plan, acts
}

// RigConnected is RigArrived without the reason a rig is refused.
func (s *Switcher) RigConnected(name, remote string) bool {
	admitted, _ := s.RigArrived(name, remote)
	return admitted
}

// RigArrived is the proxy telling that a rig authorized: admitted means
// it may get jobs now. A parked rig stays parked. Any other waits for the
// next plan (within minPlanGap), which readmits it at once if it was
// mining moments ago or before a restart and fits, admits it in its turn,
// or parks it; the Actuator then tells the proxy. refused ("" if not) is
// why a rig gets no record at all (its name, or its network full of
// records): the proxy closes it, and no RigDisconnected follows.
func (s *Switcher) RigArrived(name, remote string) (admitted bool, refused string) {
	now := s.cfg.Now()
	n := s.rigNetwork(remote)
	s.mu.Lock()
	r := s.rigs[name]
	if r == nil {
		var evicted []string
		refused, evicted = s.admitNewLocked(name, n, now)
		if refused != "" {
			s.mu.Unlock()
			s.tellForgotten(evicted)
			return false, refused // no record: the proxy closes it
		}
		defer s.tellForgotten(evicted)
		r = &rigRec{name: name, group: s.policy.GroupFor(name), state: RigOffline, net: n}
		s.rigs[name] = r
	} else if r.conns == 0 {
		s.markOnlineLocked(r)
		r.net = n
	}
	r.conns++
	r.remote = remote
	r.pinnedAhead = false
	s.deviceArrivedLocked(r)
	if r.conns > 1 {
		// A second live connection with the same name: it follows the
		// first one's state.
		admitted = r.state == RigMining
		s.mu.Unlock()
		return admitted, ""
	}
	switch r.state {
	case RigParked:
		r.awaySince = time.Time{}
		if r.leftParked {
			r.leftParked = false
			s.event(Event{Kind: EventLeftParked, Rig: name, Fields: map[string]any{"back": true}})
		}
	case RigMining:
		admitted = true
	default:
		// Pending: the next plan admits it in its turn (at once if it was
		// mining before), or parks it when the budget is used up.
		r.state, r.since = RigPending, now
		s.poke()
	}
	s.dirty, s.stale = true, true
	s.mu.Unlock()
	return admitted, ""
}

// RigDisconnected is the proxy telling that a rig's connection closed.
func (s *Switcher) RigDisconnected(name string) {
	now := s.cfg.Now()
	s.mu.Lock()
	r := s.rigs[name]
	if r == nil || r.conns == 0 {
		s.mu.Unlock()
		return
	}
	r.conns--
	if r.conns > 0 {
		s.mu.Unlock()
		return
	}
	s.devDirty = true
	switch {
	case r.listed && r.state != RigParked:
		// In the inventory: on the site whatever the proxy says, counted
		// as mining (the safe side) until its device says otherwise.
		r.state = RigMining
	case r.state == RigMining:
		r.state, r.since = RigOffline, now
		r.knownMining, r.knownUntil, r.knownByReconnect = true, now.Add(s.cfg.KnownMiningGrace), true
	case r.state == RigPending:
		r.state, r.since = RigOffline, now
	case r.state == RigParked:
		s.evidenceClosedLocked(r, now)
		if r.heldAtAdmission && !r.listed {
			// It never got work in this park: like a pending rig that
			// leaves, it is offline (else a few names held at
			// admission and gone would count at rig_kw for good).
			r.state, r.since, r.heldAtAdmission = RigOffline, now, false
			break
		}
		r.awaySince = now
	}
	s.dirty, s.stale = true, true
	s.markOfflineLocked(r)
	var evicted []string
	if limit := s.cfg.MaxOfflinePerNetwork; limit > 0 && len(s.offline[r.net]) > limit {
		evicted = s.evictLocked(r.net, evictBatch(limit), now)
	}
	s.mu.Unlock()
	s.tellForgotten(evicted)
}

// AllocationRequest is the body of PUT /api/v1/allocation.
type AllocationRequest struct {
	AIKW      float64   `json:"ai_kw"`
	Reason    string    `json:"reason"`
	Until     time.Time `json:"until,omitzero"`
	Emergency bool      `json:"emergency,omitempty"`
}

// Validate says what is wrong with a request, for a 400.
func (r AllocationRequest) Validate(now time.Time) error {
	switch {
	case math.IsNaN(r.AIKW) || math.IsInf(r.AIKW, 0) || r.AIKW < 0:
		return errors.New("ai_kw must be a number ≥ 0")
	case r.Reason == "":
		return errors.New("reason is required (it goes in the audit log)")
	case !r.Until.IsZero() && !r.Until.After(now):
		return errors.New("until must be in the future")
	}
	return nil
}

// positiveZero turns -0 (which passes "≥ 0") into 0: it would be stored,
// logged and answered as -0.
func positiveZero(kw float64) float64 {
	if kw == 0 {
		return 0
	}
	return kw
}

// Allocate applies a new allocation from who (a token's name) and returns
// the plan. The same request as the one in force is a no-op that returns
// the current plan (changed false). A NotPersistedError says it was
// applied but could not be saved yet (it is retried; the status says so).
func (s *Switcher) Allocate(req AllocationRequest, who string) (plan Plan, changed bool, err error) {
	now := s.cfg.Now()
	if err := req.Validate(now); err != nil {
		return Plan{}, false, err
	}
	req.AIKW = positiveZero(req.AIKW)
	a := Allocation{AIKW: req.AIKW, Reason: req.Reason, Who: who, At: now.UTC(), Until: req.Until, Emergency: req.Emergency}
	s.mu.Lock()
	if top := inForce(s.allocs, now); top >= 0 && s.allocs[top].sameRequest(a) && s.planned {
		// The same request again: nothing to do.
		plan = s.last
		s.mu.Unlock()
		return plan, false, nil
	}
	s.allocs = PushAllocation(s.allocs, a, now)
	fields := map[string]any{"ai_kw": req.AIKW, "emergency": req.Emergency}
	if !req.Until.IsZero() {
		fields["until"] = req.Until
	}
	plan, acts := s.planLocked(now, "allocation", &Event{Kind: EventAllocation, Who: who, Reason: req.Reason, Fields: fields})
	s.dirty = true
	err = s.persistLocked()
	s.mu.Unlock()
	s.apply(acts)
	return plan, true, err
}

func planFields(p Plan) map[string]any {
	return map[string]any{
		"mining_budget_kw": p.MiningBudgetKW, "load_kw": p.LoadKW, "load_after_kw": p.LoadAfterKW,
		"curtail": len(p.Curtail), "resume": len(p.Resume), "park": len(p.Park), "deferred": len(p.Deferred),
		"compliant": p.CountedCompliant, "planned_compliant": p.Compliant, "counted_kw": p.CountedLoadAfterKW,
		"parks_unverified": p.ParksUnverified(), "eta_seconds": p.ETASeconds,
		"budget_rule": p.BudgetRule,
	}
}

// DryRun plans an allocation of aiKW without applying anything.
func (s *Switcher) DryRun(aiKW float64) (Plan, error) {
	if math.IsNaN(aiKW) || math.IsInf(aiKW, 0) || aiKW < 0 {
		return Plan{}, errors.New("ai_kw must be a number ≥ 0")
	}
	aiKW = positiveZero(aiKW)
	now := s.cfg.Now()
	s.mu.Lock()
	in, _ := s.inputLocked()
	s.mu.Unlock()
	in.Allocations = PushAllocation(in.Allocations, Allocation{AIKW: aiKW, Reason: "dry run", At: now}, now)
	return MakePlan(in, now), nil
}

// ErrUnknownRig is returned for pinning a rig never seen back to auto:
// there is nothing to return.
var ErrUnknownRig = errors.New("unknown rig")

// MaxRigName bounds the name of a rig the switcher keeps a record of (a
// worker name, as miners send it).
const MaxRigName = rigname.Max

// SetPin pins a rig on, off or back to auto. A rig that is not connected
// can be pinned too, also one that never was: ops pin a rig off for
// maintenance before it is plugged back in, and it must not mine the
// moment it authorizes. A record made for a rig never seen waits for it
// (offline, in the group the policy gives its name, counting no load),
// survives restarts, and goes when the rig is pinned back to auto before
// it ever connected. waiting: the rig is not connected, so the pin takes
// effect when it connects (a mistyped name waits forever).
func (s *Switcher) SetPin(name string, mode string, reason, who string) (plan Plan, waiting bool, err error) {
	var pin Pin
	switch mode {
	case "on":
		pin = PinOn
	case "off":
		pin = PinOff
	case "auto":
		pin = PinAuto
	default:
		return Plan{}, false, fmt.Errorf("mode must be on, off or auto, not %q", mode)
	}
	now := s.cfg.Now()
	s.mu.Lock()
	r := s.rigs[name]
	if r == nil {
		if pin == PinAuto {
			s.mu.Unlock()
			return Plan{}, false, fmt.Errorf("%w %q", ErrUnknownRig, name)
		}
		if err := validRigName(name); err != nil {
			s.mu.Unlock()
			return Plan{}, false, err
		}
		r = &rigRec{name: name, group: s.policy.GroupFor(name), state: RigOffline, since: now, pinnedAhead: true}
		s.rigs[name] = r
		s.markOfflineLocked(r)
	}
	forget := pin == PinAuto && r.pinnedAhead && !r.listed // never came: nothing is left to remember
	waiting = r.conns == 0 && !forget
	r.pin, r.pinReason = pin, reason
	fields := map[string]any{"mode": mode}
	if waiting {
		fields["waiting_for_rig"] = true
	}
	if forget {
		s.deleteRigLocked(r)
		fields["forgotten"] = true
	}
	plan, acts := s.planLocked(now, "pin", &Event{Kind: EventPin, Who: who, Rig: name, Reason: reason, Fields: fields})
	s.dirty = true
	err = s.persistLocked()
	s.mu.Unlock()
	s.apply(acts)
	return plan, waiting, err
}

// validRigName is the one rule for the names the switcher keeps a record
// of, made by a pin or by a rig that authorizes (rigname.Check, the rule
// the proxy applies to every worker name too).
func validRigName(name string) error { return rigname.Check(name) }

// SetPolicy puts a new, valid policy in force.
func (s *Switcher) SetPolicy(p *Policy, diff []string) {
	s.mu.Lock()
	s.policy = p
	s.policyErr = ""
	for _, r := range s.rigs {
		s.regroupLocked(r, p.GroupFor(r.name))
	}
	s.stale, s.devDirty, s.planWhy = true, true, "policy_reload"
	s.mu.Unlock()
	s.log.Info().Strs("changes", diff).Str("file", p.Path).Msg("policy reloaded")
	s.event(Event{Kind: EventPolicyReload, Fields: map[string]any{"file": p.Path, "changes": diff}})
	s.poke()
}

// PolicyRefused records a policy edit that failed validation.
func (s *Switcher) PolicyRefused(err error) {
	s.mu.Lock()
	s.policyErr = err.Error()
	s.mu.Unlock()
	s.log.Error().Err(err).Msg("policy refused; the previous one stays in force")
	s.event(Event{Kind: EventPolicyRefuse, Fields: map[string]any{"error": err.Error()}})
}

// LastEventSeq is the sequence number of the newest audit event.
func (s *Switcher) LastEventSeq() uint64 { return s.audit.LastSeq() }

// Events pages the audit log.
func (s *Switcher) Events(since uint64, limit int) ([]Event, error) {
	return s.audit.Events(since, limit)
}

// QueryEvents pages the events f selects (see AuditLog.Query).
func (s *Switcher) QueryEvents(since uint64, limit int, f EventFilter) ([]Event, error) {
	return s.audit.Query(since, limit, f)
}

// LatestEvents are the newest events f selects (see AuditLog.Latest).
func (s *Switcher) LatestEvents(limit int, f EventFilter) ([]Event, error) {
	return s.audit.Latest(limit, f)
}

// Status is the power side of GET /api/v1/status.
type Status struct {
	CapacityKW     float64     `json:"capacity_kw"`
	ReserveKW      float64     `json:"reserve_kw"`
	AIKW           float64     `json:"ai_kw"`
	MiningBudgetKW float64     `json:"mining_budget_kw"`
	MiningLoadKW   float64     `json:"mining_load_kw"` // as reported and judged: unverified parks at rig_kw
	MiningLoadEst  float64     `json:"mining_load_est_kw"`
	Compliant      bool        `json:"compliant"` // MiningLoadKW ≤ MiningBudgetKW
	CompliantSince time.Time   `json:"compliant_since,omitzero"`
	ETASeconds     float64     `json:"eta_seconds"`
	Curtailed      int         `json:"curtailed"`
	Emergency      bool        `json:"emergency"`
	Allocation     *Allocation `json:"allocation,omitempty"`
	// Policy is the file the policy in force came from: the policy file,
	// or its last good copy after a start on a broken one. PolicyError
	// says why the policy file as it is now is not in force ("" when it
	// is).
	Policy      string `json:"policy"`
	PolicyError string `json:"policy_error,omitempty"`

	// How parks are counted (see the planner's power accounting).
	// MiningLoadPlannedKW is the load the plan is made with (every park
	// at idle_kw), PlannedCompliant whether that is within the budget.
	MiningLoadPlannedKW float64 `json:"mining_load_planned_kw"`
	PlannedCompliant    bool    `json:"planned_compliant"`
	// NotCompliantReason says why, when not Compliant.
	NotCompliantReason string `json:"not_compliant_reason,omitempty"`
	// Rigs held without work: counted at rig_kw for want of evidence, at
	// idle_kw by their group's pools_bound, at idle_kw by a device
	// readback.
	ParksUnverified int `json:"parks_unverified"`
	ParksBound      int `json:"parks_bound"`
	ParksVerified   int `json:"parks_verified"`
	// Counted splits MiningLoadKW by how each rig is counted (CountedAs
	// names; every one present).
	Counted map[string]CountedLoad `json:"counted"`

	// StateError and AuditError say what is not persisted ("" when all
	// is): "state not persisted since T: ERR".
	StateError string `json:"state_error,omitempty"`
	AuditError string `json:"audit_error,omitempty"`

	// The firmware side: MiningLoadMeasuredKW is the sum of the power
	// devices report (fresh readings), MeasuredRigs how many rigs report
	// one; Devices counts the managed rigs by their device's state
	// (mining, sleeping, unreachable, unknown; every one present).
	MiningLoadMeasuredKW float64        `json:"mining_load_measured_kw"`
	MeasuredRigs         int            `json:"measured_rigs"`
	Devices              map[string]int `json:"devices"`

	// Cap mode and the meters (signals.go). CapKW is the site cap in
	// force (0: no cap mode); AIKWMeasured the measured non-mining load
	// and SiteLoadKW the measured site load (nil where no meter gives
	// them); Failsafe is true while the mining budget is the policy's
	// safe_budget_kw because an input the loop needs is stale,
	// FailsafeReason says which. Meters: each configured meter's last
	// reading, by name.
	CapKW          float64                  `json:"cap_kw"`
	AIKWMeasured   *float64                 `json:"ai_kw_measured"`
	SiteLoadKW     *float64                 `json:"site_load_kw"`
	Failsafe       bool                     `json:"failsafe"`
	FailsafeReason string                   `json:"failsafe_reason,omitempty"`
	FailsafeSince  time.Time                `json:"failsafe_since,omitzero"`
	Meters         map[string]meter.Reading `json:"-"`
	// BudgetRule names the rule the mining budget comes from (allocation,
	// cap or failsafe: Plan.BudgetRule); Cap is the API's cap setting in
	// force (nil: the policy's site_cap_kw, or none); MeterStatus each
	// meter's figures, sorted by name.
	BudgetRule  string        `json:"budget_rule"`
	Cap         *CapSetting   `json:"cap,omitempty"`
	MeterStatus []MeterStatus `json:"meters,omitempty"`

	// Economic curtailment: the power price in force (nil: none known)
	// and the groups curtailed because their break-even price is below it.
	PriceUSDPerMWh *float64 `json:"price_usd_per_mwh,omitempty"`
	EconomicGroups []string `json:"economic_curtailed_groups,omitempty"`
}

// Status reports the power state as of the last plan, once its actions
// were taken (a curtailed rig stops when its connection closes, at once).
func (s *Switcher) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.last
	st := Status{
		CapacityKW: s.policy.SiteCapacityKW, ReserveKW: s.policy.ReserveKW,
		AIKW: p.AIKW, MiningBudgetKW: p.MiningBudgetKW, MiningLoadKW: p.CountedLoadAfterKW, MiningLoadEst: p.LoadEstKW,
		Compliant: p.CountedCompliant, CompliantSince: s.compliantSince, ETASeconds: p.ETASeconds,
		Emergency: p.Emergency, Policy: s.policy.Path, PolicyError: s.policyErr,
	}
	st.countParks(&p, s.planned)
	if s.stateErr != nil {
		st.StateError = (&NotPersistedError{What: "state", Since: s.stateErrSince, Err: s.stateErr}).Error()
	}
	if err, since := s.audit.Err(); err != nil {
		st.AuditError = (&NotPersistedError{What: "audit log", Since: since, Err: err}).Error()
	}
	if !p.Allocation.At.IsZero() {
		a := p.Allocation
		st.Allocation = &a
	}
	for _, r := range s.rigs {
		if r.state == RigParked {
			st.Curtailed++
		}
	}
	s.deviceTotalsLocked(&st, s.cfg.Now())
	s.economicStatusLocked(&st, s.cfg.Now())
	s.capStatusLocked(&st, s.cfg.Now())
	return st
}

// countParks fills the status's account of how parks are counted.
func (st *Status) countParks(p *Plan, planned bool) {
	st.MiningLoadPlannedKW, st.PlannedCompliant = p.LoadAfterKW, p.Compliant
	st.NotCompliantReason = p.NotCompliantReason()
	if !planned {
		st.NotCompliantReason = "no plan made yet"
	}
	st.ParksUnverified = p.ParksUnverified()
	st.ParksBound = p.Counted[CountedParkedBound].Rigs
	st.ParksVerified = p.Counted[CountedParkedVerified].Rigs
	st.Counted = make(map[string]CountedLoad, NumCountedAs)
	for c, l := range p.Counted {
		st.Counted[CountedAs(c).String()] = l
	}
}

// RigStatus is one rig as the switcher sees it.
type RigStatus struct {
	Name      string    `json:"name"`
	Group     string    `json:"group"`
	State     string    `json:"state"` // mining | parked | pending | offline
	Since     time.Time `json:"since,omitzero"`
	Connected bool      `json:"connected"`
	Flags     []string  `json:"flags"`
	Pin       string    `json:"pin,omitempty"`
	PinReason string    `json:"pin_reason,omitempty"`
	// CountedAs and CountedKW: how the rig is counted in the reported
	// load now, and its counted draw (see CountedAs).
	CountedAs string  `json:"counted_as"`
	CountedKW float64 `json:"counted_kw"`
	// Actuator is its group's actuator; Listed: it is in the rig
	// inventory; Device its device's last reading, nil for a rig whose
	// group has neither a firmware actuator nor a monitor (or when no
	// fleet runs them).
	Actuator string        `json:"actuator"`
	Listed   bool          `json:"listed,omitempty"`
	Device   *DeviceStatus `json:"device,omitempty"`
}

// Rigs lists every known rig, sorted by name.
func (s *Switcher) Rigs() []RigStatus {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	// Sorted first, then built in order: sorting the built rows swapped
	// 50,000 structs of some 200 bytes and was three quarters of the call
	// (170-285 ms at 50,000 rigs, the dashboard's worker page).
	recs := s.sortedRigsLocked()
	out := make([]RigStatus, len(recs))
	for i, r := range recs {
		out[i] = s.rigStatusLocked(r, now)
	}
	return out
}

// sortedRigsLocked is every rig record by name. The names are sorted
// beside their records, not through them: a comparison that first loads
// each record (scattered over the heap) cost a cache miss per side, most
// of a 50,000-rig sort.
func (s *Switcher) sortedRigsLocked() []*rigRec {
	type named struct {
		name string
		r    *rigRec
	}
	byName := make([]named, 0, len(s.rigs))
	for _, r := range s.rigs {
		byName = append(byName, named{r.name, r})
	}
	slices.SortFunc(byName, func(a, b named) int { return strings.Compare(a.name, b.name) })
	recs := make([]*rigRec, len(byName))
	for i, n := range byName {
		recs[i] = n.r
	}
	return recs
}

// rigStatusLocked is r as Rigs reports it.
func (s *Switcher) rigStatusLocked(r *rigRec, now time.Time) RigStatus {
	rs := RigStatus{Name: r.name, Group: r.group.Name, State: r.state.String(), Since: r.since,
		Connected: r.conns > 0, Pin: string(r.pin), PinReason: r.pinReason, Flags: []string{}}
	pr := s.planRigLocked(r, now)
	as, counted := CountRig(s.policy, &pr, now)
	rs.CountedAs, rs.CountedKW = as.String(), counted
	rs.Actuator, rs.Listed, rs.Device = r.group.Actuator, r.listed, s.deviceStatusLocked(r)
	for _, f := range []struct {
		on   bool
		flag string
	}{
		{r.curtailFail, FlagCurtailFailed}, {r.resumeFail, FlagResumeFailed}, {r.leftParked, FlagLeftWhileParked},
		{r.conns > 1, FlagDuplicateName}, {r.pin != PinAuto, FlagPinned}, {r.poolsUnbound, FlagPoolsUnbound},
	} {
		if f.on {
			rs.Flags = append(rs.Flags, f.flag)
		}
	}
	return rs
}

// SetDeviceIdle reports a readback of rig's device without its figures,
// idle true when the device shows its hashboards stopped (kept for
// callers from before DeviceReading, which sets the same mark from a
// reading that shows the rig asleep). A parked rig read back idle counts
// at idle_kw (parked_verified) whatever its group's pools_bound; the mark
// is dropped at the rig's next curtail or resume (a new park needs a new
// readback) or by a readback that is not idle. Unknown rigs give
// ErrUnknownRig.
func (s *Switcher) SetDeviceIdle(rig string, idle bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rigs[rig]
	if r == nil {
		return fmt.Errorf("%w %q", ErrUnknownRig, rig)
	}
	if r.deviceIdle != idle {
		r.deviceIdle = idle
		s.stale = true
		s.poke()
	}
	return nil
}

// ParkedByGroup counts parked rigs per group, for metrics.
func (s *Switcher) ParkedByGroup() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for _, r := range s.rigs {
		if r.state == RigParked {
			out[r.group.Name]++
		}
	}
	return out
}

// Counters returns the action counters.
func (s *Switcher) Counters() *Counters { return &s.counters }

// Policy is the policy in force.
func (s *Switcher) Policy() *Policy {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.policy
}
