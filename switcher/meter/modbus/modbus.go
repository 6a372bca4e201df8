package modbus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	mb "github.com/simonvetter/modbus"
)

// The register types (the config's `type`).
const (
	Uint16  = "uint16"
	Int16   = "int16"
	Uint32  = "uint32"
	Int32   = "int32"
	Float32 = "float32"
)

// Types are the register types, in the order the docs list them.
var Types = []string{Uint16, Int16, Uint32, Int32, Float32}

// Words is how many 16-bit registers a value of type t takes (1 or 2),
// 0 for an unknown type.
func Words(t string) int {
	switch t {
	case Uint16, Int16:
		return 1
	case Uint32, Int32, Float32:
		return 2
	}
	return 0
}

// DefaultTimeout is Config.Timeout when zero.
const DefaultTimeout = time.Second

// Config is one meter's register.
type Config struct {
	Address  string  // host:port of the Modbus TCP server
	UnitID   uint8   // the MBAP unit identifier
	Register uint16  // the first holding register, 0-based
	Type     string  // one of Types
	Scale    float64 // kW = raw × Scale; 0 means 1
	// Timeout bounds one request on the wire (default DefaultTimeout);
	// Read's context bounds the whole read too.
	Timeout time.Duration
}

// Source reads one meter's register over Modbus TCP, keeping its
// connection open between reads. It is safe for concurrent use (reads
// are taken one at a time).
type Source struct {
	cfg   Config
	words uint16

	mu     sync.Mutex
	client *mb.ModbusClient // the open connection; nil when none
	busy   chan struct{}    // closed when a call a cancelled Read left running ends
	closed bool
}

// New checks cfg and returns its Source; nothing is dialled until the
// first Read.
func New(cfg Config) (*Source, error) {
	w := Words(cfg.Type)
	if w == 0 {
		return nil, fmt.Errorf("modbus: type %q is not one of %v", cfg.Type, Types)
	}
	if _, _, err := net.SplitHostPort(cfg.Address); err != nil {
		return nil, fmt.Errorf("modbus: address %q is not host:port", cfg.Address)
	}
	if int(cfg.Register)+w-1 > math.MaxUint16 {
		return nil, fmt.Errorf("modbus: a %s at register %d runs past register 65535", cfg.Type, cfg.Register)
	}
	if math.IsNaN(cfg.Scale) || math.IsInf(cfg.Scale, 0) {
		return nil, fmt.Errorf("modbus: scale %v is not a finite number", cfg.Scale)
	}
	if cfg.Scale == 0 {
		cfg.Scale = 1
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	return &Source{cfg: cfg, words: uint16(w)}, nil
}

// String says where the source reads: "modbus 10.0.0.5:502 unit 1
// register 100 uint32 ×0.1".
func (s *Source) String() string {
	return fmt.Sprintf("modbus %s unit %d register %d %s ×%s", s.cfg.Address, s.cfg.UnitID, s.cfg.Register,
		s.cfg.Type, strconv.FormatFloat(s.cfg.Scale, 'g', -1, 64))
}

// errClosed is the read of a closed Source.
var errClosed = errors.New("modbus: source closed")

// Read reads the register once and returns raw × scale. It returns when
// ctx ends even if the library's call has not: that call ends in the
// background (within the connect or request timeout) and the next Read
// waits for it first.
func (s *Source) Read(ctx context.Context) (float64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, errClosed
	}
	if s.busy != nil {
		select {
		case <-s.busy:
			s.busy = nil
		case <-ctx.Done():
			return 0, fmt.Errorf("the previous read of %s has not ended yet", s.cfg.Address)
		}
	}
	done := make(chan struct{})
	var kw float64
	var err error
	go func() {
		defer close(done)
		kw, err = s.read()
	}()
	select {
	case <-done:
		return kw, err
	case <-ctx.Done():
		s.busy = done
		return 0, ctx.Err()
	}
}

