package modbus

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	mb "github.com/simonvetter/modbus"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// meterServer is a real Modbus TCP server (the library's own) on
// loopback serving holding registers from a map.
type meterServer struct {
	addr string
	srv  *mb.ModbusServer

	mu      sync.Mutex
	regs    map[uint16]uint16
	hang    chan struct{} // non-nil: every request waits for it to close
	units   []uint8       // unit id of each request
	clients []string      // client address of each request
}

func (m *meterServer) HandleHoldingRegisters(req *mb.HoldingRegistersRequest) ([]uint16, error) {
	m.mu.Lock()
	hang := m.hang
	m.units = append(m.units, req.UnitId)
	m.clients = append(m.clients, req.ClientAddr)
	m.mu.Unlock()
	if hang != nil {
		<-hang
	}
	if req.IsWrite {
		return nil, mb.ErrIllegalFunction
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]uint16, req.Quantity)
	for i := range out {
		v, ok := m.regs[req.Addr+uint16(i)]
		if !ok {
			return nil, mb.ErrIllegalDataAddress
		}
		out[i] = v
	}
	return out, nil
}

func (m *meterServer) HandleCoils(*mb.CoilsRequest) ([]bool, error) {
	return nil, mb.ErrIllegalFunction
}
func (m *meterServer) HandleDiscreteInputs(*mb.DiscreteInputsRequest) ([]bool, error) {
	return nil, mb.ErrIllegalFunction
}
func (m *meterServer) HandleInputRegisters(*mb.InputRegistersRequest) ([]uint16, error) {
	return nil, mb.ErrIllegalFunction
}

func (m *meterServer) set(reg uint16, words ...uint16) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, w := range words {
		m.regs[reg+uint16(i)] = w
	}
}

// startServer runs a meter server on 127.0.0.1 (addr "" picks a free
// port) until the test ends. The library listens on the address it is
// given and does not tell the port it bound, so a free port is found
// first, and tried again if another test took it meanwhile.
func startServer(t testing.TB, addr string) *meterServer {
	t.Helper()
	m := &meterServer{regs: map[uint16]uint16{}}
	var err error
	for range 5 {
		a := addr
		if a == "" {
			a = freeAddr(t)
		}
		m.srv, err = mb.NewServer(&mb.ServerConfiguration{URL: "tcp://" + a, Timeout: 10 * time.Second, MaxClients: 64, Logger: discard}, m)
		if err != nil {
			t.Fatal(err)
		}
		if err = m.srv.Start(); err == nil {
			m.addr = a
			break
		}
	}
	if err != nil {
		t.Fatalf("modbus server: %v", err)
	}
	t.Cleanup(m.stop)
	return m
}

func (m *meterServer) stop() {
	m.setHang(false)
	_ = m.srv.Stop()
}

