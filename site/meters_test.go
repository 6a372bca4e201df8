package site

import (
	"io"
	"log"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	mb "github.com/simonvetter/modbus"

	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/switcher/meter"
)

// modbusMeter is a real Modbus TCP server (simonvetter/modbus's) on
// loopback: a meter whose holding registers 100-101 hold a uint32.
type modbusMeter struct {
	addr string
	srv  *mb.ModbusServer
	mu   sync.Mutex
	raw  uint32
}

func (m *modbusMeter) HandleHoldingRegisters(req *mb.HoldingRegistersRequest) ([]uint16, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if req.IsWrite || req.Addr != 100 || req.Quantity != 2 {
		return nil, mb.ErrIllegalDataAddress
	}
	return []uint16{uint16(m.raw >> 16), uint16(m.raw)}, nil
}
func (m *modbusMeter) HandleCoils(*mb.CoilsRequest) ([]bool, error) {
	return nil, mb.ErrIllegalFunction
}
func (m *modbusMeter) HandleDiscreteInputs(*mb.DiscreteInputsRequest) ([]bool, error) {
	return nil, mb.ErrIllegalFunction
}
func (m *modbusMeter) HandleInputRegisters(*mb.InputRegistersRequest) ([]uint16, error) {
	return nil, mb.ErrIllegalFunction
}

func (m *modbusMeter) set(raw uint32) {
	m.mu.Lock()
	m.raw = raw
	m.mu.Unlock()
}

// startModbusMeter runs the meter on a free loopback port (the library
// does not say which port it bound, so one is found first, and another
// tried if it was taken meanwhile).
func startModbusMeter(t *testing.T) *modbusMeter {
	t.Helper()
	m := &modbusMeter{}
	var err error
	for range 5 {
		l, lerr := net.Listen("tcp", "127.0.0.1:0")
		if lerr != nil {
			t.Fatal(lerr)
		}
		m.addr = l.Addr().String()
		l.Close()
		m.srv, err = mb.NewServer(&mb.ServerConfiguration{URL: "tcp://" + m.addr, Logger: log.New(io.Discard, "", 0)}, m)
		if err != nil {
			t.Fatal(err)
		}
		if err = m.srv.Start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.srv.Stop() })
	return m
}

// A site with a modbus meter: the switcher is configured with its spec,
// the poller reads the real meter once started (a reading the site's
// Meters().Last shows, scaled), a dead meter gives failed readings, and
// Close stops it all.
func TestSiteReadsMeters(t *testing.T) {
	pool, err := sim.StartPool(sim.PoolConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	mtr := startModbusMeter(t)
	mtr.set(41250) // ×0.01 = 412.5 kW
	before := runtime.NumGoroutine()
	cfg := testConfig(t, pool, testPolicy)
	m := config.DefaultMeter()
	m.Name, m.Measures, m.Source = "ai-racks", meter.AI, config.SourceModbus
	m.Address, m.Register, m.Type, m.Scale = mtr.addr, 100, "uint32", 0.01
	m.Interval.Duration, m.StaleAfter.Duration = 50*time.Millisecond, time.Second
	cfg.Meters = []config.Meter{m}

	if specs := SwitcherConfig(cfg, nil).Meters; len(specs) != 1 || specs[0] != m.Spec() {
		t.Errorf("switcher.Config.Meters: got %+v, want [%+v]", specs, m.Spec())
	}
	s, err := New(cfg, zerolog.Nop(), WithoutAPIListener())
	if err != nil {
		t.Fatal(err)
	}
	if m := s.Meters(); m == nil {
		t.Fatalf("meter poller of a site with a policy and a meter: got %v, want one", m)
	}
	if got := s.Meters().Last(); len(got) != 0 {
		t.Errorf("readings before Start: got %+v, want none", got)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	sim.WaitFor(t, 5*time.Second, "a good reading of 412.5 kW from the modbus meter", func() (bool, any) {
		r := s.Meters().Last()["ai-racks"]
		return r.OK() && r.KW == 412.5, r
	})
	mtr.set(50000)
	sim.WaitFor(t, 5*time.Second, "the meter's change to 500 kW read", func() (bool, any) {
		r := s.Meters().Last()["ai-racks"]
		return r.KW == 500, r
	})
	if r := s.Meters().Last()["ai-racks"]; r.Measures != meter.AI || r.Meter != "ai-racks" {
		t.Errorf("reading: got %+v, want meter ai-racks measuring ai", r)
	}
	mtr.srv.Stop()
	sim.WaitFor(t, 5*time.Second, "a failed reading once the meter is gone", func() (bool, any) {
		r := s.Meters().Last()["ai-racks"]
		return !r.OK(), r
	})
	if r := s.Meters().Last()["ai-racks"]; !strings.Contains(r.Err, mtr.addr) {
		t.Errorf("failed reading: got %q, want it to name the meter's address %s", r.Err, mtr.addr)
	}
	if err := s.Close(); err != nil {
		t.Errorf("close: got %v, want nil", err)
	}
	var now int
	if err := sim.Poll(5*time.Second, func() bool { now = runtime.NumGoroutine(); return now <= before }); err != nil {
		t.Errorf("goroutines: got %d after Close, want at most %d as before New", now, before)
	}
}

// Without a policy there is no switcher to read meters for: no poller.
func TestSiteMetersNeedAPolicy(t *testing.T) {
	pool, err := sim.StartPool(sim.PoolConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	cfg := testConfig(t, pool, "")
	m := config.DefaultMeter()
	m.Name, m.Measures, m.Source, m.URL, m.Field = "site", meter.Site, config.SourceHTTP, "http://127.0.0.1:1/r", "kw"
	cfg.Meters = []config.Meter{m}
	s, err := New(cfg, zerolog.Nop(), WithoutAPIListener())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if m := s.Meters(); m != nil {
		t.Errorf("meters without a policy: got poller %p, want none", m)
	}
}

func TestMeterSource(t *testing.T) {
	for _, c := range []struct {
		m    config.Meter
		want string
	}{
		{config.Meter{Source: "modbus", Address: "10.0.0.5:502", UnitID: 1, Register: 100, Type: "uint32", Scale: 0.1,
			Interval: config.Duration{Duration: time.Second}}, "modbus 10.0.0.5:502 unit 1 register 100 uint32 ×0.1"},
		{config.Meter{Source: "prometheus", URL: "http://prom:9090", Query: "sum(x)", Scale: 1}, "prometheus http://prom:9090 query sum(x)"},
		{config.Meter{Source: "http", URL: "http://u:pw@m/r", Field: "data.kw", Scale: 1}, "http GET http://u:xxxxx@m/r field data.kw"},
	} {
		t.Run(c.m.Source, func(t *testing.T) {
			src, err := MeterSource(c.m)
			if err != nil {
				t.Errorf("%s: got %v, want a source", c.m.Source, err)
				return
			}
			if got := src.String(); got != c.want {
				t.Errorf("source: got %q, want %q", got, c.want)
			}
		})
	}
	if src, err := MeterSource(config.Meter{Source: "snmp"}); err == nil {
		t.Errorf("a snmp meter: got source %v, want an error", src)
	}
}
