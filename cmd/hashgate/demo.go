package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/internal/termsafe"
	"github.com/hashgate/hashgate/switcher"
)

// demoPolicy is the demo site: three halls of different rigs. Every group
// is pools_bound: the simulated rigs have hashgate as their only pool, so
// a park holds and counts at idle_kw (real rigs with a backup pool that is
// not hashgate would count at rig_kw while parked).
const demoPolicy = `# hashgate demo site
# pools_bound = true: the simulated rigs have no pool but hashgate, so a
# park through Stratum holds.
site_capacity_kw = 1000.0
reserve_kw = 20.0
ramp_up_kw_per_min = 1200.0
min_off = "10s"
min_on = "10s"

[[group]]
name = "s21-hall-a"
workers = ["demo.s21-*"]
rig_kw = 3.5
idle_kw = 0.1
efficiency_j_th = 17.5
priority = 20
actuator = "stratum"
pools_bound = true

[[group]]
name = "s19-hall-b"
workers = ["demo.s19-*"]
rig_kw = 3.25
idle_kw = 0.12
efficiency_j_th = 34.0
priority = 10
actuator = "stratum"
pools_bound = true

[[group]]
name = "s9-hall-c"
workers = ["demo.s9-*"]
rig_kw = 1.4
idle_kw = 0.08
efficiency_j_th = 98.0
priority = 0
actuator = "stratum"
pools_bound = true
`

// demoOptions are the knobs of `hashgate demo`.
type demoOptions struct {
	duration time.Duration // 0: until Ctrl-C
	miners   int
	listen   string
	api      string
	step     time.Duration // time between scripted events
	every    time.Duration // status line interval
}

func cmdDemo(args []string) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	var o demoOptions
	fs.DurationVar(&o.duration, "duration", 0, "end the demo after this long (default: run until Ctrl-C)")
	fs.IntVar(&o.miners, "miners", 300, "simulated miners, split over three halls")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:3333", "where the proxy takes miners (a busy port falls back to a free one)")
	fs.StringVar(&o.api, "api", "127.0.0.1:8080", "where the API and dashboard listen (a busy port falls back to a free one)")
	fs.DurationVar(&o.step, "step", 0, "time between scripted events (default: a seventh of --duration, or 20s)")
	fs.DurationVar(&o.every, "every", 2*time.Second, "how often to print the status line")
	logLevel := fs.String("log-level", "warn", "log level of the proxy and switcher")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.miners < 3 || o.miners > 5000 {
		fmt.Fprintln(os.Stderr, "hashgate demo: --miners must be 3..5000")
		return 2
	}
	log, err := newLogger("console", *logLevel, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hashgate demo:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	if err := runDemo(ctx, o, os.Stdout, log); err != nil {
		fmt.Fprintln(os.Stderr, "hashgate demo:", err)
		return 1
	}
	return 0
}

// freeOr returns addr if it can be listened on, else a free loopback port.
func freeOr(addr string) string {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		l, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return addr
		}
	}
	a := l.Addr().String()
	l.Close()
	return a
}

// demoConfig is the config `hashgate run` would read for the demo site.
func demoConfig(dir string, o demoOptions, pools []*sim.Pool, token string) (*config.Config, error) {
	policy := filepath.Join(dir, "policy.toml")
	if err := os.WriteFile(policy, []byte(demoPolicy), 0o644); err != nil {
		return nil, err
	}
	c := config.Default()
	c.Path = filepath.Join(dir, "hashgate.toml")
	c.Proxy.Listen = freeOr(o.listen)
	// The simulated miners hash on a CPU: a tiny, fixed difficulty.
	c.Proxy.Difficulty = config.Difficulty{Initial: 1e-9, Min: 1e-9, Max: 1e-9, TargetShareSeconds: 2}
	c.Proxy.ParkedKeepalive = config.Duration{Duration: 10 * time.Second}
	for i, p := range pools {
		host, port, _ := net.SplitHostPort(p.Addr())
		n, _ := strconv.Atoi(port)
		c.Pools = append(c.Pools, config.Pool{
			Name: []string{"pool-a", "pool-b"}[i], URL: p.URL(), User: "demo.proxy", Password: "x", Host: host, Port: n,
			FailoverTimeout: config.Duration{Duration: 5 * time.Second}, FailbackAfter: config.Duration{Duration: time.Hour},
			ConnectTimeout: config.Duration{Duration: 2 * time.Second},
		})
	}
	c.API.Listen = freeOr(o.api)
	c.API.Tokens = []config.Token{{Name: "demo", Token: token, Role: config.RoleWrite}}
	c.Switcher.Policy, c.Switcher.PolicyPath = "policy.toml", policy
	c.Switcher.StateFilePath = filepath.Join(dir, "hashgate-state.json")
	c.Switcher.AuditLogPath = filepath.Join(dir, "hashgate-audit.jsonl")
	return c, nil
}

