package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/config/tomlfile"
	"github.com/hashgate/hashgate/internal/termsafe"
	"github.com/hashgate/hashgate/site"
	"github.com/hashgate/hashgate/switcher"
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
		printErrors(stderr, err)
		return nil, false
	}
	return cfg, true
}

// printErrors prints each FILE:LINE:COL error on its own line. They quote
// the files, so control characters in them are escaped (termsafe): a line
// of a file never reaches the terminal raw.
func printErrors(w io.Writer, err error) {
	var errs tomlfile.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			fmt.Fprintln(w, termsafe.String(e.Error()))
		}
		return
	}
	fmt.Fprintln(w, termsafe.String(err.Error()))
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
	var policy *switcher.Policy
	if cfg.Switcher.PolicyPath != "" {
		p, err := switcher.LoadPolicy(cfg.Switcher.PolicyPath)
		if err != nil {
			printErrors(stderr, err)
			if last, lerr := switcher.LoadLastGood(cfg.Switcher.PolicyPath, cfg.Switcher.LastGoodPolicyPath()); lerr == nil {
				fmt.Fprintf(stderr, "hashgate run would start on the last good copy %s (%s) until the file is fixed\n",
					termsafe.String(last.Path), termsafe.String(last.Summary()))
			} else {
				fmt.Fprintf(stderr, "hashgate run would not start: %s\n", termsafe.String(lerr.Error()))
			}
			return 1
		}
		policy = p
	}
	// The rig inventory, as run loads it: a bad one is refused whole.
	var inventory []switcher.InventoryRig
	if cfg.Switcher.InventoryPath != "" {
		rigs, err := switcher.LoadInventory(cfg.Switcher.InventoryPath)
		if err != nil {
			printErrors(stderr, err)
			return 1
		}
		inventory = rigs
	}
	show := termsafe.String // the file's own text, as printed
	fmt.Fprintf(stdout, "%s: OK\n", show(cfg.Path))
	fmt.Fprintf(stdout, "  miners listen on %s (max %d connections)\n", show(cfg.Proxy.Listen), cfg.Proxy.MaxConnections)
	if note := config.MaxConnectionsNote(cfg); note != "" {
		fmt.Fprintf(stdout, "  %s\n", note)
	}
	for i, p := range cfg.Pools {
		role := "backup"
		if i == 0 {
			role = "primary"
		}
		fmt.Fprintf(stdout, "  pool %d (%s): %s %s as %s\n", i+1, role, show(p.Name), show(tomlfile.RedactURL(p.URL)), show(p.User))
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
	fmt.Fprintf(stdout, "  api on %s, %d token(s)\n", show(cfg.API.Listen), len(cfg.API.Tokens))
	if policy != nil {
		fmt.Fprintf(stdout, "  policy %s: OK: %s\n", show(cfg.Switcher.PolicyPath), show(policy.Summary()))
	} else {
		fmt.Fprintln(stdout, "  no policy: the switcher is off, every rig mines")
	}
	if cfg.Switcher.InventoryPath != "" {
		fmt.Fprintf(stdout, "  inventory %s: OK: %d rigs\n", show(cfg.Switcher.InventoryPath), len(inventory))
	}
	for _, m := range cfg.Meters {
		fmt.Fprintf(stdout, "  meter %s\n", show(m.Describe()))
	}
	for _, w := range append(config.Warnings(cfg), siteWarnings(cfg, policy)...) {
		fmt.Fprintf(stdout, "warning: %s\n", show(w))
	}
	return 0
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if err := serve(ctx, cfg, log, hup, nil); err != nil {
		log.Error().Err(err).Msg("cannot start")
		return 1
	}
	return 0
}

// serve runs the proxy, the switcher (when a policy is configured) and
// their bridge until ctx ends, then shuts them down gracefully. hup
// delivers SIGHUP (policy reload). ready, if set, is called with the
// running parts (tests).
func serve(ctx context.Context, cfg *config.Config, log zerolog.Logger, hup <-chan os.Signal, ready func(*site.Site)) error {
	if note := config.MaxConnectionsNote(cfg); note != "" {
		log.Info().Int("max_connections", cfg.Proxy.MaxConnections).Msg(note)
	}
	for _, w := range config.Warnings(cfg) {
		log.Warn().Msg(w)
	}
	r, err := start(cfg, log)
	if err != nil {
		return err
	}
	if ready != nil {
		ready(r)
	}
	for {
		select {
		case <-ctx.Done():
			log.Info().Msg("shutting down")
			_ = r.Close()
			log.Info().Msg("stopped")
			return nil
		case <-hup:
			if r.Watcher() != nil {
				log.Info().Msg("SIGHUP: reloading the policy")
				r.Reload()
			}
		}
	}
}

// start builds and starts the site cfg describes, as `hashgate run`
// runs it.
func start(cfg *config.Config, log zerolog.Logger) (*site.Site, error) {
	s, err := site.New(cfg, log, site.WithVersion(version))
	if err != nil {
		return nil, err
	}
	if err := s.Start(); err != nil {
		return nil, err
	}
	return s, nil
}
