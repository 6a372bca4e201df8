package vnish

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/hashgate/hashgate/internal/emu"
	emuvn "github.com/hashgate/hashgate/internal/emu/vnish"
	"github.com/hashgate/hashgate/switcher/device"
	"github.com/hashgate/hashgate/switcher/device/devicetest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testPassword = "vn1sh-Pa55"

type rig struct {
	dev *emu.Device
	emu *emuvn.Rig
	t   *device.Target
}

func startRig(t *testing.T, cfg emuvn.Config, faults emu.Faults) rig {
	t.Helper()
	if cfg.Password == "" {
		cfg.Password = testPassword
	}
	dev, r := devicetest.Start(t, emu.Config{MiningW: 3100, SleepingW: 35, HashrateTHs: 110,
		Pools: []string{"stratum+tcp://pool.example:3333"}}, faults, emuvn.Start, cfg)
	opts := &device.Options{Password: device.NewSecret(testPassword), Timeout: 2 * time.Second}
	return rig{dev: dev, emu: r, t: &device.Target{Rig: "vn-1", Address: r.Addr(), Options: opts}}
}

func TestCurtailResumeReadback(t *testing.T) {
	for _, field := range []string{emuvn.PowerConsumption, emuvn.PowerUsage, emuvn.PowerNone} {
		t.Run(field, func(t *testing.T) {
			rg := startRig(t, emuvn.Config{PowerField: field}, emu.Faults{})
			d := New(Config{})
			ctx := context.Background()
			hasPower := field != emuvn.PowerNone
			r := devicetest.Read(t, d, rg.t)
			if r.State != device.StateMining || !r.HasHashrate || r.HashrateTHs != 110 || r.HasPower != hasPower {
				t.Fatalf("before: got %+v, want mining at 110 TH/s, HasPower %v", r, hasPower)
			}
			if hasPower && r.PowerW != 3100 {
				t.Errorf("power: got %v W, want 3100", r.PowerW)
			}
			if len(r.Pools) != 1 || r.Pools[0] != "stratum+tcp://pool.example:3333" {
				t.Errorf("pools: got %v, want the configured one", r.Pools)
			}
			if err := d.Curtail(ctx, rg.t); err != nil {
				t.Fatalf("Curtail: %v", err)
			}
			r = devicetest.Read(t, d, rg.t)
			if r.State != device.StateSleeping || r.HashrateTHs != 0 || (hasPower && r.PowerW != 35) {
				t.Errorf("after curtail: got %+v, want sleeping, 0 TH/s, 35 W", r)
			}
			if err := d.Resume(ctx, rg.t); err != nil {
				t.Fatalf("Resume: %v", err)
			}
			if r = devicetest.Read(t, d, rg.t); r.State != device.StateMining || r.HashrateTHs != 110 {
				t.Errorf("after resume: got %+v, want mining at 110", r)
			}
			if c := rg.dev.Calls(); c.Curtails != 1 || c.Resumes != 1 || c.AuthFailures != 0 {
				t.Errorf("device calls: got %+v, want 1 curtail, 1 resume, no auth failure", c)
			}
		})
	}
}

func TestBadPassword(t *testing.T) {
	rg := startRig(t, emuvn.Config{}, emu.Faults{})
	d := New(Config{})
	bad := "wrong-Pa55word"
	rg.t.Options = &device.Options{Password: device.NewSecret(bad), Timeout: time.Second}
	for name, call := range map[string]func() error{
		"curtail":  func() error { return d.Curtail(context.Background(), rg.t) },
		"read":     func() error { _, err := d.Read(context.Background(), rg.t); return err },
		"setpools": func() error { return d.SetPools(context.Background(), rg.t, []device.Pool{{URL: "x"}}) },
	} {
		err := call()
		if !errors.Is(err, device.ErrAuth) {
			t.Errorf("%s: got %v, want ErrAuth", name, err)
			continue
		}
		if strings.Contains(err.Error(), bad) || strings.Contains(err.Error(), testPassword) {
			t.Errorf("%s: error %q contains a password; want !strings.Contains(err.Error(), bad), !strings.Contains(err.Error(), testPassword)", name, err)
		}
	}
	if c := rg.dev.Calls(); c.AuthFailures != 3 || c.Curtails != 0 {
		t.Errorf("device: got %+v, want 3 refused unlocks and no curtail", c)
	}
}

