package webhook

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/emu"
	emuhook "github.com/hashgate/hashgate/internal/emu/webhook"
	"github.com/hashgate/hashgate/switcher/device"
	"github.com/hashgate/hashgate/switcher/device/devicetest"
)

func TestCurtailResumeReadback(t *testing.T) {
	w := newWorld(t, emuhook.Config{})
	d := New(Config{})
	r, err := d.Read(devicetest.Context(t), w.tgt)
	want := device.Reading{State: device.StateMining, PowerW: 3000, HasPower: true, HashrateTHs: 100, HasHashrate: true}
	if err != nil || !reflect.DeepEqual(r, want) {
		t.Fatalf("read: got %+v, %v; want %+v, nil", r, err, want)
	}
	if err := d.Curtail(devicetest.Context(t), w.tgt); err != nil {
		t.Fatalf("curtail: %v", err)
	}
	last := w.rig.Last()
	if last.Rig != "pdu-7" || last.Address != "10.1.2.3" || last.Action != "curtail" {
		t.Fatalf("request received: got %+v, want rig pdu-7, address 10.1.2.3, action curtail", last)
	}
	if _, err := time.Parse(time.RFC3339, last.Time); err != nil {
		t.Fatalf("time %q: not RFC 3339: %v", last.Time, err)
	}
	r, err = d.Read(devicetest.Context(t), w.tgt)
	want = device.Reading{State: device.StateSleeping, PowerW: 15, HasPower: true, HashrateTHs: 0, HasHashrate: true}
	if err != nil || !reflect.DeepEqual(r, want) {
		t.Fatalf("read after curtail: got %+v, %v; want %+v, nil", r, err, want)
	}
	if err := d.Resume(devicetest.Context(t), w.tgt); err != nil {
		t.Fatalf("resume: %v", err)
	}
	if st := w.dev.Peek(); !st.Mining {
		t.Fatalf("device after resume: got %+v (asleep), want mining", st)
	}
	if w.tgt.Session != nil {
		t.Fatalf("session: got %#v, want nil (the webhook keeps no state)", w.tgt.Session)
	}
}

func TestWrongSecret(t *testing.T) {
	w := newWorld(t, emuhook.Config{Secret: "the-receivers-key"})
	err := New(Config{}).Curtail(devicetest.Context(t), w.tgt)
	if !errors.Is(err, device.ErrAuth) || device.Retryable(err) {
		t.Fatalf("curtail with a wrong secret: got %v, want ErrAuth, not retryable", err)
	}
	for _, secret := range []string{testSecret, "tok-in-path"} {
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("error %q contains %q; want !strings.Contains(err.Error(), secret)", err, secret)
		}
	}
	if w.dev.Peek().Mining != true || w.dev.Calls().AuthFailures != 1 {
		t.Fatalf("device: got %+v, want untouched, one refused request", w.dev.Calls())
	}
}

func TestMissingOptions(t *testing.T) {
	devicetest.CheckLeaks(t)
	d := New(Config{})
	for _, tc := range []struct {
		name string
		opts *device.Options
		want error
	}{
		{"no options", nil, device.ErrUnsupported},
		{"no url", &device.Options{Secret: device.NewSecret("k")}, device.ErrUnsupported},
		{"no secret", &device.Options{URL: "http://127.0.0.1:1/"}, device.ErrAuth},
		{"not http", &device.Options{URL: "ftp://x/", Secret: device.NewSecret("k")}, device.ErrUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := d.Curtail(devicetest.Context(t), &device.Target{Rig: "r", Options: tc.opts})
			if !errors.Is(err, tc.want) {
				t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
			}
		})
	}
}

func TestStatusMapping(t *testing.T) {
	w := newWorld(t, emuhook.Config{})
	d := New(Config{})
	for _, tc := range []struct {
		code      int
		want      error // nil: accepted
		retryable bool
	}{
		{200, nil, false},
		{202, nil, false},
		{204, nil, false},
		{400, device.ErrRefused, true},
		{404, device.ErrRefused, true},
		{401, device.ErrAuth, false},
		{403, device.ErrAuth, false},
		{500, nil, true},
		{503, nil, true},
		{302, device.ErrProtocol, true},
	} {
		t.Run(fmt.Sprint("HTTP ", tc.code), func(t *testing.T) {
			w.rig.SetStatus(tc.code)
			before := w.rig.Requests()
			err := d.Curtail(devicetest.Context(t), w.tgt)
			if n := w.rig.Requests() - before; n != 1 {
				t.Fatalf("HTTP %d: requests sent: got %d, want 1 (no retry in the driver)", tc.code, n)
			}
			switch {
			case tc.code < 300:
				if err != nil {
					t.Errorf("HTTP %d: got %v, want nil", tc.code, err)
				}
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Errorf("HTTP %d: got %v, want %v", tc.code, err, tc.want)
			case err == nil || device.Retryable(err) != tc.retryable:
				t.Errorf("HTTP %d: got %v (retryable %v), want an error, retryable %v", tc.code, err, device.Retryable(err), tc.retryable)
			}
			if err != nil && strings.Contains(err.Error(), "tok-in-path") {
				t.Errorf("HTTP %d: error %q shows the URL's path; want !(err != nil && strings.Contains(err.Error(), \"tok-in-path\"))", tc.code, err)
			}
		})
	}
}

