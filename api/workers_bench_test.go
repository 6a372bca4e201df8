package api_test

import (
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/apitest"
	"github.com/hashgate/hashgate/switcher"
)

// site50k is a site whose switcher lists 50,000 rigs (an inventory: no
// connection needed), none connected, planning at the default tick (1 s;
// the test sites' 50 ms would hold the switcher's lock most of the time
// at this size).
func site50k(tb testing.TB) *apitest.Site {
	tb.Helper()
	s := apitest.Start(tb, apitest.Options{Policy: testPolicy, Switcher: func(c *switcher.Config) { c.Tick = switcher.DefaultTick }})
	s.Switcher.SetInventory(inventory50k())
	return s
}

// inventory50k lists 50,000 rigs, acct.rig-00000 to acct.rig-49999.
func inventory50k() []switcher.InventoryRig {
	inv := make([]switcher.InventoryRig, 50000)
	for i := range inv {
		inv[i] = switcher.InventoryRig{Name: fmt.Sprintf("acct.rig-%05d", i), Address: fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255)}
	}
	return inv
}

// get reads url and reports the time it took and X-Total-Count.
func get(tb testing.TB, url string) (time.Duration, string) {
	tb.Helper()
	start := time.Now()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		tb.Fatalf("GET %s: %d; want resp.StatusCode == 200", url, resp.StatusCode)
	}
	return time.Since(start), resp.Header.Get("X-Total-Count")
}

// BenchmarkWorkersPage50k is one page of the dashboard's worker table
// at 50,000 rigs: GET /api/v1/workers sorted, searched or filtered.
func BenchmarkWorkersPage50k(b *testing.B) {
	s := site50k(b)
	for _, q := range []string{"limit=50&offset=25000", "limit=50&sort=name&order=desc", "limit=50&q=rig-4999",
		"limit=50&sort=counted_kw&order=desc&state=curtailed", "limit=50&group=hall-a"} {
		b.Run(q, func(b *testing.B) {
			for b.Loop() {
				get(b, s.API.URL+"/api/v1/workers?"+q)
			}
		})
	}
}

// BenchmarkSwitcherRigs50k is the switcher's part of a worker page at
// 50,000 rigs: reading its rigs (under its lock, shared with planning).
func BenchmarkSwitcherRigs50k(b *testing.B) {
	s := site50k(b)
	for b.Loop() {
		if n := len(s.Switcher.Rigs()); n != 50000 {
			b.Fatalf("%d rigs", n)
		}
	}
}
