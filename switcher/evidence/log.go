package evidence

import (
	"errors"
	"path/filepath"
	"sync"
	"time"
)

// Defaults of Options' zero fields.
const (
	DefaultMaxBytes  = 256 << 20
	DefaultInterval  = time.Second
	DefaultBefore    = 5 * time.Minute
	DefaultMargin    = 2 * time.Minute
	DefaultMaxAfter  = 30 * time.Minute
	DefaultSyncEvery = 10 * time.Second
	// keepFiles: rotated files kept per log (FILE.1 … FILE.keepFiles).
	keepFiles = 4
	// minFileBytes bounds a file's size from below (a tiny MaxBytes).
	minFileBytes = 64 << 10
)

// Options configure a Log; zero fields take the defaults.
type Options struct {
	// Dir holds the logs (samples.jsonl, rigs.jsonl and their rotated
	// files). The switcher defaults it to its audit log's path without
	// the extension, plus ".evidence".
	Dir string
	// MaxBytes bounds both logs together on disk (half each).
	MaxBytes int64
	// Interval is how often the switcher samples (at most once per
	// step: a longer switcher tick samples at each tick).
	Interval time.Duration
	// Before is the baseline window before an event; Margin how long
	// the window after goes on past the time the target was reached;
	// MaxAfter bounds the window after.
	Before, Margin, MaxAfter time.Duration
	// SyncEvery: the sample log is fsynced this often (a decision's rig
	// list at once).
	SyncEvery time.Duration
}

func (o *Options) fill() {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Before <= 0 {
		o.Before = DefaultBefore
	}
	if o.Margin <= 0 {
		o.Margin = DefaultMargin
	}
	if o.MaxAfter <= 0 {
		o.MaxAfter = DefaultMaxAfter
	}
	if o.SyncEvery <= 0 {
		o.SyncEvery = DefaultSyncEvery
	}
}

// fileBytes is the size at which each log's files rotate: each log has
// half of MaxBytes over keepFiles+1 files.
func (o *Options) fileBytes() int64 {
	return max(o.MaxBytes/2/(keepFiles+1), minFileBytes)
}

// Log is the evidence store: the sample log and the rig log. Safe for
// concurrent use.
type Log struct {
	opts Options

	mu       sync.Mutex
	samples  *rotLog
	rigs     *rotLog
	lastSync time.Time
	queue    []byte // confirmations not yet written (Flush)
	queued   int
	closed   bool
}

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("evidence: log closed")

// Open opens (or creates) the logs in opts.Dir.
func Open(opts Options) (*Log, error) {
	opts.fill()
	if opts.Dir == "" {
		return nil, errors.New("evidence: no directory")
	}
	s, err := openRotLog(filepath.Join(opts.Dir, "samples.jsonl"), opts.fileBytes(), keepFiles)
	if err != nil {
		return nil, err
	}
	r, err := openRotLog(filepath.Join(opts.Dir, "rigs.jsonl"), opts.fileBytes(), keepFiles)
	if err != nil {
		s.close()
		return nil, err
	}
	return &Log{opts: opts, samples: s, rigs: r}, nil
}

// Options are the options in force (defaults filled).
func (l *Log) Options() Options { return l.opts }

// Close writes what is queued, syncs and closes the files.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	err := l.flushLocked()
	l.closed = true
	err = errors.Join(err, l.samples.sync(), l.samples.close(), l.rigs.close())
	return err
}
