package switcher

import (
	"time"

	"github.com/hashgate/hashgate/switcher/meter"
)

// With only `site` meters (no fresh `mining` meter), the non-mining load
// is the site's reading less the plan's mining load. After a plan that
// acted, rigs take seconds to change their draw (a firmware sleep, the
// hashboards winding down) and the meter to read it, while the plan's
// load already counts them as changed: a site reading taken within
// capSettle of the plan may still hold the load of before. Taken as more
// non-mining load, it would lower the budget again at every reading and
// curtail far more than the cap asks, until the meter caught up.
//
// So within capSettle the cap budget falls only by what is certain: the
// non-mining load with the most mining load counted in the window
// (settleMax) taken off the site's reading. A rise is judged as before
// (with the plan's load now: the least the site reading can hold).

// capActedLocked records a plan that acted at now.
func (s *Switcher) capActedLocked(p *Plan, now time.Time) {
	if now.Sub(s.cm.actedAt) >= capSettle {
		s.cm.settleMax = 0
	}
	s.cm.settleMax = max(s.cm.settleMax, p.LoadKW, p.LoadAfterKW)
	s.cm.actedAt = now
}

// settlingRawLocked is the raw cap budget to track: raw, or while a site
// reading may lag the last plan, no lower than what the most mining load
// counted since allows (and, when that is not below the budget, the
// budget: no fall on a figure that may be the lag's).
func (s *Switcher) settlingRawLocked(raw float64, now time.Time) float64 {
	if s.cm.nmSource != meter.Site || s.hasFreshLocked(meter.Mining, now) || s.cm.actedAt.IsZero() ||
		s.oldestGoodLocked(meter.Site).Sub(s.cm.actedAt) >= capSettle || !s.cm.track.set || raw >= s.cm.track.budget {
		return raw
	}
	site, _, _ := s.meterSumLocked(meter.Site, now)
	nmLow := max(site-max(s.cm.settleMax, s.last.LoadAfterKW), 0)
	sure := max(s.cm.capKW-nmLow-s.policy.ReserveKW-s.cm.excess, 0)
	return min(sure, s.cm.track.budget)
}
