package switcher

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/config/tomlfile"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"
)

// wait is how long a test waits for a callback before failing.
const wait = 10 * time.Second

type delivered struct {
	p    *Policy
	diff []string
}

// watch starts a watcher on path whose callbacks feed the returned
// channels; it is closed at the end of the test.
func watch(t *testing.T, path string, quiet, maxDelay time.Duration) (*PolicyWatcher, <-chan delivered, <-chan error) {
	t.Helper()
	policies := make(chan delivered, 16)
	errs := make(chan error, 16)
	w, err := newPolicyWatcher(path, "",
		func(p *Policy, diff []string) { policies <- delivered{p, diff} },
		func(err error) { errs <- err },
		zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.DebugLevel),
		quiet, maxDelay)
	if err != nil {
		t.Fatal(err)
	}
	w.Start()
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return w, policies, errs
}

// next waits for one value on ch.
func next[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		t.Fatalf("no %s within %v", what, wait)
	}
	panic("unreachable")
}

// nextPolicy waits for a delivered policy, skipping refusals of a file read
// half written (os.WriteFile truncates, then writes).
func nextPolicy(t *testing.T, policies <-chan delivered, errs <-chan error) delivered {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case d := <-policies:
			return d
		case err := <-errs:
			t.Logf("refused on the way (a half-written file): %v", err)
		case <-deadline:
			t.Fatalf("no policy within %v", wait)
		}
	}
}

