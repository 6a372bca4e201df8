package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/sim"
	"github.com/hashgate/hashgate/stratum/proxy"
	"github.com/hashgate/hashgate/stratum/vardiff"
)

// demoOptions are the knobs of `hashgate demo`.
type demoOptions struct {
	duration time.Duration // 0: until Ctrl-C
	miners   int
	listen   string
	failAt   time.Duration // when to kill the primary pool; 0: a third of the duration, or 20 s
	every    time.Duration // status line interval
}

func cmdDemo(args []string) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	var o demoOptions
	fs.DurationVar(&o.duration, "duration", 0, "end the demo after this long (default: run until Ctrl-C)")
	fs.IntVar(&o.miners, "miners", 300, "simulated miners")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:3333", "where the proxy takes miners (a busy port falls back to a free one)")
	fs.DurationVar(&o.failAt, "fail-primary-after", 0, "kill the primary pool after this long to show failover (default: a third of --duration, or 20s)")
	fs.DurationVar(&o.every, "every", 2*time.Second, "how often to print the status line")
	logLevel := fs.String("log-level", "warn", "proxy log level")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.miners < 1 || o.miners > 5000 {
		fmt.Fprintln(os.Stderr, "hashgate demo: --miners must be 1..5000")
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

// runDemo wires an in-process pool pair, the proxy and a simulated fleet on
// loopback, narrates what happens until ctx ends, and tears it all down.
func runDemo(ctx context.Context, o demoOptions, out io.Writer, log zerolog.Logger) error {
	start := time.Now()
	say := func(format string, args ...any) {
		fmt.Fprintf(out, "[%6.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	primary, err := sim.StartPool(sim.PoolConfig{Name: "pool-a", JobInterval: 5 * time.Second})
	if err != nil {
		return err
	}
	defer primary.Close()
	backup, err := sim.StartPool(sim.PoolConfig{Name: "pool-b", JobInterval: 5 * time.Second})
	if err != nil {
		return err
	}
	defer backup.Close()
	say("in-process pools: pool-a %s (primary), pool-b %s (backup); both validate every share", primary.URL(), backup.URL())

	cfg := proxy.Config{
		Listen:           o.listen,
		HandshakeTimeout: 10 * time.Second,
		ReconnectGrace:   2 * time.Second,
		BackoffMin:       500 * time.Millisecond,
		BackoffMax:       10 * time.Second,
		UserAgent:        "hashgate/" + version,
		// The simulated miners hash on a CPU: a tiny difficulty, one
		// share every few seconds each.
		Difficulty: vardiff.Config{Initial: 1e-9, Min: 2.5e-10, Max: 1e-8, TargetShareSeconds: 2},
		Log:        log,
		Pools: []proxy.PoolSpec{
			{Name: "pool-a", Address: primary.Addr(), User: "demo.proxy", Password: "x", FailoverTimeout: 5 * time.Second, FailbackAfter: time.Hour},
			{Name: "pool-b", Address: backup.Addr(), User: "demo.proxy", Password: "x", FailoverTimeout: 5 * time.Second, FailbackAfter: time.Hour},
		},
	}
	srv, err := proxy.New(cfg)
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		// The usual port is taken: any free loopback port will do.
		cfg.Listen = "127.0.0.1:0"
		if srv, err = proxy.New(cfg); err != nil {
			return err
		}
		if err := srv.Start(); err != nil {
			return err
		}
	}
	defer srv.Close()
	addr := srv.Addr().String()
	say("proxy listening: point miners at stratum+tcp://%s (any worker name, any password)", addr)

	fleet, err := sim.StartFleet(sim.FleetConfig{
		Addr: addr, Miners: o.miners, ASICFraction: 0.5,
		ShareInterval: 2 * time.Second, RampUp: 3 * time.Second,
	})
	if err != nil {
		return err
	}
	defer fleet.Close()
	say("simulated fleet: %d miners (half ASIC-style with version rolling, half cpuminer-style) connecting over 3s", o.miners)

	failAt := o.failAt
	if failAt == 0 {
		failAt = 20 * time.Second
		if o.duration > 0 {
			failAt = o.duration / 3
		}
	}
	failTimer := time.NewTimer(failAt)
	defer failTimer.Stop()
	tick := time.NewTicker(o.every)
	defer tick.Stop()

	lastAccepted, lastAt := 0, time.Now()
	failedOver := false
	for {
		select {
		case <-ctx.Done():
			st, ps := fleet.Stats(), srv.Stats()
			say("stopping: %d shares accepted by the pools (pool-a %d, pool-b %d), %d stale, %d wrong answers; %d miner connections served, %d failover(s)",
				primary.Stats().Accepted+backup.Stats().Accepted, primary.Stats().Accepted, backup.Stats().Accepted,
				st.Stale, st.WrongAnswers, ps.TotalConnections, ps.Failovers)
			return nil
		case <-failTimer.C:
			say("killing pool-a to show failover: miners with extranonce.subscribe get set_extranonce, the others client.reconnect")
			primary.Close()
			failedOver = true
		case now := <-tick.C:
			st := fleet.Stats()
			accepted := primary.Stats().Accepted + backup.Stats().Accepted
			rate := float64(accepted-lastAccepted) / now.Sub(lastAt).Seconds()
			lastAccepted, lastAt = accepted, now
			active := "none"
			for _, p := range srv.Pools() {
				if p.State == "active" {
					active = fmt.Sprintf("%s (%d session(s))", p.Name, p.Sessions)
				}
			}
			say("miners connected %d, working %d | jobs sent %d | shares accepted %d (%.0f/s), stale %d, wrong %d | pool %s",
				st.Connected, st.Working, srv.Stats().JobsNotified, accepted, rate, st.Stale, st.WrongAnswers, active)
			if failedOver && st.Working == o.miners && backup.Stats().Accepted > 0 {
				say("failover complete: every miner is working on pool-b")
				failedOver = false
			}
		}
	}
}
