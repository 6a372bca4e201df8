package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

const defaultAPI = "http://127.0.0.1:8080"

const usage = `hashgatectl — client of the hashgate HTTP API

Usage:
  hashgatectl [flags] COMMAND [command flags]

Commands:
  status                                     proxy, pools, power and workers at a glance;
                                             exits 3 not compliant, 4 unhealthy, 5 not persisted
  workers [--group G] [--state S] [--limit N] [--offset N]
                                             workers; S is mining, idle, curtailed or offline
  worker NAME                                one worker or rig, everything known about it
  allocate --ai-kw N --reason TEXT [--until T] [--emergency] [--force]
                                             give N kW to AI (write token); T is RFC 3339
                                             (2025-06-01T18:00:00Z) or a duration (2h): from now,
                                             or, re-run, from when the same allocation was made;
                                             --force moves its end; --emergency ignores min_on
                                             and holds every resume
  plan --ai-kw N                             what an allocation of N kW would do (dry run)
  cap KW --reason TEXT [--until T]           cap mode: the site's limit at the meter is KW; mining
                                             follows cap - measured non-mining - reserve (write
                                             token); 0 ends the cap set here; T as allocate's
  heartbeat                                  tell hashgate the power desk is alive (write token;
                                             see the policy's heartbeat_timeout)
  pin NAME on|off|auto [--reason TEXT]       on: never curtailed; off: parked (maintenance);
                                             auto: back to the planner (write token). A rig not
                                             connected, even one never seen, can be pinned: the
                                             pin waits for it (pinned on, it counts no load until it
                                             connects)
  forget NAME                                drop a rig that is not connected, whatever it held
                                             (pin, park, left_while_parked): for a rig taken away
                                             (write token)
  events [--since SEQ] [--limit N] [--kind K[,K]] [--rig R] [--who W] [--cause SEQ] [--follow [--every D]]
                                             the audit log, newest last (without --since: the latest);
                                             an allocation, pin or plan is one event with counts per
                                             group, its per-rig events name it in CAUSE (--cause SEQ
                                             lists them); --follow polls for new events until Ctrl-C
  report SEQ [--csv]                         the evidence of an event: target, baseline, time to
                                             target, deviation, each rig's confirmation (--csv:
                                             the samples too)
  version [--client]                         hashgatectl's version and the server's
  help [COMMAND]                             this help, or one command's

Flags (before or after the command):
  --api URL        the API (env HASHGATE_API, default http://127.0.0.1:8080)
  --token TOKEN    bearer token (env HASHGATE_TOKEN); writes need a write token
  --json           print the API's JSON instead of tables
  --timeout D      HTTP timeout (default 30s)

Exit status: 0 done; 1 error (the API refused, could not be reached);
2 bad usage; status only: 3 not compliant, 4 unhealthy (no live pool
session), 5 a decision or audit event not persisted (the first that
applies, in that order).
`

// Exit statuses.
const (
	exitOK           = 0
	exitError        = 1
	exitUsage        = 2
	exitNotCompliant = 3 // status: the site is not compliant
	exitUnhealthy    = 4 // status: no live pool session
	exitNotPersisted = 5 // status: state or audit log not persisted
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// cli is one invocation.
type cli struct {
	api     string
	token   string
	json    bool
	timeout time.Duration
	out     io.Writer
	errOut  io.Writer
	client  *http.Client
	now     func() time.Time
}

// usageError is bad usage: exit 2 with one line and where to read more:
// cmd's help (filled in by dispatch for an error of a command), or the
// whole help when global (a global flag, an unknown command).
type usageError struct {
	msg, cmd string
	global   bool
}

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return usageError{msg: fmt.Sprintf(format, args...)}
}

// helpError: help was asked for (cmd: that command's, "" the whole).
type helpError struct{ cmd string }

func (helpError) Error() string { return "help" }

// errHelp is the whole help.
var errHelp = helpError{}

// exitStatus ends with its code and, if msg is set, one line on stderr
// (status: not compliant, unhealthy).
type exitStatus struct {
	code int
	msg  string
}

func (e *exitStatus) Error() string { return e.msg }

// run is main, testable: it returns the exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	return runAt(ctx, time.Now, args, getenv, stdout, stderr)
}

// runAt is run with the clock now ("--until 3m" counts from it).
func runAt(ctx context.Context, now func() time.Time, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	c := &cli{out: stdout, errOut: stderr, now: now, timeout: 30 * time.Second}
	c.api = getenv("HASHGATE_API")
	if c.api == "" {
		c.api = defaultAPI
	}
	c.token = getenv("HASHGATE_TOKEN")
	err := c.dispatch(ctx, args)
	var ue usageError
	var he helpError
	var ee *exitStatus
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &he):
		fmt.Fprint(stdout, helpText(he.cmd))
		return exitOK
	case errors.As(err, &ue):
		see := "hashgatectl help"
		if ue.cmd != "" {
			see += " " + ue.cmd
		}
		fmt.Fprintf(stderr, "hashgatectl: %s\nsee '%s'\n", safe(ue.msg), see)
		return exitUsage
	case errors.As(err, &ee):
		if ee.msg != "" {
			fmt.Fprintf(stderr, "hashgatectl: %s\n", safe(ee.msg))
		}
		return ee.code
	default:
		// Errors echo the server's text (an API error, a proxy's page).
		fmt.Fprintf(stderr, "hashgatectl: %s\n", safe(err.Error()))
		return exitError
	}
}

// globalFlags adds the flags every command takes.
func (c *cli) globalFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.api, "api", c.api, "API URL")
	fs.StringVar(&c.token, "token", c.token, "bearer token")
	fs.BoolVar(&c.json, "json", c.json, "print JSON")
	fs.DurationVar(&c.timeout, "timeout", c.timeout, "HTTP timeout")
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported with our usage
	return fs
}

