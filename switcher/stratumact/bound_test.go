package stratumact_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/switcher"
)

// authorizeOnce subscribes and authorizes as name, waits for the answer
// (returned) and hangs up: the probe's churn of unique names.
func authorizeOnce(t *testing.T, addr, name string) string {
	t.Helper()
	a, err := sim.AuthorizeOnce(addr, name, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// startCappedSite starts a site (its own pool, the site policy) whose
// switcher keeps at most perNet offline records per network.
func startCappedSite(t *testing.T, perNet int) (*site, string) {
	t.Helper()
	s := newSite(t, sitePolicy, 0, &clock{}, func(c *switcher.Config) { c.MaxOfflinePerNetwork = perNet })
	return s, s.dir
}

// Unique worker names through the real proxy (8 KB ones, and short ones
// past the cap of offline records per network) leave the switcher's
// records, the proxy's accounts and the state file bounded.
func TestUniqueNamesThroughTheProxyStayBounded(t *testing.T) {
	const perNet = 40
	s, dir := startCappedSite(t, perNet)
	defer s.close()
	addr := s.proxy.Addr().String()
	long := strings.Repeat("k", 8<<10)
	const n = 300
	for i := range n {
		// The proxy refuses a name against the switcher's rule itself.
		if a := authorizeOnce(t, addr, fmt.Sprintf("acct.s9-%04d-%s", i, long)); !strings.Contains(a, `"error":[24,`) {
			t.Fatalf("authorize of an 8 KB name answered %s, want error 24", a)
		}
		authorizeOnce(t, addr, fmt.Sprintf("acct.s9-%04d", i))
	}
	sim.WaitFor(t, 10*time.Second, "every connection closed and no account left of names that never had a share", func() (bool, any) {
		c, w := s.proxy.Stats().Connections, len(s.proxy.Workers())
		return c == 0 && w == 0, fmt.Sprintf("%d connections, %d workers", c, w)
	})
	rigs := s.sw.Rigs()
	if len(rigs) > perNet {
		t.Fatalf("%d rig records after %d unique names from one /24 with a cap of %d; want len(rigs) <= perNet", len(rigs), 2*n, perNet)
	}
	for _, r := range rigs {
		if len(r.Name) > switcher.MaxRigName {
			t.Fatalf("a record of a %d-byte name; want len(r.Name) <= switcher.MaxRigName", len(r.Name))
		}
	}
	statePath := filepath.Join(dir, "state.json")
	sim.WaitFor(t, 5*time.Second, "state file under 16 KiB", func() (bool, any) {
		st, err := os.Stat(statePath)
		if err != nil {
			return false, err
		}
		return st.Size() < 16<<10, fmt.Sprintf("%d bytes", st.Size())
	})
}

// A rig the switcher refuses a record (its network holds as many offline
// records as the cap, none of them forgettable: rigs pinned off for
// maintenance) is answered 24 and closed by the proxy; before, it was held
// without work for ever. The Gate is not told it left (no record).
func TestRigOfAFullNetworkIsRefused(t *testing.T) {
	s, _ := startCappedSite(t, 2)
	defer s.close()
	addr := s.proxy.Addr().String()
	for _, name := range []string{"acct.a", "acct.b"} {
		if _, _, err := s.sw.SetPin(name, "off", "maintenance", "test"); err != nil {
			t.Fatal(err)
		}
		authorizeOnce(t, addr, name)
	}
	if err := sim.Poll(5*time.Second, func() bool {
		st := s.rigStates()
		return !st["acct.a"].Connected && !st["acct.b"].Connected
	}); err != nil {
		t.Fatalf("pinned rigs still connected: %+v", s.rigStates())
	}
	if a := authorizeOnce(t, addr, "acct.c"); !strings.Contains(a, `"error":[24,`) {
		t.Fatalf("authorize of a rig from a full network answered %s, want error 24", a)
	}
	sim.WaitFor(t, 5*time.Second, "the refused rig closed (0 connections)", func() (bool, any) { n := s.proxy.Stats().Connections; return n == 0, n })
	if got := s.sw.Counters().RigsRefusedNetwork.Load(); got != 1 {
		t.Errorf("switcher refused %d rigs for a full network, want 1", got)
	}
	if got := s.proxy.Stats().RefusedByGate; got != 1 {
		t.Errorf("proxy refused %d rigs for the gate, want 1", got)
	}
	if r, ok := s.rigStates()["acct.c"]; ok {
		t.Errorf("the refused rig: got record %+v, want none", r)
	}
}
