package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/hashgate/hashgate/api"
	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/site"
	"github.com/hashgate/hashgate/stratum/proxy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCheckExampleConfig(t *testing.T) {
	var out, errb bytes.Buffer
	if code := cmdCheck([]string{"-c", "../../examples/hashgate.toml"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s; want code == 0", code, errb.String())
	}
	for _, want := range []string{
		"OK",
		"pool extranonce2_size 8: 4 prefix byte(s), 4294967296 miners per session x 32 sessions",
		"pool extranonce2_size 4: 1 prefix byte(s), 256 miners per session x 32 sessions = 8192 miners",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check output lacks %q; want strings.Contains(out.String(), want):\n%s", want, out.String())
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
			t.Errorf("error not as FILE:LINE:COL: %q; want strings.HasPrefix(l, path+\":\")", l)
		}
	}
	for _, want := range []string{path + ":2:", path + ":3:1:", path + ":6:"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("no error at %s; want strings.Contains(errb.String(), want):\n%s", want, errb.String())
		}
	}
	// run refuses the same file.
	if code := cmdRun([]string{"-c", path}); code != 1 {
		t.Fatalf("run with a bad config: exit %d, want 1", code)
	}
}

func TestDispatch(t *testing.T) {
	if code := dispatch([]string{"version"}); code != 0 {
		t.Fatalf("version: exit %d, want 0", code)
	}
	if code := dispatch([]string{"frobnicate"}); code != 2 {
		t.Fatalf("unknown command: exit %d, want 2", code)
	}
	if code := dispatch(nil); code != 2 {
		t.Fatalf("no command: exit %d, want 2", code)
	}
}

func TestLoggerOptions(t *testing.T) {
	if _, err := newLogger("json", "debug", os.Stderr); err != nil {
		t.Fatal(err)
	}
	if _, err := newLogger("xml", "", os.Stderr); err == nil {
		t.Fatal(`newLogger("xml", ""): got a logger and no error, want an error for the unknown format`)
	}
	if _, err := newLogger("", "loud", os.Stderr); err == nil {
		t.Fatal(`newLogger("", "loud"): got a logger and no error, want an error for the unknown level`)
	}
}

