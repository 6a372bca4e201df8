package stratumact_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/switcher"
)

// Worker names that authorize through the real proxy while the budget is
// full are held at admission (never given work); when they hang up they
// are offline, count nothing and are forgotten: they do not become
// left_while_parked at rig_kw and curtail the real rigs for good (before
// the fix: 5 names from one address, 2 minutes later each counted at
// 5 kW, 25 kW against a 12 kW budget before the real rigs' 10).
func TestHeldNamesThatLeaveCountNothing(t *testing.T) {
	policy := "site_capacity_kw = 12.0\nramp_up_kw_per_min = 1000.0\nmin_off = \"0s\"\nmin_on = \"0s\"\n\n" +
		"[[group]]\nname = \"all\"\nworkers = [\"acct.*\"]\nrig_kw = 5.0\nidle_kw = 0.1\nefficiency_j_th = 30.0\nactuator = \"stratum\"\n"
	s := newSite(t, policy, 200*time.Millisecond, &clock{}, func(c *switcher.Config) { c.ForgetAfter = 5 * time.Minute })
	defer s.close()
	addr := s.proxy.Addr().String()
	real, err := sim.StartFleet(sim.FleetConfig{Addr: addr, Miners: 2, NameFormat: "acct.real-%02d", ShareInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer real.Close()
	s.advanceUntil(3, "both real rigs mining", func() (bool, any) { st := real.Stats(); return st.Working == 2, st })

	// 10 kW mining, 2 kW of room: a name that authorizes now (4.9 kW to
	// admit) is held without work.
	var junk []*rawMiner
	for i := range 5 {
		m := dialRaw(t, addr)
		defer m.conn.Close()
		m.handshake(fmt.Sprintf("acct.junk-%d", i))
		junk = append(junk, m)
	}
	sim.WaitFor(t, 5*time.Second, "every junk name held (parked) at admission", func() (bool, any) {
		rs := s.rigStates()
		for i := range 5 {
			if r := rs[fmt.Sprintf("acct.junk-%d", i)]; r.State != "parked" {
				return false, r
			}
		}
		return true, nil
	})
	for _, m := range junk {
		m.conn.Close()
	}
	sim.WaitFor(t, 5*time.Second, "junk connections closed (2 left)", func() (bool, any) { n := s.proxy.Stats().Connections; return n == 2, n })

	// Past left_grace (2 minutes here).
	for range 3 {
		s.advanceMinute()
	}
	for i := range 5 {
		name := fmt.Sprintf("acct.junk-%d", i)
		if r := s.rigStates()[name]; r.State != "offline" || r.CountedKW != 0 || len(r.Flags) != 0 {
			t.Fatalf("%s held at admission and gone 3 minutes: want offline, 0 kW, no flags; got %s, %s %v kW, flags %v",
				name, r.State, r.CountedAs, r.CountedKW, r.Flags)
		}
	}
	if st := s.sw.Status(); st.MiningLoadPlannedKW != 10 || st.Curtailed != 0 || real.Stats().Working != 2 {
		t.Fatalf("want 10 kW planned, nothing curtailed, 2 real rigs working; got %v kW planned, %d curtailed, %d working",
			st.MiningLoadPlannedKW, st.Curtailed, real.Stats().Working)
	}
	s.advanceUntil(10, "junk records forgotten after forget_after (2 rigs)", func() (bool, any) { rigs := s.sw.Rigs(); return len(rigs) == 2, rigs })
}
