package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/internal/emu/hall"
	"github.com/hashgate/hashgate/site"
	"github.com/hashgate/hashgate/switcher"
	"github.com/hashgate/hashgate/switcher/device"
	"github.com/hashgate/hashgate/switcher/firmware"
	"github.com/hashgate/hashgate/switcher/fleet"
)

// fwSide is hashgate's side of a firmware run: the fleet and the
// switcher with package site's mappings of a config (site.FleetConfig,
// site.SwitcherConfig: what `hashgate run` builds), every firmware
// driver, the inventory and the policy's firmware groups (hall.Groups).
// No proxy: the rigs mine straight at a pool, so the Stratum actuator
// is a counter. The drivers are wrapped only to stamp when each curtail
// was answered.
type fwSide struct {
	fl  *fleet.Fleet
	sw  *switcher.Switcher
	ans *answerLog
	cfg fwSideConfig
}

type fwSideConfig struct {
	dir       string // state, audit, policy and password files
	csv       []byte // the inventory
	rigs      int
	workers   int           // [switcher] device_workers
	poll      time.Duration // [switcher] poll_interval
	timeout   time.Duration // the groups' per-call timeout
	capacity  float64       // site_capacity_kw
	fullEvery int           // fleet.Config.FullReadEvery (0: its default)
}

// nopActuator is the Stratum side: no rig connects through a proxy in
// these runs (inventory rigs pointed straight at a pool), so the
// switcher never parks one through it; it counts calls in case.
type nopActuator struct{ parks, resumes atomic.Int64 }

func (a *nopActuator) Park(string) error   { a.parks.Add(1); return nil }
func (a *nopActuator) Resume(string) error { a.resumes.Add(1); return nil }

// policyText is the site and hall.Groups' firmware groups.
func policyText(capacityKW float64, pwFile string, timeout time.Duration) (string, error) {
	h, err := hall.Start(hall.Config{}) // no rigs: its Groups only
	if err != nil {
		return "", err
	}
	defer h.Close()
	return fmt.Sprintf("site_capacity_kw = %g\nreserve_kw = 0\n", capacityKW) +
		h.Groups("emu", 10, 30, pwFile, timeout), nil
}

func startSide(c fwSideConfig) (*fwSide, error) {
	pwFile := filepath.Join(c.dir, "rigs.pass")
	if err := os.WriteFile(pwFile, []byte("hall-pass\n"), 0o600); err != nil {
		return nil, err
	}
	text, err := policyText(c.capacity, pwFile, c.timeout)
	if err != nil {
		return nil, err
	}
	polPath := filepath.Join(c.dir, "policy.toml")
	pol, err := switcher.ParsePolicy(polPath, []byte(text))
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	inv, err := switcher.ParseInventory(filepath.Join(c.dir, "inventory.csv"), c.csv)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	s := &fwSide{ans: newAnswerLog(), cfg: c}
	log := zerolog.New(os.Stderr).Level(zerolog.WarnLevel).With().Timestamp().Logger()
	drivers := firmware.Drivers()
	for name, d := range drivers {
		td := timedDriver{Driver: d, log: s.ans}
		drivers[name] = td
		if lr, ok := d.(device.LightReader); ok {
			drivers[name] = timedLightDriver{timedDriver: td, lr: lr}
		}
	}
	// The config `hashgate run` would read: [switcher] device_workers
	// and poll_interval as given, every other key at its default.
	cfg := config.Default()
	cfg.Switcher.DeviceWorkers, cfg.Switcher.PollInterval = c.workers, config.Duration{Duration: c.poll}
	cfg.Switcher.StateFilePath, cfg.Switcher.AuditLogPath = filepath.Join(c.dir, "state.json"), filepath.Join(c.dir, "audit.log")
	var sw *switcher.Switcher
	fc := site.FleetConfig(cfg, drivers, log, func() *switcher.Switcher { return sw })
	fc.FullReadEvery = c.fullEvery
	s.fl, err = fleet.New(fc)
	if err != nil {
		return nil, err
	}
	sc := site.SwitcherConfig(cfg, s.fl)
	sc.Log = log
	sw, err = switcher.New(sc, pol, &nopActuator{}, nil)
	if err != nil {
		s.fl.Close()
		return nil, err
	}
	s.sw = sw
	sw.SetInventory(inv)
	s.fl.Start()
	sw.Start()
	return s, nil
}

// close stops the switcher, then the fleet (package site's order).
func (s *fwSide) close() {
	if s == nil {
		return
	}
	_ = s.sw.Close()
	_ = s.fl.Close()
}

// waitReads waits until the fleet has made n more reads than since.
func (s *fwSide) waitReads(since uint64, n int, timeout time.Duration) bool {
	return waitFor(timeout, func() bool { return s.fl.Stats().Reads >= since+uint64(n) })
}

// waitFor polls cond every 20 ms until it holds or the timeout ends.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// answerLog stamps, while armed, the first successful answer to a
// curtail per rig.
type answerLog struct {
	armed  atomic.Bool
	mu     sync.Mutex
	at     map[string]time.Time
	failed int
	n      atomic.Int64
}

func newAnswerLog() *answerLog { return &answerLog{at: map[string]time.Time{}} }

func (l *answerLog) arm() {
	l.mu.Lock()
	clear(l.at)
	l.failed = 0
	l.n.Store(0)
	l.mu.Unlock()
	l.armed.Store(true)
}

func (l *answerLog) record(rig string, err error) {
	if !l.armed.Load() {
		return
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.failed++
		return
	}
	if _, ok := l.at[rig]; !ok {
		l.at[rig] = now
		l.n.Add(1)
	}
}

// last is the latest answer among rigs, and how many of them answered.
func (l *answerLog) last(rigs []string) (time.Time, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var t time.Time
	n := 0
	for _, r := range rigs {
		if a, ok := l.at[r]; ok {
			n++
			if a.After(t) {
				t = a
			}
		}
	}
	return t, n
}

// timedDriver is a driver whose successful curtails are stamped.
type timedDriver struct {
	device.Driver
	log *answerLog
}

func (d timedDriver) Curtail(ctx context.Context, t *device.Target) error {
	err := d.Driver.Curtail(ctx, t)
	d.log.record(t.Rig, err)
	return err
}

// timedLightDriver is a timedDriver whose driver has a light read: the
// fleet polls with it between full reads.
type timedLightDriver struct {
	timedDriver
	lr device.LightReader
}

func (d timedLightDriver) ReadLight(ctx context.Context, t *device.Target) (device.Reading, error) {
	return d.lr.ReadLight(ctx, t)
}
