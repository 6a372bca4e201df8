package sitemeter

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/simonvetter/modbus"
	"go.uber.org/goleak"
)

func TestProfileAt(t *testing.T) {
	p := Profile{{0, 100}, {10 * time.Second, 200}, {20 * time.Second, 200}}
	for _, c := range []struct {
		d    time.Duration
		want float64
	}{
		{0, 100}, {5 * time.Second, 150}, {10 * time.Second, 200}, {15 * time.Second, 200},
		{20 * time.Second, 100}, {25 * time.Second, 150}, // repeats
	} {
		t.Run(c.d.String(), func(t *testing.T) {
			if got := p.At(c.d); math.Abs(got-c.want) > 1e-9 {
				t.Errorf("At(%v) = %v, want %v", c.d, got, c.want)
			}
		})
	}
	if got := (Profile{{0, 42}}).At(time.Hour); got != 42 {
		t.Errorf("flat profile At = %v, want 42", got)
	}
	tr := Training(100*time.Second, 200, 1000)
	if got := tr.At(30 * time.Second); got != 1000 {
		t.Errorf("training plateau = %v, want 1000", got)
	}
	if got := tr.At(62 * time.Second); got != 1080 {
		t.Errorf("training spike = %v, want 1080", got)
	}
	if got := tr.At(90 * time.Second); got != 200 {
		t.Errorf("training after the job = %v, want 200", got)
	}
}

func TestMeterServesRegisters(t *testing.T) {
	defer goleak.VerifyNone(t)
	now := time.Unix(1_000_000, 0)
	m, err := Start(Config{Profile: Profile{{0, 250.5}}, Mining: func() float64 { return 700 }, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c, err := modbus.NewClient(&modbus.ClientConfiguration{URL: "tcp://" + m.Addr(), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Open(); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, r := range []struct {
		reg  uint16
		want float32
	}{{RegAI, 250.5}, {RegSite, 950.5}, {RegMining, 700}} {
		t.Run(fmt.Sprint("register ", r.reg), func(t *testing.T) {
			got, err := c.ReadFloat32(r.reg, modbus.HOLDING_REGISTER)
			if err != nil || got != r.want {
				t.Errorf("register %d = %v, %v; want %v", r.reg, got, err, r.want)
			}
		})
	}
	if err := c.WriteRegister(RegAI, 1); err == nil {
		t.Errorf("a write to register %d: got accepted, want it refused", RegAI)
	}
	if regs, err := c.ReadRegisters(10, 2, modbus.HOLDING_REGISTER); err == nil {
		t.Errorf("register 10: got read as %v, want illegal data address", regs)
	}
}
