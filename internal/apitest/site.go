package apitest

import (
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/api"
	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/stratum/proxy"
	"github.com/hashgate/hashgate/stratum/vardiff"
	"github.com/hashgate/hashgate/switcher"
	"github.com/hashgate/hashgate/switcher/stratumact"
)

// Options say what Start runs.
type Options struct {
	// Policy is the switcher's policy (TOML). Empty: no switcher (the
	// API answers 503 on the power endpoints).
	Policy string
	// Tokens are the API's bearer tokens.
	Tokens []config.Token
	// Miners is how many simulated miners connect (0: no fleet).
	Miners int
	// Pprof serves /debug/pprof/ on the API.
	Pprof bool
	// Log is given to the proxy, the switcher and the API (the zero
	// Logger logs nothing).
	Log zerolog.Logger
	// Backup adds a second sim pool, "backup", after "primary" (a site
	// whose per-pool-pair series exist: failovers between them).
	Backup bool
	// Switcher, if set, adjusts the switcher's config before it starts
	// (its state and audit log are in a TempDir unless it moves them).
	Switcher func(*switcher.Config)
}

// Site is a running site. Everything is closed when the test ends.
type Site struct {
	Pool     *sim.Pool
	Backup   *sim.Pool // nil unless Options.Backup
	Proxy    *proxy.Server
	Switcher *switcher.Switcher // nil without a policy
	API      *httptest.Server   // the API handler; API.URL is its address
	Handler  *api.Handler       // closed at cleanup, after API
	Fleet    *sim.Fleet         // nil without miners
}

// Start runs a site: the sim pool, the proxy and the switcher wired
// through a stratumact bridge, then (once the proxy has a pool session)
// the API on httptest and the fleet. It does not wait for the fleet to
// mine. Any error fails tb at once.
func Start(tb testing.TB, o Options) *Site {
	tb.Helper()
	s := &Site{}
	pool, err := sim.StartPool(sim.PoolConfig{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	s.Pool = pool

	b := &stratumact.Bridge{}
	pcfg := proxy.Config{
		Listen:           "127.0.0.1:0",
		HandshakeTimeout: 5 * time.Second,
		ReconnectGrace:   500 * time.Millisecond,
		BackoffMin:       50 * time.Millisecond,
		BackoffMax:       500 * time.Millisecond,
		Difficulty:       vardiff.Config{Initial: sim.DefaultPoolDifficulty, Min: sim.DefaultPoolDifficulty, Max: sim.DefaultPoolDifficulty, TargetShareSeconds: 10},
		Pools: []proxy.PoolSpec{{Name: "primary", Address: pool.Addr(), User: "acct.proxy", Password: "x",
			ConnectTimeout: time.Second, FailoverTimeout: 2 * time.Second, FailbackAfter: time.Second}},
		Log: o.Log,
	}
	if o.Backup {
		backup, err := sim.StartPool(sim.PoolConfig{})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(backup.Close)
		s.Backup = backup
		spec := pcfg.Pools[0]
		spec.Name, spec.Address = "backup", backup.Addr()
		pcfg.Pools = append(pcfg.Pools, spec)
	}
	if o.Policy != "" {
		pcfg.Gate = b
		pcfg.OnFailover = b.Failover
		pol, err := switcher.ParsePolicy("policy.toml", []byte(o.Policy))
		if err != nil {
			tb.Fatal(err)
		}
		dir := tb.TempDir()
		cfg := switcher.Config{
			StatePath: filepath.Join(dir, "state.json"),
			AuditPath: filepath.Join(dir, "audit.log"),
			Tick:      50 * time.Millisecond,
			Log:       o.Log,
		}
		if o.Switcher != nil {
			o.Switcher(&cfg)
		}
		sw, err := switcher.New(cfg, pol, b, b)
		if err != nil {
			tb.Fatal(err)
		}
		s.Switcher = sw
	}
	srv, err := proxy.New(pcfg)
	if err != nil {
		tb.Fatal(err)
	}
	s.Proxy = srv
	b.Bind(srv, s.Switcher)
	if err := srv.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(srv.Close)
	if s.Switcher != nil {
		s.Switcher.Start()
		tb.Cleanup(func() {
			if err := s.Switcher.Close(); err != nil {
				tb.Error(err)
			}
		})
	}
	sim.Eventually(tb, 5*time.Second, srv.Healthy, "proxy has no pool session")

	h, err := api.New(api.Config{Proxy: srv, Switcher: s.Switcher, Log: o.Log, EnablePprof: o.Pprof, Tokens: o.Tokens, Version: "1.2.3-test"})
	if err != nil {
		tb.Fatal(err)
	}
	s.Handler = h
	s.API = httptest.NewServer(h)
	tb.Cleanup(func() { s.API.Close(); h.Close() })

	if o.Miners > 0 {
		fleet, err := sim.StartFleet(sim.FleetConfig{Addr: srv.Addr().String(), Miners: o.Miners, ShareInterval: 50 * time.Millisecond})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(fleet.Close)
		s.Fleet = fleet
	}
	return s
}

// TwoHallPolicy is the test site of the api and hashgatectl tests: 20 rigs
// of 3 kW (0.1 kW parked) on 100 kW; rigs acct.rig-00000-00009 are hall-a
// (priority 10), the others default (priority 0) and curtailed first, so
// an allocation of 68 kW curtails rigs 00010-00019. No min_on/min_off, a
// fast ramp. Both groups are pools_bound: the simulated rigs have no pool
// but hashgate, so a park holds and counts at idle_kw.
const TwoHallPolicy = `
site_capacity_kw = 100.0
ramp_up_kw_per_min = 10000.0
min_off = "0s"
min_on = "0s"

[[group]]
name = "hall-a"
workers = ["acct.rig-0000*"]
rig_kw = 3.0
idle_kw = 0.1
efficiency_j_th = 20.0
priority = 10
actuator = "stratum"
pools_bound = true

[default]
rig_kw = 3.0
idle_kw = 0.1
efficiency_j_th = 30.0
actuator = "stratum"
pools_bound = true
`
