package config

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashgate/hashgate/config/tomlfile"
	"github.com/hashgate/hashgate/switcher/meter"
	"github.com/hashgate/hashgate/switcher/meter/httpjson"
	"github.com/hashgate/hashgate/switcher/meter/modbus"
)

// Meter is one [[meters]] entry: a power meter hashgate reads (see
// switcher/meter and its sources for what each key means on the wire).
type Meter struct {
	Name     string // name: unique; shown in the status, logs and metrics
	Measures string // measures: "site", "ai", "mining", or a feeder's name
	Source   string // source: "modbus", "prometheus" or "http"

	// source = "modbus"
	Address  string // address: host:port of the Modbus TCP server
	UnitID   int    // unit_id: 0..255 (default 1)
	Register int    // register: the first holding register, 0-based
	Type     string // type: "uint16", "int16", "uint32", "int32" or "float32"

	Scale float64 // scale: the value read × scale = kW (default 1; any source)

	URL   string // url: prometheus: the server's base URL; http: the document's URL
	Query string // query: prometheus: PromQL giving one number
	Field string // field: http: the dotted path to the number

	Interval   Duration // interval: how often it is read (default 1s)
	StaleAfter Duration // stale_after: a last good reading older than this is stale (default 10s)
}

// Meter sources (the `source` key).
const (
	SourceModbus     = "modbus"
	SourcePrometheus = "prometheus"
	SourceHTTP       = "http"
)

// Defaults and bounds of [[meters]] interval and stale_after.
const (
	DefaultMeterInterval   = time.Second
	DefaultMeterStaleAfter = 10 * time.Second
	MinMeterInterval       = 100 * time.Millisecond
	MaxMeterInterval       = time.Hour
)

var (
	meterKeys = []string{"name", "measures", "source", "address", "unit_id", "register", "type", "scale",
		"url", "query", "field", "interval", "stale_after"}
	meterSources = []string{SourceModbus, SourcePrometheus, SourceHTTP}
	// sourceKeys are the keys of one source only: on a meter of another
	// source they are refused.
	sourceKeys = map[string][]string{
		SourceModbus:     {"address", "unit_id", "register", "type"},
		SourcePrometheus: {"url", "query"},
		SourceHTTP:       {"url", "field"},
	}
	measuresKinds = []string{meter.Site, meter.AI, meter.Mining}
)

// DefaultMeter is a [[meters]] entry with every default filled in.
func DefaultMeter() Meter {
	return Meter{
		UnitID:     1,
		Scale:      1,
		Interval:   Duration{DefaultMeterInterval},
		StaleAfter: Duration{DefaultMeterStaleAfter},
	}
}

// meters reads every [[meters]] entry.
func (d *decoder) meters(raw map[string]any) []Meter {
	v, ok := raw["meters"]
	if !ok {
		return nil
	}
	var out []Meter
	byName := make(map[string]int)
	for i, m := range d.Tables("meters", v, "[[meters]]") {
		if m == nil {
			continue
		}
		p := tomlfile.Index("meters", i)
		d.Unknown(p, m, meterKeys)
		mt := d.meter(m, p)
		if mt.Name != "" {
			if j, dup := byName[mt.Name]; dup {
				d.Errorf(p+".name", "%s: duplicate meter name %q (also meters[%d]); meter names must be unique", p, mt.Name, j)
			} else {
				byName[mt.Name] = i
			}
		}
		out = append(out, mt)
	}
	return out
}

