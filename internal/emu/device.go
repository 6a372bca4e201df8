package emu

import (
	"sync"
	"time"
)

// Faults are what a device does wrong. The zero value is an honest,
// prompt device.
type Faults struct {
	// Lying: answers "ok" to a curtail and keeps mining (field firmware
	// that accepts a write it ignores).
	Lying bool
	// NoWake: answers "ok" to a resume and stays asleep.
	NoWake bool
	// Hang: accepts connections and never answers.
	Hang bool
	// Delay: waited before every answer.
	Delay time.Duration
	// RestartDelay: a state change takes effect this long after the
	// command (the miner process restarts; Antminer ~20 s). Meanwhile
	// the device reads as it was.
	RestartDelay time.Duration
}

// Config is a device's nameplate.
type Config struct {
	MiningW     float64 // draw while hashing
	SleepingW   float64 // draw asleep (control board, fans)
	HashrateTHs float64 // while hashing
	Sleeping    bool    // starts asleep
	Pools       []string
	Now         func() time.Time // default time.Now
}

// Device is one emulated rig's power state. Safe for concurrent use.
type Device struct {
	cfg Config

	mu       sync.Mutex
	mining   bool
	want     bool      // the state a pending change leads to
	changeAt time.Time // when it takes effect (zero: none pending)
	faults   Faults
	pools    []string
	calls    Calls
}

// Calls counts the commands a device received, for tests.
type Calls struct {
	Curtails, Resumes, Reads, AuthFailures int
}

// Snapshot is what the device is doing now.
type Snapshot struct {
	Mining      bool
	PowerW      float64
	HashrateTHs float64
	Pools       []string
}

// NewDevice makes a device from its nameplate.
func NewDevice(cfg Config) *Device {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	d := &Device{cfg: cfg, mining: !cfg.Sleeping, want: !cfg.Sleeping}
	d.pools = append([]string(nil), cfg.Pools...)
	return d
}

// SetFaults replaces the device's faults.
func (d *Device) SetFaults(f Faults) {
	d.mu.Lock()
	d.faults = f
	d.mu.Unlock()
}

// Faults returns the device's faults.
func (d *Device) Faults() Faults {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.faults
}

// settleLocked applies a pending change whose time has come.
func (d *Device) settleLocked() {
	if !d.changeAt.IsZero() && !d.cfg.Now().Before(d.changeAt) {
		d.mining, d.changeAt = d.want, time.Time{}
	}
}

func (d *Device) setLocked(mining bool) {
	d.settleLocked()
	d.want = mining
	if d.faults.RestartDelay <= 0 {
		d.mining, d.changeAt = mining, time.Time{}
		return
	}
	d.changeAt = d.cfg.Now().Add(d.faults.RestartDelay)
}

// Curtail is a sleep command the firmware accepted. A lying device
// ignores it.
func (d *Device) Curtail() { d.command(false) }

// Resume is a wake command the firmware accepted. A NoWake device
// ignores it.
func (d *Device) Resume() { d.command(true) }

// command counts a power command and applies it unless the device's
// fault for that command (Lying for a sleep, NoWake for a wake) makes
// it ignore it.
func (d *Device) command(mining bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ignored := d.faults.Lying
	if mining {
		d.calls.Resumes++
		ignored = d.faults.NoWake
	} else {
		d.calls.Curtails++
	}
	if !ignored {
		d.setLocked(mining)
	}
}

// Read is what the device reports now (counted as a read).
func (d *Device) Read() Snapshot {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls.Reads++
	return d.snapshotLocked()
}

// Peek is Read without counting it: what a test or the demo's meter sees.
func (d *Device) Peek() Snapshot {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.snapshotLocked()
}

func (d *Device) snapshotLocked() Snapshot {
	d.settleLocked()
	s := Snapshot{Mining: d.mining, PowerW: d.cfg.SleepingW, Pools: append([]string(nil), d.pools...)}
	if d.mining {
		s.PowerW, s.HashrateTHs = d.cfg.MiningW, d.cfg.HashrateTHs
	}
	return s
}

// Pending reports whether a state change is under way (the miner process
// is restarting).
func (d *Device) Pending() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.settleLocked()
	return !d.changeAt.IsZero()
}

// SetPools replaces the device's pool list.
func (d *Device) SetPools(pools []string) {
	d.mu.Lock()
	d.pools = append([]string(nil), pools...)
	d.mu.Unlock()
}

// AuthFailed counts a refused login, for tests.
func (d *Device) AuthFailed() {
	d.mu.Lock()
	d.calls.AuthFailures++
	d.mu.Unlock()
}

// Calls returns the commands counted so far.
func (d *Device) Calls() Calls {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.calls
}
