package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/internal/apitest"
	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/switcher"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	writeToken = "w-0123456789abcdef"
	readToken  = "r-0123456789abcdef"
)

// 20 rigs of 3 kW on 100 kW; rigs 00000-00009 are hall-a (priority 10),
// so an allocation of 68 kW curtails rigs 00010-00019.
const testPolicy = apitest.TwoHallPolicy

// startAPI runs a site (apitest.Start) with testPolicy and 20 simulated
// miners, and waits until every miner mines. It returns the API's URL.
func startAPI(t *testing.T) string {
	t.Helper()
	s := apitest.Start(t, apitest.Options{Policy: testPolicy, Miners: 20,
		Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel),
		Tokens: []config.Token{
			{Name: "power-desk", Token: writeToken, Role: config.RoleWrite},
			{Name: "viewer", Token: readToken, Role: config.RoleRead},
		},
	})
	sim.WaitFor(t, 10*time.Second, "20 miners mining, each with a share accepted, 60 kW", func() (bool, any) {
		ws := s.Proxy.Workers()
		if len(ws) != 20 {
			return false, fmt.Sprintf("%d workers", len(ws))
		}
		for _, w := range ws {
			if w.Accepted == 0 {
				return false, fmt.Sprintf("%s with no share accepted", w.Name)
			}
		}
		kw := s.Switcher.Status().MiningLoadKW
		return kw == 60, fmt.Sprintf("%v kW", kw)
	})
	return s.API.URL
}

type result struct {
	code           int
	stdout, stderr string
}