// `run` as a user runs it: a config file naming a pool, miners through the
// proxy, shares accepted by the pool, a clean shutdown.
func TestServeWithConfigFile(t *testing.T) {
	pool, path := siteConfig(t, "[proxy.difficulty]\ninitial = 1e-9\nmin = 1e-10\nmax = 1e-8\n")
	cfg := mustLoadConfig(t, path)
	ctx, cancel := context.WithCancel(context.Background())
	srvCh := make(chan *proxy.Server, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, zerolog.Nop(), nil, func(r *site.Site) { srvCh <- r.Proxy() }) }()
	srv := <-srvCh
	fleet, err := sim.StartFleet(sim.FleetConfig{Addr: srv.Addr().String(), Miners: 10, ShareInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	sim.WaitFor(t, 10*time.Second, "20 shares through the proxy", func() (bool, any) { st := pool.Stats(); return st.Accepted >= 20, st })
	if c := pool.Stats().Connections; c != 1 {
		t.Fatalf("%d pool connections for 10 miners, want 1", c)
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
	for _, want := range []string{p + ":1:1:", p + ":8:1:", "password_file is required for the braiins actuator", "hashgate run would not start: no last good copy"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("no %q in; want strings.Contains(errb.String(), want):\n%s", want, errb.String())
		}
	}
}

// A daemon restarted while its policy file is broken starts on the last
// good copy it kept, and says so: the status's power section, the
// metric, the audit log. The proxy serves miners all the same; `check`
// still refuses the file.
func TestRunStartsOnTheLastGoodPolicy(t *testing.T) {
	_, path := siteConfig(t, "[switcher]\npolicy = \"policy.toml\"\n")
	polPath := filepath.Join(filepath.Dir(path), "policy.toml")
	good := "site_capacity_kw = 100.0\n\n[[group]]\nname = \"hall\"\nworkers = [\"acct.*\"]\nrig_kw = 3.0\nefficiency_j_th = 30.0\nactuator = \"stratum\"\n"
	if err := os.WriteFile(polPath, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := mustLoadConfig(t, path)
	run := func(check func(r *site.Site)) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		ready := make(chan *site.Site, 1)
		go func() { done <- serve(ctx, cfg, zerolog.Nop(), nil, func(r *site.Site) { ready <- r }) }()
		select {
		case r := <-ready:
			check(r)
		case err := <-done:
			cancel()
			t.Fatalf("the daemon did not start: %v", err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	run(func(r *site.Site) {
		if st := r.Switcher().Status(); st.Policy != polPath || st.PolicyError != "" {
			t.Fatalf("first start: policy %s, error %q; want %s, none", st.Policy, st.PolicyError, polPath)
		}
	})

	// A typo is saved while the daemon is down.
	if err := os.WriteFile(polPath, []byte("site_capacity_kw = 100.0\nrig_kw = \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run(func(r *site.Site) {
		st := r.Switcher().Status()
		if st.Policy != cfg.Switcher.LastGoodPolicyPath() || !strings.HasPrefix(st.PolicyError, polPath+":2:") || st.CapacityKW != 100 {
			t.Fatalf("start on a broken policy: in force %s (%v kW), error %q", st.Policy, st.CapacityKW, st.PolicyError)
		}
		var metrics string
		sim.WaitFor(t, 5*time.Second, "GET /metrics 200", func() (bool, any) {
			code, body := httpGet("http://" + r.APIAddr().String() + "/metrics")
			metrics = body
			return code == 200, code
		})
		if !strings.Contains(metrics, "hashgate_policy_refused 1") {
			t.Fatalf("metrics: got\n%s\nwant hashgate_policy_refused 1", metrics)
		}
		evs, _ := r.Switcher().Events(0, 0)
		refused := false
		for _, ev := range evs {
			refused = refused || ev.Kind == "policy_refused"
		}
		if !refused {
			t.Fatalf("audit log: got %+v, want a policy_refused event", evs)
		}
		// Repaired while it runs: the file is in force, and the status
		// (as the API shows it) and the metric say so.
		if err := os.WriteFile(polPath, []byte(good), 0o600); err != nil {
			t.Fatal(err)
		}
		base := "http://" + r.APIAddr().String()
		sim.WaitFor(t, 10*time.Second, "the repaired policy "+polPath+" in force, in /api/v1/status", func() (bool, any) {
			var st api.Status
			code, err := apiJSON("GET", base+"/api/v1/status", "", nil, &st)
			if code != 200 || err != nil || st.Power == nil {
				return false, fmt.Sprintf("%d %v, power %+v", code, err, st.Power)
			}
			return st.Power.Policy == polPath && st.Power.PolicyError == "", fmt.Sprintf("policy %s, error %q", st.Power.Policy, st.Power.PolicyError)
		})
		if _, m := httpGet(base + "/metrics"); !strings.Contains(m, "hashgate_policy_refused 0") {
			t.Fatalf("metrics after the repair: got\n%s\nwant hashgate_policy_refused 0", m)
		}
	})
	if err := os.WriteFile(polPath, []byte("site_capacity_kw = 100.0\nrig_kw = \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := cmdCheck([]string{"-c", path}, &out, &errb); code != 1 {
		t.Fatalf("check of the broken policy: exit %d, want 1", code)
	}
	if want := "hashgate run would start on the last good copy " + cfg.Switcher.LastGoodPolicyPath(); !strings.Contains(errb.String(), want) {
		t.Fatalf("check does not say what run would do; want %q in:\n%s", want, errb.String())
	}
}

// httpGet returns the status and body of a GET (0 and "" if it failed).
func httpGet(url string) (int, string) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// siteConfig starts a test pool (closed when the test ends) and writes a
// config file for it in a temporary directory: the proxy and the API on
// 127.0.0.1:0, that pool, then extra (more tables). It returns the pool and
// the file's path.
func siteConfig(t *testing.T, extra string) (*sim.Pool, string) {
	t.Helper()
	pool, err := sim.StartPool(sim.PoolConfig{JobInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	path := filepath.Join(t.TempDir(), "hashgate.toml")
	conf := "[proxy]\nlisten = \"127.0.0.1:0\"\nallow = [\"127.0.0.0/8\"]\n\n[[pools]]\nname = \"local\"\nurl = \"" + pool.URL() + "\"\nuser = \"acct.proxy\"\n\n[api]\nlisten = \"127.0.0.1:0\"\n\n" + extra
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return pool, path
}

func mustLoadConfig(t *testing.T, path string) *config.Config {
	t.Helper()
	var errb bytes.Buffer
	cfg, ok := loadConfig(path, &errb)
	if !ok {
		t.Fatalf("config refused: %s", errb.String())
	}
	return cfg
}

// run says where max_connections comes from when the file does not set it
// (the open-file limit less a reserve), and warns, as check does, when
// the file sets it above that limit.
func TestRunLogsTheOpenFileLimit(t *testing.T) {
	for _, tc := range []struct {
		name, set, want, level string
	}{
		{"default", "", "proxy.max_connections is not set", "info"},
		{"above the limit", "max_connections = 2000000000\n", "does not fit the open-file limit", "warn"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, path := siteConfig(t, "")
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			conf := strings.Replace(string(b), "[proxy]\n", "[proxy]\n"+tc.set, 1)
			if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg := mustLoadConfig(t, path)
			if tc.set != "" && !strings.Contains(config.MaxConnectionsNote(config.Default()), "RLIMIT_NOFILE") {
				t.Skip("open-file limit unknown or unlimited")
			}
			var logs bytes.Buffer // read once serve has returned
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- serve(ctx, cfg, zerolog.New(zerolog.SyncWriter(&logs)), nil, func(*site.Site) { cancel() })
			}()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			found := false
			for _, l := range strings.Split(logs.String(), "\n") {
				var m map[string]any
				if json.Unmarshal([]byte(l), &m) == nil && m["level"] == tc.level && strings.Contains(fmt.Sprint(m["message"]), tc.want) {
					found = true
				}
			}
			if !found {
				t.Fatalf("no %s line %q in run's log; want found:\n%s", tc.level, tc.want, logs.String())
			}
		})
	}
}
