package switcher

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/rs/zerolog"
)

// Reload timing: a burst of file events (an editor's save is several) is
// loaded once it has been quiet for reloadQuiet, and never later than
// reloadMaxDelay after its first event, so that a directory that is never
// quiet cannot hold a change back.
const (
	reloadQuiet    = 150 * time.Millisecond
	reloadMaxDelay = time.Second
)

// PolicyWatcher keeps the policy file in force (and the rig inventory, with
// WithInventory): it loads it once when started, then again whenever the
// file changes and when Reload is called (cmd calls it on SIGHUP). A valid policy replaces the one in force and is
// delivered to onPolicy with what changed; an invalid one (or a file that
// cannot be read) is refused whole and delivered to onError, and the last
// good policy stays in force.
//
// It watches the file's directory, not the file: editors save by writing a
// new file and renaming it over the old one, which a watch on the file
// itself would lose, and Kubernetes swaps a ConfigMap's files by renaming a
// symlinked directory. Any change in the directory is a cue to read the
// file again; a read that finds the same bytes as the last one does nothing,
// so other files there (the state file, an editor's swap files) cost a small
// read and no log line. A policy path that is a symlink into another
// directory is not followed: send SIGHUP after changing it.
//
// The credential files a policy names (password_file, secret_file) are
// read with it and not watched: they usually live elsewhere (/etc, a
// mounted secret). A Reload (SIGHUP) reads them again, and a changed one
// is put in force with a diff line naming its path.
//
// A file written in place (truncated, then written) may be read half
// written; that is refused like any invalid policy and followed by the
// complete one once the write's own event is seen.
//
// Every policy put in force is also copied to a last-good file (when the
// watcher has one). A daemon that restarts while the policy file is
// broken, or gone, starts on that copy instead of not at all: a typo saved
// at night must not take every rig of the site off its pool at the next
// reboot. StartError says so, and the file is loaded as soon as it is
// valid again.
//
// One goroutine, owned by the watcher, does the watching and calls the
// callbacks, one call at a time. Start starts it, once whatever the
// callbacks reach exists (changes made before wait for it: the watch is
// on from NewPolicyWatcher); Close stops it and waits for it.
type PolicyWatcher struct {
	path     string
	lastGood string // "" keeps no copy
	startErr error  // why the policy file was not loaded at start (the copy was)
	onPolicy func(p *Policy, diff []string)
	onError  func(err error)
	log      zerolog.Logger
	quiet    time.Duration
	maxDelay time.Duration

	fs     *fsnotify.Watcher
	reload chan struct{} // capacity 1: Reload calls coalesce
	quit   chan struct{}
	done   chan struct{}
	cur    atomic.Pointer[Policy]

	startOnce sync.Once
	closeOnce sync.Once
	closeErr  error

	inv    *inventoryFile // nil: no inventory (WithInventory)
	onLoad func(Loaded)

	// Owned by the goroutine (and by NewPolicyWatcher before it starts).
	last      loadKey // what the last load read
	lastError bool    // the last load was refused
	saved     string  // what the last-good file holds
}

// loadKey is what one load read: the file's bytes, or why it could not.
type loadKey struct {
	data    string
	readErr string
}

// NewPolicyWatcher loads the policy at path and watches it; Start begins
// the deliveries.
// lastGood ("" for none) is where each policy put in force is copied. When
// the file at path cannot be loaded at start, the copy is loaded instead
// and StartError reports why the file was not; when neither can be, that
// is NewPolicyWatcher's error. The initial policy is Current(); it is not
// delivered to onPolicy.
//
// onPolicy(p, diff) gets each policy put in force later, with p.Diff of the
// previous one (possibly empty, after a Reload or once the file is valid
// again after an error); onError(err) gets each refusal: tomlfile.Errors
// (every FILE:LINE:COL: message) for an invalid policy, the os error for a
// file that cannot be read. Either may be nil. They are called from the
// watcher's goroutine, never at the same time, and must not call Close. The
// watcher logs each reload and refusal itself.
//
// WithInventory (opts) makes it keep the rig inventory in force too.
func NewPolicyWatcher(path, lastGood string, onPolicy func(p *Policy, diff []string), onError func(err error), log zerolog.Logger, opts ...WatcherOption) (*PolicyWatcher, error) {
	return newPolicyWatcher(path, lastGood, onPolicy, onError, log, reloadQuiet, reloadMaxDelay, opts...)
}

