package antminer

import (
	"bytes"
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
	emuam "github.com/hashgate/hashgate/internal/emu/antminer"
	"github.com/hashgate/hashgate/switcher/device"
	"github.com/hashgate/hashgate/switcher/device/devicetest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testPassword = "s3cret-Pa55"

type rig struct {
	dev *emu.Device
	emu *emuam.Rig
	t   *device.Target
}

func startRig(t *testing.T, cfg emuam.Config, faults emu.Faults) rig {
	t.Helper()
	if cfg.Password == "" {
		cfg.Password = testPassword
	}
	dev, r := devicetest.Start(t, emu.Config{MiningW: 3250, SleepingW: 40, HashrateTHs: 104,
		Pools: []string{"stratum+tcp://pool.example:3333"}}, faults, emuam.Start, cfg)
	opts := &device.Options{User: "root", Password: device.NewSecret(testPassword), Timeout: 2 * time.Second}
	return rig{dev: dev, emu: r, t: &device.Target{Rig: "s19-1", Address: r.Addr(), Options: opts}}
}

func TestCurtailResumeReadback(t *testing.T) {
	for _, power := range []bool{false, true} {
		rg := startRig(t, emuam.Config{ReportPower: power}, emu.Faults{})
		d := New(Config{})
		ctx := context.Background()
		r := devicetest.Read(t, d, rg.t)
		if r.State != device.StateMining || !r.HasHashrate || r.HashrateTHs != 104 || r.HasPower != power {
			t.Fatalf("power=%v before: got %+v, want mining at 104 TH/s, HasPower %v", power, r, power)
		}
		if power && r.PowerW != 3250 {
			t.Errorf("power before: got %v W, want 3250", r.PowerW)
		}
		if len(r.Pools) != 1 || r.Pools[0] != "stratum+tcp://pool.example:3333" {
			t.Errorf("pools: got %v, want the one configured", r.Pools)
		}
		if err := d.Curtail(ctx, rg.t); err != nil {
			t.Fatalf("Curtail: %v", err)
		}
		r = devicetest.Read(t, d, rg.t)
		if r.State != device.StateSleeping || r.HashrateTHs != 0 || (power && r.PowerW != 40) {
			t.Errorf("after curtail: got %+v, want sleeping, 0 TH/s, 40 W", r)
		}
		if m := rg.emu.Mode(); m != 1 {
			t.Errorf("configured mode after curtail: got %d, want 1", m)
		}
		if err := d.Resume(ctx, rg.t); err != nil {
			t.Fatalf("Resume: %v", err)
		}
		if r = devicetest.Read(t, d, rg.t); r.State != device.StateMining || r.HashrateTHs != 104 {
			t.Errorf("after resume: got %+v, want mining at 104", r)
		}
		if c := rg.dev.Calls(); c.Curtails != 1 || c.Resumes != 1 || c.AuthFailures != 0 {
			t.Errorf("device calls: got %+v, want 1 curtail, 1 resume, 0 auth failures", c)
		}
	}
}

func TestBadCredentials(t *testing.T) {
	rg := startRig(t, emuam.Config{}, emu.Faults{})
	d := New(Config{})
	bad := "wrong-Pa55word"
	rg.t.Options = &device.Options{User: "root", Password: device.NewSecret(bad), Timeout: time.Second}
	calls := map[string]func() error{
		"curtail": func() error { return d.Curtail(context.Background(), rg.t) },
		"read":    func() error { _, err := d.Read(context.Background(), rg.t); return err },
		"pools":   func() error { _, err := d.Pools(context.Background(), rg.t); return err },
	}
	for name, call := range calls {
		err := call()
		if !errors.Is(err, device.ErrAuth) {
			t.Errorf("%s: got %v, want ErrAuth", name, err)
			continue
		}
		if strings.Contains(err.Error(), bad) || strings.Contains(err.Error(), testPassword) {
			t.Errorf("%s: error %q contains a password; want !strings.Contains(err.Error(), bad), !strings.Contains(err.Error(), testPassword)", name, err)
		}
	}
	if c := rg.dev.Calls(); c.AuthFailures == 0 || c.Curtails != 0 {
		t.Errorf("device: got %+v, want auth failures counted and no curtail", c)
	}
	// No options at all: root with no password, refused the same way.
	rg.t.Options = nil
	if _, err := d.Read(context.Background(), rg.t); !errors.Is(err, device.ErrAuth) {
		t.Errorf("nil options: got %v, want ErrAuth", err)
	}
}

func TestHangTimesOut(t *testing.T) {
	rg := startRig(t, emuam.Config{}, emu.Faults{Hang: true})
	for name, err := range devicetest.HangTimesOut(t, New(Config{}), rg.t) {
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: got %v, want it to wrap context.DeadlineExceeded", name, err)
		}
	}
}

