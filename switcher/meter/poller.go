package meter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"
)

// Meter is one meter the Poller reads: its Spec and where it reads from.
type Meter struct {
	Spec   Spec
	Source Source
}

// PollerConfig configures a Poller.
type PollerConfig struct {
	Meters []Meter
	// Sink gets every reading, good or failed. The Poller calls it from
	// one goroutine at a time, in the order the reads finished; it should
	// return quickly (a slow sink delays the next readings, never drops
	// them).
	Sink func(Reading)
	// Workers bounds the reads in flight at once (default
	// DefaultWorkers). A meter whose turn finds none free waits for one
	// within its read's deadline, or its reading fails.
	Workers int
	Log     zerolog.Logger
	Now     func() time.Time // tests; default time.Now
	// FlapQuiet: a run of failures that starts within this of the last
	// "meter failing" line is not logged, nor its recovery (default
	// DefaultFlapQuiet): a meter flapping at every read would log two
	// lines a read. The next line logged counts the runs that were not.
	FlapQuiet time.Duration
}

// DefaultFlapQuiet is PollerConfig.FlapQuiet when zero.
const DefaultFlapQuiet = time.Minute

// MaxErrBytes bounds a failed reading's Err (longer ones are cut): an
// answer can make an error as long as its body.
const MaxErrBytes = 256

// DefaultWorkers is PollerConfig.Workers when zero.
const DefaultWorkers = 8

// MaxReadTimeout bounds the deadline of one read: a meter that has not
// answered within it is failing, however long its interval.
const MaxReadTimeout = 10 * time.Second

// ReadTimeout is the deadline of one read of a meter read every
// interval: three quarters of the interval (so a read always ends
// before the next is due), at most MaxReadTimeout.
func ReadTimeout(interval time.Duration) time.Duration {
	return min(interval*3/4, MaxReadTimeout)
}

// Poller reads each meter on its own interval and hands every reading
// to one sink. NewPoller builds it, Start runs it, Close stops it.
type Poller struct {
	cfg     PollerConfig
	workers chan struct{} // a token per read in flight

	sinkMu sync.Mutex // one sink call at a time

	mu    sync.Mutex
	last  map[string]Reading
	state map[string]*health

	ctx     context.Context // ends at Close
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	started bool
	closed  bool
}

// health is one meter's run of failures, for the failing and recovered
// log lines.
type health struct {
	failing bool
	since   time.Time // first failure of the run
	fails   int       // failed reads in the run
	logged  bool      // the run's failing line was logged
	warned  time.Time // the last failing line
	quiet   int       // runs not logged since it
}

// NewPoller checks cfg: every meter has a name of its own, a source and
// an interval, and there is a sink.
func NewPoller(cfg PollerConfig) (*Poller, error) {
	if cfg.Sink == nil {
		return nil, errors.New("meter poller: no sink")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.FlapQuiet <= 0 {
		cfg.FlapQuiet = DefaultFlapQuiet
	}
	seen := make(map[string]bool, len(cfg.Meters))
	for i, m := range cfg.Meters {
		switch {
		case m.Spec.Name == "":
			return nil, fmt.Errorf("meter poller: meter %d has no name", i)
		case seen[m.Spec.Name]:
			return nil, fmt.Errorf("meter poller: two meters named %q", m.Spec.Name)
		case m.Source == nil:
			return nil, fmt.Errorf("meter poller: meter %q has no source", m.Spec.Name)
		case m.Spec.Interval <= 0:
			return nil, fmt.Errorf("meter poller: meter %q: interval %v is not positive", m.Spec.Name, m.Spec.Interval)
		}
		seen[m.Spec.Name] = true
	}
	cfg.Meters = append([]Meter(nil), cfg.Meters...)
	ctx, cancel := context.WithCancel(context.Background())
	return &Poller{
		ctx:     ctx,
		cancel:  cancel,
		cfg:     cfg,
		workers: make(chan struct{}, cfg.Workers),
		last:    make(map[string]Reading, len(cfg.Meters)),
		state:   make(map[string]*health, len(cfg.Meters)),
	}, nil
}

// Specs are the meters' specs, in the order given.
func (p *Poller) Specs() []Spec {
	out := make([]Spec, len(p.cfg.Meters))
	for i, m := range p.cfg.Meters {
		out[i] = m.Spec
	}
	return out
}

// Start runs one reader per meter and returns. Meter i of n reads first
// i/n of its interval after Start, so that meters of one interval are
// read spread over it, never all at once. A second Start, or a Start
// after Close, does nothing.
func (p *Poller) Start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started || p.closed {
		return
	}
	p.started = true
	n := len(p.cfg.Meters)
	for i, m := range p.cfg.Meters {
		offset := m.Spec.Interval * time.Duration(i) / time.Duration(n)
		p.wg.Add(1)
		go p.run(m, offset)
	}
}