// read connects if need be and reads the value.
func (s *Source) read() (float64, error) {
	if s.client == nil {
		if err := s.connect(); err != nil {
			return 0, err
		}
	}
	regs, err := s.client.ReadRegisters(s.cfg.Register, s.words, mb.HOLDING_REGISTER)
	if err != nil {
		if !exception(err) {
			s.disconnect() // the stream may be out of step: start again
		}
		return 0, s.describe(err)
	}
	raw, err := Decode(s.cfg.Type, regs)
	if err != nil {
		return 0, err
	}
	return raw * s.cfg.Scale, nil
}

// discard takes the library's log lines (it writes to stdout by default).
var discard = log.New(io.Discard, "", 0)

func (s *Source) connect() error {
	c, err := mb.NewClient(&mb.ClientConfiguration{
		URL:     "tcp://" + s.cfg.Address,
		Timeout: s.cfg.Timeout,
		Logger:  discard,
	})
	if err != nil {
		return fmt.Errorf("modbus %s: %w", s.cfg.Address, err)
	}
	if err := c.Open(); err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Err != nil {
			err = op.Err // "dial tcp ADDR: connect: " said once, below
		}
		var sys *os.SyscallError
		if errors.As(err, &sys) {
			err = sys.Err
		}
		return fmt.Errorf("connect %s: %w", s.cfg.Address, err)
	}
	_ = c.SetUnitId(s.cfg.UnitID)
	s.client = c
	return nil
}

func (s *Source) disconnect() {
	if s.client != nil {
		_ = s.client.Close()
		s.client = nil
	}
}

// exception says whether err is the meter's exception answer: the
// connection is in step and is kept.
func exception(err error) bool {
	switch err {
	case mb.ErrIllegalFunction, mb.ErrIllegalDataAddress, mb.ErrIllegalDataValue, mb.ErrServerDeviceFailure,
		mb.ErrAcknowledge, mb.ErrMemoryParityError, mb.ErrServerDeviceBusy, mb.ErrGWPathUnavailable,
		mb.ErrGWTargetFailedToRespond:
		return true
	}
	return false
}

// describe words a failed request for the reading's Err.
func (s *Source) describe(err error) error {
	where := fmt.Sprintf("%s unit %d register %d", s.cfg.Address, s.cfg.UnitID, s.cfg.Register)
	switch {
	case errors.Is(err, mb.ErrIllegalDataAddress):
		return fmt.Errorf("%s: exception: illegal data address (the meter has no holding register %d..%d)",
			where, s.cfg.Register, s.cfg.Register+s.words-1)
	case exception(err):
		return fmt.Errorf("%s: exception: %v", where, err)
	case errors.Is(err, mb.ErrRequestTimedOut):
		return fmt.Errorf("%s: no answer within %v", where, s.cfg.Timeout)
	}
	return fmt.Errorf("%s: %w", where, err)
}

// Decode turns the registers of one value of type t (big-endian words,
// high word first) into its number.
func Decode(t string, regs []uint16) (float64, error) {
	if n := Words(t); n == 0 || len(regs) != n {
		return 0, fmt.Errorf("modbus: %d register(s) for a %q", len(regs), t)
	}
	switch t {
	case Uint16:
		return float64(regs[0]), nil
	case Int16:
		return float64(int16(regs[0])), nil
	}
	v := uint32(regs[0])<<16 | uint32(regs[1])
	switch t {
	case Uint32:
		return float64(v), nil
	case Int32:
		return float64(int32(v)), nil
	}
	f := math.Float32frombits(v)
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return 0, fmt.Errorf("modbus: the float32 in the register is %v, not a reading", f)
	}
	return float64(f), nil
}

// Close closes the connection, after the call a cancelled Read left
// running has ended (within the library's timeouts). Reads after Close
// fail.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.busy != nil {
		<-s.busy
		s.busy = nil
	}
	s.disconnect()
	return nil
}
