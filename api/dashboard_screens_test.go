package api_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var update = flag.Bool("update", false, "TestScreenshots: write docs/dashboard-desktop.png and docs/dashboard-phone.png")

// At phone width (390 px) nothing is cut off: the page does not scroll
// sideways, the pools and groups are cards with their state in view, and
// the worker table scrolls inside its own box.
func TestDashboardPhoneWidth(t *testing.T) {
	ctx := newBrowser(t, 390, 844)
	e := startDashSite(t, fleetSize, 0)
	e.steady()
	e.want("PUT", "/api/v1/allocation", writeToken, map[string]any{"ai_kw": 68.0, "reason": "phone"}, 200, nil)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	openDashboard(t, ctx, e.ts.URL, 300)
	waitText(t, ctx, "parked", tileJS("parked"), "10", 10*time.Second)
	if w := evalString(t, ctx, `String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("the page is %s px wide at a 390 px viewport, want 390 (no sideways scroll)", w)
	}
	// Every cell of the pools and groups cards lies within the screen.
	for _, sel := range []string{`#pools td[data-label="state"]`, `#pools td[data-label="url"]`, `#groups td[data-label="parked"]`, `#tiles #load`} {
		js := `(() => { const r = document.querySelector('` + sel + `').getBoundingClientRect();
			return r.width > 0 && r.left >= 0 && r.right <= 390 ? "in view" : "at " + r.left + ".." + r.right; })()`
		if got := evalString(t, ctx, js); got != "in view" {
			t.Errorf("%s is %s, want within 0..390 px", sel, got)
		}
	}
	if got := evalString(t, ctx, `document.querySelector('#pools td[data-label="state"]').innerText`); got != "state\tactive" && got != "stateactive" && got != "state\nactive" {
		if s := evalString(t, ctx, `document.querySelector('#pools td[data-label="state"] span').innerText`); s != "active" {
			t.Errorf("the pool's state shows %q, want active", s)
		}
	}
}

// TestScreenshots renders the dashboard of a small site mid-curtailment at
// desktop (1280 px) and phone (390 px) width; with -update it writes them
// to docs/ (go test ./api -run TestScreenshots -update).
func TestScreenshots(t *testing.T) {
	if !*update {
		t.Skip("writes docs/dashboard-*.png: run with -update")
	}
	e := startDashSite(t, fleetSize, 0)
	e.steady()
	// A few allocations, so the site view has steps to draw.
	for _, ai := range []float64{20, 45, 68, 56} {
		e.want("PUT", "/api/v1/allocation", writeToken, map[string]any{"ai_kw": ai, "reason": "AI training ramp"}, 200, nil)
		e.eventually(fmt.Sprintf("the allocation of %v kW applied", ai), func() (bool, any) { kw := e.status().Power.AIKW; return kw == ai, kw })
		sleepHistory(t, e)
	}
	for _, shot := range []struct {
		file          string
		width, height int64
		mobile        bool
	}{
		{"dashboard-desktop.png", 1280, 1500, false},
		{"dashboard-phone.png", 390, 2000, true},
	} {
		ctx := newBrowser(t, int(shot.width), int(shot.height))
		vp := chromedp.EmulateViewport(shot.width, shot.height)
		if shot.mobile {
			vp = chromedp.EmulateViewport(shot.width, shot.height, chromedp.EmulateMobile)
		}
		if err := chromedp.Do(ctx, vp); err != nil {
			t.Fatal(err)
		}
		openDashboard(t, ctx, e.ts.URL, 1000)
		waitText(t, ctx, "ai", tileJS("ai"), "56.0 kW", 10*time.Second)
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("..", "docs", shot.file)
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%s bytes)", path, strconv.Itoa(len(png)))
	}
}

// sleepHistory lets the history ring take a few points (100 ms apart).
func sleepHistory(t *testing.T, e *dashSite) {
	t.Helper()
	var h struct{ Points []any }
	e.want("GET", "/api/v1/history", "", nil, 200, &h)
	n := len(h.Points)
	e.eventually(fmt.Sprintf("five more history points (%d)", n+5), func() (bool, any) {
		e.want("GET", "/api/v1/history", "", nil, 200, &h)
		return len(h.Points) >= n+5, fmt.Sprintf("%d points", len(h.Points))
	})
}