// setHang makes every request wait (true) until set false.
func (m *meterServer) setHang(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case on && m.hang == nil:
		m.hang = make(chan struct{})
	case !on && m.hang != nil:
		close(m.hang)
		m.hang = nil
	}
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func newSource(t *testing.T, cfg Config) *Source {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func read(t *testing.T, s *Source, within time.Duration) (float64, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	return s.Read(ctx)
}

func f32(f float32) []uint16 {
	b := math.Float32bits(f)
	return []uint16{uint16(b >> 16), uint16(b)}
}

func i32(v int32) []uint16 { return []uint16{uint16(uint32(v) >> 16), uint16(uint32(v))} }

// Every type, read from a real server, big-endian words, scaled.
func TestReadTypes(t *testing.T) {
	srv := startServer(t, "")
	for i, c := range []struct {
		typ   string
		regs  []uint16
		scale float64
		want  float64
	}{
		{Uint16, []uint16{4125}, 0.1, 412.5},
		{Uint16, []uint16{65535}, 0, 65535},
		{Int16, []uint16{uint16(0x10000 - 1234)}, 1, -1234},
		{Int16, []uint16{1234}, 0.01, 12.34},
		{Uint32, []uint16{0x0001, 0x2345}, 1, 0x00012345}, // high word first
		{Uint32, []uint16{0xFFFF, 0xFFFF}, 0.001, 4294967.295},
		{Int32, i32(-123456), 0.001, -123.456},
		{Int32, i32(7_000_000), 0.0001, 700},
		{Float32, f32(412.75), 1, 412.75},
		{Float32, f32(-3.5), 1000, -3500},
		{Float32, f32(1500), -0.001, -1.5}, // a negative scale turns an export-positive meter around
	} {
		t.Run(fmt.Sprintf("%s %v", c.typ, c.regs), func(t *testing.T) {
			reg := uint16(100 + 10*i)
			srv.set(reg, c.regs...)
			s := newSource(t, Config{Address: srv.addr, UnitID: 1, Register: reg, Type: c.typ, Scale: c.scale})
			got, err := read(t, s, 2*time.Second)
			if err != nil || math.Abs(got-c.want) > 1e-9*math.Max(1, math.Abs(c.want)) {
				t.Errorf("%s %v ×%v: got %v, %v; want %v", c.typ, c.regs, c.scale, got, err, c.want)
			}
		})
	}
}

// The unit id goes in every request; the connection is kept between
// reads, and a change on the meter shows at the next read.
func TestReadKeepsConnection(t *testing.T) {
	srv := startServer(t, "")
	srv.set(0, 100)
	s := newSource(t, Config{Address: srv.addr, UnitID: 7, Register: 0, Type: Uint16})
	for _, want := range []float64{100, 250, 250} {
		srv.set(0, uint16(want))
		if got, err := read(t, s, 2*time.Second); err != nil || got != want {
			t.Fatalf("read: got %v, %v; want %v", got, err, want)
		}
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	for i, u := range srv.units {
		if u != 7 {
			t.Errorf("request %d unit id: got %d, want 7", i, u)
		}
		if srv.clients[i] != srv.clients[0] {
			t.Errorf("request %d from %s, want the same connection as the first (%s)", i, srv.clients[i], srv.clients[0])
		}
	}
}

// No server: the read fails saying so; when the meter comes back the
// next read connects again.
func TestDeadServerThenBack(t *testing.T) {
	addr := freeAddr(t)
	s := newSource(t, Config{Address: addr, UnitID: 1, Register: 5, Type: Uint16})
	_, err := read(t, s, 2*time.Second)
	if err == nil || err.Error() != "connect "+addr+": connection refused" {
		t.Fatalf("read with no server: got %v, want \"connect %s: connection refused\"", err, addr)
	}
	srv := startServer(t, addr)
	srv.set(5, 42)
	if got, err := read(t, s, 2*time.Second); err != nil || got != 42 {
		t.Fatalf("read once the server is up: got %v, %v; want 42", got, err)
	}
	// The server goes away with the connection open: the read fails, and
	// one after it is back reconnects.
	srv.stop()
	if v, err := read(t, s, 2*time.Second); err == nil {
		t.Fatalf("read after the server stopped: got %v and a nil error, want an error", v)
	}
	srv2 := startServer(t, addr)
	srv2.set(5, 43)
	if got, err := read(t, s, 2*time.Second); err != nil || got != 43 {
		t.Fatalf("read once the server is back: got %v, %v; want 43 (reconnected)", got, err)
	}
}

// A server that accepts and never answers: the request's timeout fails
// the read, and the next read opens a fresh connection.
func TestHungServerTimesOut(t *testing.T) {
	srv := startServer(t, "")
	srv.set(0, 9)
	srv.setHang(true)
	s := newSource(t, Config{Address: srv.addr, UnitID: 1, Type: Uint16, Timeout: 100 * time.Millisecond})
	began := time.Now()
	_, err := read(t, s, 5*time.Second)
	took := time.Since(began)
	if err == nil || !strings.Contains(err.Error(), "no answer within 100ms") {
		t.Fatalf("read of a hung server: got %v, want \"no answer within 100ms\"", err)
	}
	if took > time.Second {
		t.Errorf("read of a hung server took %v, want about the 100ms timeout", took)
	}
	srv.setHang(false)
	if got, err := read(t, s, 2*time.Second); err != nil || got != 9 {
		t.Fatalf("read once the server answers: got %v, %v; want 9", got, err)
	}
}

// The read's context is the bound even when the request timeout is
// longer: Read returns at the deadline, and the next Read waits for the
// call left running.
func TestReadHonoursContext(t *testing.T) {
	srv := startServer(t, "")
	srv.set(0, 9)
	srv.setHang(true)
	s := newSource(t, Config{Address: srv.addr, UnitID: 1, Type: Uint16, Timeout: 300 * time.Millisecond})
	began := time.Now()
	_, err := read(t, s, 50*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("read past its context: got %v, want context.DeadlineExceeded", err)
	}
	if took := time.Since(began); took > 250*time.Millisecond {
		t.Errorf("Read returned after %v, want at its 50ms deadline", took)
	}
	// The call left running is still in its 300ms request: a read with a
	// short deadline says so.
	if _, err := read(t, s, 20*time.Millisecond); err == nil || !strings.Contains(err.Error(), "previous read") {
		t.Errorf("read while the last call runs: got %v, want \"the previous read ... has not ended yet\"", err)
	}
	srv.setHang(false)
	if got, err := read(t, s, 2*time.Second); err != nil || got != 9 {
		t.Fatalf("read after: got %v, %v; want 9", got, err)
	}
}

// A register the meter does not have: its exception answer, said
// plainly, and the connection is kept.
func TestBadRegister(t *testing.T) {
	srv := startServer(t, "")
	srv.set(10, 1, 2)
	bad := newSource(t, Config{Address: srv.addr, UnitID: 1, Register: 11, Type: Uint32}) // 11 and 12: 12 missing
	_, err := read(t, bad, 2*time.Second)
	want := srv.addr + " unit 1 register 11: exception: illegal data address (the meter has no holding register 11..12)"
	if err == nil || err.Error() != want {
		t.Fatalf("read of a missing register: got %v, want %q", err, want)
	}
	srv.set(12, 3)
	if got, err := read(t, bad, 2*time.Second); err != nil || got != 2<<16|3 {
		t.Fatalf("read once the register exists: got %v, %v; want %d", got, err, 2<<16|3)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.clients[0] != srv.clients[1] {
		t.Errorf("after an exception the source reconnected (%s, then %s); want the connection kept", srv.clients[0], srv.clients[1])
	}
}

func TestReadAfterClose(t *testing.T) {
	srv := startServer(t, "")
	srv.set(0, 1)
	s := newSource(t, Config{Address: srv.addr, Type: Uint16})
	if _, err := read(t, s, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := read(t, s, time.Second); !errors.Is(err, errClosed) {
		t.Errorf("read after Close: got %v, want %v", err, errClosed)
	}
}

func TestNewRefuses(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Address: "h:502", Type: "uint64"}, `type "uint64" is not one of`},
		{Config{Address: "h", Type: Uint16}, `address "h" is not host:port`},
		{Config{Address: "h:502", Type: Float32, Register: 65535}, "runs past register 65535"},
		{Config{Address: "h:502", Type: Uint16, Scale: math.NaN()}, "not a finite number"},
	} {
		t.Run(c.want, func(t *testing.T) {
			if _, err := New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("New(%+v): got %v, want an error with %q", c.cfg, err, c.want)
			}
		})
	}
	s, _ := New(Config{Address: "10.0.0.5:502", UnitID: 1, Register: 100, Type: Uint32, Scale: 0.1})
	if got, want := s.String(), "modbus 10.0.0.5:502 unit 1 register 100 uint32 ×0.1"; got != want {
		t.Errorf("String: got %q, want %q", got, want)
	}
}