// ctl runs hashgatectl with env (HASHGATE_API, HASHGATE_TOKEN) and args.
func ctl(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

func (r result) want(t *testing.T, code int, stdout, stderr []string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	for _, s := range stdout {
		if !strings.Contains(r.stdout, s) {
			t.Fatalf("stdout has no %q; want strings.Contains(r.stdout, s):\n%s", s, r.stdout)
		}
	}
	for _, s := range stderr {
		if !strings.Contains(r.stderr, s) {
			t.Fatalf("stderr has no %q; want strings.Contains(r.stderr, s):\n%s", s, r.stderr)
		}
	}
}

func TestCommands(t *testing.T) {
	url := startAPI(t)
	env := map[string]string{"HASHGATE_API": url}
	writer := map[string]string{"HASHGATE_API": url, "HASHGATE_TOKEN": writeToken}
	reader := map[string]string{"HASHGATE_API": url, "HASHGATE_TOKEN": readToken}

	r := ctl(t, env, "status")
	r.want(t, 0, []string{"upstream", "healthy", "20 connected", "mining 20, idle 0, curtailed (parked + pending) 0, offline 0",
		"mining budget  100.0 kW", "allocation     none", "policy         policy.toml", "POOL", "primary", "active", "stratum+tcp://"}, nil)
	if r.stderr != "" {
		t.Fatalf("stderr: %s; want r.stderr == \"\"", r.stderr)
	}
	r = ctl(t, env, "status", "--json")
	r.want(t, 0, nil, nil)
	var st map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st["miners_connected"] != 20.0 {
		t.Fatalf("status --json: %v %s; want err == nil, st[\"miners_connected\"] == 20.0", err, r.stdout)
	}

	ctl(t, env, "workers", "--group", "hall-a").want(t, 0, []string{"NAME", "GROUP", "STATE", "acct.rig-00000", "acct.rig-00009", "hall-a", "mining", "10 workers"}, nil)
	r = ctl(t, env, "workers", "--limit", "5", "--offset", "2")
	r.want(t, 0, []string{"acct.rig-00002", "acct.rig-00006", "3-7 of 20 workers"}, nil)
	if strings.Contains(r.stdout, "acct.rig-00007") || strings.Contains(r.stdout, "acct.rig-00001") {
		t.Fatalf("page has rows outside it; want !strings.Contains(r.stdout, \"acct.rig-00007\"), !strings.Contains(r.stdout, \"acct.rig-00001\"):\n%s", r.stdout)
	}
	r = ctl(t, env, "workers", "--state", "idle", "--json")
	r.want(t, 0, []string{"[]"}, nil)

	// Writes: no token, a read token, then the write token.
	ctl(t, env, "allocate", "--ai-kw", "68", "--reason", "training").want(t, 1, nil, []string{"unauthorized: set HASHGATE_TOKEN to a write token"})
	ctl(t, reader, "allocate", "--ai-kw", "68", "--reason", "training").want(t, 1, nil, []string{"forbidden: this token is read-only"})
	ctl(t, env, "--token", "wrong", "allocate", "--ai-kw", "68", "--reason", "training").want(t, 1, nil, []string{"unauthorized", "set HASHGATE_TOKEN to a write token"})
	ctl(t, env, "pin", "acct.rig-00003", "off").want(t, 1, nil, []string{"unauthorized: set HASHGATE_TOKEN to a write token"})
	ctl(t, reader, "pin", "acct.rig-00003", "off").want(t, 1, nil, []string{"forbidden: this token is read-only"})
	ctl(t, env, "status").want(t, 0, []string{"allocation     none", "parked         0 rigs (curtailed by a plan", "pending        0 rigs"}, nil)

	// A dry run needs a token of either role.
	ctl(t, env, "plan", "--ai-kw", "68").want(t, 1, nil, []string{"unauthorized: set HASHGATE_TOKEN to an API token"})
	ctl(t, reader, "plan", "--ai-kw", "68").want(t, 0, []string{"dry run, nothing applied", "mining budget  32.0 kW", "curtail        10: acct.rig-00019"}, nil)
	ctl(t, env, "status").want(t, 0, []string{"allocation     none"}, nil)

	ctl(t, writer, "allocate", "--ai-kw", "68", "--reason", "training").want(t, 0,
		[]string{"allocation applied: 68.0 kW to AI", "mining budget  32.0 kW", "60.0 kW now, 31.0 kW after the plan: compliant",
			"curtail        10: acct.rig-00019, acct.rig-00018", "resume         0: -"}, nil)
	ctl(t, writer, "allocate", "--ai-kw", "68", "--reason", "training").want(t, 0, []string{"no change: this allocation is already in force"}, nil)
	ctl(t, env, "status").want(t, 0, []string{"AI             68.0 kW", "parked         10 rigs (curtailed by a plan", "68.0 kW to AI by power-desk", ": training"}, nil)
	ctl(t, env, "workers", "--state", "curtailed").want(t, 0, []string{"acct.rig-00010", "acct.rig-00019", "curtailed: parked", "10 workers"}, nil)

	// --until as a duration; --json gives the raw plan.
	r = ctl(t, writer, "allocate", "--ai-kw", "50", "--reason", "peak", "--until", "2h", "--json")
	r.want(t, 0, []string{`"mining_budget_kw":50`, `"changed":true`}, nil)
	r = ctl(t, env, "status", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatal(err)
	}
	until, _ := time.Parse(time.RFC3339, st["power"].(map[string]any)["allocation"].(map[string]any)["until"].(string))
	if d := time.Until(until); d < 119*time.Minute || d > 121*time.Minute {
		t.Fatalf("until %v, want 2h from now", until)
	}

	// Pins: flags may follow the arguments.
	r = ctl(t, writer, "pin", "acct.rig-00003", "off", "--reason", "fan swap")
	r.want(t, 0, []string{"acct.rig-00003 pinned off", "action      curtailed now (pinned off)", "other rigs  "}, nil)
	if strings.Contains(r.stdout, "DEFERRED") || strings.Contains(r.stdout, "acct.rig-0001") {
		t.Fatalf("pin prints other rigs; want !strings.Contains(r.stdout, \"DEFERRED\"), !strings.Contains(r.stdout, \"acct.rig-0001\"):\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "not connected") {
		t.Fatalf("a connected rig's pin says it waits; want !strings.Contains(r.stdout, \"not connected\"):\n%s", r.stdout)
	}
	ctl(t, writer, "pin", "acct.rig-00003", "auto").want(t, 0, []string{"acct.rig-00003 back to auto"}, nil)
	ctl(t, writer, "pin", "acct.rig-00099", "off").want(t, 0, []string{"acct.rig-00099 pinned off", "acct.rig-00099 is not connected: the pin takes effect when it connects",
		"action      none until it connects", "state       offline, counted as offline: 0.0 kW"}, nil)
	ctl(t, writer, "pin", "acct.nobody", "auto").want(t, 1, nil, []string{"API error 404", "unknown rig"})

	// Events: the latest by default, pages with --since.
	// (The pins' plans may be followed by a tick's: the pins by kind.)
	r = ctl(t, env, "events", "--limit", "3", "--kind", "pin")
	r.want(t, 0, []string{"SEQ", "KIND", "pin", "power-desk", "acct.rig-00003"}, nil)
	if n := strings.Count(r.stdout, "\n"); n != 4 {
		t.Fatalf("events --limit 3: %d lines, want 3\n%s", n, r.stdout)
	}
	r = ctl(t, env, "events", "--since", "0", "--limit", "2", "--json")
	var evs []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &evs); err != nil || len(evs) != 2 || evs[0]["seq"] != 1.0 || evs[1]["seq"] != 2.0 {
		t.Fatalf("events --since 0 --limit 2 --json: %v %s; want err == nil, len(evs) == 2, evs[0][\"seq\"] == 1.0, evs[1][\"seq\"] == 2.0", err, r.stdout)
	}
	ctl(t, env, "events", "--since", "100000").want(t, 0, []string{"no events"}, nil)
	ctl(t, env, "events").want(t, 0, []string{"allocation", "training", "curtail", "pin", "power-desk", "acct.rig-00003"}, nil)

	// --api overrides HASHGATE_API, --token HASHGATE_TOKEN.
	bad := map[string]string{"HASHGATE_API": "http://127.0.0.1:1", "HASHGATE_TOKEN": readToken}
	ctl(t, bad, "--api", url, "--token", writeToken, "allocate", "--ai-kw", "0", "--reason", "done").want(t, 0, []string{"allocation applied: 0.0 kW to AI"}, nil)
	ctl(t, bad, "status", "--api", url+"/").want(t, 0, []string{"AI             0.0 kW"}, nil)
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + ln.Addr().String()
	ln.Close()
	ctl(t, map[string]string{"HASHGATE_API": addr}, "status").want(t, 1, nil, []string{"cannot reach the hashgate API at " + addr + ": ", "refused"})
	ctl(t, nil, "--api", addr, "events").want(t, 1, nil, []string{"cannot reach the hashgate API at " + addr})
}

// A usage error is one line and where to read more, exit 2; never the
// whole help.
func TestUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string // the first line, after "hashgatectl: "
		see  string // the command of "see 'hashgatectl help CMD'", "" for the whole help
	}{
		{nil, "no command", ""},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`, ""},
		{[]string{"status", "extra"}, `status takes no arguments, got "extra"`, "status"},
		{[]string{"--bogus", "status"}, "unknown flag --bogus", ""},
		{[]string{"workers", "--bogus"}, "unknown flag --bogus", "workers"},
		{[]string{"workers", "--limit", "x"}, `invalid value "x" for --limit: must be a whole number ≥ 0`, "workers"},
		{[]string{"workers", "--limit", "-1"}, `invalid value "-1" for --limit: must be a whole number ≥ 0`, "workers"},
		{[]string{"workers", "--state", "asleep"}, `--state "asleep": want mining, idle, curtailed or offline`, "workers"},
		{[]string{"worker"}, "worker needs one name: worker NAME", "worker"},
		{[]string{"worker", "a", "b"}, "worker needs one name: worker NAME", "worker"},
		{[]string{"allocate", "--reason", "x"}, "allocate needs --ai-kw N", "allocate"},
		{[]string{"allocate", "--ai-kw", "5"}, "allocate needs --reason TEXT (it goes in the audit log)", "allocate"},
		{[]string{"allocate", "--ai-kw", "lots", "--reason", "x"}, `invalid value "lots" for --ai-kw: must be a number of kW ≥ 0`, "allocate"},
		{[]string{"allocate", "--ai-kw", "-5", "--reason", "x"}, `invalid value "-5" for --ai-kw: must be a number of kW ≥ 0`, "allocate"},
		{[]string{"allocate", "--ai-kw", "5", "--reason", "x", "--until", "tomorrow"}, `--until "tomorrow": want an RFC 3339 time (2025-06-01T18:00:00Z) or a duration from now (2h)`, "allocate"},
		{[]string{"allocate", "--ai-kw", "5", "--reason", "x", "--until", "-2h"}, `--until "-2h": want an RFC 3339 time`, "allocate"},
		{[]string{"plan"}, "plan needs --ai-kw N", "plan"},
		{[]string{"pin", "acct.rig-1"}, "pin needs a rig name and a mode: pin NAME on|off|auto", "pin"},
		{[]string{"pin", "acct.rig-1", "sideways"}, `pin mode "sideways": want on, off or auto`, "pin"},
		{[]string{"events", "--limit", "0"}, "--limit must be at least 1", "events"},
		{[]string{"version", "x"}, `version takes no arguments, got "x"`, "version"},
		{[]string{"help", "frob"}, `unknown command "frob"`, ""},
		{[]string{"help", "pin", "x"}, `help takes one command at most, got "pin x"`, ""},
		{[]string{"--api", "ftp://x", "status"}, `--api "ftp://x": want a URL such as http://127.0.0.1:8080`, ""},
		{[]string{"--api", "not a url", "status"}, `--api "not a url": want a URL`, ""},
		{[]string{"--timeout", "0s", "status"}, "--timeout 0s: must be positive", ""},
		{[]string{"status", "--timeout"}, "--timeout needs a value", "status"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			r := ctl(t, nil, c.args...)
			see := "see 'hashgatectl help'\n"
			if c.see != "" {
				see = "see 'hashgatectl help " + c.see + "'\n"
			}
			first, rest, _ := strings.Cut(r.stderr, "\n")
			if r.code != exitUsage || !strings.HasPrefix(first, "hashgatectl: "+c.want) || rest != see || r.stdout != "" {
				t.Errorf("hashgatectl %q: exit %d, stderr %q; want exit 2, stderr \"hashgatectl: %s…\\n%s\"", c.args, r.code, r.stderr, c.want, see)
			}
		})
	}
	ctl(t, nil, "--help").want(t, 0, []string{"Usage:", "allocate --ai-kw N --reason TEXT", "Exit status:"}, nil)
	ctl(t, nil, "help").want(t, 0, []string{"Usage:", "worker NAME", "version [--client]"}, nil)
	for cmd := range commandHelp {
		r := ctl(t, nil, "help", cmd)
		r.want(t, 0, []string{"hashgatectl " + cmd, "Flags (before or after the command)"}, nil)
		if strings.Contains(r.stdout, "Usage:") {
			t.Errorf("help %s prints the whole help; want !strings.Contains(r.stdout, \"Usage:\"):\n%s", cmd, r.stdout)
		}
	}
	ctl(t, nil, "workers", "-h").want(t, 0, []string{"hashgatectl workers [--group G]"}, nil)
	ctl(t, nil, "pin", "--help").want(t, 0, []string{"Prints the rig's own outcome"}, nil)
}

