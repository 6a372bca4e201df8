package httpjson

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// server is a real HTTP server on loopback answering with what the test
// sets.
type server struct {
	*httptest.Server
	mu     sync.Mutex
	status int
	body   string
	hang   chan struct{}
	auth   string // the last request's Authorization header
	accept string
}

func newServer(t *testing.T) *server {
	s := &server{status: 200}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		status, body, hang := s.status, s.body, s.hang
		s.auth, s.accept = r.Header.Get("Authorization"), r.Header.Get("Accept")
		s.mu.Unlock()
		if hang != nil {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(func() {
		s.mu.Lock()
		if s.hang != nil {
			close(s.hang)
			s.hang = nil
		}
		s.mu.Unlock()
		s.Close()
	})
	return s
}

// headers are the last request's Authorization and Accept.
func (s *server) headers() (auth, accept string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.auth, s.accept
}

func (s *server) answer(status int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.body = status, body
}

func newSource(t *testing.T, cfg Config) *Source {
	t.Helper()
	src, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

func read(src *Source, within time.Duration) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	return src.Read(ctx)
}

func TestRead(t *testing.T) {
	srv := newServer(t)
	for _, c := range []struct {
		body, field string
		scale       float64
		want        float64
	}{
		{`{"data":{"kw":412.5}}`, "data.kw", 0, 412.5},
		{`{"data":{"items":[{"kw":1},{"kw":"2.5"}]}}`, "data.items.1.kw", 0, 2.5},
		{`{"w": 1500000}`, "w", 0.001, 1500},
		{`{"kw": -12}`, "kw", 1, -12},
		{`{"kw": " 3e2 "}`, "kw", 1, 300},
		{`[[0, 7]]`, "0.1", 1, 7},
		{`{"0": {"kw": 4}}`, "0.kw", 1, 4}, // a number segment on an object is a key
	} {
		t.Run(c.field, func(t *testing.T) {
			srv.answer(200, c.body)
			src := newSource(t, Config{URL: srv.URL + "/reading", Field: c.field, Scale: c.scale})
			if got, err := read(src, 2*time.Second); err != nil || got != c.want {
				t.Errorf("%s at %s ×%v: got %v, %v; want %v", c.body, c.field, c.scale, got, err, c.want)
			}
		})
	}
	if _, accept := srv.headers(); accept != "application/json" {
		t.Errorf("Accept: got %q, want application/json", accept)
	}
}

func TestReadRefuses(t *testing.T) {
	srv := newServer(t)
	for _, c := range []struct {
		status      int
		body, field string
		want        string
	}{
		{503, `{"kw":1}`, "kw", "HTTP 503 Service Unavailable"},
		{301, ``, "kw", "HTTP 301 Moved Permanently"},
		{200, `{"kw":null}`, "kw", "field kw: null, not a number"},
		{200, `{"kw":true}`, "kw", "field kw: a boolean, not a number"},
		{200, `{"kw":"NaN"}`, "kw", `field kw: the string "NaN" is not a number`},
		{200, `{"kw":"0x10"}`, "kw", `field kw: the string "0x10" is not a number`},
		{200, `{"kw":1e999}`, "kw", "field kw: 1e999 is not a finite number"},
		{200, `{"data":{"a":1,"b":2}}`, "data.kw", `field data.kw: at data: no key "kw" (keys: "a", "b")`},
		{200, `{"items":[1]}`, "items.3", "field items.3: at items: index 3 past the array's 1 element(s)"},
		{200, `{"items":[1]}`, "items.x", `field items.x: at items: an array, indexed by "x"; expected an index from 0`},
		{200, `{"kw":5}`, "kw.x", `field kw.x: at kw: a number has no key "x"`},
		{200, `<html>`, "kw", "the body is not JSON: invalid character '<' looking for beginning of value"},
		{200, `{"kw":1} {"kw":2}`, "kw", "the body holds more than one JSON value"},
		{200, `{"kw":1`, "kw", "the body is not JSON: unexpected EOF"},
	} {
		t.Run(c.want, func(t *testing.T) {
			srv.answer(c.status, c.body)
			src := newSource(t, Config{URL: srv.URL, Field: c.field})
			_, err := read(src, 2*time.Second)
			if err == nil || !strings.HasSuffix(err.Error(), c.want) {
				t.Errorf("%d %s at %s: got %v, want an error ending %q", c.status, c.body, c.field, err, c.want)
			}
		})
	}
}

func TestBodyBounded(t *testing.T) {
	srv := newServer(t)
	srv.answer(200, `{"kw":1,"pad":"`+strings.Repeat("x", 200)+`"}`)
	src := newSource(t, Config{URL: srv.URL, Field: "kw", MaxBytes: 100})
	if _, err := read(src, 2*time.Second); err == nil || !strings.HasSuffix(err.Error(), "the body is over 100 bytes") {
		t.Errorf("a 200-byte body with MaxBytes 100: got %v, want \"the body is over 100 bytes\"", err)
	}
}

// A server that does not answer: the read ends at its context's
// deadline, with an error that is the deadline's.
func TestReadTimesOut(t *testing.T) {
	srv := newServer(t)
	srv.mu.Lock()
	srv.hang = make(chan struct{})
	srv.mu.Unlock()
	src := newSource(t, Config{URL: srv.URL, Field: "kw"})
	began := time.Now()
	_, err := read(src, 100*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("read of a hung server: got %v, want context.DeadlineExceeded", err)
	}
	if took := time.Since(began); took > time.Second {
		t.Errorf("read took %v, want about its 100ms deadline", took)
	}
}

// A dead server: the error says so and names the URL, without its
// password; the password is sent as Basic authentication.
func TestPasswordNeverShown(t *testing.T) {
	srv := newServer(t)
	srv.answer(500, "")
	u := strings.Replace(srv.URL, "http://", "http://meter:hunter2@", 1)
	src := newSource(t, Config{URL: u, Field: "kw"})
	_, err := read(src, 2*time.Second)
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "meter:xxxxx@") {
		t.Errorf("error: got %v, want the URL with the password hidden", err)
	}
	if auth, _ := srv.headers(); auth != "Basic bWV0ZXI6aHVudGVyMg==" {
		t.Errorf("Authorization: got %q, want Basic meter:hunter2", auth)
	}
	if s := src.String(); strings.Contains(s, "hunter2") {
		t.Errorf("String shows the password: %s; want !strings.Contains(s, \"hunter2\")", s)
	}
	srv.Close()
	_, err = read(src, 2*time.Second)
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("error with the server gone: got %v, want \"connection refused\" and no password", err)
	}
	if _, err := New(Config{URL: "ftp://meter:hunter2@h/x", Field: "kw"}); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("New with an ftp URL: got %v, want an error without the password", err)
	}
}

