package config

import (
	"fmt"

	"github.com/hashgate/hashgate/stratum/proxy"
)

// FallbackMaxConnections is max_connections when it is not set and the
// open-file limit is unknown or unlimited; also the most the default
// ever is (each miner costs memory too). It is the proxy's own default.
const FallbackMaxConnections = proxy.DefaultMaxConnections

// fdReserve is the descriptors kept, beside the upstream sessions, for
// everything that is not a miner: HTTP API clients (dashboards, metrics
// scrapers, hashgatectl), the state, audit and policy files and their
// temporary copies, the log, the process's own. Miners filling every
// descriptor once broke the API and state saves and raised a false
// "policy refused" alarm for an unchanged file.
const fdReserve = 512

// DefaultMaxConnections is max_connections when the file does not set it:
// the open-file limit (known false: unknown or unlimited) minus the
// upstream sessions and fdReserve, at most FallbackMaxConnections. A limit
// too small for that reserve gives miners half of it.
func DefaultMaxConnections(limit uint64, known bool, upstreamSessions int) int {
	if !known {
		return FallbackMaxConnections
	}
	reserve := uint64(max(upstreamSessions, 0)) + fdReserve
	if limit < 2*reserve {
		return int(max(limit/2, 1))
	}
	return int(min(limit-reserve, FallbackMaxConnections))
}

// upstreamSessions is the most pool connections c may hold.
func (c *Config) upstreamSessions() int {
	return c.Proxy.MaxUpstreamSessions * max(len(c.Pools), 1)
}

// MaxConnectionsNote says where max_connections came from when the file
// does not set it, "" when it does: `run` logs it and `check` prints it.
func MaxConnectionsNote(c *Config) string {
	if !c.Proxy.MaxConnectionsAuto {
		return ""
	}
	limit, ok := openFileLimit()
	if !ok {
		return fmt.Sprintf("proxy.max_connections is not set: %d (the open-file limit is unknown or unlimited)", c.Proxy.MaxConnections)
	}
	return fmt.Sprintf("proxy.max_connections is not set: %d, from the open-file limit (RLIMIT_NOFILE %d) less %d descriptors kept for upstream sessions, the API, the state, audit and policy files (at most %d)",
		c.Proxy.MaxConnections, limit, c.upstreamSessions()+fdReserve, FallbackMaxConnections)
}

// defaultLimitArgs is DefaultMaxConnections's arguments for Default (no
// pools yet: one pool's default sessions).
func defaultLimitArgs() (uint64, bool, int) {
	limit, known := openFileLimit()
	return limit, known, proxy.DefaultMaxUpstreamSessions
}
