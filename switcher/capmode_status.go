package switcher

import (
	"maps"
	"slices"
	"time"

	"github.com/hashgate/hashgate/switcher/meter"
)

// MeterStatus is one meter as the status shows it: its last good
// figure (KW nil: none yet) and when it was read, the error of its last
// read if that failed, and whether it is stale.
type MeterStatus struct {
	Name     string    `json:"name"`
	Measures string    `json:"measures"`
	KW       *float64  `json:"kw"`
	At       time.Time `json:"at,omitzero"`
	Error    string    `json:"error,omitempty"`
	Stale    bool      `json:"stale"`
}

// capStatusLocked fills the status's cap mode, fail-safe and meters.
func (s *Switcher) capStatusLocked(st *Status, now time.Time) {
	st.CapKW, st.BudgetRule = s.cm.capKW, s.last.BudgetRule
	if top := capTop(s.cm.caps, now); top >= 0 && s.cm.caps[top].CapKW > 0 {
		c := s.cm.caps[top]
		st.Cap = &c
	}
	if nm, _, ok := s.nonMiningLocked(now); ok {
		st.AIKWMeasured = &nm
	}
	if site, n, fresh := s.meterSumLocked(meter.Site, now); n > 0 && fresh {
		st.SiteLoadKW = &site
	} else if ai, n, fresh := s.meterSumLocked(meter.AI, now); n > 0 && fresh {
		if mining, mn, mfresh := s.meterSumLocked(meter.Mining, now); mn > 0 && mfresh {
			v := ai + mining
			st.SiteLoadKW = &v
		}
	}
	fs := &s.cm.fs
	st.Failsafe, st.FailsafeReason, st.FailsafeSince = fs.on, fs.reason, fs.since
	st.Meters = make(map[string]meter.Reading, len(s.cm.meters))
	for _, name := range slices.Sorted(maps.Keys(s.cm.meters)) {
		m := s.cm.meters[name]
		last := m.last
		if last.Measures == "" {
			last.Measures = m.spec.Measures
		}
		st.Meters[name] = last
		ms := MeterStatus{Name: name, Measures: m.spec.Measures, At: m.good.At, Error: m.last.Err, Stale: !m.fresh(now)}
		if !m.good.At.IsZero() {
			kw := m.good.KW
			ms.KW = &kw
		}
		st.MeterStatus = append(st.MeterStatus, ms)
	}
}