// flagError words a flag package error with the flags as we write them
// (--limit, not -limit).
func flagError(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return "unknown flag --" + strings.TrimPrefix(name, "-")
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return "--" + strings.TrimPrefix(name, "-") + " needs a value"
	}
	return strings.Replace(msg, " for flag -", " for --", 1)
}

// parse parses flags anywhere among args and returns the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, helpError{fs.Name()}
			}
			return nil, usageError{msg: flagError(err)}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func (c *cli) dispatch(ctx context.Context, args []string) error {
	top := newFlagSet("hashgatectl")
	c.globalFlags(top)
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return usageError{msg: flagError(err), global: true}
	}
	args = top.Args()
	if len(args) == 0 {
		return usagef("no command")
	}
	cmd, args := args[0], args[1:]
	err := c.command(ctx, cmd, args)
	var ue usageError
	if errors.As(err, &ue) && ue.cmd == "" && !ue.global && commandHelp[cmd] != "" {
		ue.cmd = cmd
		return ue
	}
	return err
}

// command runs one command with its arguments.
func (c *cli) command(ctx context.Context, cmd string, args []string) error {
	fs := newFlagSet(cmd)
	c.globalFlags(fs)
	var run func(ctx context.Context, pos []string) error
	switch cmd {
	case "status":
		run = c.status
	case "workers":
		run = c.workers(fs)
	case "worker":
		run = c.worker
	case "allocate":
		run = c.allocate(fs)
	case "plan":
		run = c.plan(fs)
	case "pin":
		run = c.pin(fs)
	case "cap":
		run = c.capCmd(fs)
	case "heartbeat":
		run = c.heartbeat
	case "forget":
		run = c.forget
	case "events":
		run = c.events(fs)
	case "report":
		run = c.report(fs)
	case "version":
		run = c.version(fs)
	case "help":
		return c.help(args)
	default:
		return usageError{msg: fmt.Sprintf("unknown command %q", cmd), global: true}
	}
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := c.setup(); err != nil {
		return err
	}
	return run(ctx, pos)
}

// setup checks the API URL and builds the client.
func (c *cli) setup() error {
	u, err := url.Parse(c.api)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageError{msg: fmt.Sprintf("--api %q: want a URL such as %s", c.api, defaultAPI), global: true}
	}
	c.api = strings.TrimRight(c.api, "/")
	if c.timeout <= 0 {
		return usageError{msg: fmt.Sprintf("--timeout %v: must be positive", c.timeout), global: true}
	}
	c.client = &http.Client{Timeout: c.timeout}
	return nil
}

func noArgs(cmd string, pos []string) error {
	if len(pos) > 0 {
		return usagef("%s takes no arguments, got %q", cmd, strings.Join(pos, " "))
	}
	return nil
}

// apiError is a non-2xx answer.
type apiError struct {
	code int
	msg  string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("API error %d %s: %s", e.code, http.StatusText(e.code), e.msg)
}

// call makes one request. need says what token the endpoint needs, for
// the 401 message ("a write token", "an API token").
func (c *cli) call(ctx context.Context, method, path string, body any, need string) (http.Header, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.api+path, r)
	if err != nil {
		return nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot reach the hashgate API at %s: %v", c.api, unwrapURLError(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("reading the answer from %s: %v", c.api, err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		if c.token != "" {
			return nil, nil, fmt.Errorf("unauthorized: the token was refused; set HASHGATE_TOKEN to %s", need)
		}
		return nil, nil, fmt.Errorf("unauthorized: set HASHGATE_TOKEN to %s", need)
	case resp.StatusCode == http.StatusForbidden:
		return nil, nil, errors.New("forbidden: this token is read-only")
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		var eb struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(data))
		if json.Unmarshal(data, &eb) == nil && eb.Error != "" {
			msg = eb.Error
		}
		if len(msg) > 500 {
			msg = msg[:500] + "…"
		}
		return nil, nil, &apiError{code: resp.StatusCode, msg: msg}
	}
	return resp.Header, data, nil
}

// unwrapURLError drops the "Get "URL": " that url.Error adds: the message
// names the API already.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// printJSON prints the API's JSON as is (--json).
// fetch calls the API and, unless --json printed the raw answer (done),
// decodes it into out.
func (c *cli) fetch(ctx context.Context, method, path string, body any, need string, out any) (hdr http.Header, done bool, err error) {
	hdr, data, err := c.call(ctx, method, path, body, need)
	if err != nil {
		return nil, true, err
	}
	if c.json {
		return hdr, true, c.printJSON(data)
	}
	return hdr, false, decode(data, out)
}

func (c *cli) printJSON(data []byte) error {
	if _, err := c.out.Write(data); err != nil {
		return err
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		fmt.Fprintln(c.out)
	}
	return nil
}

func decode(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("the API answered something unexpected: %v", err)
	}
	return nil
}

// intFlag is a flag value ≥ 0 that knows whether it was set.
type intFlag struct {
	v   int
	set bool
}

func (f *intFlag) String() string { return strconv.Itoa(f.v) }
func (f *intFlag) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return errors.New("must be a whole number ≥ 0")
	}
	f.v, f.set = n, true
	return nil
}

// floatFlag is a kW flag value that knows whether it was set.
type floatFlag struct {
	v   float64
	set bool
}

func (f *floatFlag) String() string { return strconv.FormatFloat(f.v, 'f', -1, 64) }
func (f *floatFlag) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || v != v || v > 1e12 {
		return errors.New("must be a number of kW ≥ 0")
	}
	if v == 0 {
		v = 0 // not -0: it would print as "-0.0 kW"
	}
	f.v, f.set = v, true
	return nil
}
