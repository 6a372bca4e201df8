package config_test

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/stratum/proxy"
	"github.com/hashgate/hashgate/stratum/upstream"
	"github.com/hashgate/hashgate/switcher"
	"github.com/hashgate/hashgate/switcher/fleet"
)

// TestDefaultsAgree checks that the config file's defaults are the
// libraries' own: config cannot import stratum/proxy or switcher (both
// import config), so their defaults are written twice and this test is
// what keeps the copies equal. A file that leaves a key out must run the
// daemon exactly as a zero field in the library's Config would.
func TestDefaultsAgree(t *testing.T) {
	c := config.Default()
	p, d, a, s := c.Proxy, c.Proxy.Difficulty, c.Proxy.Abuse, c.Switcher
	pool := config.DefaultPool()
	for _, row := range []struct {
		name      string
		got, want any // got: config's; want: the library's
	}{
		{"proxy.max_connections fallback", config.FallbackMaxConnections, proxy.DefaultMaxConnections},
		{"proxy.min_miner_extranonce2_size", p.MinMinerExtranonce2Size, proxy.DefaultMinMinerExtranonce2Size},
		{"proxy.max_upstream_sessions", p.MaxUpstreamSessions, proxy.DefaultMaxUpstreamSessions},
		{"proxy.max_line_bytes", p.MaxLineBytes, proxy.DefaultMaxLineBytes},
		{"proxy.outbound_queue", p.OutboundQueue, proxy.DefaultOutboundQueue},
		{"proxy.write_timeout", p.WriteTimeout.Duration, proxy.DefaultWriteTimeout},
		{"proxy.read_timeout", p.ReadTimeout.Duration, proxy.DefaultReadTimeout},
		{"proxy.handshake_timeout", p.HandshakeTimeout.Duration, proxy.DefaultHandshakeTimeout},
		{"proxy.reconnect_grace", p.ReconnectGrace.Duration, proxy.DefaultReconnectGrace},
		{"proxy.parked_keepalive", p.ParkedKeepalive.Duration, proxy.DefaultParkedKeepalive},
		{"proxy.read_pollers", p.ReadPollers, 0}, // 0: one per core, in both
		{"proxy.difficulty.initial", d.Initial, proxy.DefaultInitialDifficulty},
		{"proxy.difficulty.min", d.Min, proxy.DefaultMinDifficulty},
		{"proxy.difficulty.max", d.Max, proxy.DefaultMaxDifficulty},
		{"proxy.difficulty.target_share_seconds", d.TargetShareSeconds, proxy.DefaultTargetShareSeconds},
		{"proxy.abuse.reject_window", a.RejectWindow.Duration, proxy.DefaultAbuseRejectWindow},
		{"proxy.abuse.reject_min_shares", a.RejectMinShares, proxy.DefaultAbuseRejectMinShares},
		{"proxy.abuse.invalid_per_second", a.InvalidPerSecond, proxy.DefaultInvalidPerSecond},
		{"proxy.abuse.invalid_burst", a.InvalidBurst, proxy.DefaultInvalidBurst},
		{"proxy.abuse.stale_per_second", a.StalePerSecond, proxy.DefaultStalePerSecond},
		{"proxy.abuse.stale_burst", a.StaleBurst, proxy.DefaultStaleBurst},
		{"pools.connect_timeout (proxy)", pool.ConnectTimeout.Duration, proxy.DefaultConnectTimeout},
		{"pools.connect_timeout (upstream)", pool.ConnectTimeout.Duration, upstream.DefaultConnectTimeout},
		{"pools.failover_timeout (proxy)", pool.FailoverTimeout.Duration, proxy.DefaultFailoverTimeout},
		{"pools.failover_timeout (upstream)", pool.FailoverTimeout.Duration, upstream.DefaultSilenceTimeout},
		{"pools.failback_after", pool.FailbackAfter.Duration, proxy.DefaultFailbackAfter},
		{"pools.reject_window", pool.RejectWindow.Duration, proxy.DefaultRejectWindow},
		{"pools.reject_min_shares", pool.RejectMinShares, proxy.DefaultRejectMinShares},
		{"pools.reject_ratio", pool.RejectRatio, proxy.DefaultRejectRatio},
		{"switcher.poll_interval", s.PollInterval.Duration, fleet.DefaultPollInterval},
		{"switcher.device_workers", s.DeviceWorkers, fleet.DefaultWorkers},
		{"switcher.verify_within", s.VerifyWithin.Duration, fleet.DefaultVerifyWithin},
		{"switcher.retry_every", s.RetryEvery.Duration, fleet.DefaultRetryEvery},
		{"switcher.curtail_grace", s.CurtailGrace.Duration, switcher.DefaultCurtailGrace},
		{"switcher.resume_grace", s.ResumeGrace.Duration, switcher.DefaultResumeGrace},
		{"switcher.left_grace", s.LeftGrace.Duration, switcher.DefaultLeftGrace},
		{"switcher.forget_after", s.ForgetAfter.Duration, switcher.DefaultForgetAfter},
		{"switcher.max_offline_rigs_per_network", s.MaxOfflineRigsPerNetwork, switcher.DefaultMaxOfflinePerNetwork},
		{"switcher.network_prefix_v4", s.NetworkPrefixV4, switcher.DefaultNetworkPrefixV4},
		{"switcher.network_prefix_v6", s.NetworkPrefixV6, switcher.DefaultNetworkPrefixV6},
	} {
		t.Run(row.name, func(t *testing.T) {
			// Same type too: an untyped constant is int, float64 or
			// time.Duration, as the config's field is.
			if !reflect.DeepEqual(row.got, row.want) {
				t.Errorf("config's default is %v (%T), the library's %v (%T)", row.got, row.got, row.want, row.want)
			}
		})
	}
}

