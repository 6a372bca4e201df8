package switcher

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/rs/zerolog"
)

// WatcherOption configures a PolicyWatcher beyond its policy file.
type WatcherOption func(*PolicyWatcher)

// Loaded is what a PolicyWatcher with an inventory delivers, whenever the
// policy or the inventory is put in force: both as in force now, and which
// of them this delivery put in force (the other is the one delivered
// before).
type Loaded struct {
	Policy *Policy
	// PolicyLoaded: Policy was loaded now (it changed, or a Reload, or
	// the file is valid again after a refusal); Diff is Policy.Diff of the
	// previous one (possibly empty).
	PolicyLoaded bool
	Diff         []string
	Inventory    []InventoryRig // never modified after delivery: do not modify it
	// InventoryLoaded: Inventory was loaded now; InventoryDiff says what
	// changed (rigs added, removed, moved to another address), one line
	// per kind of change.
	InventoryLoaded bool
	InventoryDiff   []string
}

// WithInventory makes the watcher keep the rig inventory at path (see
// ParseInventory) in force as well, by the policy's rules: loaded at start
// (from its copy at lastGood, "" for none, when the file cannot be, as
// for the policy; neither: NewPolicyWatcher fails), then again whenever a
// file in its directory changes and on Reload; an invalid one (or one that
// cannot be read) is refused whole, logged with every FILE:LINE:COL:
// message and given to onError, and the inventory before it stays in
// force.
//
// onLoad then replaces onPolicy (pass nil for it): it gets the policy and
// the inventory together whenever either is put in force, from the
// watcher's goroutine like the other callbacks. A Reload delivers both.
// The initial ones are Current() and Inventory().
//
// A path of "" is no inventory: onLoad still replaces onPolicy, with an
// empty Inventory that never changes, so that callers wire one callback
// whether the config names an inventory or not.
func WithInventory(path, lastGood string, onLoad func(Loaded)) WatcherOption {
	return func(w *PolicyWatcher) {
		if onLoad == nil {
			onLoad = func(Loaded) {}
		}
		w.inv = &inventoryFile{path: path, lastGood: lastGood}
		w.onLoad = onLoad
	}
}

// Inventory returns the rig inventory in force (nil without WithInventory).
// The slice is shared: do not modify it.
func (w *PolicyWatcher) Inventory() []InventoryRig {
	if w.inv == nil {
		return nil
	}
	if p := w.inv.cur.Load(); p != nil {
		return *p
	}
	return nil
}

// inventoryFile is the watcher's state of the inventory file. Its fields
// but cur are owned by the watcher's goroutine (and by newPolicyWatcher
// before it starts).
type inventoryFile struct {
	path, lastGood string
	startErr       error // why the file was not loaded at start (the copy was)
	last           loadKey
	lastError      bool
	saved          string // what the last-good copy holds
	cur            atomic.Pointer[[]InventoryRig]
}

// start loads the inventory at start: the file, else its last good copy.
func (f *inventoryFile) start(log zerolog.Logger) error {
	if f.path == "" {
		f.cur.Store(new([]InventoryRig))
		return nil
	}
	data, err := os.ReadFile(f.path)
	f.last = loadKey{data: string(data)}
	if err != nil {
		f.last = loadKey{readErr: err.Error()}
	}
	var rigs []InventoryRig
	if err == nil {
		rigs, err = ParseInventory(f.path, data)
	}
	if err == nil {
		f.cur.Store(&rigs)
		f.keep(data, log)
		return nil
	}
	if f.lastGood == "" {
		return fmt.Errorf("inventory: %w", err)
	}
	rigs, body, cerr := readLastGoodInventory(f.path, f.lastGood)
	if cerr != nil {
		return fmt.Errorf("inventory: %w (%v)", err, cerr)
	}
	f.startErr, f.lastError, f.saved = err, true, body
	f.cur.Store(&rigs)
	log.Error().Str("path", f.path).Strs("errors", errorLines(err)).Str("last_good", f.lastGood).
		Msg("inventory refused at start; the last good copy is in force until the file is valid")
	return nil
}

// inventoryCopyHeader is the first line of the inventory's last-good copy
// (a comment to ParseInventory).
func inventoryCopyHeader(path string) string {
	return "# hashgate: the last good inventory loaded from " + strconv.Quote(path) + "; a copy, do not edit"
}

