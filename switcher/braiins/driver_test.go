package braiins

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/emu"
	emubraiins "github.com/hashgate/hashgate/internal/emu/braiins"
	"github.com/hashgate/hashgate/switcher/device"
	"github.com/hashgate/hashgate/switcher/device/devicetest"
)

func TestCurtailResumeReadback(t *testing.T) {
	w := newWorld(t, emubraiins.Config{})
	d := New(Config{})

	r, err := d.Read(devicetest.Context(t), w.tgt)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	want := device.Reading{State: device.StateMining, PowerW: 3250, HasPower: true, HashrateTHs: 110, HasHashrate: true}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("read before curtail: got %+v, want %+v", r, want)
	}

	if err := d.Curtail(devicetest.Context(t), w.tgt); err != nil {
		t.Fatalf("curtail: %v", err)
	}
	if st := w.dev.Peek(); st.Mining {
		t.Fatalf("device after curtail: got %+v (mining), want asleep", st)
	}
	r, err = d.Read(devicetest.Context(t), w.tgt)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	want = device.Reading{State: device.StateSleeping, PowerW: 40, HasPower: true, HashrateTHs: 0, HasHashrate: true}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("read after curtail: got %+v, want %+v", r, want)
	}

	if err := d.Resume(devicetest.Context(t), w.tgt); err != nil {
		t.Fatalf("resume: %v", err)
	}
	r, err = d.Read(devicetest.Context(t), w.tgt)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if r.State != device.StateMining || r.PowerW != 3250 {
		t.Fatalf("read after resume: got %v %v W, want mining 3250 W", r.State, r.PowerW)
	}
	if n := w.rig.Logins(); n != 1 {
		t.Fatalf("logins over 5 calls: got %d, want 1 (the token is reused)", n)
	}
	if s, ok := w.tgt.Session.(*session); !ok || s.token == "" {
		t.Fatalf("session: got %#v, want a token kept in Target.Session", w.tgt.Session)
	}
}

func TestStatusAsProtoName(t *testing.T) {
	w := newWorld(t, emubraiins.Config{StatusNames: true})
	d := New(Config{})
	if err := d.Curtail(devicetest.Context(t), w.tgt); err != nil {
		t.Fatalf("curtail: %v", err)
	}
	r, err := d.Read(devicetest.Context(t), w.tgt)
	if err != nil || r.State != device.StateSleeping {
		t.Fatalf("read: got %v, %v; want sleeping, nil", r.State, err)
	}
}

func TestBadCredentials(t *testing.T) {
	w := newWorld(t, emubraiins.Config{Password: "the-real-one"})
	d := New(Config{})
	err := d.Curtail(devicetest.Context(t), w.tgt)
	if !errors.Is(err, device.ErrAuth) {
		t.Fatalf("curtail with a wrong password: got %v, want ErrAuth", err)
	}
	if device.Retryable(err) {
		t.Fatalf("Retryable(%v): got true, want false", err)
	}
	if strings.Contains(err.Error(), testPassword) {
		t.Fatalf("error %q contains the password", err)
	}
	if w.dev.Peek().Mining != true || w.dev.Calls().Curtails != 0 {
		t.Fatalf("device: got %+v, want untouched and mining", w.dev.Calls())
	}
	if n := w.dev.Calls().AuthFailures; n != 1 {
		t.Fatalf("login attempts refused: got %d, want 1 (no retry loop)", n)
	}
}

func TestTokenExpiredLogsInOnce(t *testing.T) {
	w := newWorld(t, emubraiins.Config{})
	d := New(Config{})
	if _, err := d.Read(devicetest.Context(t), w.tgt); err != nil {
		t.Fatalf("read: %v", err)
	}
	old := w.tgt.Session.(*session).token
	w.rig.RevokeTokens() // the miner rebooted
	if err := d.Curtail(devicetest.Context(t), w.tgt); err != nil {
		t.Fatalf("curtail after the token was revoked: %v", err)
	}
	if n := w.rig.Logins(); n != 2 {
		t.Fatalf("logins: got %d, want 2", n)
	}
	if tok := w.tgt.Session.(*session).token; tok == old || strings.Contains(tok, old) {
		t.Fatalf("session token: got %q (old %q), want a new one", tok, old)
	}
	if e := errString(d.Curtail(devicetest.Context(t), w.tgt)); strings.Contains(e, old) {
		t.Fatalf("curtail error: got %q, want it without the token", e)
	}
}