// TestExampleShowsDefaults checks that examples/hashgate.toml, which says
// every key in it shows its default unless its comment says otherwise,
// does: parsed, it equals Default() but for the keys that are examples
// (the pools, the allow list, the connection limits, the tokens, the
// policy).
func TestExampleShowsDefaults(t *testing.T) {
	c, err := config.Load("../examples/hashgate.toml")
	if err != nil {
		t.Fatal(err)
	}
	want := config.Default()
	// Examples, not defaults, as the file's comments say.
	want.Path = c.Path
	want.Proxy.MaxConnections, want.Proxy.MaxConnectionsAuto = c.Proxy.MaxConnections, c.Proxy.MaxConnectionsAuto
	want.Proxy.MaxUnauthenticated = c.Proxy.MaxUnauthenticated
	want.Proxy.MaxUnauthenticatedPerAddress = c.Proxy.MaxUnauthenticatedPerAddress
	want.Proxy.Allow = c.Proxy.Allow
	want.API.Token, want.API.Tokens = c.API.Token, c.API.Tokens
	want.Switcher.Policy, want.Switcher.PolicyPath = c.Switcher.Policy, c.Switcher.PolicyPath
	want.Switcher.StateFilePath, want.Switcher.AuditLogPath = c.Switcher.StateFilePath, c.Switcher.AuditLogPath
	want.Switcher.PoolURLs = c.Switcher.PoolURLs // the default depends on proxy.listen
	for _, table := range []struct {
		name      string
		got, want any
	}{
		{"proxy", c.Proxy, want.Proxy},
		{"api", c.API, want.API},
		{"switcher", c.Switcher, want.Switcher},
		{"log", c.Log, want.Log},
	} {
		t.Run(table.name, func(t *testing.T) {
			if !reflect.DeepEqual(table.got, table.want) {
				t.Errorf("example [%s] = %+v\nwant the defaults %+v", table.name, table.got, table.want)
			}
		})
	}
	for i, p := range c.Pools {
		t.Run(fmt.Sprintf("pools[%d]", i), func(t *testing.T) {
			w := config.DefaultPool()
			w.Name, w.URL, w.User, w.Password, w.Host, w.Port = p.Name, p.URL, p.User, p.Password, p.Host, p.Port
			if p != w {
				t.Errorf("example pools[%d] = %+v\nwant the defaults %+v", i, p, w)
			}
		})
	}
}
