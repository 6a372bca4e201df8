package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/sim"
)

// SIGTERM: the daemon stops in order (it says so, exits 0, closes every
// miner's connection) and what the power desk decided survives: the next
// start has the allocation and the pin, and the audit log ends on a whole
// line.
func TestSIGTERMStopsCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemon")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "hashgate")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	pool, err := sim.StartPool(sim.PoolConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	minerAddr, apiAddr := freePort(t), freePort(t)
	files := map[string]string{
		"policy.toml": "site_capacity_kw = 50.0\nramp_up_kw_per_min = 1000.0\nmin_off = \"0s\"\nmin_on = \"0s\"\n\n[default]\nrig_kw = 5.0\nidle_kw = 0.2\nefficiency_j_th = 25.0\nactuator = \"stratum\"\n",
		"hashgate.toml": fmt.Sprintf("[proxy]\nlisten = %q\nallow = [\"127.0.0.0/8\"]\n\n[proxy.difficulty]\ninitial = 1e-9\nmin = 1e-9\nmax = 1e-9\n\n"+
			"[[pools]]\nurl = %q\nuser = \"acct.proxy\"\n\n[api]\nlisten = %q\ntoken = \"term-secret\"\n\n"+
			"[switcher]\npolicy = \"policy.toml\"\nstate_file = \"state.json\"\naudit_log = \"audit.log\"\n", minerAddr, pool.URL(), apiAddr),
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, base := filepath.Join(dir, "hashgate.toml"), "http://"+apiAddr
	up := func(d *daemon) {
		t.Helper()
		sim.WaitFor(t, 15*time.Second, "daemon up (healthz 200)", func() (bool, any) {
			code, err := apiJSON("GET", base+"/healthz", "", nil, nil)
			return err == nil && code == 200, fmt.Sprintf("%d %v; log:\n%s", code, err, d.out)
		})
	}
	d := startDaemon(t, bin, cfg)
	up(d)
	fleet, err := sim.StartFleet(sim.FleetConfig{Addr: minerAddr, Miners: 8, ShareInterval: 100 * time.Millisecond, ReconnectDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer fleet.Close()
	sim.WaitFor(t, 15*time.Second, "8 rigs working", func() (bool, any) { st := fleet.Stats(); return st.Working == 8, st })
	// 8 rigs of 5 kW on 50 kW with 25 kW to AI: 3 parked; one more pinned off.
	if code, err := apiJSON("PUT", base+"/api/v1/allocation", "term-secret", map[string]any{"ai_kw": 25, "reason": "sigterm test"}, nil); err != nil || code != 200 {
		t.Fatalf("allocation: %d %v; want err == nil, code == 200", code, err)
	}
	if code, err := apiJSON("PUT", base+"/api/v1/rigs/acct.rig-00000/pin", "term-secret", map[string]any{"mode": "off", "reason": "maintenance"}, nil); err != nil || code != 200 {
		t.Fatalf("pin: %d %v; want err == nil, code == 200", code, err)
	}

	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- d.cmd.Wait() }()
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if errors.As(err, &ee) || err != nil {
			t.Fatalf("after SIGTERM the daemon exited with %v, want 0\n%s", err, d.out)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("the daemon did not stop within 20 s of SIGTERM\n%s", d.out)
	}
	log := d.out.String()
	if !strings.Contains(log, `"shutting down"`) || !strings.Contains(log, `"stopped"`) {
		t.Fatalf("the daemon's log does not say it shut down and stopped; want strings.Contains(log, `\"shutting down\"`), strings.Contains(log, `\"stopped\"`):\n%s", log)
	}
	sim.WaitFor(t, 5*time.Second, "every miner disconnected after SIGTERM", func() (bool, any) {
		for _, m := range fleet.Miners() {
			if m.Connected {
				return false, fmt.Sprintf("%s connected; fleet %+v", m.Name, fleet.Stats())
			}
		}
		return true, nil
	})
	audit, err := os.ReadFile(filepath.Join(dir, "audit.log"))
	if err != nil || len(audit) == 0 || audit[len(audit)-1] != '\n' {
		t.Fatalf("audit log after SIGTERM (%v) does not end on a whole line: %q; want err == nil, len(audit) != 0, audit[len(audit)-1] == '\\n'", err, audit[max(0, len(audit)-200):])
	}

	d = startDaemon(t, bin, cfg)
	up(d)
	var st struct {
		Power struct {
			AIKW       float64 `json:"ai_kw"`
			Allocation struct {
				Reason string `json:"reason"`
			} `json:"allocation"`
		} `json:"power"`
	}
	if code, err := apiJSON("GET", base+"/api/v1/status", "", nil, &st); err != nil || code != 200 || st.Power.AIKW != 25 || st.Power.Allocation.Reason != "sigterm test" {
		t.Fatalf("status after the restart: %d %v %+v; want the allocation of 25 kW kept", code, err, st)
	}
	var pinned struct {
		WaitingForRig bool   `json:"waiting_for_rig"`
		Mode          string `json:"mode"`
	}
	// Pinning auto a rig nobody knows is a 404: a 200 says the pin was kept.
	if code, err := apiJSON("PUT", base+"/api/v1/rigs/acct.rig-00000/pin", "term-secret", map[string]any{"mode": "auto"}, &pinned); err != nil || code != 200 {
		t.Fatalf("the pin of acct.rig-00000 was not kept across SIGTERM: %d %v; want err == nil, code == 200", code, err)
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	_ = d.cmd.Wait()
}
