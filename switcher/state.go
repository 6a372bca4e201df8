package switcher

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
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
}

// persistedState is the state file: the allocation stack, every rig's
// state and since-when, pins, and the ramp window.
type persistedState struct {
	Version     int                     `json:"version"`
	SavedAt     time.Time               `json:"saved_at"`
	Allocations []Allocation            `json:"allocations"`
	Ramp        RampState               `json:"ramp"`
	Rigs        map[string]persistedRig `json:"rigs"`
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
	if st.Ramp.ResumedKW < 0 {
		return fmt.Errorf("ramp: resumed_kw %v is negative", st.Ramp.ResumedKW)
	}
	return nil
}
