package site

import (
	"fmt"

	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/switcher/meter"
	"github.com/hashgate/hashgate/switcher/meter/httpjson"
	"github.com/hashgate/hashgate/switcher/meter/modbus"
	"github.com/hashgate/hashgate/switcher/meter/prometheus"
)

// The site's meters: the config's [[meters]], read by a meter.Poller
// whose sink is the switcher's MeterReading. Meters are read only with
// a switcher (a policy): without one nothing would use them, and
// `hashgate check` warns.

// MeterSpecs are the config's meters as the switcher sees them
// (switcher.Config.Meters).
func MeterSpecs(cfg *config.Config) []meter.Spec {
	var out []meter.Spec
	for _, m := range cfg.Meters {
		out = append(out, m.Spec())
	}
	return out
}

// MeterSource builds the source that reads m. Each request of a modbus
// meter is bounded by its read's deadline (meter.ReadTimeout).
func MeterSource(m config.Meter) (meter.Source, error) {
	switch m.Source {
	case config.SourceModbus:
		return modbus.New(modbus.Config{Address: m.Address, UnitID: uint8(m.UnitID), Register: uint16(m.Register),
			Type: m.Type, Scale: m.Scale, Timeout: meter.ReadTimeout(m.Interval.Duration)})
	case config.SourcePrometheus:
		return prometheus.New(prometheus.Config{URL: m.URL, Query: m.Query, Scale: m.Scale})
	case config.SourceHTTP:
		return httpjson.New(httpjson.Config{URL: m.URL, Field: m.Field, Scale: m.Scale})
	}
	return nil, fmt.Errorf("source %q is not a meter source", m.Source)
}

// newMeters builds the poller of the config's meters, reporting to the
// switcher; none without meters or a switcher.
func (s *Site) newMeters() error {
	if len(s.cfg.Meters) == 0 || s.switcher == nil {
		return nil
	}
	var ms []meter.Meter
	for _, m := range s.cfg.Meters {
		src, err := MeterSource(m)
		if err != nil {
			closeSources(ms)
			return fmt.Errorf("meter %q: %w", m.Name, err)
		}
		ms = append(ms, meter.Meter{Spec: m.Spec(), Source: src})
	}
	p, err := s.newPoller(ms, s.switcher.MeterReading, "meters")
	s.meters = p
	return err
}

// newPoller builds a Poller of ms reporting to sink, its log lines
// marked component; when it cannot be built the sources are closed.
func (s *Site) newPoller(ms []meter.Meter, sink func(meter.Reading), component string) (*meter.Poller, error) {
	p, err := meter.NewPoller(meter.PollerConfig{Meters: ms, Sink: sink, Log: s.log.With().Str("component", component).Logger()})
	if err != nil {
		closeSources(ms)
		return nil, err
	}
	return p, nil
}

// closeSources closes the sources that hold a connection.
func closeSources(ms []meter.Meter) {
	for _, m := range ms {
		if c, ok := m.Source.(interface{ Close() error }); ok {
			_ = c.Close()
		}
	}
}

// startReaders starts reading the meters and the price (after the
// switcher runs).
func (s *Site) startReaders() {
	for _, p := range []*meter.Poller{s.meters, s.price} {
		if p != nil {
			p.Start()
		}
	}
}

// closeReaders stops reading them (before the switcher stops) and closes
// their connections.
func (s *Site) closeReaders() {
	for _, p := range []*meter.Poller{s.meters, s.price} {
		if p != nil {
			p.Close()
		}
	}
}

// Meters is the meter poller (its Last readings); nil without meters or
// without a policy.
func (s *Site) Meters() *meter.Poller { return s.meters }