func newPolicyWatcher(path, lastGood string, onPolicy func(*Policy, []string), onError func(error), log zerolog.Logger, quiet, maxDelay time.Duration, opts ...WatcherOption) (*PolicyWatcher, error) {
	if onPolicy == nil {
		onPolicy = func(*Policy, []string) {}
	}
	if onError == nil {
		onError = func(error) {}
	}
	w := &PolicyWatcher{
		path:     path,
		lastGood: lastGood,
		onPolicy: onPolicy,
		onError:  onError,
		log:      log,
		quiet:    quiet,
		maxDelay: maxDelay,
		reload:   make(chan struct{}, 1),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	for _, o := range opts {
		o(w)
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch policy %s: %w", path, err)
	}
	// Watch before the first read, so that no change after it is missed.
	dirs := []string{filepath.Dir(path)}
	if w.inv != nil && w.inv.path != "" && filepath.Dir(w.inv.path) != dirs[0] {
		dirs = append(dirs, filepath.Dir(w.inv.path))
	}
	for _, dir := range dirs {
		if err := fw.Add(dir); err != nil {
			fw.Close()
			return nil, fmt.Errorf("watch directory %s: %w", dir, err)
		}
	}
	p, err := w.startPolicy()
	if err == nil && w.inv != nil {
		err = w.inv.start(w.log)
	}
	if err != nil {
		fw.Close()
		return nil, err
	}
	w.fs = fw
	w.cur.Store(p)
	return w, nil
}

// startPolicy loads the policy at start: the file, else its last good
// copy.
func (w *PolicyWatcher) startPolicy() (*Policy, error) {
	data, err := os.ReadFile(w.path)
	w.last = loadKey{data: string(data)}
	if err != nil {
		w.last = loadKey{readErr: err.Error()}
	}
	var p *Policy
	if err == nil {
		p, err = ParsePolicy(w.path, data)
	}
	if err != nil {
		return w.startOnCopy(err)
	}
	w.keep(data)
	return p, nil
}

// Start begins delivering the changes (and Reloads) to the callbacks,
// those made since NewPolicyWatcher first. Later calls do nothing.
func (w *PolicyWatcher) Start() {
	w.startOnce.Do(func() { go w.run() })
}

// startOnCopy loads the last good copy when the policy file could not be
// loaded at start (fileErr says why).
func (w *PolicyWatcher) startOnCopy(fileErr error) (*Policy, error) {
	if w.lastGood == "" {
		return nil, fileErr
	}
	p, body, err := readLastGood(w.path, w.lastGood)
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", fileErr, err)
	}
	w.startErr, w.lastError, w.saved = fileErr, true, body
	w.log.Error().Str("path", w.path).Strs("errors", errorLines(fileErr)).Str("last_good", w.lastGood).
		Msg("policy file refused at start; the last good copy is in force until the file is valid")
	return p, nil
}

// LoadLastGood loads the last good copy of the policy file at path, kept in
// lastGood: what a start would run on while that file is broken (hashgate
// check says so).
func LoadLastGood(path, lastGood string) (*Policy, error) {
	p, _, err := readLastGood(path, lastGood)
	return p, err
}

// readLastGood reads and parses the copy, and returns the policy file's
// bytes it holds. The copy must be of this policy file: after ops point
// the config at another file, a copy of the old one is not a fallback but
// a different site.
func readLastGood(path, lastGood string) (*Policy, string, error) {
	b, err := os.ReadFile(lastGood)
	if err != nil {
		return nil, "", fmt.Errorf("no last good copy to start on: %w", err)
	}
	header, body, _ := strings.Cut(string(b), "\n")
	if header != copyHeader(path) {
		return nil, "", fmt.Errorf("the last good copy %s is not of this policy file: it starts %q", lastGood, header)
	}
	// Its credential files are named relative to the policy file.
	p, err := parsePolicy(lastGood, filepath.Dir(path), b)
	if err != nil {
		return nil, "", fmt.Errorf("and the last good copy is no better: %v", err)
	}
	return p, body, nil
}

// copyHeader is the first line of the last-good copy: which file it is a
// copy of (a TOML comment, so the copy parses as the policy it holds).
func copyHeader(path string) string {
	return "# hashgate: the last good policy loaded from " + strconv.Quote(path) + "; a copy, do not edit"
}

// StartError says why the policy file (or the inventory) was not loaded
// at start, its last good copy in its place; nil when the files themselves
// were. Both at once are joined (errors.Join).
func (w *PolicyWatcher) StartError() error {
	if w.inv == nil {
		return w.startErr
	}
	return errors.Join(w.startErr, w.inv.startErr)
}

// keep copies a policy put in force to the last-good file, under a header
// naming the file (write, sync, rename: a crash leaves the old copy or the
// new one, never half of one). A failure is logged: the policy is in force
// all the same.
func (w *PolicyWatcher) keep(data []byte) {
	if w.lastGood == "" || string(data) == w.saved {
		return
	}
	if err := writeFileAtomic(w.lastGood, []byte(copyHeader(w.path)+"\n"+string(data))); err != nil {
		w.log.Warn().Err(err).Str("last_good", w.lastGood).Msg("cannot keep a copy of the policy in force")
		return
	}
	w.saved = string(data)
}

