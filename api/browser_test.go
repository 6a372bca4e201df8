package api_test

// Browser tests drive the dashboard in a real headless Chromium
// (chromedp): they load the page from a running site and assert what it
// shows once its script has drawn the API's answers. Without a Chromium
// binary they are skipped with a message, or fail when
// HASHGATE_REQUIRE_CHROMIUM is set (.ci/run installs Debian's chromium and
// sets it, so CI runs them).

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium finds a Chromium binary: $HASHGATE_CHROMIUM, else the usual
// names on the PATH ("" when none).
func chromium() string {
	if p := os.Getenv("HASHGATE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browserTimeout bounds each browser test's page work.
const browserTimeout = 60 * time.Second

// newBrowser starts a headless Chromium with a window width × height and
// returns a tab's context, closed (the browser stopped) when the test
// ends. Without Chromium it skips the test.
func newBrowser(t *testing.T, width, height int) context.Context {
	t.Helper()
	ctx, ok := tryBrowser(t, width, height)
	if !ok && os.Getenv("HASHGATE_REQUIRE_CHROMIUM") != "" {
		t.Fatalf("HASHGATE_REQUIRE_CHROMIUM=%q: got no Chromium binary (chromium, chromium-browser, google-chrome or $HASHGATE_CHROMIUM), want one", os.Getenv("HASHGATE_REQUIRE_CHROMIUM"))
	}
	if !ok {
		t.Skip("no Chromium binary (chromium, chromium-browser, google-chrome or $HASHGATE_CHROMIUM): the browser test needs one; apt-get install chromium")
	}
	return ctx
}

// tryBrowser is newBrowser reporting false instead of skipping, for the
// tests whose other checks stand without a browser.
func tryBrowser(t *testing.T, width, height int) (context.Context, bool) {
	t.Helper()
	path := chromium()
	if path == "" {
		return nil, false
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path),
		chromedp.NoSandbox, // root in CI containers
		chromedp.DisableGPU, chromedp.WindowSize(width, height),
		chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	tab, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc() // waits for the browser to exit
	})
	// The first action starts the browser, on a context without a
	// deadline (the deadline would stop the browser); later ones are
	// bounded by browserTimeout.
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	ctx, cancelTimeout := context.WithTimeout(tab, browserTimeout)
	t.Cleanup(cancelTimeout)
	return ctx, true
}

// openDashboard loads the dashboard at base (polling every pollMS) and
// waits for its first answers to be drawn.
func openDashboard(t *testing.T, ctx context.Context, base string, pollMS int) {
	t.Helper()
	url := fmt.Sprintf("%s/#poll=%d", base, pollMS)
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`))); err != nil {
		t.Fatalf("opening %s: %v", url, err)
	}
}

// pageText is the text the page shows (its body's innerText).
func pageText(t *testing.T, ctx context.Context) string {
	t.Helper()
	return evalString(t, ctx, `document.body.innerText`)
}

// evalString evaluates a JS expression on the page.
func evalString(t *testing.T, ctx context.Context, expr string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return s
}

// waitText polls expr on the page until it gives want (else fails the
// test at the deadline).
func waitText(t *testing.T, ctx context.Context, what, expr, want string, within time.Duration) {
	t.Helper()
	got, ok := poll(t, ctx, expr, func(s string) bool { return s == want }, within)
	if !ok {
		t.Fatalf("%s: the page shows %q, want %q", what, got, want)
	}
}

// waitFor polls expr until ok accepts what it gives, and returns it (else
// fails the test at the deadline).
func waitFor(t *testing.T, ctx context.Context, what, expr string, ok func(string) bool, within time.Duration) string {
	t.Helper()
	got, good := poll(t, ctx, expr, ok, within)
	if !good {
		t.Fatalf("%s: the page shows %q", what, got)
	}
	return got
}

func poll(t *testing.T, ctx context.Context, expr string, ok func(string) bool, within time.Duration) (string, bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := evalString(t, ctx, expr)
		if ok(got) {
			return got, true
		}
		if time.Now().After(deadline) {
			return got, false
		}
		select {
		case <-ctx.Done():
			return got, false
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// dashboardText opens the dashboard of base and returns the text it
// shows; false (logged) without Chromium, so a test's API checks still run.
func dashboardText(t *testing.T, base string) (string, bool) {
	t.Helper()
	ctx, ok := tryBrowser(t, 1280, 1000)
	if !ok && os.Getenv("HASHGATE_REQUIRE_CHROMIUM") != "" {
		t.Fatalf("HASHGATE_REQUIRE_CHROMIUM=%q: got no Chromium binary, want one", os.Getenv("HASHGATE_REQUIRE_CHROMIUM"))
	}
	if !ok {
		t.Log("no Chromium binary: the dashboard's rendering is not checked here (apt-get install chromium)")
		return "", false
	}
	openDashboard(t, ctx, base, 5000)
	return pageText(t, ctx), true
}

// wantOnPage fails for each of wants the page text lacks.
func wantOnPage(t *testing.T, page string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(page, w) {
			t.Errorf("the dashboard does not show %q; want strings.Contains(page, w); it shows:\n%s", w, page)
		}
	}
}
