package switcher

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/hashgate/hashgate/switcher/device"
)

// persistedRig is what survives a restart about one rig.
type persistedRig struct {
	State           string    `json:"state"` // mining | parked | pending | offline
	Since           time.Time `json:"since"`
	Pin             Pin       `json:"pin,omitempty"`
	PinReason       string    `json:"pin_reason,omitempty"`
	LeftWhileParked bool      `json:"left_while_parked,omitempty"`
	AwaySince       time.Time `json:"away_since,omitempty"`
	PinnedAhead     bool      `json:"pinned_ahead,omitempty"` // pinned before it ever connected
	// HeldAtAdmission: parked without ever having been given work in this
	// park, not curtailed from mining. Written as the exception so that
	// a file written before it (absent: false) loads every park as
	// curtailed from mining, the safe side.
	HeldAtAdmission bool `json:"held_at_admission,omitempty"`
	// Net is the network it last connected from, for the cap of offline
	// records per network (absent in files written before it).
	Net netip.Prefix `json:"net,omitzero"`
	// Addr is how its device is reached, for a firmware-actuated rig
	// parked or mining: a rig asleep never reconnects, and must still be
	// woken after a restart.
	Addr string `json:"addr,omitempty"`
	// Woken: a firmware-actuated rig mining because its device was last
	// asked to wake (a resume). A restart finishes that resume: the rig,
	// which may still be asleep and never reconnect, is loaded mining and
	// reached at Addr, its device wanted mining.
	Woken bool `json:"woken,omitempty"`
	// Cause is the seq of the audit summary whose plan acted on it last
	// (seqs continue across restarts): a firmware outcome found after a
	// restart still names the allocation, pin or plan it came of.
	Cause uint64 `json:"cause,omitempty"`
}

// persistedState is the state file: the allocation stack, every rig's
// state and since-when, pins, and the ramp window.
type persistedState struct {
	Version     int                     `json:"version"`
	SavedAt     time.Time               `json:"saved_at"`
	Allocations []Allocation            `json:"allocations"`
	Ramp        RampState               `json:"ramp"`
	Rigs        map[string]persistedRig `json:"rigs"`
	// Caps are the cap settings made through the API (capmode.go),
	// oldest first; absent: none.
	Caps []CapSetting `json:"caps,omitempty"`
	// Economic is economic curtailment's state (economic_state.go).
	Economic *persistedEcon `json:"economic,omitempty"`
	// Failsafe is the fail-safe in force at the save (capmode_evidence.go).
	Failsafe *persistedFailsafe `json:"failsafe,omitempty"`
}

// saveState writes the state atomically and durably: a temp file in the
// same directory, fsync, rename over the old one, fsync the directory. A
// kill -9 at any point leaves either the old file or the new one.
func saveState(path string, st *persistedState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, b)
}

// writeFileAtomic replaces the file at path with data: a temporary file in
// the same directory, synced, renamed over it, then the directory synced,
// so a crash leaves the old file or the new one, never part of either.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// loadState reads the state file; a missing file is an empty state.
func loadState(path string) (*persistedState, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return &persistedState{Version: 1, Rigs: map[string]persistedRig{}}, nil
	}
	if err != nil {
		return nil, err
	}
	var st persistedState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("state file %s is corrupt: %w", path, err)
	}
	if err := st.check(); err != nil {
		return nil, fmt.Errorf("state file %s is corrupt: %w", path, err)
	}
	if st.Rigs == nil {
		st.Rigs = map[string]persistedRig{}
	}
	return &st, nil
}

// check refuses numbers hashgate never writes (a file edited by hand, or
// damaged): a negative AI allocation would give mining more than the site
// has, a negative ramp use more than the ramp allows.
func (st *persistedState) check() error {
	for i, a := range st.Allocations {
		if a.AIKW < 0 {
			return fmt.Errorf("allocations[%d]: ai_kw %v is negative", i, a.AIKW)
		}
	}
	for i, c := range st.Caps {
		if !(c.CapKW >= 0) {
			return fmt.Errorf("caps[%d]: cap_kw %v is negative", i, c.CapKW)
		}
	}
	if st.Ramp.ResumedKW < 0 {
		return fmt.Errorf("ramp: resumed_kw %v is negative", st.Ramp.ResumedKW)
	}
	return nil
}

// A state file that cannot be written (a full disk, a read-only or
// missing directory) must not lose the power desk's decisions silently.
// They are applied all the same, since refusing an allocation or a
// maintenance pin because of a disk does not make the site safer (the AI
// racks draw their power either way); but every write answers that it is
// not persisted, the status, /healthz and the metrics say so until a save
// succeeds, and the save is retried in the background with a backoff.