func TestNewRefuses(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{URL: "http://h/x", Field: ""}, "the field path is empty"},
		{Config{URL: "http://h/x", Field: "a..b"}, `field path "a..b" has an empty segment`},
		{Config{URL: "http:///x", Field: "a"}, "has no host"},
		{Config{URL: "h/x", Field: "a"}, "the scheme must be http or https"},
		{Config{URL: "http://h/x", Field: "a", Scale: math.Inf(1)}, "not a finite number"},
	} {
		t.Run(c.want, func(t *testing.T) {
			if _, err := New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("New(%+v): got %v, want an error with %q", c.cfg, err, c.want)
			}
		})
	}
}

// Extract of any body and path: a finite number or an error, never a
// panic.
func FuzzExtract(f *testing.F) {
	f.Add([]byte(`{"data":{"kw":412.5}}`), "data.kw")
	f.Add([]byte(`{"data":{"items":[{"kw":"1"}]}}`), "data.items.0.kw")
	f.Add([]byte(`[1,2,3]`), "2")
	f.Add([]byte(`{"a":"1e400"}`), "a")
	f.Add([]byte(`{"a":{"b":null}}`), "a.b.c")
	f.Fuzz(func(t *testing.T, body []byte, field string) {
		p, err := ParsePath(field)
		if err != nil {
			return
		}
		v, err := Extract(body, p)
		if err == nil && (math.IsNaN(v) || math.IsInf(v, 0)) {
			t.Fatalf("Extract(%q, %q) = %v, want a finite number or an error", body, field, v)
		}
	})
}

// A price feed or a meter gateway often takes its API key in the query
// string: it is no more shown than a password.
func TestQueryKeyNeverShown(t *testing.T) {
	srv := newServer(t)
	srv.answer(500, "")
	src := newSource(t, Config{URL: srv.URL + "/rt?node=HB_NORTH&api_key=s3cr3tkey", Field: "kw"})
	_, err := read(src, 2*time.Second)
	if err == nil || strings.Contains(err.Error(), "s3cr3tkey") || !strings.Contains(err.Error(), "api_key=xxxxx") {
		t.Errorf("error: got %v, want the URL with its query values hidden (api_key=xxxxx)", err)
	}
	if s := src.String(); strings.Contains(s, "s3cr3tkey") || strings.Contains(s, "HB_NORTH") {
		t.Errorf("String: got %s, want no query value", s)
	}
	srv.Close()
	if _, err = read(src, 2*time.Second); err == nil || strings.Contains(err.Error(), "s3cr3tkey") {
		t.Errorf("error with the server gone: got %v, want an error without the key", err)
	}
}
