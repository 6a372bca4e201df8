package registers_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/simonvetter/modbus"
	"go.uber.org/goleak"

	"github.com/hashgate/hashgate/grid/internal/gridtest"
	"github.com/hashgate/hashgate/grid/registers"
	"github.com/hashgate/hashgate/switcher"
)

// noLeaks checks, after every other cleanup (the server's, the
// switcher's), that the test's goroutines are gone.
func noLeaks(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

func connectedRigs(sw *switcher.Switcher) func() int64 {
	return func() int64 {
		n := int64(0)
		for _, r := range sw.Rigs() {
			if r.Connected {
				n++
			}
		}
		return n
	}
}

func startServer(t *testing.T, sw *switcher.Switcher, maxClients uint) *registers.Server {
	t.Helper()
	srv, err := registers.New(registers.Config{Listen: "127.0.0.1:0", UnitID: 3, Refresh: 100 * time.Millisecond,
		MaxClients: maxClients, IdleTimeout: 5 * time.Second, Switcher: sw, Connected: connectedRigs(sw)})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

func dial(t *testing.T, addr string, unit uint8) *modbus.ModbusClient {
	t.Helper()
	c, err := modbus.NewClient(&modbus.ClientConfiguration{URL: "tcp://" + addr, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.SetUnitId(unit); err != nil {
		t.Fatal(err)
	}
	return c
}

// read reads the whole map as a snapshot from one register type.
func read(t *testing.T, c *modbus.ModbusClient, rt modbus.RegType) *registers.Snapshot {
	t.Helper()
	regs, err := c.ReadRegisters(0, registers.NumRegisters, rt)
	if err != nil {
		t.Fatalf("read %d registers: got %v, want them read", registers.NumRegisters, err)
	}
	var s registers.Snapshot
	copy(s[:], regs)
	return &s
}

func near(a float32, b float64) bool { return math.Abs(float64(a)-b) < 1e-3 }

// checkMatches compares every figure of the map with a status.
func checkMatches(t *testing.T, what string, s *registers.Snapshot, st switcher.Status, connected int64) {
	t.Helper()
	floats := []struct {
		name string
		addr int
		want float64
	}{
		{"mining load", registers.AddrMiningLoadKW, st.MiningLoadKW},
		{"mining budget", registers.AddrMiningBudgetKW, st.MiningBudgetKW},
		{"cap", registers.AddrCapKW, st.CapKW},
		{"capacity", registers.AddrCapacityKW, st.CapacityKW},
		{"ai allocated", registers.AddrAIAllocatedKW, st.AIKW},
		{"mining measured", registers.AddrMiningMeasuredKW, st.MiningLoadMeasuredKW},
		{"reserve", registers.AddrReserveKW, st.ReserveKW},
	}
	for _, f := range floats {
		t.Run(f.name, func(t *testing.T) {
			if got := s.Float(f.addr); !near(got, f.want) {
				t.Errorf("%s: %s at %d: got %v, want %v", what, f.name, f.addr, got, f.want)
			}
		})
	}
	if got := s.Uint32(registers.AddrCurtailedRigs); int(got) != st.Curtailed {
		t.Errorf("%s: curtailed rigs: got %d, want %d", what, got, st.Curtailed)
	}
	if got := s.Uint32(registers.AddrConnectedRigs); int64(got) != connected {
		t.Errorf("%s: connected rigs: got %d, want %d", what, got, connected)
	}
	if got, want := s[registers.AddrCompliant] == 1, st.Compliant; got != want {
		t.Errorf("%s: compliant: got %v, want %v", what, got, want)
	}
	if got, want := s[registers.AddrFailsafe] == 1, st.Failsafe; got != want {
		t.Errorf("%s: failsafe: got %v, want %v", what, got, want)
	}
	if got, want := s[registers.AddrFlags]&registers.FlagCompliant != 0, st.Compliant; got != want {
		t.Errorf("%s: compliant flag bit: got %v, want %v", what, got, want)
	}
	if got := s[registers.AddrMapVersion]; got != registers.MapVersion {
		t.Errorf("%s: map version: got %d, want %d", what, got, registers.MapVersion)
	}
	if got := int64(s.Uint32(registers.AddrTimestamp)); got < time.Now().Unix()-5 || got > time.Now().Unix()+1 {
		t.Errorf("%s: timestamp: got %d, want about %d", what, got, time.Now().Unix())
	}
}

// A real Modbus client reads the figures of a real switcher, in holding
// and input registers alike, and sees an allocation within 2 s.
func TestRegistersMatchStatus(t *testing.T) {
	noLeaks(t)
	sw := gridtest.Switcher(t)
	srv := startServer(t, sw, 4)
	c := dial(t, srv.Addr(), 3)

	st := sw.Status()
	if st.MiningBudgetKW != 100 || st.Curtailed != 0 {
		t.Fatalf("test site: budget %v curtailed %d, want 100 and 0", st.MiningBudgetKW, st.Curtailed)
	}
	checkMatches(t, "holding", read(t, c, modbus.HOLDING_REGISTER), st, gridtest.Rigs)
	checkMatches(t, "input", read(t, c, modbus.INPUT_REGISTER), st, gridtest.Rigs)

	if _, _, err := sw.Allocate(switcher.AllocationRequest{AIKW: 80, Reason: "test"}, "desk"); err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	var s *registers.Snapshot
	gridtest.Eventually(t, registers.MaxRefresh, "the registers to show the 20 kW budget", func() bool {
		s = read(t, c, modbus.INPUT_REGISTER)
		return near(s.Float(registers.AddrMiningBudgetKW), 20)
	})
	t.Logf("the allocation reached the registers in %v", time.Since(at).Round(time.Millisecond))
	gridtest.Eventually(t, 5*time.Second, "the plan's curtails to make the site compliant", func() bool {
		st := sw.Status()
		return st.Curtailed > 0 && st.Compliant
	})
	gridtest.Eventually(t, registers.MaxRefresh, "the registers to match the status after the allocation", func() bool {
		s = read(t, c, modbus.HOLDING_REGISTER)
		return int(s.Uint32(registers.AddrCurtailedRigs)) == sw.Status().Curtailed
	})
	checkMatches(t, "after allocation", s, sw.Status(), gridtest.Rigs)
}

// The refresh counter moves on every refresh, even when nothing else does.
func TestCounterIncrements(t *testing.T) {
	noLeaks(t)
	sw := gridtest.Switcher(t)
	srv := startServer(t, sw, 4)
	c := dial(t, srv.Addr(), 255)
	first := read(t, c, modbus.INPUT_REGISTER).Uint32(registers.AddrCounter)
	gridtest.Eventually(t, 2*time.Second, "the counter to move twice", func() bool {
		return read(t, c, modbus.INPUT_REGISTER).Uint32(registers.AddrCounter) >= first+2
	})
}

// Writes, coils, addresses off the map and other units get exceptions.
func TestRefusals(t *testing.T) {
	noLeaks(t)
	sw := gridtest.Switcher(t)
	srv := startServer(t, sw, 4)
	c := dial(t, srv.Addr(), 3)
	before := read(t, c, modbus.HOLDING_REGISTER)
	cases := []struct {
		name string
		do   func(t *testing.T) error
		want error
	}{
		{"write one register", func(*testing.T) error { return c.WriteRegister(registers.AddrMiningBudgetKW, 1) }, modbus.ErrIllegalFunction},
		{"write registers", func(*testing.T) error { return c.WriteRegisters(0, []uint16{1, 2}) }, modbus.ErrIllegalFunction},
		{"write coil", func(*testing.T) error { return c.WriteCoil(0, true) }, modbus.ErrIllegalFunction},
		{"read coils", func(*testing.T) error { _, err := c.ReadCoils(0, 1); return err }, modbus.ErrIllegalFunction},
		{"read past the map", func(*testing.T) error {
			_, err := c.ReadRegisters(registers.NumRegisters-1, 2, modbus.INPUT_REGISTER)
			return err
		}, modbus.ErrIllegalDataAddress},
		{"read another unit", func(t *testing.T) error {
			other := dial(t, srv.Addr(), 7)
			_, err := other.ReadRegisters(0, 1, modbus.INPUT_REGISTER)
			return err
		}, modbus.ErrGWTargetFailedToRespond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(t); !errors.Is(err, tc.want) {
				t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
			}
		})
	}
	after := read(t, c, modbus.HOLDING_REGISTER)
	if !near(after.Float(registers.AddrMiningBudgetKW), float64(before.Float(registers.AddrMiningBudgetKW))) {
		t.Errorf("budget register after writes: got %v, want %v", after.Float(registers.AddrMiningBudgetKW), before.Float(registers.AddrMiningBudgetKW))
	}
}

// A client past max_clients is closed at once; the first is still served.
func TestMaxClients(t *testing.T) {
	noLeaks(t)
	sw := gridtest.Switcher(t)
	srv := startServer(t, sw, 1)
	first := dial(t, srv.Addr(), 3)
	read(t, first, modbus.INPUT_REGISTER)
	second := dial(t, srv.Addr(), 3)
	if regs, err := second.ReadRegisters(0, 1, modbus.INPUT_REGISTER); err == nil {
		t.Errorf("second client past max_clients 1: got an answer %v, want the connection closed", regs)
	}
	read(t, first, modbus.INPUT_REGISTER)
}

func TestConfigRefused(t *testing.T) {
	sw := gridtest.Switcher(t)
	for _, cfg := range []registers.Config{
		{Listen: "127.0.0.1:0"},
		{Listen: "127.0.0.1:0", Switcher: sw, Refresh: 3 * time.Second},
		{Listen: "nope", Switcher: sw},
	} {
		if _, err := registers.New(cfg); err == nil {
			t.Errorf("New(%+v): got no error, want one", cfg)
		}
	}
}
