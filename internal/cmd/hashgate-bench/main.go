// Command hashgate-bench is hashgate's load harness: it runs a bench
// pool that stamps every mining.notify with its send time and a light
// fleet of miners (several processes when one process's file limit is not
// enough) against the hashgate daemon or straight against the pool, and
// drives the proxy's session code over in-memory connections; it prints
// one summary and exits non-zero on correctness errors.
//
//	hashgate-bench --mode both --miners 10000     # baseline, then proxy
//	hashgate-bench --mode proxy --miners 18000 --idle
//	hashgate-bench --mode proxy --miners 18000 --storm
//	hashgate-bench --mode inmem --sessions 100000
//	hashgate-bench --mode firmware                # firmware actuators: 10,000-rig allocation, 50,000-rig polling
//	hashgate-bench --short                        # CI: 2,000 miners + 10,000 in-memory sessions + a small firmware run
//
// See docs/PERFORMANCE.md for the figures and how they were taken.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

type options struct {
	mode           string
	miners         int
	sessions       int
	perProc        int
	duration       time.Duration
	rate           float64
	closed         bool
	window         int
	perEN2         int
	rounds         int
	interval       time.Duration
	idle           bool
	idleInterval   time.Duration
	idleWindow     time.Duration
	storm          bool
	hashgate       string
	profile        string
	perf           string
	jsonOut        string
	short          bool
	keep           bool
	connectTimeout time.Duration
	spreadAbove    int
	dialParallel   int
	retry          time.Duration
	settle         time.Duration
	branches       int
	readPollers    int
	inmemRounds    int
	inmemInterval  time.Duration
	slowFrac       float64
	slowWrite      time.Duration
	dupCheck       bool
	cpuProfile     string
	daemonLog      string
	hashgateRev    string
	daemonCommit   string
	fw             fwOptions
}

const usage = `hashgate-bench — load harness for the hashgate proxy

Usage:
  hashgate-bench [flags]          run the measurements (see --mode)
  hashgate-bench --short          the CI run: 2,000 miners for ~20 s through the
                                  proxy, then 10,000 in-memory sessions, then a
                                  firmware run of 1,000 and 2,000 emulated rigs;
                                  fails only on correctness errors
  hashgate-bench --mode firmware  firmware actuators (switcher + fleet + drivers
                                  against emulated rigs in child processes): an
                                  allocation curtailing --fw-rigs, beside a plain
                                  loop of the drivers; --fw-poll-rigs polled
                                  (CPU, memory per rig); CPU per read per firmware
  hashgate-bench fleet ...        (internal) one fleet process, driven over stdin
  hashgate-bench rigs ...         (internal) one emulator process of firmware rigs
  hashgate-bench proxyd -c FILE   (internal) hashgate run's proxy and API with
                                  /debug/pprof on, for --profile

Flags:
`

func main() {
	os.Exit(dispatch(os.Args[1:]))
}

func dispatch(args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "fleet":
			return cmdFleet(args[1:])
		case "proxyd":
			return cmdProxyd(args[1:])
		case "rigs":
			return cmdRigs(args[1:])
		}
	}
	o, code := parseFlags(args)
	if o == nil {
		return code
	}
	return run(o)
}

