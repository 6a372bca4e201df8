package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/api"
	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/internal/apitest"
	"github.com/hashgate/hashgate/internal/sim"
)

// ctlAt runs hashgatectl as ctl does, its clock at now.
func ctlAt(t *testing.T, now time.Time, env map[string]string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := runAt(context.Background(), func() time.Time { return now }, args, func(k string) string { return env[k] }, &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

// The allocation in force's end as the status shows it.
func allocationUntil(t *testing.T, env map[string]string) time.Time {
	t.Helper()
	r := ctl(t, env, "status", "--json")
	var st api.Status
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.Power == nil || st.Power.Allocation == nil || st.Power.Allocation.Until == nil {
		t.Fatalf("status --json: no allocation with an end (%v); want err == nil, st.Power != nil, st.Power.Allocation != nil, st.Power.Allocation.Until != nil:\n%s", err, r.stdout)
	}
	return *st.Power.Allocation.Until
}

func TestWorkerCommand(t *testing.T) {
	url0 := startAPI(t)
	env := map[string]string{"HASHGATE_API": url0, "HASHGATE_TOKEN": writeToken}
	r := ctl(t, env, "worker", "acct.rig-00003")
	r.want(t, 0, []string{"name         acct.rig-00003", "group        hall-a", "state        mining (switcher: mining since ",
		"flags        -", "counted as   mining, 3.0 kW", "hashrate     ", " H/s (10 min: ", "shares       ", "connections  1, from 127.0.0.1:",
		"actuator     stratum"}, nil)
	if strings.Contains(r.stdout, "acct.rig-00004") || r.stderr != "" {
		t.Fatalf("worker prints more than its rig:\n%s\nstderr: %s; want !strings.Contains(r.stdout, \"acct.rig-00004\"), r.stderr == \"\"", r.stdout, r.stderr)
	}
	ctl(t, env, "worker", "acct.nobody").want(t, exitError, nil, []string{`API error 404 Not Found: unknown rig "acct.nobody"`})
	ctl(t, env, "workers", "--group", "hall-b").want(t, exitError, nil, []string{`API error 400 Bad Request: group "hall-b": no such policy group (groups: hall-a, default)`})

	// A name that must be path-escaped, pinned ahead of its first connect.
	const odd = "acct/rack 7%x?"
	ctl(t, env, "pin", odd, "off", "--reason", "racking").want(t, 0, []string{"action      none until it connects"}, nil)
	ctl(t, env, "worker", odd).want(t, 0, []string{"name         " + odd, "state        offline (switcher: offline", "pin          off: racking", "flags        pinned"}, nil)
	r = ctl(t, env, "worker", odd, "--json")
	var w api.Worker
	if err := json.Unmarshal([]byte(r.stdout), &w); err != nil || w.Name != odd || w.Pin != "off" {
		t.Fatalf("worker --json: got %+v (%v), want %q pinned off", w, err, odd)
	}
	if got := rigPath(odd); got != "/api/v1/rigs/"+url.PathEscape(odd) || strings.ContainsAny(strings.TrimPrefix(got, "/api/v1/rigs/"), "/ ?") {
		t.Fatalf("rigPath(%q) = %q: not one escaped segment", odd, got)
	}
}

// pin reports the rig's own outcome: a parked rig pinned off is neither
// "curtailed" nor "deferred", and the nine others that stay parked are
// not listed. The plan tables count rigs staying parked, not as deferred.
func TestPinOfAParkedRig(t *testing.T) {
	url0 := startAPI(t)
	env := map[string]string{"HASHGATE_API": url0, "HASHGATE_TOKEN": writeToken}
	ctl(t, env, "allocate", "--ai-kw", "68", "--reason", "training").want(t, 0, []string{"curtail        10:"}, nil)
	sim.WaitFor(t, 10*time.Second, "10 rigs parked and connected", func() (bool, any) {
		var ws []api.Worker
		out := ctl(t, env, "workers", "--state", "curtailed", "--json").stdout
		if err := json.Unmarshal([]byte(out), &ws); err != nil || len(ws) != 10 {
			return false, fmt.Sprintf("%d curtailed (%v)", len(ws), err)
		}
		for _, w := range ws {
			if w.Connections == 0 {
				return false, fmt.Sprintf("%s curtailed with no connection", w.Name)
			}
		}
		return true, nil
	})
	r := ctl(t, env, "pin", "acct.rig-00015", "off", "--reason", "fan")
	r.want(t, 0, []string{"acct.rig-00015 pinned off", "action      none: already parked, stays parked (pinned off)",
		"state       curtailed (parked), counted as parked_bound: 0.1 kW", "other rigs  no change"}, nil)
	for _, bad := range []string{"deferred", "DEFERRED", "acct.rig-00016", "curtail "} {
		if strings.Contains(r.stdout, bad) {
			t.Fatalf("pin of a parked rig prints %q; want !strings.Contains(r.stdout, bad):\n%s", bad, r.stdout)
		}
	}
	// 62 kW to AI: room for 2 of the 10 parked rigs, the other 8 stay.
	r = ctl(t, env, "plan", "--ai-kw", "62")
	r.want(t, 0, []string{"resume         2:", "stays parked   8 (pinned off, or no room in the budget)"}, nil)
	if strings.Contains(strings.ToLower(r.stdout), "deferred") {
		t.Fatalf("plan calls parked rigs deferred; want !strings.Contains(strings.ToLower(r.stdout), \"deferred\"):\n%s", r.stdout)
	}
}

// --until as a duration, re-run later, keeps the end of the allocation it
// made; another duration is refused unless --force, which moves it.
func TestUntilRerunKeepsTheEnd(t *testing.T) {
	url0 := startAPI(t)
	env := map[string]string{"HASHGATE_API": url0, "HASHGATE_TOKEN": writeToken}
	t0 := time.Now()
	args := []string{"allocate", "--ai-kw", "50", "--reason", "peak", "--until", "3m"}
	ctlAt(t, t0, env, args...).want(t, 0, []string{"allocation applied: 50.0 kW to AI"}, nil)
	end := allocationUntil(t, env)
	if d := end.Sub(t0); d < 179*time.Second || d > 181*time.Second {
		t.Fatalf("until %v is %v after the command, want 3m", end, d)
	}

	// The same command two minutes later: no change, the same end.
	r := ctlAt(t, t0.Add(2*time.Minute), env, args...)
	r.want(t, 0, []string{"no change: this allocation is already in force", "--until 3m counts from when this allocation was made"}, nil)
	if got := allocationUntil(t, env); !got.Equal(end) {
		t.Fatalf("re-run moved the end from %v to %v; want got.Equal(end)", end, got)
	}
	// Another duration: refused, nothing applied.
	r = ctlAt(t, t0.Add(2*time.Minute), env, "allocate", "--ai-kw", "50", "--reason", "peak", "--until", "10m")
	r.want(t, exitError, nil, []string{"already in force until", "--until 10m would move its end to", "add --force to move it"})
	if got := allocationUntil(t, env); !got.Equal(end) {
		t.Fatalf("a refused re-run moved the end from %v to %v; want got.Equal(end)", end, got)
	}
	// --force moves it, counted from now.
	now := t0.Add(2 * time.Minute)
	ctlAt(t, now, env, "allocate", "--ai-kw", "50", "--reason", "peak", "--until", "10m", "--force").want(t, 0, []string{"allocation applied"}, nil)
	if got := allocationUntil(t, env); got.Sub(now.Add(10*time.Minute)).Abs() > time.Second {
		t.Fatalf("--force: until %v, want %v", got, now.Add(10*time.Minute))
	}
	// Another allocation is not "the same": its duration counts from now.
	ctlAt(t, now, env, "allocate", "--ai-kw", "40", "--reason", "peak", "--until", "1h").want(t, 0, []string{"allocation applied: 40.0 kW"}, nil)
	if got := allocationUntil(t, env); got.Sub(now.Add(time.Hour)).Abs() > time.Second {
		t.Fatalf("a new allocation: until %v, want %v", got, now.Add(time.Hour))
	}
	// An RFC 3339 end is sent as given.
	abs := now.Add(90 * time.Minute).UTC().Truncate(time.Second)
	ctl(t, env, "allocate", "--ai-kw", "40", "--reason", "peak", "--until", abs.Format(time.RFC3339)).want(t, 0, []string{"allocation applied"}, nil)
	if got := allocationUntil(t, env); !got.Equal(abs) {
		t.Fatalf("RFC 3339 until: %v, want %v", got, abs)
	}
}

// status exits 4 when the proxy has no live pool session, with --json too.
func TestStatusExitUnhealthy(t *testing.T) {
	s := apitest.Start(t, apitest.Options{Policy: testPolicy, Miners: 2, Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel),
		Tokens: []config.Token{{Name: "power-desk", Token: writeToken, Role: config.RoleWrite}}})
	env := map[string]string{"HASHGATE_API": s.API.URL}
	sim.WaitFor(t, 10*time.Second, "status exit 0 on a healthy, compliant site", func() (bool, any) {
		r := ctl(t, env, "status")
		return r.code == exitOK, fmt.Sprintf("exit %d: %s%s", r.code, r.stdout, r.stderr)
	})
	s.Pool.Close()
	sim.WaitFor(t, 10*time.Second, "the proxy unhealthy without its pool", func() (bool, any) { return !s.Proxy.Healthy(), s.Proxy.Pools() })
	ctl(t, env, "status").want(t, exitUnhealthy, []string{"NO LIVE POOL"}, []string{"hashgatectl: unhealthy: no live pool session"})
	ctl(t, env, "status", "--json").want(t, exitUnhealthy, []string{`"healthy":false`}, nil)
}

// The order of status's exit codes: not compliant, unhealthy, not persisted.
func TestStatusExitOrder(t *testing.T) {
	ok := &api.Power{Compliant: true}
	bad := &api.Power{Compliant: false, NotCompliantReason: "not compliant: 3 parks unverified"}
	unsaved := &api.Power{Compliant: true, StateError: "state not persisted since T: disk full"}
	for _, c := range []struct {
		name string
		st   api.Status
		code int
		msg  string
	}{
		{"healthy, compliant", api.Status{Healthy: true, Power: ok}, exitOK, ""},
		{"no switcher", api.Status{Healthy: true}, exitOK, ""},
		{"not compliant", api.Status{Healthy: true, Power: bad}, exitNotCompliant, "not compliant: 3 parks unverified"},
		{"not compliant, no reason", api.Status{Healthy: true, Power: &api.Power{}}, exitNotCompliant, "not compliant: load over budget"},
		{"not compliant and unhealthy", api.Status{Healthy: false, Power: bad}, exitNotCompliant, "not compliant: 3 parks unverified"},
		{"unhealthy", api.Status{Healthy: false, Power: ok}, exitUnhealthy, "unhealthy: no live pool session"},
		{"unhealthy, no switcher", api.Status{Healthy: false}, exitUnhealthy, "unhealthy: no live pool session"},
		{"unhealthy and not persisted", api.Status{Healthy: false, Power: unsaved}, exitUnhealthy, "unhealthy: no live pool session"},
		{"not persisted", api.Status{Healthy: true, Power: unsaved}, exitNotPersisted, "not persisted: state not persisted since T: disk full"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := statusExit(c.st)
			code, msg := exitOK, ""
			if e, is := err.(*exitStatus); is {
				code, msg = e.code, e.msg
			} else if err != nil {
				t.Fatalf("%s: error %v, want an exit status", c.name, err)
			}
			if code != c.code || msg != c.msg {
				t.Errorf("%s: exit %d %q, want %d %q", c.name, code, msg, c.code, c.msg)
			}
		})
	}
}

