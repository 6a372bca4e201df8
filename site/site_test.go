package site

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/switcher"
)

const testPolicy = `
site_capacity_kw = 100.0

[default]
rig_kw = 3.0
idle_kw = 0.1
efficiency_j_th = 30.0
actuator = "stratum"
`

// testConfig is a config for a site on loopback mining at pool, with a
// policy file in dir when policy is set.
func testConfig(t *testing.T, pool *sim.Pool, policy string) *config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.Proxy.Listen, cfg.API.Listen = "127.0.0.1:0", "127.0.0.1:0"
	p := config.DefaultPool()
	host, port, _ := net.SplitHostPort(pool.Addr())
	p.Port, _ = strconv.Atoi(port)
	p.Name, p.URL, p.Host, p.User = "local", pool.URL(), host, "acct.proxy"
	cfg.Pools = []config.Pool{p}
	if policy != "" {
		dir := t.TempDir()
		cfg.Switcher.PolicyPath = filepath.Join(dir, "policy.toml")
		if err := os.WriteFile(cfg.Switcher.PolicyPath, []byte(policy), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg.Switcher.StateFilePath = filepath.Join(dir, "state.json")
		cfg.Switcher.AuditLogPath = filepath.Join(dir, "audit.jsonl")
	}
	return cfg
}

