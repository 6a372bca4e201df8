package proxy

import (
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// logLimiter bounds the log lines of mass events (connections refused,
// timed out, reset; duplicate names at a failover): anyone on the network
// can cause them at tens of thousands a second, and a line each once wrote
// 67 MB in 45 s. Per key (an event and its reason, a constant of the
// code: the set of keys is small and fixed) the first burst events of an
// interval are logged in full; the rest are counted, and one summary line
// per key and interval gives their number.
type logLimiter struct {
	log   zerolog.Logger
	every time.Duration
	burst int

	mu    sync.Mutex
	start time.Time // of the current interval
	keys  map[string]*limitCount
}

type limitCount struct {
	logged     int // in full, this interval
	suppressed int // counted only, this interval
}

func newLogLimiter(log zerolog.Logger, every time.Duration, burst int) *logLimiter {
	return &logLimiter{log: log, every: every, burst: burst, keys: make(map[string]*limitCount)}
}

// allow says whether an event of key may be logged in full now; if not,
// it is counted for the interval's summary. An interval that has ended is
// summarized first.
func (l *logLimiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.start) >= l.every {
		l.summarizeLocked(now)
	}
	c := l.keys[key]
	if c == nil {
		c = &limitCount{}
		l.keys[key] = c
	}
	if c.logged < l.burst {
		c.logged++
		return true
	}
	c.suppressed++
	return false
}

// flush writes the summaries of an interval that has ended (the server's
// idle loop calls it, so a burst that stops is still summarized); force
// writes them whatever the time (at Close).
func (l *logLimiter) flush(now time.Time, force bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if force || now.Sub(l.start) >= l.every {
		l.summarizeLocked(now)
	}
}

func (l *logLimiter) summarizeLocked(now time.Time) {
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