func TestReadWithoutMeasurement(t *testing.T) {
	w := newWorld(t, emuhook.Config{NoReadings: true})
	r, err := New(Config{}).Read(devicetest.Context(t), w.tgt)
	if err != nil || !reflect.DeepEqual(r, device.Reading{}) {
		t.Fatalf("read from a receiver that measures nothing: got %+v, %v; want state unknown, nil", r, err)
	}
}

func TestHangTimesOut(t *testing.T) {
	w := newWorld(t, emuhook.Config{})
	w.dev.SetFaults(emu.Faults{Hang: true})
	for name, err := range devicetest.HangTimesOut(t, New(Config{}), w.tgt) {
		if err != nil && strings.Contains(err.Error(), "tok-in-path") {
			t.Fatalf("%s: error %q shows the URL's path; want !(err != nil && strings.Contains(err.Error(), \"tok-in-path\"))", name, err)
		}
	}
}

func TestLyingDevice(t *testing.T) {
	w := newWorld(t, emuhook.Config{})
	w.dev.SetFaults(emu.Faults{Lying: true})
	devicetest.Lying(t, New(Config{}), w.tgt)
}

func TestSlowRestart(t *testing.T) {
	w := newWorld(t, emuhook.Config{})
	const delay = 300 * time.Millisecond
	w.dev.SetFaults(emu.Faults{RestartDelay: delay})
	devicetest.SlowRestart(t, New(Config{}), w.tgt, delay, nil)
}

// TestWireFormat checks the signature and timestamp against a body
// received by a plain server, independently of the emulator.
func TestWireFormat(t *testing.T) {
	devicetest.CheckLeaks(t)
	fixed := time.Date(2026, 12, 7, 1, 2, 3, 4000, time.UTC)
	got := make(chan *http.Request, 1)
	bodies := make(chan []byte, 1)
	srv := newPlainServer(t, func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		_, _ = b.ReadFrom(r.Body)
		got <- r
		bodies <- b.Bytes()
	})
	tgt := &device.Target{Rig: "r1", Address: "10.0.0.9", Options: &device.Options{URL: "http://" + srv + "/h", Secret: device.NewSecret("k")}}
	if err := New(Config{Now: func() time.Time { return fixed }}).Resume(devicetest.Context(t), tgt); err != nil {
		t.Fatalf("resume: %v", err)
	}
	req, body := <-got, <-bodies
	wantBody := `{"rig":"r1","address":"10.0.0.9","action":"resume","time":"2026-12-07T01:02:03.000004Z"}`
	if string(body) != wantBody {
		t.Fatalf("body: got %s, want %s", body, wantBody)
	}
	// HMAC-SHA256("k", wantBody), computed independently with openssl.
	const wantSig = "sha256=6ab2d4185186b827acc5cd6ddcd5217c1240be218b16ee7f59ac1a09ce28715a"
	if sig := req.Header.Get(HeaderSignature); sig != wantSig {
		t.Fatalf("signature: got %q, want %q", sig, wantSig)
	}
	if ts := req.Header.Get(HeaderTimestamp); ts != strconv.FormatInt(fixed.Unix(), 10) {
		t.Fatalf("timestamp header: got %q, want %d", ts, fixed.Unix())
	}
	if ct := req.Header.Get("Content-Type"); ct != "application/json" || req.Method != http.MethodPost {
		t.Fatalf("request: got %s with %q, want POST application/json", req.Method, ct)
	}
}

func TestReplayRejected(t *testing.T) {
	w := newWorld(t, emuhook.Config{})
	body := []byte(`{"rig":"x","address":"a","action":"curtail","time":"` + time.Now().UTC().Format(time.RFC3339Nano) + `"}`)
	send := func() int {
		req, _ := http.NewRequestWithContext(devicetest.Context(t), http.MethodPost, "http://"+w.rig.Addr()+"/", bytes.NewReader(body))
		req.Header.Set(HeaderSignature, Sign([]byte(testSecret), body))
		var at struct{ Time string }
		_ = jsonUnmarshal(body, &at)
		ts, _ := time.Parse(time.RFC3339Nano, at.Time)
		req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
		resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
		if err != nil {
			t.Fatalf("post: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := send(); c != 200 {
		t.Fatalf("first delivery: got HTTP %d, want 200", c)
	}
	if c := send(); c != http.StatusConflict {
		t.Fatalf("replay: got HTTP %d, want 409", c)
	}
}

func TestStaleRequestRefused(t *testing.T) {
	w := newWorld(t, emuhook.Config{MaxSkew: time.Minute})
	d := New(Config{Now: func() time.Time { return time.Now().Add(-2 * time.Minute) }})
	if err := d.Curtail(devicetest.Context(t), w.tgt); !errors.Is(err, device.ErrAuth) {
		t.Fatalf("curtail signed 2 min ago: got %v, want ErrAuth (stale)", err)
	}
	if st := w.dev.Peek(); !st.Mining {
		t.Fatalf("device: got %+v (asleep), want untouched (mining) by a stale request", st)
	}
}
