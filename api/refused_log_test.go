package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/internal/apitest"
	"github.com/hashgate/hashgate/internal/sim"
)

// A client retrying a bad token in a loop gets its 401s, but the log gets
// a few lines in full and then a count, not a line per request.
func TestRefusedTokensLogBounded(t *testing.T) {
	var logs sim.LogBuffer
	s := apitest.Start(t, apitest.Options{Policy: apitest.TwoHallPolicy, Log: zerolog.New(&logs),
		Tokens: []config.Token{{Name: "viewer", Token: readToken, Role: config.RoleRead}}})
	const n = 2000
	for i := range n {
		tok := "not-a-token"
		if i%2 == 1 {
			tok = readToken // a read token trying a write: 403
		}
		req, _ := http.NewRequest("PUT", s.API.URL+"/api/v1/allocation", strings.NewReader(`{"ai_kw":1,"reason":"x"}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := []int{401, 403}[i%2]; resp.StatusCode != want {
			t.Fatalf("request %d: status %d, want %d", i, resp.StatusCode, want)
		}
	}
	full := logs.Count(`"message":"api: invalid token"`) + logs.Count(`"message":"api: read token refused a write"`)
	if full > 20 {
		t.Fatalf("%d refused requests logged %d lines in full, want a few per reason and interval", n, full)
	}
	s.API.Close()
	s.Handler.Close() // writes the pending summaries
	counted := 0
	for _, e := range logs.JSON() {
		if ev, _ := e["event"].(string); strings.HasPrefix(ev, "api: ") {
			c, _ := e["count"].(float64)
			counted += int(c)
		}
	}
	if full+counted != n {
		t.Fatalf("%d lines in full + %d counted in summaries = %d, want every one of the %d refused requests", full, counted, full+counted, n)
	}
}
