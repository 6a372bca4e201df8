package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/sim"
)

// freePort returns a loopback address nobody listens on right now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// daemon is hashgate run as a separate process, so it can be killed.
type daemon struct {
	cmd *exec.Cmd
	out *sim.LogBuffer // the process's output, read while it runs
}

func startDaemon(t *testing.T, bin, cfg string) *daemon {
	t.Helper()
	d := &daemon{out: &sim.LogBuffer{}}
	d.cmd = exec.Command(bin, "run", "-c", cfg, "--log-format", "json")
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			_ = d.cmd.Process.Kill()
			_ = d.cmd.Wait()
		}
	})
	return d
}

func (d *daemon) kill9(t *testing.T) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = d.cmd.Wait()
}

func apiJSON(method, url, token string, body any, out any) (int, error) {
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode, nil
}

// kill -9 in the middle of a curtailment: the restarted daemon keeps every
// parked rig parked and the allocation in force.
func TestKill9KeepsParkedRigsParked(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemon")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "hashgate")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	pool, err := sim.StartPool(sim.PoolConfig{JobInterval: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	minerAddr, apiAddr := freePort(t), freePort(t)
	policy := "site_capacity_kw = 100.0\nramp_up_kw_per_min = 1000.0\nmin_off = \"0s\"\nmin_on = \"0s\"\n\n[default]\nrig_kw = 2.0\nidle_kw = 0.1\nefficiency_j_th = 30.0\nactuator = \"stratum\"\n"
	conf := fmt.Sprintf("[proxy]\nlisten = %q\nallow = [\"127.0.0.0/8\"]\nparked_keepalive = \"1s\"\n\n[proxy.difficulty]\ninitial = 1e-9\nmin = 1e-9\nmax = 1e-9\n\n"+
		"[[pools]]\nname = \"local\"\nurl = %q\nuser = \"acct.proxy\"\n\n[api]\nlisten = %q\ntoken = \"desk-secret\"\n\n[switcher]\npolicy = \"policy.toml\"\n",
		minerAddr, pool.URL(), apiAddr)
	if err := os.WriteFile(filepath.Join(dir, "policy.toml"), []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "hashgate.toml")
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, bin, cfg)
	base := "http://" + apiAddr
	sim.WaitFor(t, 15*time.Second, "daemon up (healthz 200)", func() (bool, any) {
		code, err := apiJSON("GET", base+"/healthz", "", nil, nil)
		return err == nil && code == 200, fmt.Sprintf("%d %v; log:\n%s", code, err, d.out)
	})
	fleet, err := sim.StartFleet(sim.FleetConfig{Addr: minerAddr, Miners: 40, ShareInterval: 200 * time.Millisecond, SilenceTimeout: 5 * time.Second, ReconnectDelay: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer fleet.Close()
	sim.WaitFor(t, 15*time.Second, "40 rigs working", func() (bool, any) { st := fleet.Stats(); return st.Working == 40, st })

	// AI takes 60 kW of 100: budget 40; 40 rigs draw 80; each parked one
	// saves 1.9: 80 − 1.9n ≤ 40 takes n = 22.
	var plan struct {
		Curtail []string `json:"curtail"`
	}
	code, err := apiJSON("PUT", base+"/api/v1/allocation", "desk-secret", map[string]any{"ai_kw": 60, "reason": "kill test"}, &plan)
	if err != nil || code != 200 || len(plan.Curtail) != 22 {
		t.Fatalf("allocation: %d %v %v; want err == nil, code == 200, len(plan.Curtail) == 22", code, err, plan.Curtail)
	}
	parked := map[string]bool{}
	for _, n := range plan.Curtail {
		parked[n] = true
	}
	sim.WaitFor(t, 10*time.Second, "22 parked, 18 working", func() (bool, any) { st := fleet.Stats(); return st.Working == 18, st })

	d.kill9(t)
	d = startDaemon(t, bin, cfg)
	sim.WaitFor(t, 15*time.Second, "daemon back (healthz 200)", func() (bool, any) {
		code, err := apiJSON("GET", base+"/healthz", "", nil, nil)
		return err == nil && code == 200, fmt.Sprintf("%d %v; log:\n%s", code, err, d.out)
	})
	sim.WaitFor(t, 20*time.Second, "fleet back after the restart (40 connected, 18 working)", func() (bool, any) {
		n := 0
		for _, m := range fleet.Miners() {
			if m.Connected {
				n++
			}
		}
		st := fleet.Stats()
		return n == 40 && st.Working == 18, fmt.Sprintf("%d connected, %+v", n, st)
	})
	// Wait a little longer on the condition that must NOT change: no parked
	// rig gets work across several switcher ticks.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); <-tick.C {
		for _, m := range fleet.Miners() {
			if parked[m.Name] && m.Working {
				t.Fatalf("%s was parked before kill -9 and got work after; want !(parked[m.Name] && m.Working)", m.Name)
			}
		}
	}
	var st struct {
		Power struct {
			AIKW float64 `json:"ai_kw"`
		} `json:"power"`
		Curtailed int `json:"curtailed"`
	}
	if code, err := apiJSON("GET", base+"/api/v1/status", "", nil, &st); err != nil || code != 200 || st.Power.AIKW != 60 || st.Curtailed != 22 {
		t.Fatalf("status after restart: %d %v %+v; want err == nil, code == 200, st.Power.AIKW == 60, st.Curtailed == 22", code, err, st)
	}
	if !strings.Contains(d.out.String(), "hashgate running") {
		t.Fatalf("daemon log: %s; want strings.Contains(d.out.String(), \"hashgate running\")", d.out)
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	_ = d.cmd.Wait()
}