func TestHashrateUnits(t *testing.T) {
	for _, c := range []struct {
		ths  float64
		want string
	}{
		{0, "0 H/s"}, {-1, "0 H/s"}, {math.NaN(), "0 H/s"}, {math.Inf(1), "0 H/s"},
		{1e-15, "0.001 H/s"}, {2.14e-12, "2.14 H/s"}, {6.42e-10, "642 H/s"}, {1e-9, "1.00 kH/s"},
		{0.5, "500 GH/s"}, {0.9996, "1.00 TH/s"}, {98.6, "98.6 TH/s"}, {110, "110 TH/s"},
		{999.4, "999 TH/s"}, {999.6, "1.00 PH/s"}, {1234, "1.23 PH/s"}, {15e6, "15.0 EH/s"},
		{5e9, "5.00 ZH/s"}, {2e12, "2000 ZH/s"},
	} {
		t.Run(fmt.Sprintf("%g", c.ths), func(t *testing.T) {
			if got := hashrate(c.ths); got != c.want {
				t.Errorf("hashrate(%g TH/s) = %q, want %q", c.ths, got, c.want)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	ctl(t, nil, "version", "--client").want(t, 0, []string{"hashgatectl " + version + " ("}, nil)
	s := apitest.Start(t, apitest.Options{Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel)})
	env := map[string]string{"HASHGATE_API": s.API.URL}
	ctl(t, env, "version").want(t, 0, []string{"hashgatectl " + version, "server      hashgate 1.2.3-test at " + s.API.URL}, nil)
	r := ctl(t, env, "version", "--json")
	var v map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v["client"] != version || v["server"] != "1.2.3-test" {
		t.Fatalf("version --json: %v %s; want err == nil, v[\"client\"] == version, v[\"server\"] == \"1.2.3-test\"", err, r.stdout)
	}
	// No server: the client's version, then the error (exit 1).
	ctl(t, map[string]string{"HASHGATE_API": "http://127.0.0.1:1"}, "version").want(t, exitError, []string{"hashgatectl " + version}, []string{"cannot reach the hashgate API"})
}
