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

// watchAll starts a watcher on a policy and an inventory whose deliveries
// feed the returned channels; it is closed at the end of the test.
func watchAll(t *testing.T, policy, inventory, lastGood, invLastGood string, quiet time.Duration) (*PolicyWatcher, <-chan Loaded, <-chan error) {
	t.Helper()
	loads := make(chan Loaded, 16)
	errs := make(chan error, 16)
	w, err := newPolicyWatcher(policy, lastGood,
		func(p *Policy, diff []string) { t.Errorf("onPolicy called with an inventory: %q", diff) },
		func(err error) { errs <- err },
		zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.DebugLevel),
		quiet, time.Second, WithInventory(inventory, invLastGood, func(l Loaded) { loads <- l }))
	if err != nil {
		t.Fatal(err)
	}
	w.Start()
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return w, loads, errs
}

// nextLoad waits for a delivery, skipping refusals of a file read half
// written.
func nextLoad(t *testing.T, loads <-chan Loaded, errs <-chan error) Loaded {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case l := <-loads:
			return l
		case err := <-errs:
			t.Logf("refused on the way (a half-written file): %v", err)
		case <-deadline:
			t.Fatalf("nothing delivered within %v", wait)
		}
	}
}

func TestPolicyWatcherWithInventory(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // runs last, after the watcher is closed
	root := t.TempDir()
	policy := filepath.Join(root, "etc", "policy.toml")
	inventory := filepath.Join(root, "rigs", "rigs.csv")
	for _, d := range []string{filepath.Dir(policy), filepath.Dir(inventory)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	saveByRename(t, policy, site+group("a", ""))
	saveByRename(t, inventory, "name,address\nacct.a-1,10.0.0.1\nacct.a-2,10.0.0.2\n")
	w, loads, errs := watchAll(t, policy, inventory, "", "", 50*time.Millisecond)
	if got := w.Inventory(); !slices.Equal(got, []InventoryRig{{"acct.a-1", "10.0.0.1"}, {"acct.a-2", "10.0.0.2"}}) {
		t.Fatalf("initial inventory = %v; want slices.Equal(got, []InventoryRig{{\"acct.a-1\", \"10.0.0.1\"}, {\"acct.a-2\", \"10.0.0.2\"}})", got)
	}
	first := w.Current()

	// The inventory changes (in its own directory): delivered with the
	// policy in force, which is not reloaded.
	saveByRename(t, inventory, "name,address\nacct.a-2,10.0.0.20\nacct.a-3,10.0.0.3\n")
	l := nextLoad(t, loads, errs)
	wantDiff := []string{`inventory: 1 rigs added: "acct.a-3"`, `inventory: 1 rigs removed: "acct.a-1"`, `inventory: 1 rigs moved: "acct.a-2" 10.0.0.2 -> 10.0.0.20`}
	if !l.InventoryLoaded || l.PolicyLoaded || l.Policy != first || !slices.Equal(l.InventoryDiff, wantDiff) || len(l.Inventory) != 2 {
		t.Errorf("after an inventory change: %+v; want the inventory loaded with diff %q, the policy as it was", l, wantDiff)
	}
	good := w.Inventory()

	// A bad inventory: refused with its FILE:LINE:COL, the old one stays.
	saveByRename(t, inventory, "name,address\nacct.a-2,http://10.0.0.2\n")
	err := next(t, errs, "refusal of a bad inventory")
	var es tomlfile.Errors
	if !errors.As(err, &es) || !strings.HasPrefix(err.Error(), inventory+":2:10: address \"http://10.0.0.2\": has a scheme") {
		t.Errorf("refusal = %v; want the inventory's FILE:LINE:COL error", err)
	}
	if !slices.Equal(w.Inventory(), good) {
		t.Errorf("Inventory after a refusal = %v, want %v", w.Inventory(), good)
	}

	// The policy changes meanwhile: delivered alone, the inventory in
	// force beside it.
	saveByRename(t, policy, "site_capacity_kw = 900.0\n"+group("a", ""))
	l = nextLoad(t, loads, errs)
	if !l.PolicyLoaded || l.InventoryLoaded || l.Policy.SiteCapacityKW != 900 || !slices.Equal(l.Inventory, good) ||
		!slices.Equal(l.Diff, []string{"site_capacity_kw 1000 -> 900", "ramp_up_kw_per_min 100 -> 90"}) {
		t.Errorf("after a policy change: %+v", l)
	}

	// Reload while the inventory is still bad: the policy is delivered,
	// then the inventory refused again, in that order.
	w.Reload()
	l = next(t, loads, "delivery on Reload")
	if !l.PolicyLoaded || l.InventoryLoaded || len(l.Diff) != 0 {
		t.Errorf("Reload with a bad inventory: %+v; want the policy alone, unchanged", l)
	}
	if err := next(t, errs, "refusal on Reload"); !strings.HasPrefix(err.Error(), inventory+":2:10:") {
		t.Errorf("refusal on Reload = %v", err)
	}

	// Fixed: delivered, though it is the inventory in force.
	saveByRename(t, inventory, "name,address\nacct.a-2,10.0.0.20\nacct.a-3,10.0.0.3\n")
	l = nextLoad(t, loads, errs)
	if !l.InventoryLoaded || l.PolicyLoaded || len(l.InventoryDiff) != 0 {
		t.Errorf("after the fix: %+v; want the inventory delivered with no change", l)
	}

	// Removed: refused with the os error.
	if err := os.Remove(inventory); err != nil {
		t.Fatal(err)
	}
	if err := next(t, errs, "refusal of a removed inventory"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("removed inventory: %v, want os.ErrNotExist", err)
	}

	// Reload with both valid: both delivered at once.
	saveByRename(t, inventory, "name,address\nacct.a-9,rig-9\n")
	w.Reload()
	deadline := time.After(wait)
	for l = nextLoad(t, loads, errs); !l.InventoryLoaded || !l.PolicyLoaded; l = nextLoad(t, loads, errs) {
		select {
		case <-deadline:
			t.Fatalf("no delivery of both within %v", wait)
		default:
		}
		w.Reload() // the event's load may have come first, alone
	}
	if !slices.Equal(l.Inventory, []InventoryRig{{"acct.a-9", "rig-9"}}) {
		t.Errorf("Reload delivered inventory %v; want slices.Equal(l.Inventory, []InventoryRig{{\"acct.a-9\", \"rig-9\"}})", l.Inventory)
	}
}

// A start on a bad inventory runs on its last good copy, like the policy;
// with no copy it fails.
func TestPolicyWatcherInventoryStart(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.toml")
	inventory := filepath.Join(dir, "rigs.csv")
	copyPath := filepath.Join(dir, "state.last-good-inventory.csv")
	saveByRename(t, policy, site)
	good := "name,address\nr1,10.0.0.1\n"
	saveByRename(t, inventory, good)
	start := func(lastGood string) (*PolicyWatcher, error) {
		return NewPolicyWatcher(policy, "", nil, nil, zerolog.Nop(), WithInventory(inventory, lastGood, nil))
	}
	w, err := start(copyPath)
	if err != nil || w.StartError() != nil {
		t.Fatalf("start on a good inventory: %v, StartError %v; want err == nil, w.StartError() == nil", err, w.StartError())
	}
	w.Close()
	if b, err := os.ReadFile(copyPath); err != nil || string(b) != inventoryCopyHeader(inventory)+"\n"+good {
		t.Fatalf("last good copy: %q, %v; want err == nil, string(b) == inventoryCopyHeader(inventory)+\"\\n\"+good", b, err)
	}

	saveByRename(t, inventory, "name,address\nr1,10.0.0.1/24\n")
	w, err = start(copyPath)
	if err != nil {
		t.Fatalf("start on a bad inventory with a copy: %v", err)
	}
	if se := w.StartError(); se == nil || !strings.HasPrefix(se.Error(), inventory+":2:4: address") {
		t.Errorf("StartError = %v; want the inventory's FILE:LINE:COL error", se)
	}
	if got := w.Inventory(); !slices.Equal(got, []InventoryRig{{"r1", "10.0.0.1"}}) {
		t.Errorf("inventory in force = %v; want the copy's", got)
	}
	w.Close()

	if _, err := start(""); err == nil || !strings.HasPrefix(err.Error(), "inventory: "+inventory+":2:4:") {
		t.Errorf("start on a bad inventory without a copy: %v; want its FILE:LINE:COL error", err)
	}
	if _, err := NewPolicyWatcher(policy, "", nil, nil, zerolog.Nop(), WithInventory(filepath.Join(dir, "none.csv"), "", nil)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("start on a missing inventory: %v; want os.ErrNotExist", err)
	}
	// A copy of another inventory is not a fallback.
	other := filepath.Join(dir, "other.csv")
	saveByRename(t, other, "nope\n")
	if _, err := NewPolicyWatcher(policy, "", nil, nil, zerolog.Nop(), WithInventory(other, copyPath, nil)); err == nil || !strings.Contains(err.Error(), "is not of this inventory") {
		t.Errorf("start on another inventory with this one's copy: %v", err)
	}
}

// A password file changed under the same name is read again on Reload
// (the watcher does not watch it): the policy is delivered with a line
// naming the file, never its content.
func TestPolicyWatcherReloadsPasswordFiles(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	path := policyDir(t)
	pass := filepath.Join(filepath.Dir(path), "s19.pass")
	saveByRename(t, path, site+fwGroup("a", "antminer", "[group.actuator_options]\npassword_file = \"s19.pass\"\n"))
	w, policies, errs := watch(t, path, time.Hour, time.Hour)
	if got := w.Current().Group("a").Device.Password.Reveal(); got != password {
		t.Fatalf("password in force %q, want %q", got, password)
	}
	if err := os.WriteFile(pass, []byte("rotated\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w.Reload()
	d := nextPolicy(t, policies, errs)
	if want := []string{`group "a": the password file changed (` + pass + `)`}; !slices.Equal(d.diff, want) {
		t.Errorf("diff = %q, want %q", d.diff, want)
	}
	if got := w.Current().Group("a").Device.Password.Reveal(); got != "rotated" {
		t.Errorf("password in force after Reload = %q, want the rotated one", got)
	}
	// Emptied: refused at the key, the rotated password stays.
	if err := os.WriteFile(pass, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	w.Reload()
	if err := next(t, errs, "refusal of an empty password file"); err == nil || !strings.Contains(err.Error(), path+":9:1: group[0].actuator_options.password_file: "+pass+": is empty") {
		t.Errorf("refusal = %v", err)
	}
	if got := w.Current().Group("a").Device.Password.Reveal(); got != "rotated" {
		t.Errorf("password in force after a refusal = %q, want the rotated one", got)
	}
}

// WithInventory("") is no inventory, with the one callback: the policy is
// delivered through onLoad, the inventory empty and never loaded.
func TestPolicyWatcherWithoutInventoryFile(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	path := filepath.Join(t.TempDir(), "policy.toml")
	saveByRename(t, path, site)
	w, loads, errs := watchAll(t, path, "", "", "", 20*time.Millisecond)
	if got := w.Inventory(); len(got) != 0 {
		t.Fatalf("Inventory = %v, want none", got)
	}
	saveByRename(t, path, "site_capacity_kw = 500.0\n")
	l := nextLoad(t, loads, errs)
	if !l.PolicyLoaded || l.InventoryLoaded || l.Policy.SiteCapacityKW != 500 || len(l.Inventory) != 0 {
		t.Errorf("delivery = %+v; want the policy alone", l)
	}
	w.Reload()
	if l := nextLoad(t, loads, errs); !l.PolicyLoaded || l.InventoryLoaded {
		t.Errorf("Reload delivered %+v; want the policy alone", l)
	}
}