func TestCallerContextBounds(t *testing.T) {
	rg := startRig(t, emuam.Config{}, emu.Faults{Hang: true})
	d := New(Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if rd, err := d.Read(ctx, rg.t); err == nil {
		t.Fatalf("Read of a hung rig: got %+v and a nil error after %v, want an error", rd, time.Since(start))
	}
	if took := time.Since(start); took > devicetest.HangBound {
		t.Errorf("took %v with a 100ms ctx and a 2s option timeout, want under %v", took, devicetest.HangBound)
	}
}

func TestLyingDevice(t *testing.T) {
	rg := startRig(t, emuam.Config{ReportPower: true}, emu.Faults{Lying: true})
	if r := devicetest.Lying(t, New(Config{}), rg.t); r.HashrateTHs != 104 || r.PowerW != 3250 {
		t.Errorf("lying rig after curtail: got %+v, want still mining at 104 TH/s, 3250 W", r)
	}
}

func TestNoWake(t *testing.T) {
	rg := startRig(t, emuam.Config{}, emu.Faults{NoWake: true})
	d := New(Config{})
	ctx := context.Background()
	if err := d.Curtail(ctx, rg.t); err != nil {
		t.Fatal(err)
	}
	if err := d.Resume(ctx, rg.t); err != nil {
		t.Fatalf("Resume: got %v, want nil (it says ok)", err)
	}
	if r := devicetest.Read(t, d, rg.t); r.State != device.StateSleeping {
		t.Errorf("after resume of a no-wake rig: got %v, want sleeping", r.State)
	}
}

func TestSlowRestart(t *testing.T) {
	const restart = 300 * time.Millisecond
	rg := startRig(t, emuam.Config{}, emu.Faults{RestartDelay: restart, Delay: 20 * time.Millisecond})
	devicetest.SlowRestart(t, New(Config{}), rg.t, restart, nil)
}

// The field quirk: a write of only bitmain-work-mode is answered with
// success and ignored. Proves the emulator has it, and so that Curtail
// (which succeeded above) does not rely on that key.
func TestWorkModeOnlyWriteIgnored(t *testing.T) {
	rg := startRig(t, emuam.Config{}, emu.Faults{})
	d := New(Config{})
	b, err := d.call(context.Background(), rg.t, "POST", "/cgi-bin/set_miner_conf.cgi", []byte(`{"bitmain-work-mode":"1"}`), true)
	if err != nil {
		t.Fatalf("write: %v", err)
	}
	if err := parseSetResult(b); err != nil {
		t.Fatalf("answer: got %v, want success (the quirk)", err)
	}
	if r := devicetest.Read(t, d, rg.t); r.State != device.StateMining {
		t.Errorf("after a work-mode-only write: got %v, want mining (ignored)", r.State)
	}
	if c := rg.dev.Calls(); c.Curtails != 0 {
		t.Errorf("device curtails: got %d, want 0", c.Curtails)
	}
}

func TestPools(t *testing.T) {
	rg := startRig(t, emuam.Config{}, emu.Faults{})
	d := New(Config{})
	ctx := context.Background()
	if err := d.Curtail(ctx, rg.t); err != nil {
		t.Fatal(err)
	}
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
		t.Errorf("pools: got %v, want %v then %v", got, want[0].URL, want[1].URL)
	}
	if m := rg.emu.Mode(); m != 1 {
		t.Errorf("mode after SetPools on a sleeping rig: got %d, want 1 (kept)", m)
	}
	if r := devicetest.Read(t, d, rg.t); r.State != device.StateSleeping {
		t.Errorf("state after SetPools: got %v, want sleeping", r.State)
	}
	four := append(want, want...)
	err = d.SetPools(ctx, rg.t, four)
	if !errors.Is(err, device.ErrUnsupported) || strings.Contains(err.Error(), pw) {
		t.Errorf("four pools: got %v, want ErrUnsupported without the pool password", err)
	}
}

// requestConn counts the HTTP requests written on a connection.
type requestConn struct {
	net.Conn
	reqs *atomic.Int64
}

func (c requestConn) Write(b []byte) (int, error) {
	if bytes.HasPrefix(b, []byte("GET ")) || bytes.HasPrefix(b, []byte("POST ")) {
		c.reqs.Add(1)
	}
	return c.Conn.Write(b)
}

