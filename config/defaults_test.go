package config_test

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/hashgate/hashgate/config"
)

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
