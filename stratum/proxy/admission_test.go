package proxy_test

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/sim"
)

func TestAllowListAndConnectionCap(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{})
	cfg := quickConfig(t, pool)
	cfg.Allow = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	srv := startProxy(t, cfg)
	m := dialRaw(t, srv)
	if closed, got := m.closedWithin(2 * time.Second); !closed {
		t.Fatalf("a miner outside the allow list was served: %s; want it closed", got)
	}
	if srv.Stats().RefusedNotAllowed != 1 {
		t.Fatalf("refused %d, want 1", srv.Stats().RefusedNotAllowed)
	}

	cfg = quickConfig(t, pool)
	cfg.Allow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	cfg.MaxConnections = 3
	srv = startProxy(t, cfg)
	var kept []*rawMiner
	for i := range 3 {
		m := dialRaw(t, srv)
		m.call("1", "mining.subscribe", `[]`)
		m.call("2", "mining.authorize", `["acct.x`+strconv.Itoa(i)+`","x"]`)
		kept = append(kept, m)
	}
	// Every slot is an authorized rig's (a connection still in its
	// handshake would be evicted instead: TestHandshakeShare).
	extra := dialRaw(t, srv)
	if closed, got := extra.closedWithin(2 * time.Second); !closed {
		t.Fatalf("a miner over max_connections was served: %s; want it closed", got)
	}
	if srv.Stats().RefusedFull != 1 {
		t.Fatalf("refused full %d, want 1", srv.Stats().RefusedFull)
	}
	// The ones inside the cap are untouched.
	if a := kept[0].call("3", "mining.authorize", `["acct.y","x"]`); string(a.Result) != "true" {
		t.Fatalf("authorize after the refusal: %s, want true", a.Result)
	}
}

// A pool whose extranonce2 leaves no prefix byte (k = 0) is refused with an
// error naming it; the next pool is used.
func TestPoolWithoutPrefixRoomIsRefused(t *testing.T) {
	tight := startPool(t, sim.PoolConfig{Extranonce2Size: 3})
	roomy := startPool(t, sim.PoolConfig{Extranonce2Size: 8})
	srv := startProxy(t, quickConfig(t, tight, roomy))
	st := srv.Pools()
	if st[1].State != "active" {
		t.Fatalf("pools %+v: want the second active", st)
	}
	if !strings.Contains(st[0].LastError, `pool "primary"`) || !strings.Contains(st[0].LastError, "k=0") {
		t.Fatalf("error %q, want it to name pool \"primary\" and k=0", st[0].LastError)
	}
}

// Firmware that ignores client.reconnect is disconnected after the grace
// period, so it reconnects on its own and finds the live pool.
func TestReconnectIgnoredIsClosed(t *testing.T) {
	primary := startPool(t, sim.PoolConfig{JobInterval: 100 * time.Millisecond})
	backup := startPool(t, sim.PoolConfig{JobInterval: 100 * time.Millisecond})
	cfg := quickConfig(t, primary, backup)
	cfg.ReconnectGrace = 200 * time.Millisecond
	srv := startProxy(t, cfg)
	fleet := startFleet(t, sim.FleetConfig{Addr: srv.Addr().String(), Miners: 10, ASICFraction: -1, IgnoreReconnect: true, ShareInterval: 50 * time.Millisecond})
	sim.WaitFor(t, 5*time.Second, "working (fleet.Stats().Working == 10)", func() (bool, any) {
		got := fleet.Stats().Working
		return got == 10, got
	})
	primary.Close()
	sim.WaitFor(t, 5*time.Second, "client.reconnect sent (fleet.Stats().ReconnectRequests >= 10)", func() (bool, any) {
		got := fleet.Stats().ReconnectRequests
		return got >= 10, got
	})
	sim.WaitFor(t, 5*time.Second, "ignored reconnects closed (fleet.Stats().Disconnects >= 10)", func() (bool, any) {
		st := fleet.Stats()
		return st.Disconnects >= 10, st
	})
	sim.WaitFor(t, 5*time.Second, "mining on the backup (backup.Stats().Accepted >= 20)", func() (bool, any) {
		got := backup.Stats().Accepted
		return got >= 20, got
	})
	checkOnlyStale(t, fleet, backup)
}
