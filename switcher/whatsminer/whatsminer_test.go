package whatsminer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hashgate/hashgate/internal/emu"
	emuwm "github.com/hashgate/hashgate/internal/emu/whatsminer"
	"github.com/hashgate/hashgate/switcher/device"
	"github.com/hashgate/hashgate/switcher/device/devicetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	miningW   = 3400
	sleepingW = 20
	hashTHs   = 112
	password  = "s3cret-Adm1n"
)

type world struct {
	dev *emu.Device
	rig *emuwm.Rig
	tgt *device.Target
	drv *Driver
}

func start(t *testing.T, f emu.Faults, cfg emuwm.Config) *world {
	t.Helper()
	if cfg.Password == "" {
		cfg.Password = password
	}
	dev, rig := devicetest.Start(t, emu.Config{MiningW: miningW, SleepingW: sleepingW, HashrateTHs: hashTHs,
		Pools: []string{"stratum+tcp://elsewhere.example:3333"}}, f, emuwm.Start, cfg)
	opts := &device.Options{Timeout: 2 * time.Second, Password: device.NewSecret(password)}
	return &world{dev: dev, rig: rig, drv: New(Config{}), tgt: &device.Target{Rig: "w1", Address: rig.Addr(), Options: opts}}
}

func (w *world) read(t *testing.T) device.Reading {
	t.Helper()
	return devicetest.Read(t, w.drv, w.tgt)
}

func TestCurtailResumeReadback(t *testing.T) {
	w := start(t, emu.Faults{}, emuwm.Config{})
	ctx := context.Background()
	r := w.read(t)
	if r.State != device.StateMining || !r.HasPower || r.PowerW != miningW || !r.HasHashrate || r.HashrateTHs != hashTHs {
		t.Fatalf("before: got %+v, want mining at %v W, %v TH/s", r, miningW, hashTHs)
	}
	if err := w.drv.Curtail(ctx, w.tgt); err != nil {
		t.Fatalf("Curtail: %v", err)
	}
	if r = w.read(t); r.State != device.StateSleeping || r.PowerW != sleepingW || r.HashrateTHs != 0 {
		t.Fatalf("after Curtail: got %+v, want sleeping at %v W, 0 TH/s", r, sleepingW)
	}
	if err := w.drv.Resume(ctx, w.tgt); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	if r = w.read(t); r.State != device.StateMining || r.PowerW != miningW {
		t.Fatalf("after Resume: got %+v, want mining", r)
	}
	if n := w.rig.Tokens(); n != 1 {
		t.Errorf("rig holds %d tokens after two commands, want 1 (the token is reused)", n)
	}
	if got := fmt.Sprintf("%v %+v %#v", w.tgt.Session, w.tgt.Session, w.tgt.Session); strings.Contains(got, w.tgt.Session.(*session).key) {
		t.Errorf("printing the session shows its key: %s; want !strings.Contains(got, w.tgt.Session.(*session).key)", got)
	}
}

func TestBadPassword(t *testing.T) {
	w := start(t, emu.Faults{}, emuwm.Config{})
	w.tgt.Options.Password = device.NewSecret("wrong-pass-123")
	err := w.drv.Curtail(context.Background(), w.tgt)
	if !errors.Is(err, device.ErrAuth) {
		t.Fatalf("Curtail with a wrong password: got %v, want ErrAuth", err)
	}
	if device.Retryable(err) {
		t.Errorf("ErrAuth must not be retryable: %v", err)
	}
	for _, s := range []string{"wrong-pass-123", password} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q holds a password", err)
		}
	}
	if w.tgt.Session != nil {
		t.Errorf("a refused token stays cached: %v; want w.tgt.Session == nil", w.tgt.Session)
	}
	if c := w.dev.Calls(); c.Curtails != 0 || c.AuthFailures == 0 {
		t.Errorf("device calls %+v, want no curtail and an auth failure", c)
	}
}

func TestExpiredTokenIsRenewed(t *testing.T) {
	w := start(t, emu.Faults{}, emuwm.Config{})
	ctx := context.Background()
	if err := w.drv.Curtail(ctx, w.tgt); err != nil {
		t.Fatal(err)
	}
	old := w.tgt.Session
	w.rig.ExpireTokens()
	if err := w.drv.Resume(ctx, w.tgt); err != nil {
		t.Fatalf("Resume with an expired cached token: got %v, want a new token and success", err)
	}
	if w.tgt.Session == old {
		t.Errorf("session after the expired token: got the same %v, want a new one", w.tgt.Session)
	}
	if r := w.read(t); r.State != device.StateMining {
		t.Fatalf("got %v, want mining", r.State)
	}
}

