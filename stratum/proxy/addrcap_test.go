package proxy_test

import (
	"net"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/sim"
)

// addrConn is one end of a pipe that says it comes from addr.
type addrConn struct {
	net.Conn
	addr *net.TCPAddr
}

func (c addrConn) RemoteAddr() net.Addr { return c.addr }

// The per-address cap on connections in their handshake counts an IPv6
// source per /64: one host is commonly given a whole /64, and counting
// each of its 2^64 addresses apart made the cap none.
func TestPerAddressCapCountsIPv6Per64(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{})
	cfg := quickConfig(t, pool)
	cfg.MaxUnauthenticated = 100
	cfg.MaxUnauthenticatedPerAddress = 2
	srv := startProxy(t, cfg)
	serve := func(ip string) {
		a, b := net.Pipe()
		t.Cleanup(func() { b.Close() })
		srv.ServeConn(addrConn{a, &net.TCPAddr{IP: net.ParseIP(ip), Port: 40000}})
	}
	for _, ip := range []string{"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3"} {
		serve(ip)
	}
	sim.Eventually(t, 2*time.Second, func() bool { return srv.Stats().RefusedPerAddress == 1 },
		"refused per address after 3 from one /64 (cap 2): %d, want 1", srv.Stats().RefusedPerAddress)
	serve("2001:db8:1:3::1") // another /64
	serve("10.0.0.1")
	serve("10.0.0.2") // IPv4: per address
	sim.Eventually(t, 2*time.Second, func() bool { return srv.Stats().Connections == 5 },
		"connections: %d, want 5 (2 of the first /64, 1 of another, 2 IPv4)", srv.Stats().Connections)
	if got := srv.Stats().RefusedPerAddress; got != 1 {
		t.Errorf("refused per address: %d, want still 1", got)
	}
}
