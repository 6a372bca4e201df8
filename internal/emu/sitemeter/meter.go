package sitemeter

import (
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"sync"
	"time"

	"github.com/simonvetter/modbus"
)

// Register addresses (see the package doc).
const (
	RegAI     = 100
	RegSite   = 102
	RegMining = 104
	regEnd    = 106
)

// Config is a meter's setup.
type Config struct {
	Listen  string         // host:port; "" = 127.0.0.1 on a free port
	Profile Profile        // the AI racks' draw from Start on
	Offset  time.Duration  // start this far into the profile (a meter back after an outage)
	Mining  func() float64 // the mining load in kW now; nil = 0
	Now     func() time.Time
}

// Meter is a running site meter.
type Meter struct {
	cfg   Config
	start time.Time
	addr  string
	srv   *modbus.ModbusServer

	mu    sync.Mutex
	reads int
}

// Start listens and serves until Close.
func Start(cfg Config) (*Meter, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := &Meter{cfg: cfg, start: cfg.Now().Add(-cfg.Offset)}
	// The library takes an address, not a listener, and does not say the
	// port it bound: take a free one first (tests and the demo only).
	addr := cfg.Listen
	var err error
	for try := 0; try < 5; try++ {
		if cfg.Listen == "" {
			if addr, err = freePort(); err != nil {
				return nil, err
			}
		}
		m.srv, err = modbus.NewServer(&modbus.ServerConfiguration{
			URL: "tcp://" + addr, Timeout: 30 * time.Second, MaxClients: 16,
			Logger: log.New(io.Discard, "", 0),
		}, m)
		if err == nil {
			err = m.srv.Start()
		}
		if err == nil || cfg.Listen != "" {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("site meter on %s: %w", addr, err)
	}
	m.addr = addr
	return m, nil
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// Addr is host:port.
func (m *Meter) Addr() string { return m.addr }

// Close stops serving.
func (m *Meter) Close() error { return m.srv.Stop() }

// AIKW is the AI racks' draw now.
func (m *Meter) AIKW() float64 { return m.cfg.Profile.At(m.cfg.Now().Sub(m.start)) }

// MiningKW is the mining load now.
func (m *Meter) MiningKW() float64 {
	if m.cfg.Mining == nil {
		return 0
	}
	return m.cfg.Mining()
}

// Reads counts the register reads served.
func (m *Meter) Reads() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reads
}

func (m *Meter) registers(addr, qty uint16) ([]uint16, error) {
	if addr < RegAI || int(addr)+int(qty) > regEnd {
		return nil, modbus.ErrIllegalDataAddress
	}
	ai, mining := m.AIKW(), m.MiningKW()
	vals := []float64{ai, ai + mining, mining}
	regs := make([]uint16, 0, regEnd-RegAI)
	for _, v := range vals {
		b := math.Float32bits(float32(v))
		regs = append(regs, uint16(b>>16), uint16(b))
	}
	m.mu.Lock()
	m.reads++
	m.mu.Unlock()
	return regs[addr-RegAI : addr-RegAI+qty], nil
}

// HandleHoldingRegisters serves reads; writes are refused.
func (m *Meter) HandleHoldingRegisters(req *modbus.HoldingRegistersRequest) ([]uint16, error) {
	if req.IsWrite {
		return nil, modbus.ErrIllegalFunction
	}
	return m.registers(req.Addr, req.Quantity)
}

// HandleInputRegisters serves reads.
func (m *Meter) HandleInputRegisters(req *modbus.InputRegistersRequest) ([]uint16, error) {
	return m.registers(req.Addr, req.Quantity)
}

// HandleCoils: a meter has none.
func (m *Meter) HandleCoils(*modbus.CoilsRequest) ([]bool, error) {
	return nil, modbus.ErrIllegalFunction
}

// HandleDiscreteInputs: a meter has none.
func (m *Meter) HandleDiscreteInputs(*modbus.DiscreteInputsRequest) ([]bool, error) {
	return nil, modbus.ErrIllegalFunction
}
