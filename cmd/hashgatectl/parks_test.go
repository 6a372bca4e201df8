package main

import (
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/internal/apitest"
	"github.com/hashgate/hashgate/internal/sim"
)

// status says how many parks are unverified and why the site is not
// compliant, when the parked rigs' group is not pools_bound.
func TestStatusShowsUnverifiedParks(t *testing.T) {
	// testPolicy ends with [default]'s pools_bound = true.
	unbound := strings.TrimSuffix(strings.TrimSpace(testPolicy), "pools_bound = true") + "\n"
	s := apitest.Start(t, apitest.Options{Policy: unbound, Miners: 20,
		Log:    zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel),
		Tokens: []config.Token{{Name: "power-desk", Token: writeToken, Role: config.RoleWrite}},
	})
	sim.WaitFor(t, 10*time.Second, "20 miners mining (60 kW)", func() (bool, any) { kw := s.Switcher.Status().MiningLoadKW; return kw == 60, kw })
	env := map[string]string{"HASHGATE_API": s.API.URL, "HASHGATE_TOKEN": writeToken}
	ctl(t, env, "allocate", "--ai-kw", "68", "--reason", "training").want(t, 0, []string{
		"60.0 kW (31.0 kW as planned, parks at idle_kw) after the plan: NOT compliant: 10 parks unverified"}, nil)
	ctl(t, env, "status").want(t, exitNotCompliant, []string{
		"mining load    60.0 kW",
		"compliant      NO: 10 parks unverified (counted at rig_kw, +29 kW): load 60 kW over the budget 32 kW; if the parks hold it is 31 kW",
		"parks          10 unverified (counted at rig_kw), 0 bound (pools_bound), 0 verified (device)",
		"planned load   31.0 kW (every park at idle_kw)",
	}, []string{"hashgatectl: not compliant: 10 parks unverified (counted at rig_kw, +29 kW)"})
}

// A pool refusing every share shows in the pools table of status, with
// the share it refuses.
func TestStatusShowsARejectingPool(t *testing.T) {
	s := apitest.Start(t, apitest.Options{Policy: testPolicy, Miners: 20,
		Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel)})
	s.Pool.SetRejectShares(1)
	sim.WaitFor(t, 30*time.Second, "the pool flagged rejecting", func() (bool, any) { p := s.Proxy.Pools(); return p[0].Rejecting, p })
	r := ctl(t, map[string]string{"HASHGATE_API": s.API.URL}, "status")
	r.want(t, 0, []string{"REJECTING 100% of shares"}, nil)
}
