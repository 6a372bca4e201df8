package main

import (
	"net"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/switcher"
	"github.com/hashgate/hashgate/switcher/device"
	"github.com/hashgate/hashgate/switcher/firmware"
	"github.com/hashgate/hashgate/switcher/fleet"
)

// newFleet builds the firmware actuators' fleet from the config. The
// switcher and the fleet need each other: the fleet reports to the
// switcher returned by sw, which exists before the fleet is started.
func newFleet(cfg *config.Config, log zerolog.Logger, sw func() *switcher.Switcher) (*fleet.Fleet, error) {
	return fleet.New(fleetConfig(cfg, log, sw))
}

// fleetConfig is the fleet's config: the switcher's judgement of a
// reading (its hashing threshold; idle power comes with each rig) so
// that a command the fleet verifies is not one the switcher flags.
func fleetConfig(cfg *config.Config, log zerolog.Logger, sw func() *switcher.Switcher) fleet.Config {
	c := cfg.Switcher
	return fleet.Config{
		Drivers:      firmware.Drivers(),
		Workers:      c.DeviceWorkers,
		PollInterval: c.PollInterval.Duration,
		VerifyWithin: c.VerifyWithin.Duration,
		VerifyEvery:  c.VerifyWithin.Duration / 12,
		RetryEvery:   c.RetryEvery.Duration,
		MinHashTHs:   switcher.MinHashingTHs,
		OnReading:    func(rig string, r device.Reading) { sw().DeviceReading(rig, r) },
		OnOutcome:    func(o device.Outcome) { sw().DeviceOutcome(o) },
		Log:          log.With().Str("component", "fleet").Logger(),
	}
}

// poolURLs is [switcher] pool_urls, or else the proxy's listen address
// when it names a host rigs can dial (not 0.0.0.0 or ::).
func poolURLs(cfg *config.Config) []string {
	if len(cfg.Switcher.PoolURLs) > 0 {
		return cfg.Switcher.PoolURLs
	}
	host, _, err := net.SplitHostPort(cfg.Proxy.Listen)
	if ip := net.ParseIP(host); err != nil || host == "" || (ip != nil && ip.IsUnspecified()) {
		return nil
	}
	return []string{"stratum+tcp://" + cfg.Proxy.Listen}
}