func TestDecode(t *testing.T) {
	for _, c := range []struct {
		typ  string
		regs []uint16
		want string // the value, or the error
	}{
		{Uint16, []uint16{0x8000}, "32768"},
		{Int16, []uint16{0x8000}, "-32768"},
		{Uint32, []uint16{0x8000, 0}, "2147483648"},
		{Int32, []uint16{0x8000, 0}, "-2147483648"},
		{Float32, []uint16{0x3FC0, 0}, "1.5"},
		{Float32, []uint16{0x7FC0, 0}, "modbus: the float32 in the register is NaN, not a reading"},
		{Float32, []uint16{0x7F80, 0}, "modbus: the float32 in the register is +Inf, not a reading"},
		{Uint32, []uint16{1}, `modbus: 1 register(s) for a "uint32"`},
	} {
		t.Run(c.typ, func(t *testing.T) {
			v, err := Decode(c.typ, c.regs)
			got := strconv.FormatFloat(v, 'f', -1, 64)
			if err != nil {
				got = err.Error()
			}
			if got != c.want {
				t.Errorf("Decode(%s, %#x): got %s, want %s", c.typ, c.regs, got, c.want)
			}
		})
	}
}

// Decode of any registers: a finite number or an error, never a panic;
// the integer types give back their bits.
func FuzzDecode(f *testing.F) {
	f.Add(uint8(0), uint16(0), uint16(0), uint8(1))
	f.Add(uint8(4), uint16(0x7FC0), uint16(1), uint8(2))
	f.Add(uint8(3), uint16(0xFFFF), uint16(0xFFFF), uint8(2))
	f.Fuzz(func(t *testing.T, ti uint8, hi, lo uint16, n uint8) {
		typ := Types[int(ti)%len(Types)]
		regs := []uint16{hi, lo}[:min(int(n)%3, 2)]
		v, err := Decode(typ, regs)
		if err != nil {
			return
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("Decode(%s, %#x) = %v, want a finite number", typ, regs, v)
		}
		if typ == Uint32 && uint32(v) != uint32(hi)<<16|uint32(lo) {
			t.Fatalf("Decode(uint32, %#x) = %v, want %d", regs, v, uint32(hi)<<16|uint32(lo))
		}
	})
}

// BenchmarkRead is one read of a uint32 from a loopback server on a kept
// connection, client and server both: the CPU a meter read every second
// costs is this per second.
func BenchmarkRead(b *testing.B) {
	srv := startServer(b, "")
	srv.set(0, 1, 2)
	s, err := New(Config{Address: srv.addr, Type: Uint32})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Read(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