// Close stops every reader, cancelling reads in flight, then closes
// each source that is an io.Closer (the Poller owns its sources), and
// returns once all have stopped. The sink is not called after Close
// returns. A second Close does nothing.
func (p *Poller) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.mu.Unlock()
	p.cancel()
	p.wg.Wait()
	for _, m := range p.cfg.Meters {
		if c, ok := m.Source.(io.Closer); ok {
			_ = c.Close()
		}
	}
}

// Last returns each meter's last reading by name; a meter not read yet
// is absent.
func (p *Poller) Last() map[string]Reading {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.last)
}

// run reads m every interval, first after offset, until Close.
func (p *Poller) run(m Meter, offset time.Duration) {
	defer p.wg.Done()
	first := time.NewTimer(offset)
	defer first.Stop()
	select {
	case <-p.ctx.Done():
		return
	case <-first.C:
	}
	tick := time.NewTicker(m.Spec.Interval)
	defer tick.Stop()
	for {
		p.readOnce(m)
		select {
		case <-p.ctx.Done():
			return
		case <-tick.C: // a read never outlasts the interval: no tick is missed
		}
	}
}

// readOnce reads m once within its deadline and hands the reading on.
func (p *Poller) readOnce(m Meter) {
	timeout := ReadTimeout(m.Spec.Interval)
	ctx, cancel := context.WithTimeout(p.ctx, timeout)
	defer cancel()
	kw, err := p.read(ctx, m.Source, timeout)
	if p.ctx.Err() != nil {
		return // closed mid-read: the outcome is the cancellation's, not the meter's
	}
	r := Reading{Meter: m.Spec.Name, Measures: m.Spec.Measures, KW: kw, At: p.cfg.Now()}
	if err != nil {
		r.KW, r.Err = 0, cutErr(err.Error())
	}
	p.record(m, r)
	p.sinkMu.Lock()
	defer p.sinkMu.Unlock()
	if p.ctx.Err() == nil {
		p.cfg.Sink(r)
	}
}

// read takes a read slot, within ctx, and reads. A value that is not a
// finite number is a failed read.
func (p *Poller) read(ctx context.Context, src Source, timeout time.Duration) (float64, error) {
	select {
	case p.workers <- struct{}{}:
	case <-ctx.Done():
		return 0, fmt.Errorf("no read slot free within %v (%d meter reads in flight)", timeout, cap(p.workers))
	}
	defer func() { <-p.workers }()
	kw, err := src.Read(ctx)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err() // a source that answered past its deadline
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return 0, fmt.Errorf("no answer within %v", timeout)
	case err != nil:
		return 0, err
	case math.IsNaN(kw) || math.IsInf(kw, 0):
		return 0, fmt.Errorf("not a number: %v", kw)
	}
	return kw, nil
}

// record keeps r as m's last reading and logs a change of health: one
// line when the meter starts failing, one when it recovers.
func (p *Poller) record(m Meter, r Reading) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last[m.Spec.Name] = r
	h := p.state[m.Spec.Name]
	if h == nil {
		h = &health{}
		p.state[m.Spec.Name] = h
	}
	switch {
	case !r.OK() && !h.failing:
		h.failing, h.since, h.fails = true, r.At, 1
		h.logged = h.warned.IsZero() || r.At.Sub(h.warned) >= p.cfg.FlapQuiet
		if !h.logged {
			h.quiet++
			return
		}
		p.cfg.Log.Warn().Str("meter", m.Spec.Name).Str("source", m.Source.String()).Str("error", r.Err).
			Int("runs_unlogged", h.quiet).Msg("meter failing: its readings are failed until it answers again")
		h.warned, h.quiet = r.At, 0
	case !r.OK():
		h.fails++
	case h.failing:
		if h.logged {
			p.cfg.Log.Info().Str("meter", m.Spec.Name).Str("source", m.Source.String()).
				Dur("failed_for", r.At.Sub(h.since)).Int("failed_reads", h.fails).Msg("meter recovered")
		}
		h.failing, h.fails = false, 0
	}
}

// cutErr is e cut to MaxErrBytes (at a rune's start) and "…".
func cutErr(e string) string {
	if len(e) <= MaxErrBytes {
		return e
	}
	n := MaxErrBytes
	for n > 0 && !utf8.RuneStart(e[n]) {
		n--
	}
	return e[:n] + "…"
}
