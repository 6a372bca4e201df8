package switcher

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

// PolicyWatcher keeps the policy file in force: it loads it once when
// started, then again whenever the file changes and when Reload is called
// (cmd calls it on SIGHUP). A valid policy replaces the one in force and is
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
// A file written in place (truncated, then written) may be read half
// written; that is refused like any invalid policy and followed by the
// complete one once the write's own event is seen.
//
// One goroutine, owned by the watcher, does the watching and calls the
// callbacks, one call at a time; Close stops it and waits for it.
type PolicyWatcher struct {
	path     string
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

	closeOnce sync.Once
	closeErr  error

	// Owned by the goroutine (and by NewPolicyWatcher before it starts).
	last      loadKey // what the last load read
	lastError bool    // the last load was refused
}

// loadKey is what one load read: the file's bytes, or why it could not.
type loadKey struct {
	data    string
	readErr string
}

// NewPolicyWatcher loads the policy at path and starts watching it. A policy
// that cannot be loaded is an error: there is no good policy to fall back
// on. The initial policy is Current(); it is not delivered to onPolicy.
//
// onPolicy(p, diff) gets each policy put in force later, with p.Diff of the
// previous one (possibly empty, after a Reload or once the file is valid
// again after an error); onError(err) gets each refusal: config.Errors
// (every FILE:LINE:COL: message) for an invalid policy, the os error for a
// file that cannot be read. Either may be nil. They are called from the
// watcher's goroutine, never at the same time, and must not call Close. The
// watcher logs each reload and refusal itself.
func NewPolicyWatcher(path string, onPolicy func(p *Policy, diff []string), onError func(err error), log zerolog.Logger) (*PolicyWatcher, error) {
	return newPolicyWatcher(path, onPolicy, onError, log, reloadQuiet, reloadMaxDelay)
}

func newPolicyWatcher(path string, onPolicy func(*Policy, []string), onError func(error), log zerolog.Logger, quiet, maxDelay time.Duration) (*PolicyWatcher, error) {
	if onPolicy == nil {
		onPolicy = func(*Policy, []string) {}
	}
	if onError == nil {
		onError = func(error) {}
	}
	w := &PolicyWatcher{
		path:     path,
		onPolicy: onPolicy,
		onError:  onError,
		log:      log,
		quiet:    quiet,
		maxDelay: maxDelay,
		reload:   make(chan struct{}, 1),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch policy %s: %w", path, err)
	}
	// Watch before the first read, so that no change after it is missed.
	dir := filepath.Dir(path)
	if err := fw.Add(dir); err != nil {
		fw.Close()
		return nil, fmt.Errorf("watch policy directory %s: %w", dir, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		fw.Close()
		return nil, err
	}
	p, err := ParsePolicy(path, data)
	if err != nil {
		fw.Close()
		return nil, err
	}
	w.fs = fw
	w.last = loadKey{data: string(data)}
	w.cur.Store(p)
	go w.run()
	return w, nil
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
			if ev.Op == fsnotify.Chmod {
				continue // the bytes are the same
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

// load reads the policy file and puts it in force or refuses it. A load
// cued by a file event that reads what the last one read does nothing.
func (w *PolicyWatcher) load(explicit bool) {
	data, err := os.ReadFile(w.path)
	key := loadKey{data: string(data)}
	if err != nil {
		key = loadKey{readErr: err.Error()}
	}
	if !explicit && key == w.last {
		w.log.Debug().Str("path", w.path).Msg("policy file unchanged")
		return
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
		w.onError(err)
		return
	}
	wasError := w.lastError
	w.lastError = false
	diff := p.Diff(w.cur.Load())
	if len(diff) == 0 && !explicit && !wasError {
		// Comments or layout only: the policy in force is the same.
		w.log.Debug().Str("path", w.path).Msg("policy file changed, policy the same")
		return
	}
	w.cur.Store(p)
	w.log.Info().Str("path", w.path).Strs("changes", diff).Msg("policy loaded")
	w.onPolicy(p, diff)
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
