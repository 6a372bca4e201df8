package main

// The demo's AI racks and their meter: inference racks whose draw moves
// on its own (a scripted profile), read by hashgate over Modbus TCP like
// a real site meter (internal/emu/sitemeter), with the site in cap mode
// so the mining budget follows them; and the meter going silent, so the
// fail-safe shows.

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/internal/emu/sitemeter"
	"github.com/hashgate/hashgate/switcher"
	"github.com/hashgate/hashgate/switcher/meter"
)

// aiRacks is the demo's metered AI load and its meter.
type aiRacks struct {
	profile sitemeter.Profile
	m       *sitemeter.Meter
	addr    string
	mining  atomic.Pointer[func() float64] // the mining load the meter adds to the site figure
	started time.Time
}

// newAIRacks is the inference racks' profile for site s: between 2% and
// 6% of the capacity, a training-like shape over four steps, so the cap
// budget moves within the room the capacity leaves above the nameplate
// and the power desk's allocations stay the tighter rule when they come.
func newAIRacks(s demoSite, step time.Duration) *aiRacks {
	return &aiRacks{profile: sitemeter.Training(4*step, s.capacityKW*0.02, s.capacityKW*0.06)}
}

// start serves the meter on a free loopback port (or addr, to come back
// where it was).
func (a *aiRacks) start(addr string) error {
	if a.started.IsZero() {
		a.started = time.Now()
	}
	m, err := sitemeter.Start(sitemeter.Config{Listen: addr, Profile: a.profile, Offset: time.Since(a.started), Mining: func() float64 {
		if f := a.mining.Load(); f != nil {
			return (*f)()
		}
		return 0
	}})
	if err != nil {
		return err
	}
	a.m, a.addr = m, m.Addr()
	return nil
}

// stop silences the meter (its address stays free for start).
func (a *aiRacks) stop() {
	if a.m != nil {
		a.m.Close()
		a.m = nil
	}
}

// meters are the config's [[meters]] for the racks: the AI load and the
// site's total, both float32 registers of the one meter, read every
// second, stale after stale.
func (a *aiRacks) meters(stale time.Duration) []config.Meter {
	mk := func(name, measures string, reg int) config.Meter {
		m := config.DefaultMeter()
		m.Name, m.Measures, m.Source = name, measures, config.SourceModbus
		m.Address, m.Register, m.Type = a.addr, reg, "float32"
		m.StaleAfter = config.Duration{Duration: stale}
		return m
	}
	return []config.Meter{mk("ai-racks", meter.AI, sitemeter.RegAI), mk("site-main", meter.Site, sitemeter.RegSite)}
}

// capLine is the power part of the status line in cap mode.
func capLine(st switcher.Status) string {
	s := fmt.Sprintf("cap %.0f kW", st.CapKW)
	if st.AIKWMeasured != nil {
		s += fmt.Sprintf(", AI metered %.0f", *st.AIKWMeasured)
	}
	if st.SiteLoadKW != nil {
		s += fmt.Sprintf(", site %.0f", *st.SiteLoadKW)
	}
	if st.Failsafe {
		s += fmt.Sprintf(", FAIL-SAFE (%s)", st.FailsafeReason)
	}
	return s
}
