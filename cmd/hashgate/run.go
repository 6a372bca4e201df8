package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/stratum/proxy"
	"github.com/hashgate/hashgate/stratum/vardiff"
)

// configFlags adds -c/--config to fs.
func configFlag(fs *flag.FlagSet) *string {
	p := fs.String("config", "", "config file (TOML)")
	fs.StringVar(p, "c", "", "config file (TOML), same as --config")
	return p
}

// loadConfig loads path and prints every error as FILE:LINE:COL: message.
func loadConfig(path string, stderr io.Writer) (*config.Config, bool) {
	if path == "" {
		fmt.Fprintln(stderr, "hashgate: -c FILE is required")
		return nil, false
	}
	cfg, err := config.Load(path)
	if err != nil {
		var errs config.Errors
		if errors.As(err, &errs) {
			for _, e := range errs {
				fmt.Fprintln(stderr, e)
			}
		} else {
			fmt.Fprintln(stderr, err)
		}
		return nil, false
	}
	return cfg, true
}

func cmdCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := configFlag(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, ok := loadConfig(*path, stderr)
	if !ok {
		return 1
	}
	fmt.Fprintf(stdout, "%s: OK\n", cfg.Path)
	fmt.Fprintf(stdout, "  miners listen on %s (max %d connections)\n", cfg.Proxy.Listen, cfg.Proxy.MaxConnections)
	for i, p := range cfg.Pools {
		role := "backup"
		if i == 0 {
			role = "primary"
		}
		fmt.Fprintf(stdout, "  pool %d (%s): %s %s as %s\n", i+1, role, p.Name, p.URL, p.User)
	}
	fmt.Fprintf(stdout, "  capacity per pool (max_upstream_sessions = %d, min_miner_extranonce2_size = %d):\n",
		cfg.Proxy.MaxUpstreamSessions, cfg.Proxy.MinMinerExtranonce2Size)
	for _, n := range []int{4, 6, 8} {
		k := config.PrefixBytes(n, cfg.Proxy.MinMinerExtranonce2Size)
		if k == 0 {
			fmt.Fprintf(stdout, "    pool extranonce2_size %d: refused (no prefix byte left)\n", n)
			continue
		}
		per, total := cfg.Capacity(n)
		fmt.Fprintf(stdout, "    pool extranonce2_size %d: %d prefix byte(s), %d miners per session x %d sessions = %d miners\n",
			n, k, per, cfg.Proxy.MaxUpstreamSessions, total)
	}
	fmt.Fprintf(stdout, "  api on %s, %d token(s)\n", cfg.API.Listen, len(cfg.API.Tokens))
	if cfg.Switcher.PolicyPath != "" {
		fmt.Fprintf(stdout, "  policy %s\n", cfg.Switcher.PolicyPath)
	}
	for _, w := range config.Warnings(cfg) {
		fmt.Fprintf(stdout, "warning: %s\n", w)
	}
	return 0
}

// proxyConfig maps the config file onto the proxy's settings.
func proxyConfig(cfg *config.Config) proxy.Config {
	pc := proxy.Config{
		Listen:                  cfg.Proxy.Listen,
		MaxConnections:          cfg.Proxy.MaxConnections,
		MinMinerExtranonce2Size: cfg.Proxy.MinMinerExtranonce2Size,
		MaxUpstreamSessions:     cfg.Proxy.MaxUpstreamSessions,
		Allow:                   append(make([]netip.Prefix, 0, len(cfg.Proxy.Allow)), cfg.Proxy.Allow...),
		MaxLineBytes:            cfg.Proxy.MaxLineBytes,
		OutboundQueue:           cfg.Proxy.OutboundQueue,
		WriteTimeout:            cfg.Proxy.WriteTimeout.Duration,
		ReadTimeout:             cfg.Proxy.ReadTimeout.Duration,
		HandshakeTimeout:        cfg.Proxy.HandshakeTimeout.Duration,
		ReconnectGrace:          cfg.Proxy.ReconnectGrace.Duration,
		ParkedKeepalive:         cfg.Proxy.ParkedKeepalive.Duration,
		Abuse: proxy.AbuseConfig{
			RejectWindow:     cfg.Proxy.Abuse.RejectWindow.Duration,
			RejectMinShares:  cfg.Proxy.Abuse.RejectMinShares,
			InvalidPerSecond: cfg.Proxy.Abuse.InvalidPerSecond,
			InvalidBurst:     cfg.Proxy.Abuse.InvalidBurst,
		},
		UserAgent: "hashgate/" + version,
		Difficulty: vardiff.Config{
			Initial:            cfg.Proxy.Difficulty.Initial,
			Min:                cfg.Proxy.Difficulty.Min,
			Max:                cfg.Proxy.Difficulty.Max,
			TargetShareSeconds: cfg.Proxy.Difficulty.TargetShareSeconds,
			PowerOfTwo:         cfg.Proxy.Difficulty.PowerOfTwo,
		},
	}
	for _, p := range cfg.Pools {
		pc.Pools = append(pc.Pools, proxy.PoolSpec{
			Name:            p.Name,
			Address:         p.Address(),
			User:            p.User,
			Password:        p.Password,
			ConnectTimeout:  p.ConnectTimeout.Duration,
			FailoverTimeout: p.FailoverTimeout.Duration,
			FailbackAfter:   p.FailbackAfter.Duration,
		})
	}
	return pc
}

func cmdRun(args []string) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	path := configFlag(fs)
	logFormat := fs.String("log-format", "", "json | console | auto (default: the config's [log] format)")
	logLevel := fs.String("log-level", "", "debug | info | warn | error (default: the config's [log] level)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, ok := loadConfig(*path, os.Stderr)
	if !ok {
		fmt.Fprintln(os.Stderr, "hashgate: refusing to run with an invalid config")
		return 1
	}
	format, level := cfg.Log.Format, cfg.Log.Level
	if *logFormat != "" {
		format = *logFormat
	}
	if *logLevel != "" {
		level = *logLevel
	}
	log, err := newLogger(format, level, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hashgate:", err)
		return 2
	}
	for _, w := range config.Warnings(cfg) {
		log.Warn().Msg(w)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, cfg, log, nil); err != nil {
		log.Error().Err(err).Msg("cannot start")
		return 1
	}
	return 0
}

// serve runs the proxy until ctx ends, then shuts it down gracefully.
// ready, if set, is called with the running server (tests).
func serve(ctx context.Context, cfg *config.Config, log zerolog.Logger, ready func(*proxy.Server)) error {
	pc := proxyConfig(cfg)
	pc.Log = log
	srv, err := proxy.New(pc)
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	log.Info().Str("version", version).Str("config", cfg.Path).Str("listen", srv.Addr().String()).Msg("hashgate running")
	if ready != nil {
		ready(srv)
	}
	<-ctx.Done()
	log.Info().Msg("shutting down")
	srv.Close()
	log.Info().Msg("stopped")
	return nil
}
