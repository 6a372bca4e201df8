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
	sim.WaitFor(t, 2*time.Second, "refused per address == 1 after 3 from one /64 (cap 2)", func() (bool, any) {
		got := srv.Stats().RefusedPerAddress
		return got == 1, got
	})
	serve("2001:db8:1:3::1") // another /64
	serve("10.0.0.1")
	serve("10.0.0.2") // IPv4: per address
	sim.WaitFor(t, 2*time.Second, "connections == 5 (2 of the first /64, 1 of another, 2 IPv4)", func() (bool, any) {
		got := srv.Stats().Connections
		return got == 5, got
	})
	if got := srv.Stats().RefusedPerAddress; got != 1 {
		t.Errorf("refused per address: %d, want still 1", got)
	}
}