// A site with a policy: New builds every piece and runs none (no
// listener), Start runs them (the API answers, the proxy reaches the
// pool), Close stops them all (every goroutine gone) and a second Close
// is harmless.
func TestSiteStartsAndCloses(t *testing.T) {
	pool, err := sim.StartPool(sim.PoolConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	before := runtime.NumGoroutine()
	s, err := New(testConfig(t, pool, testPolicy), zerolog.Nop(), WithVersion("9.9.9-test"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Switcher() == nil || s.Fleet() == nil || s.Watcher() == nil {
		t.Fatalf("with a policy file: switcher %v, fleet %v, watcher %v; want all built", s.Switcher(), s.Fleet(), s.Watcher())
	}
	if a := s.APIAddr(); a != nil {
		t.Errorf("API address before Start: got %v, want none", a)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	sim.WaitFor(t, 5*time.Second, "a pool session (Healthy)", func() (bool, any) { return s.Proxy().Healthy(), s.Proxy().Pools() })
	resp, err := http.Get("http://" + s.APIAddr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /healthz: got %s, want 200", resp.Status)
	}
	if got := s.Switcher().Status().Policy; got == "" {
		t.Errorf("switcher's policy: got %q, want the file's path", got)
	}
	if err := s.Close(); err != nil {
		t.Errorf("close: got %v, want nil", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second close: got %v, want nil", err)
	}
	var now int
	if err := sim.Poll(5*time.Second, func() bool { now = runtime.NumGoroutine(); return now <= before }); err != nil {
		t.Errorf("goroutines: got %d after Close, want at most %d as before New", now, before)
	}
}

// Without a policy the site is the proxy and the API alone; WithPolicy
// runs a switcher on a policy given in code, with no watcher; the
// options reach the pieces.
func TestSiteOptions(t *testing.T) {
	pool, err := sim.StartPool(sim.PoolConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s, err := New(testConfig(t, pool, ""), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if s.Switcher() != nil || s.Fleet() != nil || s.Watcher() != nil {
		t.Errorf("without a policy: switcher %v, fleet %v, watcher %v; want none", s.Switcher(), s.Fleet(), s.Watcher())
	}
	s.Close()

	pol, err := switcher.ParsePolicy("policy.toml", []byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, pool, "")
	dir := t.TempDir()
	cfg.Switcher.StateFilePath, cfg.Switcher.AuditLogPath = filepath.Join(dir, "s.json"), filepath.Join(dir, "a.jsonl")
	var tick time.Duration
	s, err = New(cfg, zerolog.Nop(), WithPolicy(pol), WithoutAPIListener(),
		WithSwitcher(func(c *switcher.Config) { c.Tick = 20 * time.Millisecond; tick = c.Tick }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if s.Switcher() == nil || s.Watcher() != nil {
		t.Errorf("WithPolicy: switcher %v, watcher %v; want a switcher and no watcher", s.Switcher(), s.Watcher())
	}
	if got := s.Switcher().Status().Policy; got != "policy.toml" {
		t.Errorf("switcher's policy: got %q, want policy.toml", got)
	}
	if tick != 20*time.Millisecond {
		t.Errorf("WithSwitcher: the hook saw tick %v, want 20ms", tick)
	}
	if a := s.APIAddr(); a != nil {
		t.Errorf("WithoutAPIListener: API address %v, want none", a)
	}
	if h := s.Handler(); h == nil {
		t.Errorf("WithoutAPIListener: handler %v, want one to serve", h)
	}
}

// The proxy's config is the file's: an empty allow list stays an empty
// list (nobody), never nil (the proxy's default: everybody), and each
// pool's failover_on_rejects is the spec's inverse.
func TestProxyConfigMapsTheFile(t *testing.T) {
	cfg := config.Default()
	cfg.Proxy.Allow = nil
	p := config.DefaultPool()
	p.Name, p.Host, p.Port, p.FailoverOnRejects = "a", "pool.example", 3333, false
	cfg.Pools = []config.Pool{p}
	pc := ProxyConfig(cfg)
	if pc.Allow == nil || len(pc.Allow) != 0 {
		t.Errorf("allow: got %#v, want an empty non-nil list", pc.Allow)
	}
	if len(pc.Pools) != 1 || pc.Pools[0].Address != "pool.example:3333" || !pc.Pools[0].NoRejectFailover {
		t.Errorf("pools: got %+v, want pool.example:3333 with NoRejectFailover", pc.Pools)
	}
}

// PoolURLs: the configured list, else the proxy's address when rigs can
// dial it.
func TestPoolURLs(t *testing.T) {
	for _, tc := range []struct {
		name, listen string
		urls, want   []string
	}{
		{"configured", "0.0.0.0:3333", []string{"stratum+tcp://10.0.0.2:3333"}, []string{"stratum+tcp://10.0.0.2:3333"}},
		{"listen address", "10.0.0.2:3333", nil, []string{"stratum+tcp://10.0.0.2:3333"}},
		{"unspecified v4", "0.0.0.0:3333", nil, nil},
		{"unspecified v6", "[::]:3333", nil, nil},
		{"no host", ":3333", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Proxy.Listen, cfg.Switcher.PoolURLs = tc.listen, tc.urls
			if got := PoolURLs(cfg); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// A site built and never started closes cleanly: nothing was running,
// nothing is left.
func TestSiteClosesUnstarted(t *testing.T) {
	pool, err := sim.StartPool(sim.PoolConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	before := runtime.NumGoroutine()
	s, err := New(testConfig(t, pool, testPolicy), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("close: got %v, want nil", err)
	}
	var now int
	if err := sim.Poll(5*time.Second, func() bool { now = runtime.NumGoroutine(); return now <= before }); err != nil {
		t.Errorf("goroutines: got %d after Close, want at most %d as before New", now, before)
	}
}

// A config New refuses (a policy file that is not there, and no last
// good copy) builds nothing and leaves nothing running.
func TestSiteRefusesABadPolicy(t *testing.T) {
	pool, err := sim.StartPool(sim.PoolConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	before := runtime.NumGoroutine()
	cfg := testConfig(t, pool, testPolicy)
	if err := os.Remove(cfg.Switcher.PolicyPath); err != nil {
		t.Fatal(err)
	}
	if s, err := New(cfg, zerolog.Nop()); err == nil {
		s.Close()
		t.Fatalf("New with no policy file: got a site and err %v, want an error", err)
	}
	var now int
	if err := sim.Poll(5*time.Second, func() bool { now = runtime.NumGoroutine(); return now <= before }); err != nil {
		t.Errorf("goroutines: got %d after a refused New, want at most %d as before", now, before)
	}
}