// readLastGoodInventory reads the inventory's copy, which must be of this
// file, and returns its rigs and the file's bytes it holds.
func readLastGoodInventory(path, lastGood string) ([]InventoryRig, string, error) {
	b, err := os.ReadFile(lastGood)
	if err != nil {
		return nil, "", fmt.Errorf("no last good copy to start on: %w", err)
	}
	header, body, _ := strings.Cut(string(b), "\n")
	if header != inventoryCopyHeader(path) {
		return nil, "", fmt.Errorf("the last good copy %s is not of this inventory: it starts %q", lastGood, shorten(header))
	}
	rigs, err := ParseInventory(lastGood, b)
	if err != nil {
		return nil, "", fmt.Errorf("and the last good copy is no better: %v", err)
	}
	return rigs, body, nil
}

// keep copies an inventory put in force to the last-good file.
func (f *inventoryFile) keep(data []byte, log zerolog.Logger) {
	if f.lastGood == "" || string(data) == f.saved {
		return
	}
	if err := writeFileAtomic(f.lastGood, []byte(inventoryCopyHeader(f.path)+"\n"+string(data))); err != nil {
		log.Warn().Err(err).Str("last_good", f.lastGood).Msg("cannot keep a copy of the inventory in force")
		return
	}
	f.saved = string(data)
}

// load reads the inventory and puts it in force (loaded true, with the
// inventory in force and what changed) or refuses it (err). A load cued by
// a file event that reads what the last one read does nothing.
func (f *inventoryFile) load(explicit bool, log zerolog.Logger) (rigs []InventoryRig, diff []string, loaded bool, err error) {
	old := *f.cur.Load()
	if f.path == "" {
		return old, nil, false, nil
	}
	data, err := os.ReadFile(f.path)
	key := loadKey{data: string(data)}
	if err != nil {
		key = loadKey{readErr: err.Error()}
	}
	if !explicit && key == f.last {
		return old, nil, false, nil
	}
	f.last = key
	if err == nil {
		rigs, err = ParseInventory(f.path, data)
	}
	if err != nil {
		f.lastError = true
		log.Error().Str("path", f.path).Strs("errors", errorLines(err)).
			Msg("inventory refused; the previous inventory stays in force")
		return old, nil, false, err
	}
	wasError := f.lastError
	f.lastError = false
	diff = inventoryDiff(old, rigs)
	if len(diff) == 0 && !explicit && !wasError {
		log.Debug().Str("path", f.path).Msg("inventory file changed, inventory the same")
		return old, nil, false, nil
	}
	f.cur.Store(&rigs)
	f.keep(data, log)
	log.Info().Str("path", f.path).Int("rigs", len(rigs)).Strs("changes", diff).Msg("inventory loaded")
	return rigs, diff, true, nil
}

// inventoryDiffNames caps the rig names listed on one diff line.
const inventoryDiffNames = 10

// inventoryDiff says what changed from old to cur: rigs added, removed and
// moved to another address, a line each (at most inventoryDiffNames names
// on a line, then how many more). Order alone is no change.
func inventoryDiff(old, cur []InventoryRig) []string {
	was := make(map[string]string, len(old))
	for _, r := range old {
		was[r.Name] = r.Address
	}
	var added, moved []string
	now := make(map[string]bool, len(cur))
	for _, r := range cur {
		now[r.Name] = true
		switch a, ok := was[r.Name]; {
		case !ok:
			added = append(added, fmt.Sprintf("%q", r.Name))
		case a != r.Address:
			moved = append(moved, fmt.Sprintf("%q %s -> %s", r.Name, a, r.Address))
		}
	}
	var removed []string
	for _, r := range old {
		if !now[r.Name] {
			removed = append(removed, fmt.Sprintf("%q", r.Name))
		}
	}
	var out []string
	for _, c := range []struct {
		what  string
		names []string
	}{{"added", added}, {"removed", removed}, {"moved", moved}} {
		if len(c.names) == 0 {
			continue
		}
		list := c.names[:min(len(c.names), inventoryDiffNames)]
		line := fmt.Sprintf("inventory: %d rigs %s: %s", len(c.names), c.what, strings.Join(list, ", "))
		if n := len(c.names) - len(list); n > 0 {
			line += fmt.Sprintf(" and %d more", n)
		}
		out = append(out, line)
	}
	return out
}