// A refused policy file shows in the status: its first error, and where
// the policy in force came from.
func TestStatusShowsARefusedPolicy(t *testing.T) {
	s := apitest.Start(t, apitest.Options{Policy: testPolicy, Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel)})
	s.Switcher.PolicyRefused(errors.New("policy.toml:3:1: rig_kw: must be > 0\npolicy.toml:9:1: actuator: unknown"))
	r := ctl(t, map[string]string{"HASHGATE_API": s.API.URL}, "status")
	r.want(t, 0, []string{"policy         REFUSED: policy.toml:3:1: rig_kw: must be > 0; in force: the policy loaded before, from policy.toml"}, nil)
	if strings.Contains(r.stdout, "9:1") {
		t.Fatalf("the status prints more than the first error; want !strings.Contains(r.stdout, \"9:1\"):\n%s", r.stdout)
	}
}

// rawControl returns the first control byte (but the output's own newlines),
// DEL, C1 control or invalid UTF-8 in s, and where; -1 if none.
func rawControl(s string) (int, string) {
	if !utf8.ValidString(s) {
		for i := 0; i < len(s); {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				return i, fmt.Sprintf("invalid UTF-8 %#x", s[i])
			}
			i += n
		}
	}
	for i, r := range s {
		if (r < 0x20 && r != '\n') || (r >= 0x7f && r < 0xa0) {
			return i, fmt.Sprintf("%U", r)
		}
	}
	return -1, ""
}

