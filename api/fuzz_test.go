package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/internal/apitest"
)

// FuzzAPI sends any request to the API of a running site (pool, proxy,
// switcher; no miners): any method, path, query, token and body. Nothing
// may panic; every answer has a known status, a JSON body on /api/ and
// /healthz, a bounded size; and a request refused changes nothing (the
// allocation in force is the same). Seeds are the requests hashgatectl
// and the dashboard make.
func FuzzAPI(f *testing.F) {
	seeds := []struct {
		method      uint8
		path, query string
		token       uint8
		body        string
	}{
		{0, "/api/v1/status", "", 0, ""},
		{0, "/api/v1/workers", "group=hall-a&state=mining&limit=5&offset=2", 1, ""},
		{0, "/api/v1/events", "since=0&limit=2", 1, ""},
		{0, "/api/v1/rigs/acct.rig-00003", "", 0, ""},
		{0, "/api/v1/workers", "grup=x&group=nope", 0, ""},
		{0, "/healthz", "", 0, ""},
		{0, "/metrics", "", 0, ""},
		{0, "/", "", 0, ""},
		{0, "/ui/app.js", "", 0, ""},
		{0, "/api/v1/workers", "q=rig-0&sort=hashrate_ths&order=desc&flag=pinned&state=curtailed", 0, ""},
		{0, "/api/v1/groups", "", 0, ""},
		{0, "/api/v1/history", "since=2025-06-01T18:00:00Z", 0, ""},
		{1, "/api/v1/allocation", "", 2, `{"ai_kw": 68, "reason": "training", "until": "2030-01-01T00:00:00Z", "emergency": true}`},
		{1, "/api/v1/allocation", "", 1, `{"ai_kw": 68, "reason": "training"}`},
		{1, "/api/v1/allocation", "", 2, `{"ai_kw": -0, "reason": "x"}`},
		{2, "/api/v1/plan", "", 1, `{"ai_kw": 150}`},
		{1, "/api/v1/rigs/acct.rig-00003/pin", "", 2, `{"mode": "off", "reason": "fan swap"}`},
		{1, "/api/v1/rigs/acct%2Frig/pin", "", 2, `{"mode": "auto"}`},
		{3, "/api/v1/allocation", "", 2, ``},
		{1, "/api/v1/cap", "", 2, `{"cap_kw": 90, "reason": "substation", "until": "2030-01-01T00:00:00Z"}`},
		{1, "/api/v1/cap", "", 2, `{"cap_kw": 0, "reason": "lifted"}`},
		{2, "/api/v1/heartbeat", "", 2, ``},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.query, s.token, []byte(s.body))
	}
	site := apitest.Start(f, apitest.Options{Policy: apitest.TwoHallPolicy, Log: zerolog.Nop(),
		Tokens: []config.Token{
			{Name: "power-desk", Token: writeToken, Role: config.RoleWrite},
			{Name: "viewer", Token: readToken, Role: config.RoleRead},
		}})
	h := site.API.Config.Handler
	methods := []string{"GET", "PUT", "POST", "DELETE", "HEAD", "PATCH", "OPTIONS"}
	tokens := []string{"", readToken, writeToken, "w-0123456789abcdeX"}
	known := []int{200, 301, 307, 308, 400, 401, 403, 404, 405, 413, 503}
	f.Fuzz(func(t *testing.T, method uint8, path, query string, token uint8, body []byte) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req := &http.Request{Method: methods[int(method)%len(methods)], URL: &url.URL{Path: path, RawQuery: query},
			Header: http.Header{}, Host: "hashgate", Body: http.NoBody, ProtoMajor: 1, ProtoMinor: 1}
		if len(body) > 0 {
			req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		}
		if tok := tokens[int(token)%len(tokens)]; tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		req = req.WithContext(t.Context())
		before := site.Switcher.Status().Allocation
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		code, out := rec.Code, rec.Body.Bytes()
		if !slices.Contains(known, code) {
			t.Fatalf("%s %s?%s: status %d\n%s", req.Method, path, query, code, out)
		}
		if len(out) > 4<<20 {
			t.Fatalf("%s %s?%s: %d bytes answered", req.Method, path, query, len(out))
		}
		clean := req.URL.Path
		if (strings.HasPrefix(clean, "/api/") || clean == "/healthz") && req.Method != "HEAD" && code < 300 && !json.Valid(out) {
			t.Fatalf("%s %s?%s: %d, not JSON: %s", req.Method, path, query, code, out)
		}
		if code >= 400 && code != 405 && strings.HasPrefix(clean, "/api/") {
			var eb struct{ Error string }
			if json.Unmarshal(out, &eb) != nil || eb.Error == "" {
				t.Fatalf("%s %s?%s: %d without a JSON error: %s", req.Method, path, query, code, out)
			}
		}
		if code >= 300 {
			after := site.Switcher.Status().Allocation
			expiring := before != nil && !before.Until.IsZero() && time.Until(before.Until) < time.Second
			if !expiring && !reflect.DeepEqual(before, after) {
				t.Fatalf("%s %s?%s refused (%d: %s) but the allocation changed: %+v -> %+v", req.Method, path, query, code, out, before, after)
			}
		}
	})
}