func parseFlags(args []string) (*options, int) {
	o := &options{}
	fs := flag.NewFlagSet("hashgate-bench", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(os.Stderr, usage)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.mode, "mode", "both", "proxy | baseline | both (baseline then proxy, same run) | inmem | firmware")
	fs.IntVar(&o.miners, "miners", 10000, "TCP miners")
	fs.IntVar(&o.sessions, "sessions", 100000, "in-memory sessions (inmem)")
	fs.IntVar(&o.perProc, "per-proc", 15000, "miners per fleet process (each process may open 20,000 files)")
	fs.DurationVar(&o.duration, "duration", 20*time.Second, "share phase")
	fs.Float64Var(&o.rate, "rate", 1, "shares per second per miner (open loop); 0 = no shares")
	fs.BoolVar(&o.closed, "closed", false, "closed loop: every miner keeps --window shares in flight (maximum throughput)")
	fs.IntVar(&o.window, "window", 8, "unanswered shares per miner at most")
	fs.IntVar(&o.perEN2, "nonces-per-en2", 1, "shares per extranonce2 (consecutive nonces, as an ASIC rolls them); 1 = a new extranonce2 every share, the proxy's worst case")
	fs.IntVar(&o.rounds, "rounds", 10, "notify rounds without shares (fan-out latency)")
	fs.DurationVar(&o.interval, "interval", time.Second, "notify interval")
	fs.BoolVar(&o.idle, "idle", false, "idle-cost run: no shares, a notify every --idle-interval for --idle-window")
	fs.DurationVar(&o.idleInterval, "idle-interval", 30*time.Second, "notify interval of the idle run")
	fs.DurationVar(&o.idleWindow, "idle-window", 150*time.Second, "measured window of the idle run")
	fs.BoolVar(&o.storm, "storm", false, "restart storm: kill -9 the daemon with every miner connected, restart it, time until all are back at work")
	fs.StringVar(&o.hashgate, "hashgate", "", "hashgate binary (default: go build ./cmd/hashgate into a temp dir)")
	fs.StringVar(&o.hashgateRev, "hashgate-rev", "", "build the daemon from this committed revision (git archive), not from the checkout with its uncommitted changes")
	fs.StringVar(&o.profile, "profile", "", "directory: run the proxy as `hashgate-bench proxyd` (hashgate run's wiring with /debug/pprof on) and save CPU and heap profiles of the share phase there")
	fs.StringVar(&o.perf, "perf", "", "directory: record the daemon with perf (user space) during the share phase")
	fs.StringVar(&o.jsonOut, "json", "", "also write the results as JSON to this file")
	fs.BoolVar(&o.short, "short", false, "CI mode (see above)")
	fs.BoolVar(&o.keep, "keep", false, "keep the temp dir (config, daemon log)")
	fs.DurationVar(&o.connectTimeout, "connect-timeout", 0, "time allowed for every miner to be at work (default 30 s + 1 s per 500 miners)")
	fs.IntVar(&o.spreadAbove, "spread-above", 28000, "spread connections over 127.0.0.x source addresses above this many miners")
	fs.IntVar(&o.dialParallel, "dial-parallel", 1000, "connects in progress at once per fleet process")
	fs.DurationVar(&o.retry, "retry", time.Second, "a miner's pause before retrying a failed connect (±50%)")
	fs.DurationVar(&o.settle, "settle", 3*time.Second, "pause after connecting before memory is read")
	fs.IntVar(&o.branches, "branches", 12, "merkle branches per job")
	fs.IntVar(&o.readPollers, "read-pollers", 0, "the daemon's [proxy] read_pollers (0: its default, one per core; -1: none)")
	fs.IntVar(&o.inmemRounds, "inmem-rounds", 20, "fan-out rounds of the inmem run")
	fs.DurationVar(&o.inmemInterval, "inmem-interval", 300*time.Millisecond, "pause between inmem rounds")
	fs.Float64Var(&o.slowFrac, "slow-frac", 0.01, "inmem: share of sessions that read slowly in the clean_jobs check")
	fs.DurationVar(&o.slowWrite, "slow-write", time.Second, "inmem: how long a slow session takes per write")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "inmem: write a CPU profile of the fan-out rounds (proxy and harness share the process)")
	fs.StringVar(&o.daemonLog, "daemon-log-level", "warn", "the daemon's --log-level (info logs every miner it drops, with the reason)")
	fs.BoolVar(&o.dupCheck, "dup-check", true, "the pool counts duplicate shares (8 bytes per share)")
	fwFlags(fs, &o.fw)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, 0
		}
		return nil, 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "hashgate-bench: unexpected argument %q\n", fs.Arg(0))
		return nil, 2
	}
	if o.short {
		o.mode = "short"
		o.miners = 2000
		o.sessions = 10000
		o.duration = 12 * time.Second
		o.rounds = 4
		o.rate = 2
		o.settle = time.Second
		o.inmemRounds = 5
		o.fw.rigs, o.fw.pollRigs, o.fw.sample, o.fw.floorN = 1000, 2000, 200, 2000
		o.fw.interval, o.fw.window = 2*time.Second, 4*time.Second
	}
	switch o.mode {
	case "proxy", "baseline", "both", "inmem", "short", "firmware":
	default:
		fmt.Fprintf(os.Stderr, "hashgate-bench: unknown --mode %q\n", o.mode)
		return nil, 2
	}
	if o.connectTimeout <= 0 {
		o.connectTimeout = 30*time.Second + time.Duration(o.miners/500)*time.Second
	}
	if (o.idle || o.storm) && o.mode != "proxy" && o.mode != "both" && o.mode != "baseline" {
		fmt.Fprintln(os.Stderr, "hashgate-bench: --idle and --storm need a TCP mode")
		return nil, 2
	}
	if o.storm && o.mode != "proxy" {
		fmt.Fprintln(os.Stderr, "hashgate-bench: --storm restarts the daemon: use --mode proxy")
		return nil, 2
	}
	return o, 0
}

