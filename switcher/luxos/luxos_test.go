package luxos

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hashgate/hashgate/internal/emu"
	emuluxos "github.com/hashgate/hashgate/internal/emu/luxos"
	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/switcher/device"
	"github.com/hashgate/hashgate/switcher/device/devicetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	miningW   = 3250
	sleepingW = 30
	hashTHs   = 104.5
)

type world struct {
	dev *emu.Device
	rig *emuluxos.Rig
	tgt *device.Target
	drv *Driver
}

func start(t *testing.T, f emu.Faults, cfg emuluxos.Config) *world {
	t.Helper()
	dev, rig := devicetest.Start(t, emu.Config{MiningW: miningW, SleepingW: sleepingW, HashrateTHs: hashTHs,
		Pools: []string{"stratum+tcp://elsewhere.example:3333"}}, f, emuluxos.Start, cfg)
	return &world{dev: dev, rig: rig, drv: New(Config{}), tgt: newTarget(rig.Addr())}
}

func newTarget(addr string) *device.Target {
	opts := &device.Options{Timeout: 2 * time.Second, Password: device.NewSecret("never-used-pw")}
	return &device.Target{Rig: "r1", Address: addr, Options: opts}
}

func (w *world) read(t *testing.T) device.Reading {
	t.Helper()
	return devicetest.Read(t, w.drv, w.tgt)
}

func TestCurtailResumeReadback(t *testing.T) {
	w := start(t, emu.Faults{}, emuluxos.Config{})
	ctx := context.Background()
	r := w.read(t)
	if r.State != device.StateMining || !r.HasPower || r.PowerW != miningW || !r.HasHashrate || r.HashrateTHs != hashTHs {
		t.Fatalf("before: got %+v, want mining at %v W, %v TH/s", r, miningW, hashTHs)
	}
	if err := w.drv.Curtail(ctx, w.tgt); err != nil {
		t.Fatalf("Curtail: %v", err)
	}
	if s := w.rig.Session(); s != "" {
		t.Errorf("after Curtail the session is %q, want it logged off", s)
	}
	if w.tgt.Session != nil {
		t.Errorf("Target.Session = %v, want nil after a clean logoff", w.tgt.Session)
	}
	r = w.read(t)
	if r.State != device.StateSleeping || r.PowerW != sleepingW || r.HashrateTHs != 0 {
		t.Fatalf("after Curtail: got %+v, want sleeping at %v W, 0 TH/s", r, sleepingW)
	}
	if err := w.drv.Resume(ctx, w.tgt); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	if r = w.read(t); r.State != device.StateMining || r.PowerW != miningW {
		t.Fatalf("after Resume: got %+v, want mining", r)
	}
	if c := w.dev.Calls(); c.Curtails != 1 || c.Resumes != 1 {
		t.Errorf("device calls %+v, want 1 curtail and 1 resume", c)
	}
}

func TestHeldSessionIsBusyNotFought(t *testing.T) {
	w := start(t, emu.Faults{}, emuluxos.Config{})
	w.rig.HoldSession(true)
	held := w.rig.Session()
	err := w.drv.Curtail(context.Background(), w.tgt)
	if !errors.Is(err, device.ErrBusy) {
		t.Fatalf("Curtail with a held session: got %v, want ErrBusy", err)
	}
	if !device.Retryable(err) {
		t.Errorf("ErrBusy should be retryable: %v", err)
	}
	if got := w.rig.Session(); got != held {
		t.Errorf("the other client's session is %q after our call, want it untouched (%q)", got, held)
	}
	if c := w.dev.Calls(); c.Curtails != 0 {
		t.Errorf("device got %d curtails, want 0", c.Curtails)
	}
}

func TestHeldSessionExpires(t *testing.T) {
	w := start(t, emu.Faults{}, emuluxos.Config{SessionTTL: 100 * time.Millisecond})
	w.rig.HoldSession(false)
	if err := w.drv.Curtail(context.Background(), w.tgt); !errors.Is(err, device.ErrBusy) {
		t.Fatalf("first Curtail: got %v, want ErrBusy", err)
	}
	sim.WaitFor(t, 2*time.Second, "curtail after the held session expired (nil error)", func() (bool, any) {
		err := w.drv.Curtail(context.Background(), w.tgt)
		return err == nil, err
	})
	if r := w.read(t); r.State != device.StateSleeping {
		t.Fatalf("got %v, want sleeping", r.State)
	}
}

