package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/internal/apitest"
	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/switcher"
)

// status labels which count is which (parked, pending, the workers'
// curtailed = both), prints what the load is made of, and after every
// rig left says why the site is not compliant.
func TestStatusLabelsCountsAndExplainsTheLoad(t *testing.T) {
	s := apitest.Start(t, apitest.Options{Policy: testPolicy, Miners: 20,
		Log:      zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel),
		Tokens:   []config.Token{{Name: "power-desk", Token: writeToken, Role: config.RoleWrite}},
		Switcher: func(c *switcher.Config) { c.LeftGrace = 200 * time.Millisecond },
	})
	sim.WaitFor(t, 10*time.Second, "20 miners mining (60 kW)", func() (bool, any) { kw := s.Switcher.Status().MiningLoadKW; return kw == 60, kw })
	env := map[string]string{"HASHGATE_API": s.API.URL, "HASHGATE_TOKEN": writeToken}
	ctl(t, env, "allocate", "--ai-kw", "68", "--reason", "training").want(t, 0, nil, nil)
	sim.WaitFor(t, 10*time.Second, "load down to 31 kW", func() (bool, any) { kw := s.Switcher.Status().MiningLoadKW; return kw == 31, kw })
	ctl(t, env, "status").want(t, 0, []string{
		"curtailed (parked + pending) 10",
		"load is        30.0 kW mining, 0.0 kW pinned on, 1.0 kW parked at idle draw, 0.0 kW parked unverified (rig_kw), 0.0 kW left while parked (rig_kw)",
		"parked         10 rigs (curtailed by a plan, connected or not)",
		"pending        0 rigs (connected, held until admitted)",
	}, nil)

	// Budget 10 kW, then every rig leaves: 18 parked rigs away at rig_kw.
	ctl(t, env, "allocate", "--ai-kw", "90", "--reason", "leave").want(t, 0, nil, nil)
	sim.WaitFor(t, 10*time.Second, "18 rigs parked", func() (bool, any) { n := s.Switcher.Status().Curtailed; return n == 18, n })
	s.Fleet.Close()
	sim.WaitFor(t, 10*time.Second, "18 rigs left while parked, not compliant", func() (bool, any) {
		st := s.Switcher.Status()
		left := st.Counted[switcher.CountedLeftWhileParked.String()]
		return left.Rigs == 18 && !st.Compliant, fmt.Sprintf("left while parked %+v, compliant %v", left, st.Compliant)
	})
	ctl(t, env, "status").want(t, exitNotCompliant, []string{
		"miners         0 connected",
		"compliant      NO: load 54 kW over the budget 10 kW",
		"because        load 54.0 kW over the budget 10.0 kW: 54.0 kW from 18 rigs that left while parked, counted at rig_kw",
		"54.0 kW left while parked (rig_kw)",
	}, nil)
}