// The token is kept in t.Session, never printed, reused, and renewed
// once when the rig refuses it.
func TestTokenSession(t *testing.T) {
	rg := startRig(t, emuvn.Config{}, emu.Faults{})
	var dials atomic.Int64
	d := New(Config{Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}})
	devicetest.Read(t, d, rg.t)
	if n := dials.Load(); n != 2 {
		t.Errorf("first read: got %d connections, want 2 (unlock, summary)", n)
	}
	s, ok := rg.t.Session.(*session)
	if !ok {
		t.Fatalf("session: got %T, want *session", rg.t.Session)
	}
	tok := s.token.Reveal()
	if size := int(unsafe.Sizeof(*s)) + len(tok); size > 256 {
		t.Errorf("session size: got %d B, want at most 256", size)
	}
	if out := fmt.Sprintf("%v %+v", rg.t.Session, rg.t); strings.Contains(out, tok) {
		t.Errorf("printing the target shows the token: %s; want !strings.Contains(out, tok)", out)
	}
	dials.Store(0)
	devicetest.Read(t, d, rg.t)
	if n := dials.Load(); n != 1 {
		t.Errorf("second read: got %d connections, want 1 (token reused)", n)
	}
	rg.emu.ExpireTokens()
	dials.Store(0)
	if err := d.Curtail(context.Background(), rg.t); err != nil {
		t.Fatalf("curtail with an expired token: got %v, want success after re-unlock", err)
	}
	if n := dials.Load(); n != 3 {
		t.Errorf("expired token: got %d connections, want 3 (refused, unlock, retry)", n)
	}
	if c := rg.dev.Calls(); c.Curtails != 1 {
		t.Errorf("curtails: got %d, want exactly 1", c.Curtails)
	}
}

func TestHangTimesOut(t *testing.T) {
	rg := startRig(t, emuvn.Config{}, emu.Faults{Hang: true})
	for name, err := range devicetest.HangTimesOut(t, New(Config{}), rg.t) {
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: got %v, want a deadline error", name, err)
		}
	}
}

func TestLyingDevice(t *testing.T) {
	rg := startRig(t, emuvn.Config{}, emu.Faults{Lying: true})
	if r := devicetest.Lying(t, New(Config{}), rg.t); r.PowerW != 3100 {
		t.Errorf("lying rig after curtail: got %+v, want still mining at 3100 W", r)
	}
}

func TestSlowRestart(t *testing.T) {
	const restart = 300 * time.Millisecond
	rg := startRig(t, emuvn.Config{}, emu.Faults{RestartDelay: restart, Delay: 10 * time.Millisecond})
	devicetest.SlowRestart(t, New(Config{}), rg.t, restart, nil)
}

func TestSetPools(t *testing.T) {
	rg := startRig(t, emuvn.Config{}, emu.Faults{})
	d := New(Config{})
	ctx := context.Background()
	pw := "pool-Secret-9"
	want := []device.Pool{{URL: "stratum+tcp://hashgate:3333", User: "w1", Password: pw}, {URL: "stratum+tcp://hashgate-b:3333", User: "w1", Password: pw}}
	if err := d.SetPools(ctx, rg.t, want); err != nil {
		t.Fatalf("SetPools: %v", err)
	}
	got, err := d.Pools(ctx, rg.t)
	if err != nil {
		t.Fatalf("Pools: %v", err)
	}
	if len(got) != 2 || got[0] != want[0].URL || got[1] != want[1].URL {
		t.Errorf("pools: got %v, want %s, %s", got, want[0].URL, want[1].URL)
	}
}

func TestUnreachable(t *testing.T) {
	tg := &device.Target{Rig: "gone", Options: &device.Options{Password: device.NewSecret(testPassword), Timeout: time.Second}}
	devicetest.Unreachable(t, New(Config{}), tg)
}

// Many rigs at once through one driver: every curtail lands, and a hung
// rig costs only its own call.
func TestManyRigsOneDriver(t *testing.T) {
	devicetest.ManyRigsOneDriver(t, New(Config{}), func(hang bool) devicetest.Rig {
		rg := startRig(t, emuvn.Config{}, emu.Faults{Hang: hang})
		return devicetest.Rig{Dev: rg.dev, Target: rg.t}
	})
}

func BenchmarkRead(b *testing.B) {
	_, r := devicetest.Start(b, emu.Config{MiningW: 3100, HashrateTHs: 110}, emu.Faults{}, emuvn.Start, emuvn.Config{Password: testPassword})
	d := New(Config{})
	tg := &device.Target{Rig: "b", Address: r.Addr(), Options: &device.Options{Password: device.NewSecret(testPassword)}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Read(context.Background(), tg); err != nil {
			b.Fatal(err)
		}
	}
}
