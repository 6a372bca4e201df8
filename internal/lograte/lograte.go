package lograte

import (
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Limiter decides which events of a key are logged in full. Its owner
// calls Flush now and then (a quiet spell after a burst is summarized
// then) and once at the end; Close does both and stops the timer an
// owner without a loop of its own relies on (see Allow).
type Limiter struct {
	log   zerolog.Logger
	every time.Duration
	burst int

	mu     sync.Mutex
	start  time.Time // of the current interval
	keys   map[string]*count
	timer  *time.Timer // armed at an interval's first suppressed event (Allow)
	closed bool
}

type count struct {
	logged     int // in full, this interval
	suppressed int // counted only, this interval
}

// New returns a limiter that logs burst events a key in full per every.
func New(log zerolog.Logger, every time.Duration, burst int) *Limiter {
	return &Limiter{log: log, every: every, burst: burst, keys: make(map[string]*count)}
}

// Allow says whether an event of key may be logged in full now; if not,
// it is counted for the interval's summary. An interval that has ended is
// summarized first. The first event counted in an interval arms a timer
// for its end, so the summary is written even if no event follows.
func (l *Limiter) Allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.start) >= l.every {
		l.summarizeLocked(now)
	}
	c := l.keys[key]
	if c == nil {
		c = &count{}
		l.keys[key] = c
	}
	if c.logged < l.burst {
		c.logged++
		return true
	}
	c.suppressed++
	if l.timer == nil && !l.closed {
		l.timer = time.AfterFunc(l.start.Add(l.every).Sub(now), func() { l.Flush(time.Now(), false) })
	}
	return false
}

// Flush writes the summaries of an interval that has ended; force writes
// them whatever the time.
func (l *Limiter) Flush(now time.Time, force bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if force || now.Sub(l.start) >= l.every {
		l.summarizeLocked(now)
	}
}

// Close writes what is pending and stops the timer; Allow still answers
// after it (logging in full up to the burst) but arms no timer.
func (l *Limiter) Close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.Flush(time.Now(), true)
}

func (l *Limiter) summarizeLocked(now time.Time) {
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	window := now.Sub(l.start)
	if l.start.IsZero() || window > 2*l.every {
		window = l.every // quiet before: the counts are from the last interval at most
	}
	for key, c := range l.keys {
		if c.suppressed > 0 {
			l.log.Warn().Str("event", key).Int("count", c.suppressed).Dur("window", window.Round(time.Millisecond)).
				Msgf("%d more %q in the last %s (not logged one by one)", c.suppressed, key, window.Round(time.Second))
		}
		if c.logged == 0 && c.suppressed == 0 {
			delete(l.keys, key) // quiet for a whole interval
			continue
		}
		c.logged, c.suppressed = 0, 0
	}
	l.start = now
}
