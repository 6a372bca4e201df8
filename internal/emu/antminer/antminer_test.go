package antminer

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/hashgate/hashgate/internal/emu"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func h(s string) string { b := md5.Sum([]byte(s)); return hex.EncodeToString(b[:]) }

// The emulator checks the digest for real: none or a wrong one is a 401
// with a challenge (a wrong one counted), a right one is served.
func TestDigestVerified(t *testing.T) {
	dev := emu.NewDevice(emu.Config{MiningW: 3000, HashrateTHs: 100})
	r, err := Start(dev, Config{Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	url := "http://" + r.Addr() + "/cgi-bin/stats.cgi"
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ch := resp.Header.Get("WWW-Authenticate")
	if resp.StatusCode != 401 || !strings.Contains(ch, `realm="antMiner Configuration"`) || !strings.Contains(ch, `qop="auth"`) {
		t.Fatalf("no credentials: got %d %q, want 401 with an MD5 qop=auth challenge", resp.StatusCode, ch)
	}
	nonce := params(strings.TrimPrefix(ch, "Digest "))["nonce"]
	get := func(pass string) int {
		ha1 := h("root:antMiner Configuration:" + pass)
		resp := h(strings.Join([]string{ha1, nonce, "00000001", "c0ffee", "auth", h("GET:/cgi-bin/stats.cgi")}, ":"))
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", fmt.Sprintf(`Digest username="root", realm="antMiner Configuration", nonce="%s", uri="/cgi-bin/stats.cgi", response="%s", qop=auth, nc=00000001, cnonce="c0ffee"`, nonce, resp))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	if code := get("wrong"); code != 401 {
		t.Errorf("wrong password: got %d, want 401", code)
	}
	if code := get("pw"); code != 200 {
		t.Errorf("right password: got %d, want 200", code)
	}
	if c := dev.Calls(); c.AuthFailures != 1 {
		t.Errorf("auth failures: got %d, want 1 (the wrong digest only)", c.AuthFailures)
	}
	http.DefaultClient.CloseIdleConnections()
}

// Emulators are started by the thousand: report what one costs.
func TestCostPerRig(t *testing.T) {
	const n = 500
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	rigs := make([]*Rig, 0, n)
	for range n {
		r, err := Start(emu.NewDevice(emu.Config{}), Config{})
		if err != nil {
			t.Fatal(err)
		}
		rigs = append(rigs, r)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := (after.HeapAlloc - before.HeapAlloc) / n
	goroutines := float64(runtime.NumGoroutine()-g0) / n
	for _, r := range rigs {
		_ = r.Close()
	}
	t.Logf("per idle rig: %d B heap, %.1f goroutines, 1 listening socket", per, goroutines)
	if goroutines > 2 {
		t.Errorf("goroutines per idle rig: got %.1f, want at most 2", goroutines)
	}
}
