package emu_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/emu"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testRig is an emulator as the firmware packages write one: a Rig that
// embeds an Endpoint.
type testRig struct {
	emu.Endpoint
	greeting string
}

func (r *testRig) serve(c net.Conn) { _, _ = io.WriteString(c, r.greeting) }

// StartTCP returns the rig listening and serving; Close stops it.
func TestStartTCPServesAndCloses(t *testing.T) {
	dev := emu.NewDevice(emu.Config{})
	r := &testRig{greeting: "hello"}
	got, err := emu.StartTCP(r, "", dev, r.serve)
	if err != nil || got != r {
		t.Fatalf("StartTCP: got %p, %v; want the rig %p and no error", got, err, r)
	}
	c, err := net.DialTimeout("tcp", r.Addr(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	c.Close()
	if err != nil || string(b) != "hello" {
		t.Errorf("answer: got %q, %v; want %q", b, err, "hello")
	}
	if err := r.Close(); err != nil {
		t.Errorf("Close: got %v, want nil", err)
	}
	if c, err := net.DialTimeout("tcp", r.Addr(), time.Second); err == nil {
		c.Close()
		t.Errorf("dial %s after Close: got a connection, want refused", r.Addr())
	}
}

// A rig that cannot listen is not returned: nil and the error, as each
// emulator's Start promises.
func TestStartFailsWithoutRig(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dev := emu.NewDevice(emu.Config{})
	if got, err := emu.StartTCP(&testRig{}, ln.Addr().String(), dev, func(net.Conn) {}); got != nil || err == nil {
		t.Errorf("StartTCP on a taken port: got %v, %v; want nil and an error", got, err)
	}
	if got, err := emu.StartHTTP(&testRig{}, ln.Addr().String(), dev, http.NotFoundHandler()); got != nil || err == nil {
		t.Errorf("StartHTTP on a taken port: got %v, %v; want nil and an error", got, err)
	}
}

// StartHTTP serves h with the device's faults applied.
func TestStartHTTPServes(t *testing.T) {
	dev := emu.NewDevice(emu.Config{})
	r, err := emu.StartHTTP(&testRig{}, "", dev, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		emu.WriteJSON(w, http.StatusTeapot, map[string]int{"n": 1})
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cl := &http.Client{Timeout: 5 * time.Second}
	defer cl.CloseIdleConnections()
	res, err := cl.Get("http://" + r.Addr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusTeapot || string(b) != "{\"n\":1}\n" {
		t.Errorf("answer: got %d %q, want 418 %q", res.StatusCode, b, "{\"n\":1}\n")
	}
}

func TestWriteJSON(t *testing.T) {
	w := httptest.NewRecorder()
	emu.WriteJSON(w, http.StatusUnauthorized, map[string]string{"err": "Unauthorized"})
	var got map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got["err"] != "Unauthorized" {
		t.Errorf("body: got %q (%v), want {\"err\":\"Unauthorized\"}", w.Body, err)
	}
	if w.Code != http.StatusUnauthorized || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("head: got %d %q, want 401 application/json", w.Code, w.Header().Get("Content-Type"))
	}
}

// WriteChunks writes in pieces of the size asked (net.Pipe hands each
// write to one read), whole without a size, and stops when the peer is
// gone.
func TestWriteChunks(t *testing.T) {
	for _, tc := range []struct {
		size int
		want []string
	}{
		{3, []string{"hel", "lo ", "wor", "ld"}},
		{0, []string{"hello world"}},
		{-1, []string{"hello world"}},
	} {
		t.Run(fmt.Sprint("size ", tc.size), func(t *testing.T) {
			a, b := net.Pipe()
			done := make(chan struct{})
			go func() {
				defer close(done)
				defer a.Close()
				emu.WriteChunks(a, []byte("hello world"), tc.size)
			}()
			var got []string
			buf := make([]byte, 64)
			for {
				n, err := b.Read(buf)
				if err != nil {
					break
				}
				got = append(got, string(buf[:n]))
			}
			<-done
			b.Close()
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("size %d: got pieces %q, want %q", tc.size, got, tc.want)
			}
		})
	}
	a, b := net.Pipe()
	b.Close()
	done := make(chan struct{})
	go func() { defer close(done); emu.WriteChunks(a, []byte("hello"), 1) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("WriteChunks to a closed peer: still writing after %v, want it to stop", 5*time.Second)
	}
	a.Close()
}

func TestDefault(t *testing.T) {
	s, set := "", "kept"
	emu.Default(&s, "root")
	emu.Default(&set, "root")
	d, neg, n := time.Duration(0), -time.Second, 7
	emu.Default(&d, time.Minute)
	emu.Default(&neg, time.Minute)
	emu.Default(&n, 32)
	if s != "root" || set != "kept" || d != time.Minute || neg != time.Minute || n != 7 {
		t.Errorf("got %q %q %v %v %d, want root kept 1m0s 1m0s 7", s, set, d, neg, n)
	}
	var now func() time.Time
	emu.DefaultNow(&now)
	if now == nil {
		t.Fatalf("DefaultNow: got clock %p, want time.Now", now)
	}
	if d := time.Since(now()); d > time.Minute || d < -time.Minute {
		t.Errorf("DefaultNow: its clock is %v off time.Now, want time.Now", d)
	}
	fixed := func() time.Time { return time.Unix(1, 0) }
	kept := fixed
	emu.DefaultNow(&kept)
	if kept().Unix() != 1 {
		t.Errorf("DefaultNow on a set clock: got %v, want the set clock kept", kept())
	}
}

func TestRandomHex(t *testing.T) {
	a, b := emu.RandomHex(16), emu.RandomHex(16)
	if len(a) != 32 || a == b || strings.Trim(a, "0123456789abcdef") != "" {
		t.Errorf("RandomHex(16): got %q and %q, want two different 32-digit hex strings", a, b)
	}
}
