package config

import (
	"fmt"
	"net"
	"net/netip"
)

// Warnings lists things in c that are valid but probably not what was meant.
// `hashgate check` prints them; they do not stop the daemon.
func Warnings(c *Config) []string {
	var w []string
	if limit, ok := openFileLimit(); ok {
		// Each miner is one descriptor; upstream sessions, the API and the
		// process itself need some more.
		need := uint64(c.Proxy.MaxConnections) + uint64(c.Proxy.MaxUpstreamSessions*len(c.Pools)) + 64
		if need > limit {
			w = append(w, fmt.Sprintf("proxy.max_connections = %d does not fit the open-file limit (RLIMIT_NOFILE %d; %d descriptors needed with upstream sessions and the process's own); raise the limit (ulimit -n, or LimitNOFILE= in the systemd unit) or lower max_connections",
				c.Proxy.MaxConnections, limit, need))
		}
	}
	if len(c.Proxy.Allow) == 0 {
		w = append(w, "proxy.allow is empty: no miner can connect")
	}
	if len(c.Pools) == 1 {
		w = append(w, "only one pool: there is no failover when it goes down")
	}
	write := false
	for _, t := range c.API.Tokens {
		if t.Role == RoleWrite {
			write = true
		}
		if t.Token == "change-me" {
			w = append(w, fmt.Sprintf("API token %q is the example value \"change-me\"; set a secret of your own", t.Name))
		}
	}
	if !write {
		w = append(w, "no API write token (api.token, or [[api.tokens]] with role = \"write\"): allocation and pin requests will all be refused")
	}
	if host, _, err := net.SplitHostPort(c.API.Listen); err == nil && !loopback(host) {
		w = append(w, fmt.Sprintf("api.listen %q is reachable from other hosts; keep the port firewalled and the tokens secret", c.API.Listen))
	}
	if c.Switcher.Policy == "" {
		w = append(w, "switcher.policy is not set: there is no site capacity or rig groups to plan power allocations with")
		if c.Switcher.Inventory != "" {
			w = append(w, "switcher.inventory is set but switcher.policy is not: without a policy no rig is managed, so the inventory is not used")
		}
	}
	w = append(w, meterWarnings(c)...)
	return w
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}