// Current returns the policy in force: the last good one loaded.
func (w *PolicyWatcher) Current() *Policy {
	return w.cur.Load()
}

// Reload asks for the policy file to be loaded now, whether it changed or
// not; the outcome goes to the callbacks as for a change (a valid policy is
// delivered even when nothing changed, so a SIGHUP always gets an answer).
// It does not wait; calls made while one is pending are one.
func (w *PolicyWatcher) Reload() {
	select {
	case w.reload <- struct{}{}:
	default:
	}
}

// Close stops watching and waits for the watcher's goroutine (and a
// callback it may be running) to end. The policy in force stays readable
// with Current. Close may be called more than once.
func (w *PolicyWatcher) Close() error {
	w.closeOnce.Do(func() {
		w.startOnce.Do(func() { close(w.done) }) // never started: nothing to wait for, and no start after
		close(w.quit)
		<-w.done
		w.closeErr = w.fs.Close()
	})
	return w.closeErr
}

func (w *PolicyWatcher) run() {
	defer close(w.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	pending := false // a load is due when timer fires
	var first time.Time
	schedule := func() {
		now := time.Now()
		if !pending {
			pending, first = true, now
		}
		timer.Reset(max(min(w.quiet, first.Add(w.maxDelay).Sub(now)), 0))
	}
	for {
		select {
		case <-w.quit:
			return
		case ev, ok := <-w.fs.Events:
			if !ok {
				return
			}
			if ev.Op == fsnotify.Chmod && w.last.readErr == "" && (w.inv == nil || w.inv.last.readErr == "") {
				continue // the bytes are the same (after a failed read, a mode change may be the fix)
			}
			w.log.Debug().Str("event", ev.String()).Msg("policy directory changed")
			schedule()
		case err, ok := <-w.fs.Errors:
			if !ok {
				return
			}
			// An overflowed event queue may have hidden a change: look.
			w.log.Warn().Err(err).Str("path", w.path).Msg("watching the policy file")
			schedule()
		case <-timer.C:
			pending = false
			w.load(false)
		case <-w.reload:
			timer.Stop()
			pending = false
			w.load(true)
		}
	}
}

// load reads the files and puts them in force or refuses them, then
// tells the callbacks: what was put in force first, then each refusal
// (so that a refusal is the last word on a file still broken).
func (w *PolicyWatcher) load(explicit bool) {
	p, diff, polErr := w.loadPolicy(explicit)
	if w.inv == nil {
		if p != nil {
			w.onPolicy(p, diff)
		}
		if polErr != nil {
			w.onError(polErr)
		}
		return
	}
	rigs, invDiff, invLoaded, invErr := w.inv.load(explicit, w.log)
	if p != nil || invLoaded {
		w.onLoad(Loaded{
			Policy: w.cur.Load(), PolicyLoaded: p != nil, Diff: diff,
			Inventory: rigs, InventoryLoaded: invLoaded, InventoryDiff: invDiff,
		})
	}
	for _, err := range []error{polErr, invErr} {
		if err != nil {
			w.onError(err)
		}
	}
}

// loadPolicy reads the policy file and puts it in force (returning it and
// its diff) or refuses it (returning why). A load cued by a file event
// that reads what the last one read does nothing.
func (w *PolicyWatcher) loadPolicy(explicit bool) (*Policy, []string, error) {
	data, err := os.ReadFile(w.path)
	key := loadKey{data: string(data)}
	if err != nil {
		key = loadKey{readErr: err.Error()}
	}
	if !explicit && key == w.last {
		w.log.Debug().Str("path", w.path).Msg("policy file unchanged")
		return nil, nil, nil
	}
	w.last = key
	var p *Policy
	if err == nil {
		p, err = ParsePolicy(w.path, data)
	}
	if err != nil {
		w.lastError = true
		w.log.Error().Str("path", w.path).Strs("errors", errorLines(err)).
			Msg("policy refused; the previous policy stays in force")
		return nil, nil, err
	}
	wasError := w.lastError
	w.lastError = false
	diff := p.Diff(w.cur.Load())
	if len(diff) == 0 && !explicit && !wasError {
		// Comments or layout only: the policy in force is the same.
		w.log.Debug().Str("path", w.path).Msg("policy file changed, policy the same")
		return nil, nil, nil
	}
	w.cur.Store(p)
	w.keep(data)
	w.log.Info().Str("path", w.path).Strs("changes", diff).Msg("policy loaded")
	return p, diff, nil
}

// errorLines splits an error into one line per problem, for a log field.
func errorLines(err error) []string {
	var multi interface{ Unwrap() []error }
	if errors.As(err, &multi) {
		var out []string
		for _, e := range multi.Unwrap() {
			out = append(out, e.Error())
		}
		return out
	}
	return []string{err.Error()}
}
