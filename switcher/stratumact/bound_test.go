package stratumact_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/sim"
	"github.com/hashgate/hashgate/switcher"
)

// authorizeOnce connects to the proxy, subscribes and authorizes as name,
// waits for the answer and hangs up: the probe's churn of unique names.
func authorizeOnce(t *testing.T, addr, name string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}\n{\"id\":2,\"method\":\"mining.authorize\",\"params\":[%q,\"x\"]}\n", name)
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("authorize %.20s…: %v", name, err)
		}
		if strings.HasPrefix(line, `{"id":2,`) {
			return
		}
	}
}

// Unique worker names through the real proxy (8 KB ones, and short ones
// past the cap of offline records per network) leave the switcher's
// records, the proxy's accounts and the state file bounded.
func TestUniqueNamesThroughTheProxyStayBounded(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "policy.toml"), []byte(sitePolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	pool, err := sim.StartPool(sim.PoolConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	const perNet = 40
	s := startSite(t, dir, "127.0.0.1:0", &clock{}, pool, func(c *switcher.Config) { c.MaxOfflinePerNetwork = perNet })
	defer s.close()
	addr := s.proxy.Addr().String()
	long := strings.Repeat("k", 8<<10)
	const n = 300
	for i := range n {
		authorizeOnce(t, addr, fmt.Sprintf("acct.s9-%04d-%s", i, long))
		authorizeOnce(t, addr, fmt.Sprintf("acct.s9-%04d", i))
	}
	sim.Eventually(t, 10*time.Second, func() bool {
		return s.proxy.Stats().Connections == 0 && len(s.proxy.Workers()) == 0
	}, "every connection closed and no account left of names that never had a share (%d left)", len(s.proxy.Workers()))
	rigs := s.sw.Rigs()
	if len(rigs) > perNet {
		t.Fatalf("%d rig records after %d unique names from one /24 with a cap of %d", len(rigs), 2*n, perNet)
	}
	for _, r := range rigs {
		if len(r.Name) > switcher.MaxRigName {
			t.Fatalf("a record of a %d-byte name", len(r.Name))
		}
	}
	if got := s.sw.Counters().RigsRefusedName.Load(); got != n {
		t.Errorf("%d names refused, want %d", got, n)
	}
	statePath := filepath.Join(dir, "state.json")
	sim.Eventually(t, 5*time.Second, func() bool {
		st, err := os.Stat(statePath)
		return err == nil && st.Size() < 16<<10
	}, "state file under 16 KiB")
}
