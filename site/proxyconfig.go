package site

import (
	"net/netip"

	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/stratum/proxy"
	"github.com/hashgate/hashgate/stratum/vardiff"
)

// ProxyConfig maps the config file's [proxy] and [[pools]] onto the
// proxy's settings. The caller adds what the file does not hold: the Gate,
// the Log, the user agent (New adds them).
func ProxyConfig(cfg *config.Config) proxy.Config {
	c := proxy.Config{
		Listen:                       cfg.Proxy.Listen,
		MaxConnections:               cfg.Proxy.MaxConnections,
		MaxUnauthenticated:           cfg.Proxy.MaxUnauthenticated,
		MaxUnauthenticatedPerAddress: cfg.Proxy.MaxUnauthenticatedPerAddress,
		MinMinerExtranonce2Size:      cfg.Proxy.MinMinerExtranonce2Size,
		MaxUpstreamSessions:          cfg.Proxy.MaxUpstreamSessions,
		// Non-nil even when empty: an empty allow list lets no one in.
		Allow:            append(make([]netip.Prefix, 0, len(cfg.Proxy.Allow)), cfg.Proxy.Allow...),
		MaxLineBytes:     cfg.Proxy.MaxLineBytes,
		OutboundQueue:    cfg.Proxy.OutboundQueue,
		ReadPollers:      cfg.Proxy.ReadPollers,
		WriteTimeout:     cfg.Proxy.WriteTimeout.Duration,
		ReadTimeout:      cfg.Proxy.ReadTimeout.Duration,
		HandshakeTimeout: cfg.Proxy.HandshakeTimeout.Duration,
		ReconnectGrace:   cfg.Proxy.ReconnectGrace.Duration,
		ParkedKeepalive:  cfg.Proxy.ParkedKeepalive.Duration,
		Abuse: proxy.AbuseConfig{
			RejectWindow:     cfg.Proxy.Abuse.RejectWindow.Duration,
			RejectMinShares:  cfg.Proxy.Abuse.RejectMinShares,
			InvalidPerSecond: cfg.Proxy.Abuse.InvalidPerSecond,
			InvalidBurst:     cfg.Proxy.Abuse.InvalidBurst,
			StalePerSecond:   cfg.Proxy.Abuse.StalePerSecond,
			StaleBurst:       cfg.Proxy.Abuse.StaleBurst,
		},
		Difficulty: vardiff.Config{
			Initial:            cfg.Proxy.Difficulty.Initial,
			Min:                cfg.Proxy.Difficulty.Min,
			Max:                cfg.Proxy.Difficulty.Max,
			TargetShareSeconds: cfg.Proxy.Difficulty.TargetShareSeconds,
			PowerOfTwo:         cfg.Proxy.Difficulty.PowerOfTwo,
		},
	}
	for _, p := range cfg.Pools {
		c.Pools = append(c.Pools, proxy.PoolSpec{
			Name:             p.Name,
			Address:          p.Address(),
			User:             p.User,
			Password:         p.Password,
			ConnectTimeout:   p.ConnectTimeout.Duration,
			FailoverTimeout:  p.FailoverTimeout.Duration,
			FailbackAfter:    p.FailbackAfter.Duration,
			RejectWindow:     p.RejectWindow.Duration,
			RejectMinShares:  p.RejectMinShares,
			RejectRatio:      p.RejectRatio,
			NoRejectFailover: !p.FailoverOnRejects,
		})
	}
	return c
}
