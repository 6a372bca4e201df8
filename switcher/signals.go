package switcher

import (
	"errors"
	"math"
	"time"

	"github.com/hashgate/hashgate/switcher/meter"
)

// The site's other inputs besides allocations: the cap (cap mode), its
// meters, the power desk's heartbeat and the power price. Each is handed
// in by whoever reads it (the API, the meter poller, the grid signal
// subscriber, the price reader); the switcher decides what it means.

// ErrNotReady is returned by an input whose handling is not built yet.
var ErrNotReady = errors.New("not implemented yet")

// CapRequest is the body of PUT /api/v1/cap: a site cap at the meter,
// like an allocation (a reason for the audit log, an optional end).
// CapKW 0 ends cap mode.
type CapRequest struct {
	CapKW  float64   `json:"cap_kw"`
	Reason string    `json:"reason"`
	Until  time.Time `json:"until,omitzero"`
}

// Validate says what is wrong with a request, for a 400.
func (r CapRequest) Validate(now time.Time) error {
	switch {
	case math.IsNaN(r.CapKW) || math.IsInf(r.CapKW, 0) || r.CapKW < 0:
		return errors.New("cap_kw must be a number ≥ 0 (0 ends cap mode)")
	case r.Reason == "":
		return errors.New("reason is required (it goes in the audit log)")
	case !r.Until.IsZero() && !r.Until.After(now):
		return errors.New("until must be in the future")
	}
	return nil
}

// SetCap sets the site cap from who (a token's name, or "mqtt:TOPIC").
// The same request as the one in force is a no-op (changed false).
func (s *Switcher) SetCap(req CapRequest, who string) (plan Plan, changed bool, err error) {
	if err := req.Validate(s.cfg.Now()); err != nil {
		return Plan{}, false, err
	}
	return s.setCap(req, who)
}

// MeterReading takes one reading of a configured meter (good or failed).
func (s *Switcher) MeterReading(r meter.Reading) { s.meterReading(r) }

// Heartbeat records that the power desk (who) is alive.
func (s *Switcher) Heartbeat(who string) { s.heartbeat(who) }

// PriceReading is the power price now, for economic curtailment.
type PriceReading struct {
	USDPerMWh float64
	At        time.Time
	Source    string // where it came from, for the audit log and the plan's reasons
	Err       string // non-empty: the read failed (the last good price ages)
}

// SetPrice is in economic.go.
