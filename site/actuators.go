package site

import (
	"net"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/switcher"
	"github.com/hashgate/hashgate/switcher/device"
	"github.com/hashgate/hashgate/switcher/evidence"
	"github.com/hashgate/hashgate/switcher/fleet"
)

// SwitcherConfig maps the config file's [switcher] onto the switcher's
// settings, with devices as its firmware actuators (nil: none). The
// caller adds what the file does not hold (New adds the Log).
func SwitcherConfig(cfg *config.Config, devices switcher.DeviceFleet) switcher.Config {
	c := cfg.Switcher
	sc := switcher.Config{
		StatePath: c.StateFilePath,
		AuditPath: c.AuditLogPath,
		// Retention: audit_max_mb and audit_keep.
		AuditMaxBytes: c.AuditMaxBytes(),
		AuditKeep:     c.AuditKeep,
		CurtailGrace:  c.CurtailGrace.Duration,
		ResumeGrace:   c.ResumeGrace.Duration,
		LeftGrace:     c.LeftGrace.Duration,

		ForgetAfter:          c.ForgetAfter.Duration,
		MaxOfflinePerNetwork: c.MaxOfflineRigsPerNetwork,
		NetworkPrefixV4:      c.NetworkPrefixV4,
		NetworkPrefixV6:      c.NetworkPrefixV6,
		PoolURLs:             PoolURLs(cfg),
		DeviceVerifyWindow:   c.VerifyWithin.Duration * 2,
		DeviceStaleAfter:     max(switcher.DefaultDeviceStaleAfter, 3*c.PollInterval.Duration),
		Meters:               MeterSpecs(cfg),
		Evidence:             evidence.Options{Dir: c.Evidence.DirPath, MaxBytes: c.Evidence.MaxBytes(), Interval: c.Evidence.Interval.Duration},
	}
	if devices != nil {
		sc.Devices = devices
	}
	return sc
}

// FleetConfig is the firmware actuators' fleet config: the [switcher]
// device keys, drivers by actuator name, and the switcher's judgement
// of a reading (its hashing threshold; idle power comes with each rig)
// so that a command the fleet verifies is not one the switcher flags.
// The fleet reports to the switcher sw returns, which exists before the
// fleet is started (the two need each other).
func FleetConfig(cfg *config.Config, drivers map[string]device.Driver, log zerolog.Logger, sw func() *switcher.Switcher) fleet.Config {
	c := cfg.Switcher
	return fleet.Config{
		Drivers:       drivers,
		Workers:       c.DeviceWorkers,
		PollInterval:  c.PollInterval.Duration,
		FullReadEvery: c.PollFullEvery,
		VerifyWithin:  c.VerifyWithin.Duration,
		VerifyEvery:   c.VerifyWithin.Duration / 12,
		RetryEvery:    c.RetryEvery.Duration,
		MinHashTHs:    switcher.MinHashingTHs,
		OnReading:     func(rig string, r device.Reading) { sw().DeviceReading(rig, r) },
		OnOutcome:     func(o device.Outcome) { sw().DeviceOutcome(o) },
		Log:           log.With().Str("component", "fleet").Logger(),
	}
}

// PoolURLs is [switcher] pool_urls, or else the proxy's listen address
// when it names a host rigs can dial (not 0.0.0.0 or ::).
func PoolURLs(cfg *config.Config) []string {
	if len(cfg.Switcher.PoolURLs) > 0 {
		return cfg.Switcher.PoolURLs
	}
	host, _, err := net.SplitHostPort(cfg.Proxy.Listen)
	if ip := net.ParseIP(host); err != nil || host == "" || (ip != nil && ip.IsUnspecified()) {
		return nil
	}
	return []string{"stratum+tcp://" + cfg.Proxy.Listen}
}
