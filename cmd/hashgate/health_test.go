package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/apitest"
	"github.com/hashgate/hashgate/internal/sim"
)

func runHealth(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := cmdHealth(args, &out, &errb)
	return code, out.String(), errb.String()
}

// Against a real site: 0 and "ok" while the proxy has a pool session; 1
// with the API's own reason once the pool is gone.
func TestHealthFollowsHealthz(t *testing.T) {
	site := apitest.Start(t, apitest.Options{Policy: apitest.TwoHallPolicy})
	addr := strings.TrimPrefix(site.API.URL, "http://")

	code, out, errb := runHealth("--api", addr)
	if code != healthOK || strings.TrimSpace(out) != "ok" || errb != "" {
		t.Fatalf("healthy site: exit %d, stdout %q, stderr %q; want 0, \"ok\", nothing", code, out, errb)
	}

	site.Pool.Close()
	sim.WaitFor(t, 10*time.Second, "the proxy unhealthy after its pool closed", func() (bool, any) { return !site.Proxy.Healthy(), site.Proxy.Pools() })
	code, out, errb = runHealth("--api", addr, "--timeout", "2s")
	if code != healthUnhealthy {
		t.Fatalf("no pool: exit %d (stdout %q, stderr %q), want %d", code, out, errb, healthUnhealthy)
	}
	if want := "unhealthy (503): no live pool session"; !strings.Contains(errb, want) || out != "" {
		t.Errorf("no pool: stderr %q, stdout %q; want stderr to say %q, stdout empty", errb, out, want)
	}
}

// Nobody listening, or something that is not HTTP: exit 3 with the cause,
// within the timeout.
func TestHealthNoAnswer(t *testing.T) {
	addr := freePort(t)
	code, _, errb := runHealth("--api", addr)
	if code != healthNoAnswer || !strings.Contains(errb, "connection refused") || !strings.Contains(errb, addr) {
		t.Errorf("nobody listening: exit %d, stderr %q; want %d naming %s and \"connection refused\"", code, errb, healthNoAnswer, addr)
	}

	// A listener that accepts and never answers: the timeout ends it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	start := time.Now()
	code, _, errb = runHealth("--api", ln.Addr().String(), "--timeout", "300ms")
	took := time.Since(start)
	ln.Close()
	for c := range accepted {
		c.Close()
	}
	if code != healthNoAnswer || !strings.Contains(errb, "Timeout") {
		t.Errorf("silent server: exit %d, stderr %q; want %d and a timeout", code, errb, healthNoAnswer)
	}
	if took > 3*time.Second {
		t.Errorf("silent server: took %v with --timeout 300ms; want took <= 3*time.Second", took)
	}
}

// A 200 that is not hashgate's /healthz (another service on the port) is
// not taken for healthy, and what it says reaches the terminal escaped.
func TestHealthForeignAnswer(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<html>it works</html>")
	}))
	defer other.Close()
	code, _, errb := runHealth("--api", strings.TrimPrefix(other.URL, "http://"))
	if code != healthUnhealthy || !strings.Contains(errb, "not hashgate's health JSON") {
		t.Errorf("foreign 200: exit %d, stderr %q; want %d and \"not hashgate's health JSON\"", code, errb, healthUnhealthy)
	}

	hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(503)
		fmt.Fprint(w, `{"status":"unavailable","error":"pool \u001b[31mdown\nFAKE: ok"}`)
	}))
	defer hostile.Close()
	code, _, errb = runHealth("--api", strings.TrimPrefix(hostile.URL, "http://"))
	if code != healthUnhealthy || strings.ContainsAny(strings.TrimSuffix(errb, "\n"), "\x1b\n") {
		t.Errorf("hostile 503: exit %d, stderr %q; want %d on one line with no ESC", code, errb, healthUnhealthy)
	}
}

// -c reads the API address from the config; a wildcard listen is asked on
// loopback.
func TestHealthAddressFromConfig(t *testing.T) {
	site := apitest.Start(t, apitest.Options{})
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(site.API.URL, "http://"))
	dir := t.TempDir()
	cfg := filepath.Join(dir, "hashgate.toml")
	conf := fmt.Sprintf("[[pools]]\nurl = \"stratum+tcp://127.0.0.1:1\"\nuser = \"u\"\n\n[api]\nlisten = \"0.0.0.0:%s\"\n", port)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errb := runHealth("-c", cfg); code != healthOK {
		t.Fatalf("-c with api.listen 0.0.0.0:%s: exit %d, stdout %q, stderr %q; want 0", port, code, out, errb)
	}

	for in, want := range map[string]string{
		"0.0.0.0:8080": "127.0.0.1:8080", "[::]:8080": "[::1]:8080", ":8080": "127.0.0.1:8080",
		"10.1.2.3:8080": "10.1.2.3:8080", "localhost:9": "localhost:9",
	} {
		if got := dialable(in); got != want {
			t.Errorf("dialable(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHealthUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--api", "nohostport"},
		{"--api", "127.0.0.1:1", "-c", "x.toml"},
		{"extra"},
		{"--timeout", "0s"},
		{"--bogus"},
	} {
		if code, _, errb := runHealth(args...); code != 2 || errb == "" {
			t.Errorf("health %q: exit %d, stderr %q; want 2 with a reason", args, code, errb)
		}
	}
	if code, _, errb := runHealth("-c", filepath.Join(t.TempDir(), "missing.toml")); code != 2 || !strings.Contains(errb, "missing.toml") {
		t.Errorf("-c of a missing file: exit %d, stderr %q; want 2 naming the file", code, errb)
	}
}

// Whatever answers: exit 0 or 1, 0 only for a 200, and one line with no
// terminal control in it.
func FuzzJudgeHealth(f *testing.F) {
	f.Add(200, []byte(`{"status":"ok"}`))
	f.Add(200, []byte(`{"status":"degraded","state_error":"disk full"}`))
	f.Add(503, []byte(`{"status":"unavailable","error":"no live pool session"}`))
	f.Add(200, []byte(`<html>`))
	f.Add(500, []byte(`{"status":"x\u001b]0;owned\u0007","error":"a\nb"}`))
	f.Fuzz(func(t *testing.T, status int, data []byte) {
		code, msg := judgeHealth("http://127.0.0.1:1/healthz", status, data)
		if code != healthOK && code != healthUnhealthy {
			t.Fatalf("exit %d, want 0 or 1", code)
		}
		if code == healthOK && status != 200 {
			t.Fatalf("exit 0 for status %d; want !(code == healthOK && status != 200)", status)
		}
		if strings.ContainsAny(msg, "\n\r\x1b\x07") {
			t.Fatalf("message %q holds a line break or terminal control; want !strings.ContainsAny(msg, \"\\n\\r\\x1b\\x07\")", msg)
		}
	})
}
