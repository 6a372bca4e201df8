package meter

import (
	"context"
	"net/url"
	"time"
)

// What a meter measures (the config's `measures`). Any other name is a
// named feeder: read, shown and kept as evidence, not used by the loop.
const (
	Site   = "site"   // the whole site at the utility connection
	AI     = "ai"     // the non-mining load (AI racks, cooling, offices)
	Mining = "mining" // the mining halls
)

// Spec is one configured meter as the switcher sees it: its name, what
// it measures, how often it is read and when its last good reading is
// too old to steer by.
type Spec struct {
	Name       string
	Measures   string
	Interval   time.Duration
	StaleAfter time.Duration
}

// Reading is one read of one meter. Err is empty for a good reading
// (then KW holds it) and says why the read failed otherwise (KW is 0 and
// means nothing). At is when the read finished.
type Reading struct {
	Meter    string
	Measures string
	KW       float64
	At       time.Time
	Err      string
}

// OK reports whether the reading holds a value.
func (r Reading) OK() bool { return r.Err == "" }

// Source reads one meter once. Read honours ctx's deadline and returns
// kW (already scaled) or an error that names no secret. String says
// where it reads from, for logs and the status ("modbus 10.0.0.5:502
// unit 1 register 100").
type Source interface {
	Read(ctx context.Context) (kw float64, err error)
	String() string
}

// RedactURL is u as logs, errors and the status may show it: its
// password hidden (url.URL.Redacted) and every query value too, as a
// price feed or a meter's gateway often takes its API key there
// (?api_key=…); the keys stay, to say which URL it is.
func RedactURL(u *url.URL) string {
	c := *u
	if c.RawQuery != "" {
		q := c.Query()
		for k, vs := range q {
			for i := range vs {
				vs[i] = "xxxxx"
			}
			q[k] = vs
		}
		c.RawQuery = q.Encode()
	}
	return c.Redacted()
}
