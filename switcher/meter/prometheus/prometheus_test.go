package prometheus

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

// promServer is a real HTTP server on loopback speaking Prometheus's
// /api/v1/query: each query answers the JSON body set for it.
type promServer struct {
	*httptest.Server
	mu      sync.Mutex
	answers map[string]answer
	methods []string
	auth    string
	hang    chan struct{}
}

type answer struct {
	status int
	body   string
}

func newProm(t *testing.T) *promServer {
	p := &promServer{answers: map[string]answer{}, hang: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/query", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		q := r.Form.Get("query")
		p.mu.Lock()
		a, ok := p.answers[q]
		p.methods = append(p.methods, r.Method)
		p.auth = r.Header.Get("Authorization")
		p.mu.Unlock()
		if q == "hang" {
			select {
			case <-p.hang:
			case <-r.Context().Done():
			}
			return
		}
		if !ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			_, _ = w.Write([]byte(`{"status":"error","errorType":"bad_data","error":"1:1: parse error: unexpected character"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		_, _ = w.Write([]byte(a.body))
	})
	p.Server = httptest.NewServer(mux)
	t.Cleanup(func() { close(p.hang); p.Close() })
	return p
}

func (p *promServer) set(query string, status int, body string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.answers[query] = answer{status, body}
}

func vector(values ...string) string {
	var series []string
	for i, v := range values {
		series = append(series, `{"metric":{"gpu":"`+string(rune('0'+i))+`"},"value":[1733550000.123,"`+v+`"]}`)
	}
	return `{"status":"success","data":{"resultType":"vector","result":[` + strings.Join(series, ",") + `]}}`
}

func newSource(t *testing.T, cfg Config) *Source {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func read(s *Source, within time.Duration) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	return s.Read(ctx)
}

func TestRead(t *testing.T) {
	p := newProm(t)
	p.set("sum(DCGM_FI_DEV_POWER_USAGE) / 1000", 200, vector("812.25"))
	p.set("scalar(x)", 200, `{"status":"success","data":{"resultType":"scalar","result":[1733550000.1,"-4.5"]}}`)
	p.set("watts", 200, vector("1500"))
	for _, c := range []struct {
		query string
		scale float64
		want  float64
	}{
		{"sum(DCGM_FI_DEV_POWER_USAGE) / 1000", 0, 812.25},
		{"scalar(x)", 1, -4.5},
		{"watts", 0.001, 1.5},
	} {
		t.Run(c.query, func(t *testing.T) {
			s := newSource(t, Config{URL: p.URL, Query: c.query, Scale: c.scale})
			if got, err := read(s, 2*time.Second); err != nil || got != c.want {
				t.Errorf("%s ×%v: got %v, %v; want %v", c.query, c.scale, got, err, c.want)
			}
		})
	}
}

func TestReadRefuses(t *testing.T) {
	p := newProm(t)
	p.set("none", 200, vector())
	p.set("many", 200, vector("1", "2", "3"))
	p.set("nan", 200, vector("NaN"))
	p.set("inf", 200, vector("+Inf"))
	p.set("matrix", 200, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"]]}]}}`)
	p.set("string", 200, `{"status":"success","data":{"resultType":"string","result":[1,"x"]}}`)
	p.set("down", 503, "Service Unavailable")
	p.set("big", 200, `{"status":"success","data":{"resultType":"vector","result":[],"pad":"`+strings.Repeat("x", 2000)+`"}}`)
	for _, c := range []struct{ query, want string }{
		{"none", "the query returned no series (is the exporter up, the metric spelt right?)"},
		{"many", "the query returned 3 series; it must return one (wrap it in sum(...))"},
		{"nan", "the query's value is NaN, not a reading"},
		{"inf", "the query's value is +Inf, not a reading"},
		{"matrix", "the query returned a matrix; it must return a scalar or one series"},
		{"string", `bad_response: unexpected value type "string"`}, // refused by the client itself
		{"sum(", "bad_data: 1:1: parse error: unexpected character"},
		{"down", "server_error: server error: 503"},
		{"big", "the answer is too large"},
	} {
		t.Run(c.query, func(t *testing.T) {
			s := newSource(t, Config{URL: p.URL, Query: c.query, MaxBytes: 1000})
			_, err := read(s, 2*time.Second)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("query %s: got %v, want an error with %q", c.query, err, c.want)
			}
		})
	}
}

// The query goes as a POST form (the client's default), answered at the
// server's time.
func TestQueryMethod(t *testing.T) {
	p := newProm(t)
	p.set("up", 200, vector("1"))
	s := newSource(t, Config{URL: p.URL, Query: "up"})
	if _, err := read(s, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.methods) != 1 || p.methods[0] != http.MethodPost {
		t.Errorf("methods: got %v, want one POST", p.methods)
	}
}

func TestReadTimesOut(t *testing.T) {
	p := newProm(t)
	s := newSource(t, Config{URL: p.URL, Query: "hang"})
	began := time.Now()
	_, err := read(s, 100*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("query of a hung server: got %v, want context.DeadlineExceeded", err)
	}
	if took := time.Since(began); took > time.Second {
		t.Errorf("read took %v, want about its 100ms deadline", took)
	}
}

func TestPasswordNeverShown(t *testing.T) {
	p := newProm(t)
	p.set("up", 200, vector("1"))
	u := strings.Replace(p.URL, "http://", "http://prom:hunter2@", 1)
	s := newSource(t, Config{URL: u, Query: "up"})
	if _, err := read(s, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	auth := p.auth
	p.mu.Unlock()
	if auth != "Basic cHJvbTpodW50ZXIy" {
		t.Errorf("Authorization: got %q, want Basic prom:hunter2", auth)
	}
	if strings.Contains(s.String(), "hunter2") {
		t.Errorf("String shows the password: %s; want !strings.Contains(s.String(), \"hunter2\")", s)
	}
	p.Close()
	_, err := read(s, 2*time.Second)
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("error with the server gone: got %v, want \"connection refused\" and no password", err)
	}
}

func TestNewRefuses(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{URL: "prom:9090", Query: "up"}, "expected http(s)://host[:port]"},
		{Config{URL: "http://prom:9090"}, "the query is empty"},
		{Config{URL: "http://prom:9090", Query: "up", Scale: math.NaN()}, "not a finite number"},
	} {
		t.Run(c.want, func(t *testing.T) {
			if _, err := New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("New(%+v): got %v, want an error with %q", c.cfg, err, c.want)
			}
		})
	}
}

// A key in the URL's query string is no more shown than a password.
func TestQueryKeyNeverShown(t *testing.T) {
	p := newProm(t)
	p.set("up", 200, vector("1"))
	s := newSource(t, Config{URL: p.URL + "?token=s3cr3tkey", Query: "up"})
	if strings.Contains(s.String(), "s3cr3tkey") || !strings.Contains(s.String(), "token=xxxxx") {
		t.Errorf("String: got %s, want the token hidden (token=xxxxx)", s)
	}
	p.Close()
	if _, err := read(s, 2*time.Second); err == nil || strings.Contains(err.Error(), "s3cr3tkey") {
		t.Errorf("error with the server gone: got %v, want an error without the token", err)
	}
}
