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
	"github.com/hashgate/hashgate/site"
	"github.com/hashgate/hashgate/switcher"
)

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
	fs.IntVar(&o.miners, "miners", 300, "simulated Stratum miners, split over three halls; the site and a hall of emulated firmware (a tenth as many rigs, 10 to 100) scale with it")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:3333", "where the proxy takes miners (a busy port falls back to a free one)")
	fs.StringVar(&o.api, "api", "127.0.0.1:8080", "where the API and dashboard listen (a busy port falls back to a free one)")
	fs.DurationVar(&o.step, "step", 0, "time between scripted events (default: an eighth of --duration, or 20s)")
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

// Device timing of the demo's firmware hall: emulators answer at once, so
// a plan's effect shows within a scripted step.
const (
	demoPoll   = time.Second
	demoVerify = time.Second
	demoRetry  = 10 * time.Second
)

// demoConfig is the config `hashgate run` would read for the demo site,
// with policy as its policy file and dir/rigs.csv as its inventory.
func demoConfig(dir string, o demoOptions, policy string, pools []*sim.Pool, token string, meters []config.Meter) (*config.Config, error) {
	policyPath := filepath.Join(dir, "policy.toml")
	if err := os.WriteFile(policyPath, []byte(policy), 0o644); err != nil {
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
	c.Switcher.Policy, c.Switcher.PolicyPath = "policy.toml", policyPath
	c.Switcher.Inventory, c.Switcher.InventoryPath = "rigs.csv", filepath.Join(dir, "rigs.csv")
	c.Switcher.PollInterval = config.Duration{Duration: demoPoll}
	c.Switcher.VerifyWithin = config.Duration{Duration: demoVerify}
	c.Switcher.RetryEvery = config.Duration{Duration: demoRetry}
	c.Switcher.StateFilePath = filepath.Join(dir, "hashgate-state.json")
	c.Switcher.AuditLogPath = filepath.Join(dir, "hashgate-audit.jsonl")
	c.Meters = meters
	return c, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// demo is a running demo: the site, the parts it started, and what its
// narration has said so far.
type demo struct {
	o      demoOptions
	out    io.Writer
	began  time.Time
	step   time.Duration
	site   demoSite
	pools  []*sim.Pool
	r      *site.Site
	fw     *fwHall
	ai     *aiRacks
	script []scripted

	lastSeq      uint64
	lastAccepted uint64
	lastAt       time.Time
}

type scripted struct {
	say string
	do  func()
}

// say prints one narrated line, stamped with the time since the start.
// Escaped: the lines name pools and quote errors (termsafe).
func (d *demo) say(format string, args ...any) {
	fmt.Fprintf(d.out, "[%6.1fs] %s\n", time.Since(d.began).Seconds(), termsafe.String(fmt.Sprintf(format, args...)))
}

// runDemo runs the demo site: two in-process pools, hashgate wired exactly
// as `hashgate run` wires it (proxy, switcher, fleet, API and dashboard),
// simulated Stratum miners in three halls, a hall of emulated firmware,
// and a scripted day at the power desk, narrated until ctx ends.
func runDemo(ctx context.Context, o demoOptions, out io.Writer, log zerolog.Logger) error {
	d := &demo{o: o, out: out, began: time.Now(), step: o.step}
	if d.step == 0 {
		d.step = 20 * time.Second
		if o.duration > 0 {
			d.step = o.duration / 8
		}
	}
	d.site = newDemoSite(o.miners, d.step)
	dir, err := os.MkdirTemp("", "hashgate-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for _, name := range []string{"pool-a", "pool-b"} {
		p, err := sim.StartPool(sim.PoolConfig{Name: name, JobInterval: 5 * time.Second})
		if err != nil {
			return err
		}
		defer p.Close()
		d.pools = append(d.pools, p)
	}
	d.say("in-process pools: pool-a %s (primary), pool-b %s (backup); both validate every share", d.pools[0].URL(), d.pools[1].URL())
	fw, groups, err := startFWHall(dir, d.site.fwRigs)
	if err != nil {
		return err
	}
	defer fw.Close()
	d.fw = fw
	d.ai = newAIRacks(d.site, d.step)
	if err := d.ai.start(""); err != nil {
		return err
	}
	defer d.ai.stop()
	token := randomHex(12)
	cfg, err := demoConfig(dir, o, d.site.policy(groups), d.pools, token, d.ai.meters(d.site.meterStale()))
	if err != nil {
		return err
	}
	if d.r, err = start(cfg, log); err != nil {
		return err
	}
	defer d.r.Close()
	mining := func() float64 { return d.r.Switcher().Status().MiningLoadKW }
	d.ai.mining.Store(&mining)
	d.intro(token)
	for _, h := range demoHalls {
		f, err := sim.StartFleet(sim.FleetConfig{Addr: d.r.Proxy().Addr().String(), Miners: d.site.perHall, NameFormat: h.nameFormat,
			ShareInterval: 2 * time.Second, RampUp: min(3*time.Second, d.step/2), SilenceTimeout: 90 * time.Second})
		if err != nil {
			return err
		}
		defer f.Close()
	}
	d.say("fleet: %d simulated miner(s) per Stratum hall connecting; each is admitted by the switcher in order, at the ramp rate", d.site.perHall)
	d.script = d.newScript()
	return d.loop(ctx)
}

// intro says where everything is and what the site is.
func (d *demo) intro(token string) {
	r := d.r
	d.say("proxy: point miners at stratum+tcp://%s (any worker name; demo.s21-*, demo.s19-*, demo.s9-* fall in the three Stratum halls)", r.Proxy().Addr())
	d.say("dashboard: http://%s/   API: HASHGATE_API=http://%s HASHGATE_TOKEN=%s hashgatectl status", r.APIAddr(), r.APIAddr(), token)
	d.say("policy: %s", r.Watcher().Current().Summary())
	d.say("site: %.0f kW capacity, %.0f kW reserve, ramp %.0f kW/min, sized for %d miners + %d firmware rigs (%.1f kW nameplate)",
		d.site.capacityKW, d.site.reserveKW, d.site.rampKWPerMin, 3*d.site.perHall, d.site.fwRigs, d.site.nameplateKW())
	d.say("the Stratum halls are pools_bound: these simulated rigs have no pool but hashgate, so a park holds and counts at idle_kw (a real rig with another pool counts at rig_kw while parked: see the README)")
	d.say("%s", d.fw.intro(demoPoll, demoVerify))
	d.say("cap mode: site cap %.0f kW at the meter; AI inference racks draw %.0f-%.0f kW on their own, read over Modbus TCP at %s (ai-racks, site-main), so the mining budget follows cap - AI - reserve; the power desk's allocations bind when tighter; a meter silent %s puts mining on the fail-safe budget of %.0f kW",
		d.site.capacityKW, d.site.capacityKW*0.02, d.site.capacityKW*0.06, d.ai.addr, d.site.meterStale(), d.site.safeBudgetKW())
}

// newScript is the scripted day at the power desk, one event a step.
func (d *demo) newScript() []scripted {
	s := d.site
	return []scripted{
		{fmt.Sprintf("power desk: AI takes %.0f kW for a training run", s.trainingKW), d.allocate(s.trainingKW, "training run", false)},
		{fmt.Sprintf("power desk: training done, AI gives the %.0f kW back (resumes follow the ramp)", s.trainingKW), d.allocate(0, "training done", false)},
		{fmt.Sprintf("power desk: EMERGENCY, AI takes %.0f kW now (min_on ignored, every resume held)", s.emergencyKW), d.allocate(s.emergencyKW, "grid event", true)},
		{"power desk: emergency over, AI back to 0 kW", d.allocate(0, "grid event over", false)},
		{fmt.Sprintf("the AI racks' meter goes silent: once stale (%s), mining falls to the fail-safe budget", d.site.meterStale()), d.ai.stop},
		{fmt.Sprintf("the meter is back: the fail-safe ends once it has been good for failsafe_hold (%s)", d.site.failsafeHold()), func() {
			if err := d.ai.start(d.ai.addr); err != nil {
				d.say("meter restart: %v", err)
			}
		}},
		{"killing pool-a to show failover: rigs with extranonce.subscribe get set_extranonce, the others client.reconnect", func() { d.pools[0].Close() }},
	}
}

func (d *demo) allocate(kw float64, reason string, emergency bool) func() {
	return func() {
		beforeW, beforeAsleep := d.fw.reading()
		p, _, err := d.r.Switcher().Allocate(switcher.AllocationRequest{AIKW: kw, Reason: reason, Emergency: emergency}, "demo")
		if err != nil {
			d.say("allocation refused: %v", err)
			return
		}
		d.say("  plan: budget %.0f kW, curtail %d, resume %d, deferred %d, load after %.0f kW, eta %.0fs",
			p.MiningBudgetKW, len(p.Curtail), len(p.Resume), len(p.Deferred), p.LoadAfterKW, p.ETASeconds)
		if line := d.fw.plan(p, beforeW, beforeAsleep); line != "" {
			d.say("%s", line)
		}
	}
}

// loop runs the script and prints the status until ctx ends.
func (d *demo) loop(ctx context.Context) error {
	next := time.NewTimer(d.step)
	defer next.Stop()
	tick := time.NewTicker(d.o.every)
	defer tick.Stop()
	d.lastAt = time.Now()
	for {
		select {
		case <-ctx.Done():
			ps, st := d.r.Proxy().Stats(), d.r.Switcher().Status()
			d.say("stopping: %d shares accepted (%d forwarded to the pools), %d rejected; %d failover(s); AI %.0f kW, %d rigs curtailed",
				ps.SharesAccepted, ps.SharesForwarded, sumRejected(ps.SharesRejected), ps.Failovers, st.AIKW, st.Curtailed)
			d.say("%s", d.fw.summary())
			return nil
		case <-next.C:
			if len(d.script) > 0 {
				d.say("%s", d.script[0].say)
				d.script[0].do()
				d.script = d.script[1:]
				next.Reset(d.step)
			}
		case now := <-tick.C:
			d.events()
			if line := d.fw.meter(); line != "" {
				d.say("%s", line)
			}
			d.status(now)
		}
	}
}

// events says what the switcher did since the last tick, from its audit
// log: counts of curtails and resumes, and the firmware side rig by rig.
func (d *demo) events() {
	evs, _ := d.r.Switcher().Events(d.lastSeq, 0)
	counts := map[string]int{}
	var fwLines []string
	// A curtail is the planner compensating for a liar only when a plan
	// of its own made it: not one an allocation, a cap or the fail-safe
	// made (their per-rig events name them in Cause, same batch).
	head := map[uint64]string{}
	for _, e := range evs {
		head[e.Seq] = e.Kind
	}
	for _, e := range evs {
		d.lastSeq = e.Seq
		counts[e.Kind]++
		if k, ok := head[e.Cause]; e.Kind == switcher.EventCurtail && ok && k != switcher.EventPlan {
			continue
		}
		if line := d.fw.event(e); line != "" {
			fwLines = append(fwLines, line)
		}
	}
	if counts[switcher.EventCurtail]+counts[switcher.EventResume]+counts[switcher.EventPark] > 0 {
		d.say("  switcher: %d curtailed, %d resumed, %d held at admission", counts[switcher.EventCurtail], counts[switcher.EventResume], counts[switcher.EventPark])
	}
	for _, l := range fwLines {
		d.say("%s", l)
	}
}

// status prints the status line: miners, share rate, pool, and the power
// side (AI, budget, counted load with its measured part, compliance).
func (d *demo) status(now time.Time) {
	ps, st := d.r.Proxy().Stats(), d.r.Switcher().Status()
	rate := float64(ps.SharesAccepted-d.lastAccepted) / now.Sub(d.lastAt).Seconds()
	d.lastAccepted, d.lastAt = ps.SharesAccepted, now
	active := "none"
	for _, p := range d.r.Proxy().Pools() {
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
		comp += fmt.Sprintf(", plan done in %.0fs", st.ETASeconds)
	}
	d.say("miners %d | %.0f shares/s | %s | AI %.0f kW, %s | budget %.0f, load %.0f (%.1f measured, %d rigs) | %s | %d curtailed",
		ps.Connections, rate, active, st.AIKW, capLine(st), st.MiningBudgetKW, st.MiningLoadKW, st.MiningLoadMeasuredKW, st.MeasuredRigs, comp, st.Curtailed)
}

func sumRejected(m map[string]uint64) uint64 {
	var n uint64
	for _, v := range m {
		n += v
	}
	return n
}