// runDemo runs the demo site: two in-process pools, hashgate wired exactly
// as `hashgate run` wires it (proxy, switcher, API and dashboard), a
// simulated fleet in three halls, and a scripted day at the power desk,
// narrated until ctx ends.
func runDemo(ctx context.Context, o demoOptions, out io.Writer, log zerolog.Logger) error {
	began := time.Now()
	say := func(format string, args ...any) {
		// Escaped: the lines name pools and quote errors (termsafe).
		fmt.Fprintf(out, "[%6.1fs] %s\n", time.Since(began).Seconds(), termsafe.String(fmt.Sprintf(format, args...)))
	}
	dir, err := os.MkdirTemp("", "hashgate-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var pools []*sim.Pool
	for _, name := range []string{"pool-a", "pool-b"} {
		p, err := sim.StartPool(sim.PoolConfig{Name: name, JobInterval: 5 * time.Second})
		if err != nil {
			return err
		}
		defer p.Close()
		pools = append(pools, p)
	}
	say("in-process pools: pool-a %s (primary), pool-b %s (backup); both validate every share", pools[0].URL(), pools[1].URL())
	tok := make([]byte, 12)
	_, _ = rand.Read(tok)
	token := hex.EncodeToString(tok)
	cfg, err := demoConfig(dir, o, pools, token)
	if err != nil {
		return err
	}
	r, err := start(cfg, log)
	if err != nil {
		return err
	}
	defer r.close()
	say("proxy: point miners at stratum+tcp://%s (any worker name; demo.s21-*, demo.s19-*, demo.s9-* fall in the three halls)", r.proxy.Addr())
	say("dashboard: http://%s/   API: HASHGATE_API=http://%s HASHGATE_TOKEN=%s hashgatectl status", r.api.Addr(), r.api.Addr(), token)
	say("policy: %s", r.watcher.Current().Summary())
	say("every group is pools_bound: these simulated rigs have no pool but hashgate, so a park holds and counts at idle_kw (a real rig with another pool counts at rig_kw while parked: see the README)")

	per := o.miners / 3
	for _, h := range []string{"demo.s21-%03d", "demo.s19-%03d", "demo.s9-%03d"} {
		f, err := sim.StartFleet(sim.FleetConfig{Addr: r.proxy.Addr().String(), Miners: per, NameFormat: h,
			ShareInterval: 2 * time.Second, RampUp: 3 * time.Second, SilenceTimeout: 90 * time.Second})
		if err != nil {
			return err
		}
		defer f.Close()
	}
	say("fleet: %d simulated miners per hall connecting over 3s; each is admitted by the switcher in order, at the ramp rate", per)

	step := o.step
	if step == 0 {
		step = 20 * time.Second
		if o.duration > 0 {
			step = o.duration / 7
		}
	}
	sw := r.switcher
	type scripted struct {
		say string
		do  func()
	}
	allocate := func(kw float64, reason string, emergency bool) func() {
		return func() {
			p, _, err := sw.Allocate(switcher.AllocationRequest{AIKW: kw, Reason: reason, Emergency: emergency}, "demo")
			if err != nil {
				say("allocation refused: %v", err)
				return
			}
			say("  plan: budget %.0f kW, curtail %d, resume %d, deferred %d, load after %.0f kW, eta %.0fs",
				p.MiningBudgetKW, len(p.Curtail), len(p.Resume), len(p.Deferred), p.LoadAfterKW, p.ETASeconds)
		}
	}
	script := []scripted{
		{"power desk: AI takes 400 kW for a training run", allocate(400, "training run", false)},
		{"power desk: training done, AI gives the 400 kW back (resumes follow the ramp)", allocate(0, "training done", false)},
		{"power desk: EMERGENCY, AI takes 700 kW now (min_on ignored, every resume held)", allocate(700, "grid event", true)},
		{"power desk: emergency over, AI back to 0 kW", allocate(0, "grid event over", false)},
		{"killing pool-a to show failover: rigs with extranonce.subscribe get set_extranonce, the others client.reconnect", func() { pools[0].Close() }},
	}
	next := time.NewTimer(step)
	defer next.Stop()
	tick := time.NewTicker(o.every)
	defer tick.Stop()
	var lastSeq uint64
	lastAccepted, lastAt := uint64(0), time.Now()
	for {
		select {
		case <-ctx.Done():
			ps, st := r.proxy.Stats(), sw.Status()
			say("stopping: %d shares accepted (%d forwarded to the pools), %d rejected; %d failover(s); AI %.0f kW, %d rigs curtailed",
				ps.SharesAccepted, ps.SharesForwarded, sumRejected(ps.SharesRejected), ps.Failovers, st.AIKW, st.Curtailed)
			return nil
		case <-next.C:
			if len(script) > 0 {
				say("%s", script[0].say)
				script[0].do()
				script = script[1:]
				next.Reset(step)
			}
		case now := <-tick.C:
			// What the switcher did since the last line, from its audit log.
			evs, _ := sw.Events(lastSeq, 0)
			counts := map[string]int{}
			for _, e := range evs {
				lastSeq = e.Seq
				counts[e.Kind]++
			}
			if counts[switcher.EventCurtail]+counts[switcher.EventResume]+counts[switcher.EventPark] > 0 {
				say("  switcher: %d curtailed, %d resumed, %d held at admission", counts[switcher.EventCurtail], counts[switcher.EventResume], counts[switcher.EventPark])
			}
			ps, st := r.proxy.Stats(), sw.Status()
			rate := float64(ps.SharesAccepted-lastAccepted) / now.Sub(lastAt).Seconds()
			lastAccepted, lastAt = ps.SharesAccepted, now
			active := "none"
			for _, p := range r.proxy.Pools() {
				if p.State == "active" {
					active = p.Name
				}
			}
			comp := "compliant"
			if !st.Compliant {
				comp = "OVER BUDGET"
			}
			if st.ParksUnverified > 0 {
				comp += fmt.Sprintf(", %d parks unverified", st.ParksUnverified)
			}
			if st.ETASeconds > 0 {
				comp += fmt.Sprintf(", plan done in %.0fs (ramp, min_off)", st.ETASeconds)
			}
			say("miners %d | shares %.0f/s | pool %s | AI %.0f kW, budget %.0f kW, load %.0f kW (%s), %d curtailed",
				ps.Connections, rate, active, st.AIKW, st.MiningBudgetKW, st.MiningLoadKW, comp, st.Curtailed)
		}
	}
}

func sumRejected(m map[string]uint64) uint64 {
	var n uint64
	for _, v := range m {
		n += v
	}
	return n
}