// results is everything one invocation measured.
type results struct {
	Date     string       `json:"date"`
	Commit   string       `json:"commit"`
	Machine  string       `json:"machine"`
	Args     []string     `json:"args"`
	Baseline *tcpResult   `json:"baseline,omitempty"`
	Proxy    *tcpResult   `json:"proxy,omitempty"`
	Inmem    *inmemResult `json:"inmem,omitempty"`
	Firmware *fwResult    `json:"firmware,omitempty"`
	Errors   []string     `json:"errors"`
}

func machine() string {
	return fmt.Sprintf("%d CPUs, %s/%s, %s", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
}

// gitCommit names the tree measured: the commit this binary was built
// from (or, under go run, the checkout's), "+dirty" with local changes.
func gitCommit() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, mod string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				mod = s.Value
			}
		}
		if len(rev) >= 7 {
			if mod == "true" {
				return rev[:7] + "+dirty"
			}
			return rev[:7]
		}
	}
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return ""
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
		c += "+dirty"
	}
	return c
}

func run(o *options) int {
	res := &results{Date: time.Now().Format("2006-01-02 15:04"), Commit: gitCommit(), Machine: machine(), Args: os.Args[1:]}
	tmp, err := os.MkdirTemp("", "hashgate-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "hashgate-bench:", err)
		return 1
	}
	if !o.keep {
		defer os.RemoveAll(tmp)
	} else {
		fmt.Fprintln(os.Stderr, "temp dir:", tmp)
	}
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "hashgate-bench:", err)
		return 1
	}
	if o.mode == "baseline" || o.mode == "both" {
		r, err := runTCP(o, tmp, false)
		if err != nil {
			return fail(err)
		}
		res.Baseline = r
		res.Errors = append(res.Errors, r.errors()...)
	}
	if o.mode == "proxy" || o.mode == "both" || o.mode == "short" {
		r, err := runTCP(o, tmp, true)
		if err != nil {
			return fail(err)
		}
		res.Proxy = r
		res.Errors = append(res.Errors, r.errors()...)
	}
	if o.mode == "inmem" || o.mode == "short" {
		r, err := runInmem(o)
		if err != nil {
			return fail(err)
		}
		res.Inmem = r
		res.Errors = append(res.Errors, r.errors()...)
	}
	if o.mode == "firmware" || o.mode == "short" {
		r, err := runFirmware(o, tmp)
		if err != nil {
			return fail(err)
		}
		res.Firmware = r
		res.Errors = append(res.Errors, r.errors(&o.fw)...)
	}
	if o.daemonCommit != "" {
		res.Commit += " (daemon built at " + o.daemonCommit + ")"
	}
	printSummary(os.Stdout, o, res)
	if o.jsonOut != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(o.jsonOut, b, 0o644); err != nil {
			return fail(err)
		}
	}
	if len(res.Errors) > 0 {
		return 1
	}
	return 0
}