// Worker names (and pin reasons, and an API's error text) with ESC, BEL,
// newline, C1 and invalid UTF-8 reach no terminal raw: every human output
// shows them escaped, and a name cannot forge a table row.
func TestHostileTextIsEscaped(t *testing.T) {
	s := apitest.Start(t, apitest.Options{Policy: testPolicy, Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel),
		Tokens: []config.Token{{Name: "power-desk", Token: writeToken, Role: config.RoleWrite}}})
	// A title rewrite ended by BEL, a screen clear, a row forged after a
	// newline, a carriage return and a C1 CSI. (A byte that is not UTF-8
	// reaches hashgatectl as U+FFFD, the API's JSON encoder replaces it; the
	// error test below has one raw.)
	const evil = "acct.evil\x1b]0;pwned\a\x1b[2J\nacct.rig-fake  hall-a  mining\r\u009b31m-%d"
	// The proxy refuses such a name (24: the switcher's name rule), so no
	// account or record has one; how hashgatectl shows one in a table is
	// FuzzHumanOutput's.
	name0 := fmt.Sprintf(evil, 0)
	if a, err := sim.AuthorizeOnce(s.Proxy.Addr().String(), name0, 10*time.Second); err != nil || !strings.Contains(a, `"error":[24,`) {
		t.Fatalf("authorize of a hostile name answered %s (%v), want error 24", a, err)
	}
	if n := len(s.Proxy.Workers()); n != 0 {
		t.Fatalf("%d accounts after a hostile name was refused, want 0", n)
	}

	env := map[string]string{"HASHGATE_API": s.API.URL, "HASHGATE_TOKEN": writeToken}
	runs := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"pin", "acct.rig-00001", "off", "--reason", "fan\x1b[31m swap\a"}, 0, "acct.rig-00001 pinned off"},
		{[]string{"pin", name0, "off"}, 1, "API error 400"},
		{[]string{"events"}, 0, `fan\x1b[31m swap\a`},
		{[]string{"status"}, 0, "upstream"},
	}
	for _, r := range runs {
		res := ctl(t, env, r.args...)
		if res.code != r.code || !strings.Contains(res.stdout+res.stderr, r.want) {
			t.Fatalf("hashgatectl %q: exit %d, want %d and %q in\nstdout:\n%s\nstderr:\n%s", r.args, res.code, r.code, r.want, res.stdout, res.stderr)
		}
		for _, out := range []string{res.stdout, res.stderr} {
			if i, what := rawControl(out); i >= 0 {
				t.Fatalf("hashgatectl %q printed a raw %s at byte %d; want i < 0:\n%q", r.args, what, i, out)
			}
		}
	}

	// An error that echoes the server's text (a proxy in front of the API,
	// a server that is not hashgate).
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/status" {
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, `{"error":"upstream \u001b[31mdown\u0007\nFAKE: all good"}`)
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, "<pre>\x1b[2Jbroken\xff\x9b</pre>") // not JSON: printed as is
	}))
	t.Cleanup(srv.Close)
	res := ctl(t, map[string]string{"HASHGATE_API": srv.URL}, "status")
	res.want(t, 1, nil, []string{`API error 502 Bad Gateway: upstream \x1b[31mdown\a\nFAKE: all good`})
	if i, what := rawControl(res.stderr); i >= 0 || strings.Count(res.stderr, "\n") != 1 {
		t.Fatalf("error printed a raw %s at byte %d, or more than one line; want i < 0, strings.Count(res.stderr, \"\\n\") == 1:\n%q", what, i, res.stderr)
	}
	res = ctl(t, map[string]string{"HASHGATE_API": srv.URL}, "events")
	res.want(t, 1, nil, []string{`API error 500 Internal Server Error: <pre>\x1b[2Jbroken\xff\x9b</pre>`})
	if i, what := rawControl(res.stderr); i >= 0 || strings.Count(res.stderr, "\n") != 1 {
		t.Fatalf("error printed a raw %s at byte %d, or more than one line; want i < 0, strings.Count(res.stderr, \"\\n\") == 1:\n%q", what, i, res.stderr)
	}
}

