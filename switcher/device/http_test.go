package device

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// countConns serves h and counts the connections it accepts.
func countConns(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			n.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &n
}

func get(t *testing.T, c *http.Client, url string, last bool) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Close = last
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ReadBody(resp, 100); err != nil {
		t.Fatal(err)
	}
}

// CallConn: the requests of a call share one connection, and the next
// call makes a new one (the last request closed it).
func TestHTTPClientCallConn(t *testing.T) {
	srv, conns := countConns(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	c := HTTPClient(HTTPOptions{CallConn: true})
	for call := 1; call <= 2; call++ {
		get(t, c, srv.URL, false)
		get(t, c, srv.URL, true)
		if got := conns.Load(); got != int32(call) {
			t.Fatalf("after call %d: got %d connections, want %d", call, got, call)
		}
	}
}

// Without CallConn every request has its own connection.
func TestHTTPClientNoKeepAlive(t *testing.T) {
	srv, conns := countConns(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	c := HTTPClient(HTTPOptions{})
	get(t, c, srv.URL, false)
	get(t, c, srv.URL, false)
	if got := conns.Load(); got != 2 {
		t.Fatalf("got %d connections for 2 requests, want 2", got)
	}
}

func TestHTTPClientNoRedirect(t *testing.T) {
	srv, _ := countConns(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	})
	resp, err := HTTPClient(HTTPOptions{}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("got status %d, want the 302 itself", resp.StatusCode)
	}
}

func TestReadBody(t *testing.T) {
	resp := func(body string) *http.Response {
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(body))}
	}
	if b, err := ReadBody(resp("12345"), 5); err != nil || string(b) != "12345" {
		t.Errorf("at the bound: got %q, %v; want the body", b, err)
	}
	if _, err := ReadBody(resp("123456"), 5); !errors.Is(err, ErrProtocol) || !errors.Is(err, ErrTooLong) {
		t.Errorf("over the bound: got %v, want ErrProtocol and ErrTooLong", err)
	}
	r := &http.Response{Body: io.NopCloser(io.MultiReader(strings.NewReader("ab"), errReader{}))}
	if _, err := ReadBody(r, 5); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("read error: got %v, want it passed on", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func TestStatusError(t *testing.T) {
	cases := []struct {
		code int
		want error // nil: no error
		text string
	}{
		{200, nil, ""}, {204, nil, ""},
		{401, ErrAuth, "HTTP 401"}, {403, ErrAuth, "HTTP 403"},
		{404, ErrRefused, "HTTP 404"}, {409, ErrRefused, "HTTP 409"},
		{500, nil, "HTTP 500: miner error"}, {503, nil, "HTTP 503: miner error"},
		{302, ErrProtocol, "HTTP 302"}, {101, ErrProtocol, "HTTP 101"},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.code), func(t *testing.T) {
			err := StatusError(c.code, "miner")
			switch {
			case c.text == "" && err != nil:
				t.Errorf("%d: got %v, want nil", c.code, err)
			case c.text != "" && (err == nil || !strings.Contains(err.Error(), c.text)):
				t.Errorf("%d: got %v, want an error saying %q", c.code, err, c.text)
			case c.want != nil && !errors.Is(err, c.want):
				t.Errorf("%d: got %v, want %v", c.code, err, c.want)
			case c.code >= 500 && !Retryable(err):
				t.Errorf("%d: got %v, want a retryable error", c.code, err)
			}
		})
	}
}

func TestNewRequest(t *testing.T) {
	req, err := NewRequest(context.Background(), http.MethodPost, "http://h/p", []byte(`{}`))
	if err != nil || req.Header.Get("Content-Type") != "application/json" || req.ContentLength != 2 {
		t.Fatalf("with a body: got %v (Content-Type %q, length %d); want application/json, 2", err, req.Header.Get("Content-Type"), req.ContentLength)
	}
	req, err = NewRequest(context.Background(), http.MethodGet, "http://h/p", nil)
	if err != nil || req.Body != nil || req.Header.Get("Content-Type") != "" {
		t.Fatalf("without a body: got %v, body %v, Content-Type %q; want no body and no Content-Type", err, req.Body, req.Header.Get("Content-Type"))
	}
	if _, err := NewRequest(context.Background(), "bad method", "http://h/", nil); !errors.Is(err, ErrProtocol) {
		t.Fatalf("bad method: got %v, want ErrProtocol", err)
	}
}

// The URL, which may hold a token, leaves the error; the cause stays.
func TestTransportError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Close()
	resp, err := HTTPClient(HTTPOptions{}).Get(srv.URL + "/hook/tok-secret")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("a closed server: got %s and a nil error, want an error", resp.Status)
	}
	got := TransportError(err)
	if strings.Contains(got.Error(), "tok-secret") {
		t.Errorf("got %q, want the URL left out", got)
	}
	var op *net.OpError
	if !errors.As(got, &op) {
		t.Errorf("got %T %v, want the cause (*net.OpError) kept", got, got)
	}
	plain := errors.New("plain")
	if TransportError(plain) != plain {
		t.Errorf("another error: got %v, want it as it is", TransportError(plain))
	}
}
