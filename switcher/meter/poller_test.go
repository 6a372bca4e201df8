package meter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/hashgate/hashgate/internal/sim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// scripted is a meter whose reads answer from a script, then repeat its
// last answer; a nil error with block set waits for the deadline.
type scripted struct {
	mu      sync.Mutex
	answers []answer
	reads   int
	closed  atomic.Bool
}

type answer struct {
	kw    float64
	err   error
	block bool // wait for ctx to end
}

func (s *scripted) Read(ctx context.Context) (float64, error) {
	s.mu.Lock()
	a := s.answers[min(s.reads, len(s.answers)-1)]
	s.reads++
	s.mu.Unlock()
	if a.block {
		<-ctx.Done()
		return 0, ctx.Err()
	}
	return a.kw, a.err
}

func (s *scripted) String() string { return "scripted" }
func (s *scripted) Close() error   { s.closed.Store(true); return nil }

// sink collects readings.
type sink struct {
	mu sync.Mutex
	rs []Reading
}

func (k *sink) take(r Reading) {
	k.mu.Lock()
	k.rs = append(k.rs, r)
	k.mu.Unlock()
}

func (k *sink) readings() []Reading {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]Reading(nil), k.rs...)
}

func (k *sink) of(name string) []Reading {
	var out []Reading
	for _, r := range k.readings() {
		if r.Meter == name {
			out = append(out, r)
		}
	}
	return out
}

// syncBuffer is a log sink safe for the poller's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func start(t *testing.T, cfg PollerConfig) *Poller {
	t.Helper()
	p, err := NewPoller(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	t.Cleanup(p.Close)
	return p
}

// Good and failed readings reach the sink with the meter's name, what it
// measures and the error's text; Last holds each meter's latest.
func TestPollerDeliversReadings(t *testing.T) {
	good := &scripted{answers: []answer{{kw: 412.5}}}
	bad := &scripted{answers: []answer{{err: errors.New("connection refused")}}}
	k := &sink{}
	p := start(t, PollerConfig{Sink: k.take, Meters: []Meter{
		{Spec{Name: "site-main", Measures: Site, Interval: 20 * time.Millisecond}, good},
		{Spec{Name: "ai-racks", Measures: AI, Interval: 20 * time.Millisecond}, bad},
	}})
	sim.WaitFor(t, 5*time.Second, "three readings of each meter", func() (bool, any) {
		a, b := len(k.of("site-main")), len(k.of("ai-racks"))
		return a >= 3 && b >= 3, fmt.Sprintf("site-main %d, ai-racks %d", a, b)
	})
	for _, r := range k.of("site-main") {
		if !r.OK() || r.KW != 412.5 || r.Measures != Site || r.At.IsZero() {
			t.Fatalf("site-main reading: got %+v, want 412.5 kW, measures site, a time, no error", r)
		}
	}
	for _, r := range k.of("ai-racks") {
		if r.OK() || r.Err != "connection refused" || r.KW != 0 || r.Measures != AI {
			t.Fatalf("ai-racks reading: got %+v, want failed with \"connection refused\", 0 kW, measures ai", r)
		}
	}
	last := p.Last()
	if len(last) != 2 || last["site-main"].KW != 412.5 || last["ai-racks"].Err != "connection refused" {
		t.Errorf("Last: got %+v, want both meters' latest", last)
	}
}

// Meters of one interval are first read spread over it, in order.
func TestPollerSpreadsStarts(t *testing.T) {
	const n, interval = 4, 800 * time.Millisecond
	k := &sink{}
	var meters []Meter
	for i := range n {
		meters = append(meters, Meter{Spec{Name: string(rune('a' + i)), Measures: "feeder", Interval: interval},
			&scripted{answers: []answer{{kw: float64(i)}}}})
	}
	begun := time.Now()
	start(t, PollerConfig{Sink: k.take, Meters: meters})
	sim.WaitFor(t, 5*time.Second, "the last meter's (d) first reading", func() (bool, any) {
		n := len(k.readings())
		return len(k.of("d")) >= 1, fmt.Sprintf("%d readings, none of d", n)
	})
	for i := range n {
		first := k.of(string(rune('a' + i)))[0].At.Sub(begun)
		want := interval * time.Duration(i) / n
		if first < want || first > want+interval/n {
			t.Errorf("meter %d first read %v after Start, want between %v and %v", i, first, want, want+interval/n)
		}
	}
}