func TestOldTokenIsReplacedBeforeUse(t *testing.T) {
	w := start(t, emu.Faults{}, emuwm.Config{TokenTTL: time.Hour})
	now := time.Now()
	w.drv = New(Config{TokenTTL: time.Minute, Now: func() time.Time { return now }})
	if err := w.drv.Curtail(context.Background(), w.tgt); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Minute)
	if err := w.drv.Resume(context.Background(), w.tgt); err != nil {
		t.Fatal(err)
	}
	if n := w.rig.Tokens(); n != 2 {
		t.Errorf("rig holds %d tokens, want 2 (a new one after the driver's TTL)", n)
	}
	if c := w.dev.Calls(); c.AuthFailures != 0 {
		t.Errorf("%d refused commands, want 0: the old token should not be tried", c.AuthFailures)
	}
}

func TestTokenLimitIsBusy(t *testing.T) {
	w := start(t, emu.Faults{}, emuwm.Config{TokenLimit: 2})
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		other := &device.Target{Rig: "other", Address: w.tgt.Address, Options: w.tgt.Options}
		if err := w.drv.Curtail(ctx, other); err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
	}
	err := w.drv.Curtail(ctx, w.tgt)
	if !errors.Is(err, device.ErrBusy) || !device.Retryable(err) {
		t.Fatalf("past the token limit: got %v, want a retryable ErrBusy", err)
	}
}

func TestHangTimesOut(t *testing.T) {
	w := start(t, emu.Faults{Hang: true}, emuwm.Config{})
	devicetest.HangTimesOut(t, w.drv, w.tgt)
}

func TestLyingDevice(t *testing.T) {
	w := start(t, emu.Faults{Lying: true}, emuwm.Config{})
	devicetest.Lying(t, w.drv, w.tgt)
}

func TestSlowRestart(t *testing.T) {
	w := start(t, emu.Faults{RestartDelay: 300 * time.Millisecond}, emuwm.Config{})
	devicetest.SlowRestart(t, w.drv, w.tgt, 300*time.Millisecond, nil)
}

func TestSplitAnswersOverTCP(t *testing.T) {
	for _, chunk := range []int{1, 7, 64} {
		w := start(t, emu.Faults{}, emuwm.Config{Chunk: chunk})
		if err := w.drv.Curtail(context.Background(), w.tgt); err != nil {
			t.Errorf("chunk %d: Curtail: %v", chunk, err)
		}
		if r := w.read(t); r.State != device.StateSleeping {
			t.Errorf("chunk %d: got %v, want sleeping", chunk, r.State)
		}
	}
}

func TestPoolsAndSetPools(t *testing.T) {
	w := start(t, emu.Faults{}, emuwm.Config{})
	ctx := context.Background()
	got, err := w.drv.Pools(ctx, w.tgt)
	if err != nil || len(got) != 1 || got[0] != "stratum+tcp://elsewhere.example:3333" {
		t.Fatalf("Pools: got %v, %v; want err == nil, len(got) == 1, got[0] == \"stratum+tcp://elsewhere.example:3333\"", got, err)
	}
	want := []device.Pool{{URL: "stratum+tcp://hashgate:3333", User: "w1", Password: "x"}}
	if err := w.drv.SetPools(ctx, w.tgt, want); err != nil {
		t.Fatalf("SetPools: %v", err)
	}
	if got, err = w.drv.Pools(ctx, w.tgt); err != nil || len(got) != 1 || got[0] != want[0].URL {
		t.Fatalf("Pools after SetPools: got %v, %v; want %s", got, err, want[0].URL)
	}
	four := make([]device.Pool, 4)
	if err := w.drv.SetPools(ctx, w.tgt, four); !errors.Is(err, device.ErrUnsupported) {
		t.Errorf("4 pools: got %v, want ErrUnsupported", err)
	}
}

func TestReadWhenSummaryStopsAsleep(t *testing.T) {
	w := start(t, emu.Faults{}, emuwm.Config{NoSummaryAsleep: true})
	if err := w.drv.Curtail(context.Background(), w.tgt); err != nil {
		t.Fatal(err)
	}
	r := w.read(t)
	if r.State != device.StateSleeping || r.HasPower || r.HasHashrate {
		t.Fatalf("got %+v, want sleeping from status, no power or hashrate", r)
	}
}