// saveByRename writes content the way editors save: a new file in the same
// directory, renamed over the old one.
func saveByRename(t *testing.T, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".swp")
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestPolicyWatcherReloadsOnRename(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // runs last, after the watcher is closed
	path := filepath.Join(t.TempDir(), "policy.toml")
	saveByRename(t, path, site+group("a", ""))
	w, policies, errs := watch(t, path, 50*time.Millisecond, time.Second)
	first := w.Current()
	if first == nil || first.SiteCapacityKW != 1000 || len(first.Groups) != 1 {
		t.Fatalf("initial policy = %+v; want first != nil, first.SiteCapacityKW == 1000, len(first.Groups) == 1", first)
	}

	// A valid change, saved by rename.
	saveByRename(t, path, "site_capacity_kw = 900.0\n"+group("a", "")+group("b", ""))
	d := next(t, policies, "policy after a rename")
	if d.p.SiteCapacityKW != 900 || len(d.p.Groups) != 2 || w.Current() != d.p {
		t.Errorf("delivered %+v, Current %+v; want d.p.SiteCapacityKW == 900, len(d.p.Groups) == 2, w.Current() == d.p", d.p, w.Current())
	}
	wantDiff := []string{
		"site_capacity_kw 1000 -> 900",
		"ramp_up_kw_per_min 100 -> 90",
		`group "b" added: workers ["acct.b-*"], rig_kw 3.25, idle_kw 0.325, efficiency_j_th 34, priority 10, actuator "stratum"`,
	}
	if !slices.Equal(d.diff, wantDiff) {
		t.Errorf("diff = %q, want %q", d.diff, wantDiff)
	}
	good := d.p

	// A broken one: refused with its position, the good one stays.
	saveByRename(t, path, site+"[[group]]\nname = \"a\"\nworkers = [\"acct.[\"]\nrig_kw = 3.0\nefficiency_j_th = 30.0\nactuator = \"braiins\"\n")
	err := next(t, errs, "refusal of a broken policy")
	var cerrs tomlfile.Errors
	if !errors.As(err, &cerrs) {
		t.Fatalf("error is %T, want tomlfile.Errors: %v", err, err)
	}
	want := path + `:4:12: group[0].workers[0]: "acct.[" is not a valid glob (syntax error in pattern); '*' matches any run of characters, '?' one, [a-z] a class, \ escapes` + "\n" +
		path + `:7:1: group[0].actuator_options: password_file is required for the braiins actuator: a file holding the password of its user (root unless user says otherwise), e.g. password_file = "/etc/hashgate/braiins.pass"`
	if err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
	if w.Current() != good {
		t.Errorf("Current changed after a refused policy: %+v; want w.Current() == good", w.Current())
	}

	// Fixed again: delivered, even though it is the policy in force.
	saveByRename(t, path, "site_capacity_kw = 900.0\n"+group("a", "")+group("b", ""))
	d = next(t, policies, "policy after the fix")
	if len(d.diff) != 0 || d.p.SiteCapacityKW != 900 || w.Current() != d.p {
		t.Errorf("after the fix: diff %q, policy %+v; want len(d.diff) == 0, d.p.SiteCapacityKW == 900, w.Current() == d.p", d.diff, d.p)
	}

	// Written in place, as some editors and `cat >` do.
	if err := os.WriteFile(path, []byte("site_capacity_kw = 800.0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d = nextPolicy(t, policies, errs)
	if d.p.SiteCapacityKW != 800 || len(d.p.Groups) != 0 || !slices.Contains(d.diff, `group "a" removed`) {
		t.Errorf("after an in-place write: diff %q, policy %+v; want d.p.SiteCapacityKW == 800, len(d.p.Groups) == 0, slices.Contains(d.diff, `group \"a\" removed`)", d.diff, d.p)
	}

	// Removed: refused with the os error, the policy stays; back: loaded.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := next(t, errs, "refusal of a removed file"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("removed file: %v, want os.ErrNotExist", err)
	}
	if w.Current().SiteCapacityKW != 800 {
		t.Errorf("Current after removal = %+v; want w.Current().SiteCapacityKW == 800", w.Current())
	}
	saveByRename(t, path, "site_capacity_kw = 700.0\n")
	if d := next(t, policies, "policy after re-creation"); d.p.SiteCapacityKW != 700 {
		t.Errorf("re-created: %+v; want d.p.SiteCapacityKW == 700", d.p)
	}

	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w.Reload() // after Close: nothing, no panic
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if w.Current().SiteCapacityKW != 700 {
		t.Errorf("Current after Close = %+v; want w.Current().SiteCapacityKW == 700", w.Current())
	}
}

func TestPolicyWatcherReload(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // runs last, after the watcher is closed
	path := filepath.Join(t.TempDir(), "policy.toml")
	saveByRename(t, path, site)
	// File events would wait an hour: only Reload loads.
	w, policies, errs := watch(t, path, time.Hour, time.Hour)

	saveByRename(t, path, "site_capacity_kw = 1200\nreserve_kw = 100\n")
	w.Reload()
	d := next(t, policies, "policy after Reload")
	if d.p.SiteCapacityKW != 1200 || w.Current() != d.p {
		t.Errorf("Reload delivered %+v; want d.p.SiteCapacityKW == 1200, w.Current() == d.p", d.p)
	}
	if want := []string{"site_capacity_kw 1000 -> 1200", "reserve_kw 0 -> 100", "ramp_up_kw_per_min 100 -> 120"}; !slices.Equal(d.diff, want) {
		t.Errorf("diff = %q, want %q", d.diff, want)
	}

	// Nothing changed: Reload still answers, with an empty diff.
	w.Reload()
	if d := next(t, policies, "policy after an idle Reload"); len(d.diff) != 0 || d.p.SiteCapacityKW != 1200 {
		t.Errorf("idle Reload: diff %q, policy %+v; want len(d.diff) == 0, d.p.SiteCapacityKW == 1200", d.diff, d.p)
	}

	// A broken file on Reload: refused; again on the next Reload.
	saveByRename(t, path, "site_capacity_kw = 1200\nreserve_kw = 5000\n")
	for range 2 {
		w.Reload()
		err := next(t, errs, "refusal on Reload")
		if want := path + ":2:1: reserve_kw: 5000 is not below site_capacity_kw (1200); nothing would be left to allocate"; err.Error() != want {
			t.Errorf("error %q, want %q", err, want)
		}
	}
	if w.Current().ReserveKW != 100 {
		t.Errorf("Current after refusals = %+v; want w.Current().ReserveKW == 100", w.Current())
	}
}

func TestNewPolicyWatcherRefusesABadPolicy(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // runs last, after the watcher is closed
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.toml")
	if err := os.WriteFile(path, []byte("reserve_kw = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := NewPolicyWatcher(path, "", nil, nil, zerolog.Nop())
	if w != nil || err == nil || !strings.HasPrefix(err.Error(), path+":1:1: site_capacity_kw is required") {
		t.Fatalf("NewPolicyWatcher = %v, %v; want a FILE:LINE:COL error", w, err)
	}
	if _, err := NewPolicyWatcher(filepath.Join(dir, "nope.toml"), "", nil, nil, zerolog.Nop()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want os.ErrNotExist", err)
	}
	if w, err := NewPolicyWatcher(filepath.Join(dir, "no-dir", "policy.toml"), "", nil, nil, zerolog.Nop()); err == nil {
		t.Errorf("a policy in a missing directory: got watcher %p and no error, want an error", w)
	}
}

func TestPolicyWatcherNilCallbacks(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // runs last, after the watcher is closed
	path := filepath.Join(t.TempDir(), "policy.toml")
	saveByRename(t, path, site)
	w, err := NewPolicyWatcher(path, "", nil, nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	w.Start()
	w.Reload()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Current().SiteCapacityKW != 1000 {
		t.Errorf("Current = %+v; want w.Current().SiteCapacityKW == 1000", w.Current())
	}
}

// Every policy put in force is copied to the last-good file; a start on a
// broken or missing policy file runs on that copy (StartError says why)
// until the file is valid again. With no copy, or a broken one too, the
// start fails as before.
func TestPolicyWatcherStartsOnTheLastGoodCopy(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // runs last, after the watchers are closed
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.toml")
	lastGood := filepath.Join(dir, "state.last-good-policy.toml")
	good := site + group("a", "")
	saveByRename(t, path, good)
	w, err := NewPolicyWatcher(path, lastGood, nil, nil, zerolog.Nop())
	if err != nil {
		t.Fatalf("start on a good policy: %v", err)
	}
	if err := w.StartError(); err != nil {
		t.Fatalf("StartError after a good start: %v", err)
	}
	w.Close()
	if b, err := os.ReadFile(lastGood); err != nil || string(b) != copyHeader(path)+"\n"+good {
		t.Fatalf("last good copy after a good start: %q, %v; want err == nil, string(b) == copyHeader(path)+\"\\n\"+good", b, err)
	}

	// A broken file at the next start: the copy is in force.
	saveByRename(t, path, "site_capacity_kw = -1.0\n")
	policies := make(chan delivered, 4)
	errs := make(chan error, 4)
	w, err = NewPolicyWatcher(path, lastGood, func(p *Policy, diff []string) { policies <- delivered{p, diff} }, func(err error) { errs <- err }, zerolog.Nop())
	if err != nil {
		t.Fatalf("start on a broken policy with a good copy: %v", err)
	}
	w.Start()
	if se := w.StartError(); se == nil || !strings.HasPrefix(se.Error(), path+":1:") {
		t.Fatalf("StartError = %v, want the policy file's FILE:LINE:COL error", se)
	}
	if p := w.Current(); p.Path != lastGood || p.SiteCapacityKW != 1000 {
		t.Fatalf("policy in force: %s, %v kW; want the copy's, 1000 kW", p.Path, p.SiteCapacityKW)
	}
	// A Reload while it is still broken refuses it again; the copy stays.
	w.Reload()
	if err := next(t, errs, "refusal of the still broken file"); !strings.HasPrefix(err.Error(), path+":1:") || w.Current().Path != lastGood {
		t.Fatalf("reload of the broken file: %v, in force %s; want strings.HasPrefix(err.Error(), path+\":1:\"), w.Current().Path == lastGood", err, w.Current().Path)
	}
	// The file made valid again is put in force and becomes the copy.
	fixed := "site_capacity_kw = 900.0\n" + group("a", "")
	saveByRename(t, path, fixed)
	d := next(t, policies, "the repaired policy")
	if d.p.Path != path || d.p.SiteCapacityKW != 900 || w.Current() != d.p {
		t.Fatalf("after the repair: %s, %v kW; want d.p.Path == path, d.p.SiteCapacityKW == 900, w.Current() == d.p", d.p.Path, d.p.SiteCapacityKW)
	}
	w.Close()
	if b, _ := os.ReadFile(lastGood); string(b) != copyHeader(path)+"\n"+fixed {
		t.Fatalf("last good copy after the repair: %q; want string(b) == copyHeader(path)+\"\\n\"+fixed", b)
	}

	// A policy file gone at start: the copy too.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	w, err = NewPolicyWatcher(path, lastGood, nil, nil, zerolog.Nop())
	if err != nil {
		t.Fatalf("start without the policy file: %v", err)
	}
	if !errors.Is(w.StartError(), os.ErrNotExist) || w.Current().SiteCapacityKW != 900 {
		t.Fatalf("start without the policy file: StartError %v, %v kW; want errors.Is(w.StartError(), os.ErrNotExist), w.Current().SiteCapacityKW == 900", w.StartError(), w.Current().SiteCapacityKW)
	}
	w.Close()

	// The config now names another policy file, broken: the copy is of
	// the old one, a different site, so the start fails.
	other := filepath.Join(dir, "other.toml")
	saveByRename(t, other, "site_capacity_kw = -1.0\n")
	if _, err := NewPolicyWatcher(other, lastGood, nil, nil, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "is not of this policy file") {
		t.Fatalf("broken other policy with the old file's copy: %v", err)
	}

	// No copy to fall back on, or a broken one: the start fails.
	saveByRename(t, path, "site_capacity_kw = -1.0\n")
	if _, err := NewPolicyWatcher(path, filepath.Join(dir, "none.toml"), nil, nil, zerolog.Nop()); err == nil || !strings.HasPrefix(err.Error(), path+":1:") {
		t.Fatalf("broken policy, no copy: %v", err)
	}
	saveByRename(t, lastGood, copyHeader(path)+"\nreserve_kw = 1\n")
	if _, err := NewPolicyWatcher(path, lastGood, nil, nil, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "last good copy is no better") || !strings.Contains(err.Error(), lastGood+":1:1:") { // the header is line 1
		t.Fatalf("broken policy, broken copy: %v", err)
	}
}