// forget drops an offline rig (404 unknown, 409 connected); a write the
// state file cannot hold is applied and warned about on stderr, and the
// status says the state is not persisted.
func TestForgetAndNotPersisted(t *testing.T) {
	stateDir := filepath.Join(t.TempDir(), "state")
	s := apitest.Start(t, apitest.Options{Policy: testPolicy, Miners: 2,
		Log:      zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel),
		Tokens:   []config.Token{{Name: "power-desk", Token: writeToken, Role: config.RoleWrite}},
		Switcher: func(c *switcher.Config) { c.StatePath = filepath.Join(stateDir, "state.json") },
	})
	sim.WaitFor(t, 10*time.Second, "2 rigs mining (6 kW)", func() (bool, any) { kw := s.Switcher.Status().MiningLoadKW; return kw == 6, kw })
	writer := map[string]string{"HASHGATE_API": s.API.URL, "HASHGATE_TOKEN": writeToken}

	ctl(t, writer, "pin", "acct.rig-00099", "off").want(t, 0, nil, nil)
	ctl(t, writer, "forget", "acct.rig-00099").want(t, 0, []string{"acct.rig-00099 forgotten (was offline, pinned off): if it connects again it is a new rig"}, nil)
	ctl(t, writer, "forget", "acct.rig-00099").want(t, 1, nil, []string{"API error 404", "unknown rig"})
	ctl(t, writer, "forget", "acct.rig-00000").want(t, 1, nil, []string{"API error 409", "live connection"})
	ctl(t, writer, "forget").want(t, 2, nil, []string{"forget needs one rig name"})

	if err := os.Rename(stateDir, stateDir+".away"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stateDir, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctl(t, writer, "allocate", "--ai-kw", "10", "--reason", "disk full").want(t, 0,
		[]string{"allocation applied: 10.0 kW to AI"}, []string{"WARNING: applied, but NOT PERSISTED: state not persisted since"})
	ctl(t, writer, "status").want(t, exitNotPersisted, []string{"NOT PERSISTED: state not persisted since", "a restart would lose them"},
		[]string{"hashgatectl: not persisted: state not persisted since"})
	if err := os.Remove(stateDir); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(stateDir+".away", stateDir); err != nil {
		t.Fatal(err)
	}
}