// A meter that does not answer fails at its deadline (3/4 of its
// interval), and is read again at the next interval.
func TestPollerReadDeadline(t *testing.T) {
	hung := &scripted{answers: []answer{{block: true}}}
	k := &sink{}
	start(t, PollerConfig{Sink: k.take, Meters: []Meter{{Spec{Name: "hung", Interval: 80 * time.Millisecond}, hung}}})
	sim.WaitFor(t, 5*time.Second, "two failed readings", func() (bool, any) { rs := k.of("hung"); return len(rs) >= 2, rs })
	rs := k.of("hung")
	if want := "no answer within 60ms"; rs[0].Err != want {
		t.Errorf("error: got %q, want %q", rs[0].Err, want)
	}
	if gap := rs[1].At.Sub(rs[0].At); gap < 60*time.Millisecond || gap > 500*time.Millisecond {
		t.Errorf("second failed reading %v after the first, want about the 80ms interval", gap)
	}
}

func TestReadTimeout(t *testing.T) {
	for _, c := range []struct{ interval, want time.Duration }{
		{time.Second, 750 * time.Millisecond},
		{100 * time.Millisecond, 75 * time.Millisecond},
		{time.Minute, MaxReadTimeout},
	} {
		t.Run(c.interval.String(), func(t *testing.T) {
			if got := ReadTimeout(c.interval); got != c.want {
				t.Errorf("ReadTimeout(%v) = %v, want %v", c.interval, got, c.want)
			}
		})
	}
}

// At most Workers reads run at once.
func TestPollerBoundsConcurrency(t *testing.T) {
	var inFlight, most atomic.Int32
	k := &sink{}
	var meters []Meter
	for i := range 6 {
		meters = append(meters, Meter{Spec{Name: string(rune('a' + i)), Interval: 30 * time.Millisecond},
			sourceFunc(func(ctx context.Context) (float64, error) {
				n := inFlight.Add(1)
				defer inFlight.Add(-1)
				for {
					m := most.Load()
					if n <= m || most.CompareAndSwap(m, n) {
						break
					}
				}
				select {
				case <-time.After(15 * time.Millisecond):
				case <-ctx.Done():
				}
				return 1, nil
			})})
	}
	start(t, PollerConfig{Sink: k.take, Meters: meters, Workers: 2})
	sim.WaitFor(t, 5*time.Second, "30 readings", func() (bool, any) { n := len(k.readings()); return n >= 30, n })
	if m := most.Load(); m > 2 {
		t.Errorf("reads in flight at once: got %d, want at most 2", m)
	}
	if m := most.Load(); m < 2 {
		t.Errorf("reads in flight at once: got %d, want 2 used (six meters)", m)
	}
}

type sourceFunc func(context.Context) (float64, error)

func (f sourceFunc) Read(ctx context.Context) (float64, error) { return f(ctx) }
func (f sourceFunc) String() string                            { return "func" }

// One log line when a meter starts failing, one when it recovers; none
// per failed read.
func TestPollerLogsChangesOnly(t *testing.T) {
	down := errors.New("connection refused")
	src := &scripted{answers: []answer{{kw: 1}, {err: down}, {err: down}, {err: down}, {kw: 2}, {kw: 2}, {err: down}}}
	var buf syncBuffer
	k := &sink{}
	start(t, PollerConfig{Sink: k.take, Log: zerolog.New(&buf), FlapQuiet: time.Nanosecond, // runs far apart
		Meters: []Meter{{Spec{Name: "m", Interval: 10 * time.Millisecond}, src}}})
	sim.WaitFor(t, 5*time.Second, "nine readings", func() (bool, any) { n := len(k.readings()); return n >= 9, n })
	logs := buf.String()
	if n := strings.Count(logs, "meter failing"); n != 2 {
		t.Errorf("failing lines: got %d, want 2 (one per run of failures):\n%s", n, logs)
	}
	if n := strings.Count(logs, "meter recovered"); n != 1 {
		t.Errorf("recovered lines: got %d, want 1:\n%s", n, logs)
	}
	if !strings.Contains(logs, `"failed_reads":3`) {
		t.Errorf("recovered line should count the 3 failed reads; want strings.Contains(logs, `\"failed_reads\":3`):\n%s", logs)
	}
}

// A value that is not a finite number is a failed reading.
func TestPollerRefusesNaN(t *testing.T) {
	k := &sink{}
	start(t, PollerConfig{Sink: k.take, Meters: []Meter{
		{Spec{Name: "nan", Interval: 10 * time.Millisecond}, &scripted{answers: []answer{{kw: math.NaN()}}}},
		{Spec{Name: "inf", Interval: 10 * time.Millisecond}, &scripted{answers: []answer{{kw: math.Inf(1)}}}},
	}})
	sim.WaitFor(t, 5*time.Second, "a reading of nan and of inf", func() (bool, any) {
		return len(k.of("nan")) > 0 && len(k.of("inf")) > 0, k.readings()
	})
	for _, r := range k.readings() {
		if r.OK() || !strings.HasPrefix(r.Err, "not a number") {
			t.Fatalf("reading %+v: want failed, \"not a number\"", r)
		}
	}
}