// Save retries back off from saveRetryMin to saveRetryMax, and while the
// state is not persisted a log line repeats it every stateWarnEvery.
const (
	saveRetryMin   = time.Second
	saveRetryMax   = 30 * time.Second
	stateWarnEvery = 5 * time.Minute
)

// NotPersistedError: a change was applied, but the state (or the audit
// log) holding it could not be written since Since; it is retried.
type NotPersistedError struct {
	What  string // "state" or "audit log"
	Since time.Time
	Err   error
}

func (e *NotPersistedError) Error() string {
	return fmt.Sprintf("%s not persisted since %s: %v", e.What, e.Since.UTC().Format(time.RFC3339), e.Err)
}

func (e *NotPersistedError) Unwrap() error { return e.Err }

// persistLocked saves a change an operator made, now (whatever the
// backoff says), and answers whether it and its audit event are on disk.
func (s *Switcher) persistLocked() error {
	if err := s.saveLocked(true); err != nil {
		return &NotPersistedError{What: "state", Since: s.stateErrSince, Err: err}
	}
	if err, since := s.audit.Err(); err != nil {
		return &NotPersistedError{What: "audit log", Since: since, Err: err}
	}
	return nil
}

// saveLocked writes the state if it changed; after a failure, only once
// the backoff has passed unless force.
func (s *Switcher) saveLocked(force bool) error {
	if !s.dirty {
		return nil
	}
	now := s.cfg.Now()
	if !force && s.stateErr != nil && now.Before(s.nextSave) {
		return s.stateErr
	}
	st := &persistedState{Version: 1, SavedAt: now.UTC(), Allocations: s.allocs, Ramp: s.ramp, Rigs: make(map[string]persistedRig, len(s.rigs)), Caps: s.cm.caps,
		Economic: s.persistEconLocked(), Failsafe: s.persistFailsafeLocked()}
	for name, r := range s.rigs {
		pr := persistedRig{State: r.state.String(), Since: r.since, Pin: r.pin, PinReason: r.pinReason, LeftWhileParked: r.leftParked, AwaySince: r.awaySince, PinnedAhead: r.pinnedAhead, Net: r.net,
			HeldAtAdmission: r.state == RigParked && r.heldAtAdmission, Cause: r.cause}
		if r.state == RigOffline && r.knownMining {
			pr.State = "mining" // still owed its place
		}
		if (r.state == RigParked || r.state == RigMining) && (isFirmware(r.group) || r.group.Monitor != "") {
			pr.Addr = r.devAddr
			pr.Woken = r.state == RigMining && r.want == device.StateMining && isFirmware(r.group)
		}
		st.Rigs[name] = pr
	}
	if err := saveState(s.cfg.StatePath, st); err != nil {
		s.saveFailedLocked(now, err)
		return err
	}
	if s.stateErr != nil {
		s.log.Warn().Str("file", s.cfg.StatePath).Time("unsaved_since", s.stateErrSince).Msg("state saved again")
		s.event(Event{Kind: EventStatePersisted, Fields: map[string]any{"unsaved_since": s.stateErrSince, "error": s.stateErr.Error()}})
	}
	s.stateErr, s.dirty, s.saveBackoff = nil, false, 0
	return nil
}

func (s *Switcher) saveFailedLocked(now time.Time, err error) {
	s.counters.StateSaveErrors.Add(1)
	if s.stateErr == nil {
		s.stateErrSince, s.stateWarnAt = now, now
		s.log.Error().Err(err).Str("file", s.cfg.StatePath).Msg("cannot save state: decisions are applied but not persisted; retrying")
		s.event(Event{Kind: EventStateNotPersisted, Fields: map[string]any{"error": err.Error()}})
	} else if now.Sub(s.stateWarnAt) >= stateWarnEvery {
		s.stateWarnAt = now
		s.log.Error().Err(err).Str("file", s.cfg.StatePath).Time("unsaved_since", s.stateErrSince).Msg("state still not persisted")
	}
	s.stateErr = err
	s.saveBackoff = min(max(2*s.saveBackoff, saveRetryMin), saveRetryMax)
	s.nextSave = now.Add(s.saveBackoff)
}

// finalSave is the save at Close: the last chance, said loudly if lost.
func (s *Switcher) finalSave() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events(s.takeAllHeadsLocked())
	if err := s.saveLocked(true); err != nil {
		s.log.Error().Err(err).Str("file", s.cfg.StatePath).Time("unsaved_since", s.stateErrSince).
			Msg("state not persisted at shutdown: decisions since then are lost")
	}
}