// meter reads one [[meters]] entry at path p.
func (d *decoder) meter(m map[string]any, p string) Meter {
	mt := DefaultMeter()
	d.meterWord(m, p, "name", &mt.Name, `name = "ai-racks"`)
	if d.meterWord(m, p, "measures", &mt.Measures, `measures = "ai"`) {
		for _, k := range measuresKinds {
			if mt.Measures != k && strings.EqualFold(mt.Measures, k) {
				d.Errorf(p+".measures", "%s.measures: %q is not %q: the kinds are written in lower case (any other word names a feeder)", p, mt.Measures, k)
			}
		}
	}
	if d.Str(m, p, "source", &mt.Source) && !slices.Contains(meterSources, mt.Source) {
		hint := ""
		if s := tomlfile.Suggest(mt.Source, meterSources); s != "" {
			hint = fmt.Sprintf(" (did you mean %q?)", s)
		}
		d.Errorf(p+".source", `%s.source: %q is not a source%s; expected "modbus", "prometheus" or "http"`, p, mt.Source, hint)
	} else if _, ok := m["source"]; !ok {
		d.Errorf(p, `%s: source is required: "modbus", "prometheus" or "http"`, p)
	}
	if slices.Contains(meterSources, mt.Source) {
		d.foreignKeys(m, p, mt.Source)
	}
	switch mt.Source {
	case SourceModbus:
		d.modbusMeter(m, p, &mt)
	case SourcePrometheus:
		d.meterURL(m, p, &mt.URL, `url = "http://prom:9090"`)
		if d.Str(m, p, "query", &mt.Query) && strings.TrimSpace(mt.Query) == "" {
			d.Errorf(p+".query", "%s.query: must not be empty; expected PromQL giving one number, e.g. \"sum(DCGM_FI_DEV_POWER_USAGE) / 1000\"", p)
		} else if _, ok := m["query"]; !ok {
			d.Errorf(p, `%s: query is required for a prometheus meter, e.g. query = "sum(DCGM_FI_DEV_POWER_USAGE) / 1000"`, p)
		}
	case SourceHTTP:
		d.meterURL(m, p, &mt.URL, `url = "http://meter/reading"`)
		if d.Str(m, p, "field", &mt.Field) {
			if _, err := httpjson.ParsePath(mt.Field); err != nil {
				d.Errorf(p+".field", "%s.field: %v", p, err)
			}
		} else if _, ok := m["field"]; !ok {
			d.Errorf(p, `%s: field is required for an http meter, e.g. field = "data.kw" (a dotted path into the JSON)`, p)
		}
	}
	if d.Float(m, p, "scale", &mt.Scale) && (mt.Scale == 0 || math.IsNaN(mt.Scale) || math.IsInf(mt.Scale, 0)) {
		d.Errorf(p+".scale", "%s.scale: must be a finite number other than 0 (the value read × scale = kW), got %s", p, tomlfile.FormatFloat(mt.Scale))
	}
	d.meterTiming(m, p, &mt)
	return mt
}

// meterWord reads a required name-like key (name, measures): letters,
// digits, '-', '_' and '.', at most 64 of them.
func (d *decoder) meterWord(m map[string]any, p, key string, dst *string, example string) bool {
	kp := p + "." + key
	if !d.Str(m, p, key, dst) {
		if _, ok := m[key]; !ok {
			d.Errorf(p, "%s: %s is required, e.g. %s", p, key, example)
		}
		return false
	}
	if !validWord(*dst) {
		d.Errorf(kp, "%s: %q must be 1 to 64 letters, digits, '-', '_' or '.', e.g. %s", kp, *dst, example)
		return false
	}
	return true
}

func validWord(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// foreignKeys refuses the keys that belong to other sources than src.
func (d *decoder) foreignKeys(m map[string]any, p, src string) {
	for _, k := range meterKeys {
		if _, ok := m[k]; !ok || slices.Contains(sourceKeys[src], k) {
			continue
		}
		var owners []string
		for _, other := range meterSources {
			if slices.Contains(sourceKeys[other], k) {
				owners = append(owners, strconv.Quote(other))
			}
		}
		if len(owners) > 0 {
			d.Errorf(p+"."+k, "%s.%s: not a key of %s meter (%s is for source = %s); remove it", p, k, article(src), k, strings.Join(owners, " or "))
		}
	}
}

// article is "a modbus", "a prometheus", "an http".
func article(src string) string {
	if src == SourceHTTP {
		return "an " + src
	}
	return "a " + src
}

// modbusMeter reads the keys of a modbus meter.
func (d *decoder) modbusMeter(m map[string]any, p string, mt *Meter) {
	if d.Str(m, p, "address", &mt.Address) {
		host, port, err := net.SplitHostPort(mt.Address)
		n, perr := strconv.Atoi(port)
		if err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			d.Errorf(p+".address", "%s.address: %q is not host:port of a Modbus TCP server; expected e.g. \"10.0.0.5:502\"", p, mt.Address)
		}
	} else if _, ok := m["address"]; !ok {
		d.Errorf(p, `%s: address is required for a modbus meter, e.g. address = "10.0.0.5:502"`, p)
	}
	if d.Integer(m, p, "unit_id", &mt.UnitID) {
		d.between(p+".unit_id", mt.UnitID, 0, 255)
	}
	typed := false
	if d.Str(m, p, "type", &mt.Type) {
		if modbus.Words(mt.Type) == 0 {
			hint := ""
			if s := tomlfile.Suggest(mt.Type, modbus.Types); s != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", s)
			}
			d.Errorf(p+".type", `%s.type: %q is not a register type%s; expected "uint16", "int16", "uint32", "int32" or "float32"`, p, mt.Type, hint)
		} else {
			typed = true
		}
	} else if _, ok := m["type"]; !ok {
		d.Errorf(p, `%s: type is required for a modbus meter: "uint16", "int16", "uint32", "int32" or "float32" (32-bit types: high word first)`, p)
	}
	if d.Integer(m, p, "register", &mt.Register) {
		last := 65535
		if typed {
			last = 65536 - modbus.Words(mt.Type)
		}
		if mt.Register < 0 || mt.Register > last {
			d.Errorf(p+".register", "%s.register: must be between 0 and %d (a 0-based holding register address), got %d", p, last, mt.Register)
		}
	} else if _, ok := m["register"]; !ok {
		d.Errorf(p, "%s: register is required for a modbus meter, e.g. register = 100 (0-based: the 40101 of a vendor's table is 100)", p)
	}
}