// Close cancels a read in flight, returns once every reader stopped
// (goleak checks none is left), closes the sources, and no reading
// reaches the sink after it.
func TestPollerClose(t *testing.T) {
	hung := &scripted{answers: []answer{{block: true}}}
	fast := &scripted{answers: []answer{{kw: 1}}}
	k := &sink{}
	var closed, late atomic.Bool
	take := func(r Reading) {
		if closed.Load() {
			late.Store(true)
		}
		k.take(r)
	}
	p, err := NewPoller(PollerConfig{Sink: take, Meters: []Meter{
		{Spec{Name: "hung", Interval: time.Hour}, hung},
		{Spec{Name: "fast", Interval: 5 * time.Millisecond}, fast},
	}})
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	sim.WaitFor(t, 5*time.Second, "3 fast readings", func() (bool, any) { n := len(k.of("fast")); return n > 2, n })
	began := time.Now()
	p.Close()
	closed.Store(true)
	if took := time.Since(began); took > time.Second {
		t.Errorf("Close took %v with a read in flight, want it cancelled at once", took)
	}
	if !hung.closed.Load() || !fast.closed.Load() {
		t.Errorf("sources closed: hung %v, fast %v", hung.closed.Load(), fast.closed.Load())
	}
	for _, r := range k.of("hung") {
		t.Errorf("a reading of the hung meter reached the sink: %+v; want none (its read was cancelled by Close)", r)
	}
	p.Close() // a second Close is harmless
	if late.Load() {
		t.Errorf("sink after Close returned: got called %v, want not called", late.Load())
	}
}

func TestNewPollerRefuses(t *testing.T) {
	src := &scripted{answers: []answer{{kw: 1}}}
	ok := Spec{Name: "a", Interval: time.Second}
	for _, c := range []struct {
		name string
		cfg  PollerConfig
		want string
	}{
		{"no sink", PollerConfig{Meters: []Meter{{ok, src}}}, "no sink"},
		{"no name", PollerConfig{Sink: func(Reading) {}, Meters: []Meter{{Spec{Interval: time.Second}, src}}}, "meter 0 has no name"},
		{"duplicate", PollerConfig{Sink: func(Reading) {}, Meters: []Meter{{ok, src}, {ok, src}}}, `two meters named "a"`},
		{"no source", PollerConfig{Sink: func(Reading) {}, Meters: []Meter{{ok, nil}}}, `meter "a" has no source`},
		{"no interval", PollerConfig{Sink: func(Reading) {}, Meters: []Meter{{Spec{Name: "a"}, src}}}, `interval 0s is not positive`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewPoller(c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: got %v, want an error with %q", c.name, err, c.want)
			}
		})
	}
}

// A meter that flaps (good, failed, good, …) logs its first run of
// failures and recovery, then is quiet for FlapQuiet: not two lines per
// reading. The next line it logs counts the runs it did not.
func TestPollerFlappingMeterLogsBounded(t *testing.T) {
	down := errors.New("connection refused")
	var script []answer
	for range 50 {
		script = append(script, answer{kw: 1}, answer{err: down})
	}
	src := &scripted{answers: script}
	var buf syncBuffer
	k := &sink{}
	start(t, PollerConfig{Sink: k.take, Log: zerolog.New(&buf), FlapQuiet: time.Hour,
		Meters: []Meter{{Spec{Name: "m", Interval: 5 * time.Millisecond}, src}}})
	sim.WaitFor(t, 5*time.Second, "100 readings", func() (bool, any) { n := len(k.readings()); return n >= 100, n })
	logs := buf.String()
	if f, r := strings.Count(logs, "meter failing"), strings.Count(logs, "meter recovered"); f != 1 || r != 1 {
		t.Errorf("log lines of a meter flapping 50 times: got %d failing and %d recovered, want 1 and 1:\n%s", f, r, logs)
	}
}

// A failed read's error is kept short: an answer can make it as long as
// the body (a JSON key, a number of a megabyte), and it goes to the
// status and the log.
func TestPollerBoundsErrorText(t *testing.T) {
	long := errors.New("field data.kw: " + strings.Repeat("9", 1<<20) + " is not a finite number")
	k := &sink{}
	start(t, PollerConfig{Sink: k.take, Meters: []Meter{
		{Spec{Name: "m", Interval: 10 * time.Millisecond}, &scripted{answers: []answer{{err: long}}}}}})
	sim.WaitFor(t, 5*time.Second, "a reading", func() (bool, any) { return len(k.readings()) > 0, 0 })
	r := k.readings()[0]
	if len(r.Err) > MaxErrBytes+len("…") || !strings.HasPrefix(r.Err, "field data.kw: 999") {
		t.Errorf("error text: got %d bytes starting %.40q, want at most %d, its start kept", len(r.Err), r.Err, MaxErrBytes+len("…"))
	}
}
