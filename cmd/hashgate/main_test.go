package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/hashgate/hashgate/sim"
	"github.com/hashgate/hashgate/stratum/proxy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCheckExampleConfig(t *testing.T) {
	var out, errb bytes.Buffer
	if code := cmdCheck([]string{"-c", "../../examples/hashgate.toml"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{
		"OK",
		"pool extranonce2_size 8: 4 prefix byte(s), 4294967296 miners per session x 32 sessions",
		"pool extranonce2_size 4: 1 prefix byte(s), 256 miners per session x 32 sessions = 8192 miners",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestCheckBadConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.toml")
	bad := "[proxy]\nlisten = \"nowhere\"\nmax_connectionz = 5\n\n[[pools]]\nurl = \"http://pool.example:3333\"\nuser = \"u\"\n"
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := cmdCheck([]string{"--config", path}, &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
	if len(lines) < 3 {
		t.Fatalf("want every error, got:\n%s", errb.String())
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, path+":") {
			t.Errorf("error not as FILE:LINE:COL: %q", l)
		}
	}
	for _, want := range []string{path + ":2:", path + ":3:1:", path + ":6:"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("no error at %s:\n%s", want, errb.String())
		}
	}
	// run refuses the same file.
	if code := cmdRun([]string{"-c", path}); code != 1 {
		t.Fatalf("run with a bad config: exit %d, want 1", code)
	}
}

func TestDispatch(t *testing.T) {
	if code := dispatch([]string{"version"}); code != 0 {
		t.Fatalf("version: exit %d", code)
	}
	if code := dispatch([]string{"frobnicate"}); code != 2 {
		t.Fatalf("unknown command: exit %d", code)
	}
	if code := dispatch(nil); code != 2 {
		t.Fatalf("no command: exit %d", code)
	}
}

func TestLoggerOptions(t *testing.T) {
	if _, err := newLogger("json", "debug", os.Stderr); err != nil {
		t.Fatal(err)
	}
	if _, err := newLogger("xml", "", os.Stderr); err == nil {
		t.Fatal("unknown format accepted")
	}
	if _, err := newLogger("", "loud", os.Stderr); err == nil {
		t.Fatal("unknown level accepted")
	}
}

// The demo runs end to end: pools, proxy, switcher, API, fleet, the
// scripted reallocation and a failover, and a summary.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for a few seconds")
	}
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Second)
	defer cancel()
	o := demoOptions{miners: 60, listen: "127.0.0.1:0", api: "127.0.0.1:0", step: 1500 * time.Millisecond, every: 500 * time.Millisecond}
	if err := runDemo(ctx, o, &out, zerolog.Nop()); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"point miners at stratum+tcp://127.0.0.1:", "dashboard: http://127.0.0.1:",
		"AI takes 400 kW", "curtailed", "EMERGENCY", "killing pool-a", "pool pool-b", "stopping:"} {
		if !strings.Contains(s, want) {
			t.Errorf("demo output lacks %q:\n%s", want, s)
		}
	}
}

// `run` as a user runs it: a config file naming a pool, miners through the
// proxy, shares accepted by the pool, a clean shutdown.
func TestServeWithConfigFile(t *testing.T) {
	pool, err := sim.StartPool(sim.PoolConfig{JobInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	dir := t.TempDir()
	path := filepath.Join(dir, "hashgate.toml")
	conf := "[proxy]\nlisten = \"127.0.0.1:0\"\nallow = [\"127.0.0.0/8\"]\n\n[proxy.difficulty]\ninitial = 1e-9\nmin = 1e-10\nmax = 1e-8\n\n[[pools]]\nname = \"local\"\nurl = \"" + pool.URL() + "\"\nuser = \"acct.proxy\"\n\n[api]\nlisten = \"127.0.0.1:0\"\n"
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	cfg, ok := loadConfig(path, &errb)
	if !ok {
		t.Fatalf("config refused: %s", errb.String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	srvCh := make(chan *proxy.Server, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, zerolog.Nop(), nil, func(r *running) { srvCh <- r.proxy }) }()
	srv := <-srvCh
	fleet, err := sim.StartFleet(sim.FleetConfig{Addr: srv.Addr().String(), Miners: 10, ShareInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	sim.Eventually(t, 10*time.Second, func() bool { return pool.Stats().Accepted >= 20 }, "shares through the proxy")
	if c := pool.Stats().Connections; c != 1 {
		t.Fatalf("%d pool connections for 10 miners", c)
	}
	fleet.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// check validates the policy the config names, with the same positions.
func TestCheckBadPolicy(t *testing.T) {
	dir := t.TempDir()
	conf := "[[pools]]\nurl = \"stratum+tcp://pool.example:3333\"\nuser = \"u\"\n\n[switcher]\npolicy = \"policy.toml\"\n"
	pol := "site_capacity_kw = -5.0\n\n[[group]]\nname = \"x\"\nworkers = [\"a-*\"]\nrig_kw = 3.0\nefficiency_j_th = 30.0\nactuator = \"braiins\"\n"
	if err := os.WriteFile(filepath.Join(dir, "hashgate.toml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "policy.toml"), []byte(pol), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := cmdCheck([]string{"-c", filepath.Join(dir, "hashgate.toml")}, &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out.String())
	}
	p := filepath.Join(dir, "policy.toml")
	for _, want := range []string{p + ":1:1:", p + ":8:1:", "not implemented"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("no %q in:\n%s", want, errb.String())
		}
	}
}