// meterURL reads a required http(s) url.
func (d *decoder) meterURL(m map[string]any, p string, dst *string, example string) bool {
	if !d.Str(m, p, "url", dst) {
		if _, ok := m["url"]; !ok {
			d.Errorf(p, "%s: url is required for a %s meter, e.g. %s", p, m["source"], example)
		}
		return false
	}
	if _, err := httpjson.ParseURL(*dst); err != nil {
		d.Errorf(p+".url", "%s.url: %s; expected e.g. %s", p, tomlfile.RedactURL(err.Error()), example)
		return false
	}
	return true
}

// meterTiming reads interval and stale_after: stale_after must exceed
// interval.
func (d *decoder) meterTiming(m map[string]any, p string, mt *Meter) {
	if d.Duration(m, p, "interval", &mt.Interval.Duration) &&
		(mt.Interval.Duration < MinMeterInterval || mt.Interval.Duration > MaxMeterInterval) {
		d.Errorf(p+".interval", "%s.interval: must be between %v and %v, got %q", p, MinMeterInterval, MaxMeterInterval, mt.Interval.Duration.String())
		return
	}
	_, wrote := m["stale_after"]
	if wrote && !d.Duration(m, p, "stale_after", &mt.StaleAfter.Duration) {
		return
	}
	if mt.StaleAfter.Duration <= mt.Interval.Duration {
		at, what := p+".stale_after", "stale_after"
		if !wrote {
			at, what = p+".interval", "stale_after (default 10s)"
		}
		d.Errorf(at, "%s: %s %v must be longer than interval %v: a meter read every %v is stale only after a read is missed; set stale_after to a few intervals",
			p, what, mt.StaleAfter.Duration, mt.Interval.Duration, mt.Interval.Duration)
	}
}

// Spec is the meter as the switcher and the poller see it.
func (mt Meter) Spec() meter.Spec {
	return meter.Spec{Name: mt.Name, Measures: mt.Measures, Interval: mt.Interval.Duration, StaleAfter: mt.StaleAfter.Duration}
}

// Describe is the meter in one line, for `hashgate check`: "ai-racks
// (ai): modbus 10.0.0.5:502 unit 1 register 100 uint32 ×0.1, every 1s,
// stale after 10s". A password or a query value in a URL is not shown.
func (mt Meter) Describe() string {
	var from string
	switch mt.Source {
	case SourceModbus:
		from = fmt.Sprintf("modbus %s unit %d register %d %s", mt.Address, mt.UnitID, mt.Register, mt.Type)
	case SourcePrometheus:
		from = fmt.Sprintf("prometheus %s query %s", meterURLForShow(mt.URL), mt.Query)
	case SourceHTTP:
		from = fmt.Sprintf("http GET %s field %s", meterURLForShow(mt.URL), mt.Field)
	}
	if mt.Scale != 1 {
		from += " ×" + tomlfile.FormatFloat(mt.Scale)
	}
	return fmt.Sprintf("%s (%s): %s, every %v, stale after %v", mt.Name, mt.Measures, from, mt.Interval.Duration, mt.StaleAfter.Duration)
}

// meterURLForShow is a meter's URL as `hashgate check` shows it: the
// password and the query's values (an API key is often there) hidden.
func meterURLForShow(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid URL)"
	}
	return tomlfile.RedactURL(meter.RedactURL(u))
}

// meterWarnings are the [[meters]] entries' likely mistakes: a measures
// word one letter from a kind (a feeder by that name is read and shown,
// not used by the loop), and meters without a policy (no switcher uses
// them).
func meterWarnings(c *Config) []string {
	var w []string
	for _, mt := range c.Meters {
		if slices.Contains(measuresKinds, mt.Measures) || len(mt.Measures) < 4 {
			continue
		}
		for _, k := range measuresKinds {
			if tomlfile.EditDistance(strings.ToLower(mt.Measures), k) == 1 {
				w = append(w, fmt.Sprintf("meter %q: measures = %q names a feeder, read and shown but not used by cap mode; did you mean %q?", mt.Name, mt.Measures, k))
			}
		}
	}
	if len(c.Meters) > 0 && c.Switcher.Policy == "" {
		w = append(w, "[[meters]] are set but switcher.policy is not: without a policy there is no switcher, so the meters are not read")
	}
	return w
}