func TestTokenExpiryKnownLocally(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	clock := func() time.Time { return now }
	w := newWorld(t, emubraiins.Config{TokenTTL: 100 * time.Second, Now: clock})
	d := New(Config{Now: clock})
	if err := d.Curtail(devicetest.Context(t), w.tgt); err != nil {
		t.Fatalf("curtail: %v", err)
	}
	now = now.Add(95 * time.Second) // past our margin, before the miner's expiry
	if err := d.Resume(devicetest.Context(t), w.tgt); err != nil {
		t.Fatalf("resume: %v", err)
	}
	if n := w.rig.Logins(); n != 2 {
		t.Fatalf("logins: got %d, want 2 (the token was near its expiry)", n)
	}
}

func TestHangTimesOut(t *testing.T) {
	w := newWorld(t, emubraiins.Config{})
	w.dev.SetFaults(emu.Faults{Hang: true})
	devicetest.HangTimesOut(t, New(Config{}), w.tgt)
}

func TestLyingMinerKeepsMining(t *testing.T) {
	w := newWorld(t, emubraiins.Config{})
	w.dev.SetFaults(emu.Faults{Lying: true})
	if r := devicetest.Lying(t, New(Config{}), w.tgt); r.PowerW != 3250 {
		t.Fatalf("read of a lying miner: got %+v, want mining at 3250 W", r)
	}
}

func TestSlowRestart(t *testing.T) {
	w := newWorld(t, emubraiins.Config{})
	const delay = 300 * time.Millisecond
	w.dev.SetFaults(emu.Faults{RestartDelay: delay})
	devicetest.SlowRestart(t, New(Config{}), w.tgt, delay, func(r device.Reading) bool { return r.PowerW == 40 })
}

func TestPools(t *testing.T) {
	w := newWorld(t, emubraiins.Config{})
	d := New(Config{})
	got, err := d.Pools(devicetest.Context(t), w.tgt)
	if want := []string{"stratum+tcp://pool.example:3333"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("pools: got %v, %v; want %v, nil", got, err, want)
	}
	set := []device.Pool{{URL: "stratum+tcp://hashgate:3333", User: "rig-1", Password: "x"}, {URL: "stratum+tcp://hashgate2:3333", User: "rig-1"}}
	if err := d.SetPools(devicetest.Context(t), w.tgt, set); err != nil {
		t.Fatalf("set pools: %v", err)
	}
	got, err = d.Pools(devicetest.Context(t), w.tgt)
	if want := []string{"stratum+tcp://hashgate:3333", "stratum+tcp://hashgate2:3333"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("pools after set: got %v, %v; want %v, nil", got, err, want)
	}
}

func TestNonDefaultPortOption(t *testing.T) {
	w := newWorld(t, emubraiins.Config{})
	host, port := splitHostPort(t, w.rig.Addr())
	w.tgt.Address = host
	w.tgt.Options.Port = port
	if _, err := New(Config{}).Read(devicetest.Context(t), w.tgt); err != nil {
		t.Fatalf("read through Options.Port: %v", err)
	}
}

func TestRefusedConnection(t *testing.T) {
	devicetest.CheckLeaks(t)
	tgt := &device.Target{Rig: "gone", Options: &device.Options{Password: device.NewSecret(testPassword), Timeout: time.Second}}
	devicetest.Unreachable(t, New(Config{}), tgt)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestStatusMapping(t *testing.T) {
	w := newWorld(t, emubraiins.Config{})
	d := New(Config{})
	for _, tc := range []struct {
		code      int
		want      error
		retryable bool
	}{
		{500, nil, true}, // bosminer reconfiguring
		{412, device.ErrRefused, true},
		{404, device.ErrRefused, true},
		{403, device.ErrAuth, false},
	} {
		t.Run(fmt.Sprint("HTTP ", tc.code), func(t *testing.T) {
			w.rig.SetStatus(tc.code)
			err := d.Curtail(devicetest.Context(t), w.tgt)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || device.Retryable(err) != tc.retryable {
				t.Errorf("HTTP %d: got %v (retryable %v), want %v, retryable %v", tc.code, err, device.Retryable(err), tc.want, tc.retryable)
			}
			if s, ok := w.tgt.Session.(*session); ok && strings.Contains(errString(err), s.token) {
				t.Errorf("HTTP %d: error %q contains the token; want !(ok && strings.Contains(errString(err), s.token))", tc.code, err)
			}
			if strings.Contains(errString(err), testPassword) {
				t.Errorf("HTTP %d: error %q contains the password; want !strings.Contains(errString(err), testPassword)", tc.code, err)
			}
		})
	}
	if w.dev.Calls().Curtails != 0 {
		t.Fatalf("device curtails: got %d, want 0", w.dev.Calls().Curtails)
	}
	w.rig.SetStatus(0)
	if err := d.Curtail(devicetest.Context(t), w.tgt); err != nil {
		t.Fatalf("curtail once the miner answers again: %v", err)
	}
}
