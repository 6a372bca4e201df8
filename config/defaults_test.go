package config_test

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/switcher"
)

// TestDefaultsAgree checks the defaults config.Default must still write
// again: the switcher's own. config.Default is built from the proxy's and
// the fleet's exported defaults, but switcher imports config (its policy
// file is read with config's Decoder and reported as config.Errors), so
// config cannot import switcher, and these copies are what this test
// keeps equal. A file that leaves a key out must run the daemon exactly
// as a zero field in the switcher's Config would.
func TestDefaultsAgree(t *testing.T) {
	s := config.Default().Switcher
	for _, row := range []struct {
		name      string
		got, want any // got: config's; want: the switcher's
	}{
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