func TestStaleSessionOfOursIsDropped(t *testing.T) {
	w := start(t, emu.Faults{}, emuluxos.Config{})
	// A session of ours whose logoff failed last time.
	sid, err := w.drv.logon(context.Background(), w.tgt.HostPort(DefaultPort))
	if err != nil {
		t.Fatal(err)
	}
	w.tgt.Session = &session{stale: sid}
	if err := w.drv.Curtail(context.Background(), w.tgt); err != nil {
		t.Fatalf("Curtail with our stale session: %v", err)
	}
	if w.tgt.Session != nil || w.rig.Session() != "" {
		t.Errorf("session left: target %v, rig %q; want none", w.tgt.Session, w.rig.Session())
	}
}

func TestHangTimesOut(t *testing.T) {
	w := start(t, emu.Faults{Hang: true}, emuluxos.Config{})
	devicetest.HangTimesOut(t, w.drv, w.tgt)
}

func TestContextCancelEndsCall(t *testing.T) {
	w := start(t, emu.Faults{Hang: true}, emuluxos.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	t0 := time.Now()
	_, err := w.drv.Read(ctx, w.tgt)
	if !errors.Is(err, context.Canceled) || time.Since(t0) > time.Second {
		t.Fatalf("got %v after %v, want context.Canceled soon after 50ms", err, time.Since(t0))
	}
}

func TestLyingDevice(t *testing.T) {
	w := start(t, emu.Faults{Lying: true}, emuluxos.Config{})
	devicetest.Lying(t, w.drv, w.tgt)
}

func TestSlowRestart(t *testing.T) {
	w := start(t, emu.Faults{RestartDelay: 300 * time.Millisecond}, emuluxos.Config{})
	devicetest.SlowRestart(t, w.drv, w.tgt, 300*time.Millisecond, nil)
}

func TestSplitAnswersOverTCP(t *testing.T) {
	for _, cfg := range []emuluxos.Config{{Chunk: 1}, {Chunk: 7}, {NoNUL: true}, {Chunk: 5, NoNUL: true}} {
		w := start(t, emu.Faults{}, cfg)
		if r := w.read(t); r.State != device.StateMining || r.PowerW != miningW {
			t.Errorf("cfg %+v: got %+v, want mining at %v W", cfg, r, miningW)
		}
		if err := w.drv.Curtail(context.Background(), w.tgt); err != nil {
			t.Errorf("cfg %+v: Curtail: %v", cfg, err)
		}
	}
}

func TestPoolsAndSetPools(t *testing.T) {
	w := start(t, emu.Faults{}, emuluxos.Config{})
	ctx := context.Background()
	got, err := w.drv.Pools(ctx, w.tgt)
	if err != nil || len(got) != 1 || got[0] != "stratum+tcp://elsewhere.example:3333" {
		t.Fatalf("Pools: got %v, %v; want the one configured pool", got, err)
	}
	want := []device.Pool{{URL: "stratum+tcp://hashgate:3333", User: "r1", Password: "x"}, {URL: "stratum+tcp://hashgate2:3333", User: "r1", Password: "x"}}
	if err := w.drv.SetPools(ctx, w.tgt, want); err != nil {
		t.Fatalf("SetPools: %v", err)
	}
	got, err = w.drv.Pools(ctx, w.tgt)
	if err != nil || strings.Join(got, " ") != want[0].URL+" "+want[1].URL {
		t.Fatalf("Pools after SetPools: got %v, %v; want %s %s", got, err, want[0].URL, want[1].URL)
	}
	if d := w.dev.Peek().Pools; len(d) != 2 {
		t.Errorf("device pools %v, want 2", d)
	}
}

func TestSetPoolsErrorHidesPoolPassword(t *testing.T) {
	w := start(t, emu.Faults{}, emuluxos.Config{})
	// No user: the emulator refuses the addpool.
	err := w.drv.SetPools(context.Background(), w.tgt, []device.Pool{{URL: "stratum+tcp://h:1", Password: "pool-secret-77"}})
	if !errors.Is(err, device.ErrRefused) || strings.Contains(err.Error(), "pool-secret-77") {
		t.Fatalf("got %v, want ErrRefused without the pool password", err)
	}
	err = w.drv.SetPools(context.Background(), w.tgt, []device.Pool{{URL: "stratum+tcp://h:1", User: "u", Password: "a,b"}})
	if !errors.Is(err, device.ErrUnsupported) || strings.Contains(err.Error(), "a,b") {
		t.Fatalf("comma in a field: got %v, want ErrUnsupported without the value", err)
	}
}

func TestUnreachable(t *testing.T) {
	w := start(t, emu.Faults{}, emuluxos.Config{})
	devicetest.Unreachable(t, w.drv, w.tgt)
}
