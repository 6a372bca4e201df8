package apitest

import (
	"net"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/api"
	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/site"
	"github.com/hashgate/hashgate/stratum/proxy"
	"github.com/hashgate/hashgate/switcher"
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

// Start runs a site: the sim pool(s), then hashgate wired as `hashgate
// run` wires it (package site, from a config built here: the proxy on
// 127.0.0.1:0 and, with a policy, the switcher and the stratumact bridge),
// then (once the proxy has a pool session) the API on httptest and the
// fleet. It does not wait for the fleet to mine. Any error fails tb at
// once.
func Start(tb testing.TB, o Options) *Site {
	tb.Helper()
	s := &Site{}
	pool, err := sim.StartPool(sim.PoolConfig{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	s.Pool = pool
	cfg, opts := siteConfig(tb, o)
	cfg.Pools = append(cfg.Pools, simPool("primary", pool))
	if o.Backup {
		backup, err := sim.StartPool(sim.PoolConfig{})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(backup.Close)
		s.Backup = backup
		cfg.Pools = append(cfg.Pools, simPool("backup", backup))
	}
	hs, err := site.New(cfg, o.Log, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	if err := hs.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := hs.Close(); err != nil {
			tb.Error(err)
		}
	})
	s.Proxy, s.Switcher, s.Handler = hs.Proxy(), hs.Switcher(), hs.Handler()
	sim.WaitFor(tb, 5*time.Second, "a pool session (Healthy)", func() (bool, any) { return s.Proxy.Healthy(), s.Proxy.Pools() })

	s.API = httptest.NewServer(s.Handler)
	tb.Cleanup(s.API.Close) // before the site's Close, which closes the handler

	if o.Miners > 0 {
		fleet, err := sim.StartFleet(sim.FleetConfig{Addr: s.Proxy.Addr().String(), Miners: o.Miners, ShareInterval: 50 * time.Millisecond})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(fleet.Close)
		s.Fleet = fleet
	}
	return s
}

// siteConfig is the test site's config, as `hashgate run` would read it
// (the proxy on 127.0.0.1:0 at the sim pools' difficulty, the API tokens;
// with a policy, the state and the audit log in a TempDir) and what the
// file has no key for: the policy as text, the proxy's back-off, the
// switcher's tick and the caller's changes to the switcher.
func siteConfig(tb testing.TB, o Options) (*config.Config, []site.Option) {
	cfg := config.Default()
	cfg.Proxy.Listen = "127.0.0.1:0"
	cfg.Proxy.HandshakeTimeout = config.Duration{Duration: 5 * time.Second}
	cfg.Proxy.ReconnectGrace = config.Duration{Duration: 500 * time.Millisecond}
	d := sim.DefaultPoolDifficulty
	cfg.Proxy.Difficulty = config.Difficulty{Initial: d, Min: d, Max: d, TargetShareSeconds: 10}
	cfg.API.Listen = "127.0.0.1:0"
	cfg.API.Tokens = o.Tokens
	cfg.API.Pprof = o.Pprof
	opts := []site.Option{site.WithVersion("1.2.3-test"), site.WithoutAPIListener(),
		site.WithProxy(func(c *proxy.Config) { c.BackoffMin, c.BackoffMax = 50*time.Millisecond, 500*time.Millisecond })}
	if o.Policy == "" {
		return cfg, opts
	}
	pol, err := switcher.ParsePolicy("policy.toml", []byte(o.Policy))
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	cfg.Switcher.StateFilePath = filepath.Join(dir, "state.json")
	cfg.Switcher.AuditLogPath = filepath.Join(dir, "audit.log")
	return cfg, append(opts, site.WithPolicy(pol), site.WithSwitcher(func(c *switcher.Config) {
		c.Tick = 50 * time.Millisecond
		if o.Switcher != nil {
			o.Switcher(c)
		}
	}))
}

// simPool is a [[pools]] entry for a sim pool, with the test site's
// short timeouts.
func simPool(name string, p *sim.Pool) config.Pool {
	c := config.DefaultPool()
	host, port, _ := net.SplitHostPort(p.Addr())
	c.Port, _ = strconv.Atoi(port)
	c.Name, c.URL, c.Host, c.User, c.Password = name, p.URL(), host, "acct.proxy", "x"
	c.ConnectTimeout = config.Duration{Duration: time.Second}
	c.FailoverTimeout = config.Duration{Duration: 2 * time.Second}
	c.FailbackAfter = config.Duration{Duration: time.Second}
	return c
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
