package site

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/api"
	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/stratum/proxy"
	"github.com/hashgate/hashgate/switcher"
	"github.com/hashgate/hashgate/switcher/fleet"
	"github.com/hashgate/hashgate/switcher/meter"
	"github.com/hashgate/hashgate/switcher/stratumact"
)

// Site is a hashgate built from a config: New builds it, Start runs it,
// Close stops it.
type Site struct {
	cfg *config.Config
	log zerolog.Logger
	o   options

	bridge   stratumact.Bridge
	proxy    *proxy.Server
	switcher *switcher.Switcher // nil without a policy
	fleet    *fleet.Fleet       // the firmware actuators; nil without a policy
	watcher  *switcher.PolicyWatcher
	handler  *api.Handler // closed once api no longer serves it
	api      *api.Server  // nil before Start and WithoutAPIListener
	grid     gridParts    // [mqtt], [modbus_server]: grid.go

	meters *meter.Poller // the [[meters]]' reader (site/meters.go); nil without meters or a policy
	price  *meter.Poller // the [price] reader (site/price.go); nil without an HTTP price or hashprice

	closeOnce sync.Once
	closeErr  error
}

// New builds every piece of the site from cfg: the policy watcher, the
// fleet and the switcher when cfg names a policy, the proxy, the bridge
// between them and the API handler. Nothing runs until Start; on error
// whatever was built is closed.
func New(cfg *config.Config, log zerolog.Logger, opts ...Option) (*Site, error) {
	s := &Site{cfg: cfg, log: log, o: newOptions(opts)}
	pc := ProxyConfig(cfg)
	pc.Log = log
	pc.UserAgent = s.o.userAgent
	if cfg.Switcher.PolicyPath != "" || s.o.policy != nil {
		pc.Gate = &s.bridge
		pc.OnFailover = s.bridge.Failover // one audit event a failover
		if err := s.newSwitcher(); err != nil {
			return nil, err
		}
		if err := s.newMeters(); err != nil {
			s.Close()
			return nil, err
		}
		if err := s.newPrice(); err != nil {
			s.Close()
			return nil, err
		}
	}
	if s.o.proxy != nil {
		s.o.proxy(&pc)
	}
	srv, err := proxy.New(pc)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.proxy = srv
	s.bridge.Bind(srv, s.switcher)
	reg := prometheus.NewRegistry()
	if err := reg.Register(gridCollector{s}); err != nil {
		s.Close()
		return nil, err
	}
	h, err := api.New(api.Config{Proxy: srv, Switcher: s.switcher, Tokens: cfg.API.Tokens, Log: log,
		EnablePprof: cfg.API.Pprof, Version: s.o.version, Registry: reg})
	if err != nil {
		s.Close()
		return nil, err
	}
	s.handler = h
	if err := s.newGrid(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// newSwitcher builds the policy watcher (unless WithPolicy), the fleet
// and the switcher.
func (s *Site) newSwitcher() error {
	cfg, log := s.cfg, s.log
	var sw *switcher.Switcher
	pol := s.o.policy
	var w *switcher.PolicyWatcher
	if pol == nil {
		var err error
		if w, err = newWatcher(cfg, log, func() *switcher.Switcher { return sw }); err != nil {
			return err
		}
		pol = w.Current()
	}
	fl, err := fleet.New(FleetConfig(cfg, s.o.drivers, log, func() *switcher.Switcher { return sw }))
	if err != nil {
		closeWatcher(w)
		return err
	}
	sc := SwitcherConfig(cfg, fl)
	sc.Log = log
	if s.o.switcher != nil {
		s.o.switcher(&sc)
	}
	sw, err = switcher.New(sc, pol, &s.bridge, &s.bridge)
	if err != nil {
		closeWatcher(w)
		fl.Close()
		return err
	}
	if w != nil {
		sw.SetInventory(w.Inventory())
		if err := w.StartError(); err != nil {
			// Running on the last good copy: said in the status, the
			// metrics, the dashboard and the audit log until the file
			// is valid again.
			sw.PolicyRefused(err)
		}
	}
	s.switcher, s.fleet, s.watcher = sw, fl, w
	return nil
}

// newWatcher watches the policy and inventory files for the switcher sw
// returns. The watcher delivers nothing before Start: a change made
// while the switcher is built reaches it after, in order.
func newWatcher(cfg *config.Config, log zerolog.Logger, sw func() *switcher.Switcher) (*switcher.PolicyWatcher, error) {
	w, err := switcher.NewPolicyWatcher(cfg.Switcher.PolicyPath, cfg.Switcher.LastGoodPolicyPath(), nil,
		func(err error) { sw().PolicyRefused(err) }, log,
		switcher.WithInventory(cfg.Switcher.InventoryPath, cfg.Switcher.LastGoodInventoryPath(), func(l switcher.Loaded) {
			if l.PolicyLoaded {
				sw().SetPolicy(l.Policy, l.Diff)
			}
			if l.InventoryLoaded {
				sw().SetInventory(l.Inventory)
			}
		}))
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return w, nil
}

func closeWatcher(w *switcher.PolicyWatcher) {
	if w != nil {
		w.Close()
	}
}

// Start runs the site: the policy watcher, the fleet, the switcher, the
// proxy, then the API listener. It returns once all run; on error the
// site is closed.
func (s *Site) Start() error {
	if s.watcher != nil {
		s.watcher.Start()
	}
	if s.switcher != nil {
		s.fleet.Start()
		s.switcher.Start()
		s.startReaders()
	}
	if err := s.proxy.Start(); err != nil {
		s.Close()
		return err
	}
	if err := s.startGrid(); err != nil {
		s.Close()
		return err
	}
	if !s.o.noListen {
		a, err := api.Listen(s.cfg.API.Listen, s.handler, s.log)
		if err != nil {
			s.Close()
			return fmt.Errorf("api: %w", err)
		}
		s.api = a
	}
	ev := s.log.Info().Str("version", s.o.version).Str("config", s.cfg.Path).Str("listen", s.proxy.Addr().String())
	if s.api != nil {
		ev = ev.Str("api", s.api.Addr().String())
	}
	if s.watcher != nil {
		ev = ev.Str("policy", s.watcher.Current().Summary())
	}
	ev.Msg("hashgate running")
	return nil
}

// Close stops the site in the reverse order of Start: the API, the proxy
// (no new rig events), the watcher, the switcher (which saves its state),
// then the fleet. It returns once all have stopped; a second Close
// returns the first's result.
func (s *Site) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Site) close() error {
	gridErr := s.closeGrid() // no grid signal reaches the switcher after
	if s.api != nil {
		ctx, cancel := context.WithTimeout(context.Background(), api.ShutdownTimeout)
		_ = s.api.Shutdown(ctx)
		cancel()
	}
	if s.handler != nil {
		s.handler.Close()
	}
	if s.proxy != nil {
		s.proxy.Close()
	}
	if s.watcher != nil {
		s.watcher.Close()
	}
	s.closeReaders() // no more meter or price readings for the switcher
	errs := []error{gridErr}
	if s.switcher != nil {
		errs = append(errs, s.switcher.Close()) // returns once its loop has stopped
	}
	if s.fleet != nil {
		errs = append(errs, s.fleet.Close()) // after the switcher: nothing asks it for more
	}
	return errors.Join(errs...)
}

// Reload reads the policy and inventory files again (SIGHUP); nothing
// without a policy file.
func (s *Site) Reload() {
	if s.watcher != nil {
		s.watcher.Reload()
	}
}

// Proxy is the Stratum proxy.
func (s *Site) Proxy() *proxy.Server { return s.proxy }

// Switcher is the power switcher; nil without a policy.
func (s *Site) Switcher() *switcher.Switcher { return s.switcher }

// Fleet is the firmware actuators' fleet; nil without a policy.
func (s *Site) Fleet() *fleet.Fleet { return s.fleet }

// Watcher is the policy and inventory watcher; nil without a policy
// file (no policy, or WithPolicy).
func (s *Site) Watcher() *switcher.PolicyWatcher { return s.watcher }

// Handler is the API and dashboard handler (WithoutAPIListener: the
// caller serves it).
func (s *Site) Handler() *api.Handler { return s.handler }

// APIAddr is where the API listens; nil before Start or with
// WithoutAPIListener.
func (s *Site) APIAddr() net.Addr {
	if s.api == nil {
		return nil
	}
	return s.api.Addr()
}