// The digest challenge is kept in t.Session: the second call needs no
// 401 round trip, and a rotated nonce is recovered from in one call.
// Each call's requests share one connection.
func TestDigestSessionReuse(t *testing.T) {
	rg := startRig(t, emuam.Config{}, emu.Faults{})
	var dials, reqs atomic.Int64
	d := New(Config{Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return requestConn{Conn: c, reqs: &reqs}, nil
	}})
	devicetest.Read(t, d, rg.t)
	if n, r := dials.Load(), reqs.Load(); n != 1 || r != 3 {
		t.Errorf("first read: got %d requests on %d connections, want 3 (401, conf, stats) on 1", r, n)
	}
	ch, ok := rg.t.Session.(*challenge)
	if !ok {
		t.Fatalf("session: got %T, want *challenge", rg.t.Session)
	}
	size := int(unsafe.Sizeof(*ch)) + len(ch.realm) + len(ch.nonce) + len(ch.opaque) + len(ch.qop)
	if size > 512 {
		t.Errorf("session size: got %d B, want at most 512 (the fleet budgets 2 KiB a rig)", size)
	}
	t.Logf("session: %d B", size)
	dials.Store(0)
	reqs.Store(0)
	devicetest.Read(t, d, rg.t)
	if n, r := dials.Load(), reqs.Load(); n != 1 || r != 2 {
		t.Errorf("second read: got %d requests on %d connections, want 2 (no 401) on 1", r, n)
	}
	rg.emu.RotateNonce()
	if _, err := d.Read(context.Background(), rg.t); err != nil {
		t.Errorf("read after nonce rotation: got %v, want success", err)
	}
}

func TestRefusedWrite(t *testing.T) {
	if err := parseSetResult([]byte(`{"stats":"error","code":"M001","msg":"Illegal"}`)); !errors.Is(err, device.ErrRefused) {
		t.Errorf("error answer: got %v, want ErrRefused", err)
	}
	if err := parseSetResult([]byte(`<html>`)); !errors.Is(err, device.ErrProtocol) {
		t.Errorf("html answer: got %v, want ErrProtocol", err)
	}
}

func TestUnreachable(t *testing.T) {
	tg := &device.Target{Rig: "gone", Options: &device.Options{Timeout: time.Second}}
	devicetest.Unreachable(t, New(Config{}), tg)
}

// Many rigs at once through one driver: every curtail lands, and a hung
// rig costs only its own call.
func TestManyRigsOneDriver(t *testing.T) {
	devicetest.ManyRigsOneDriver(t, New(Config{}), func(hang bool) devicetest.Rig {
		rg := startRig(t, emuam.Config{}, emu.Faults{Hang: hang})
		return devicetest.Rig{Dev: rg.dev, Target: rg.t}
	})
}

func BenchmarkRead(b *testing.B) {
	_, r := devicetest.Start(b, emu.Config{MiningW: 3250, HashrateTHs: 104}, emu.Faults{}, emuam.Start, emuam.Config{Password: testPassword})
	d := New(Config{})
	tg := &device.Target{Rig: "b", Address: r.Addr(), Options: &device.Options{Password: device.NewSecret(testPassword)}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Read(context.Background(), tg); err != nil {
			b.Fatal(err)
		}
	}
}

// The slow answer (Faults.Delay stands for the ~20 s of set_miner_conf):
// within the timeout it succeeds, beyond it the call fails at ~timeout.
func TestSlowAnswer(t *testing.T) {
	cases := []struct {
		delay, timeout time.Duration
		ok             bool
	}{
		{100 * time.Millisecond, time.Second, true},
		{time.Second, 200 * time.Millisecond, false},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("delay %v timeout %v", tc.delay, tc.timeout), func(t *testing.T) {
			rg := startRig(t, emuam.Config{}, emu.Faults{Delay: tc.delay})
			rg.t.Options.Timeout = tc.timeout
			start := time.Now()
			err := New(Config{}).Curtail(context.Background(), rg.t)
			took := time.Since(start)
			if (err == nil) != tc.ok {
				t.Errorf("delay %v timeout %v: got %v, want ok=%v", tc.delay, tc.timeout, err, tc.ok)
			}
			if !tc.ok && took > 2*tc.timeout {
				t.Errorf("delay %v timeout %v: took %v, want about the timeout", tc.delay, tc.timeout, took)
			}
		})
	}
}
