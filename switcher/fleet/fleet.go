package fleet

import (
	"container/heap"
	"context"
	"sync"
	"time"

	"github.com/hashgate/hashgate/internal/lograte"
	"github.com/hashgate/hashgate/switcher/device"
)

// Fleet runs firmware drivers for a set of rigs: polls, commands,
// retries and read-backs, through a bounded worker pool. It implements
// switcher.DeviceFleet. Safe for concurrent use.
type Fleet struct {
	cfg     Config
	tick    time.Duration
	limiter *lograte.Limiter
	ctx     context.Context
	stop    context.CancelFunc
	wg      sync.WaitGroup

	mu      sync.Mutex
	cond    *sync.Cond // workers wait here for work
	rigs    map[string]*rig
	qs      [nQueues]queue
	wakes   wakeHeap
	sched   []*rig // polling order: offset ascending
	epoch   time.Time
	cycle   int64 // poll cycles done since epoch
	cursor  int   // next index of sched in this cycle
	started bool
	closed  bool
	stats   Stats
	// polling counts scheduled polls in flight; at most maxPolls, so a
	// quarter of the workers stay free for commands and read-backs even
	// when hung rigs hold polls for their whole timeout.
	polling  int
	maxPolls int
}

// New checks cfg, fills its defaults and returns a fleet with no rigs.
func New(cfg Config) (*Fleet, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	f := &Fleet{cfg: cfg, tick: cfg.tick(), rigs: make(map[string]*rig), maxPolls: max(1, cfg.Workers-cfg.Workers/4)}
	f.cond = sync.NewCond(&f.mu)
	f.ctx, f.stop = context.WithCancel(context.Background())
	f.limiter = lograte.New(cfg.Log, time.Minute, 5)
	return f, nil
}

// Start starts the workers and the scheduler and returns once they run.
// Commands and rigs handed over before Start wait for it.
func (f *Fleet) Start() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.started || f.closed {
		return
	}
	f.started = true
	f.epoch = f.cfg.Now()
	f.cycle, f.cursor = 0, 0
	f.wg.Add(f.cfg.Workers + 1)
	for range f.cfg.Workers {
		go f.worker()
	}
	go f.scheduler()
}

// Close cancels the calls in flight (through their ctx), stops every
// goroutine and returns once they have all ended. No callback runs after
// Close returns.
func (f *Fleet) Close() error {
	f.stop()
	f.mu.Lock()
	f.closed = true
	f.cond.Broadcast()
	f.mu.Unlock()
	f.wg.Wait()
	f.limiter.Close()
	return nil
}

// Stats are the fleet's counters since New, and its queues now.
type Stats struct {
	Rigs               int    // managed now
	Commands           uint64 // commands started (curtail, resume, set_pools)
	Attempts           uint64 // driver calls made for commands
	Retries            uint64 // attempts after a retryable error
	Failures           uint64 // commands ending unaccepted (after retries)
	Verified           uint64 // commands verified by read-back
	UnverifiedCurtails uint64 // accepted, yet still hashing after the window
	UnverifiedResumes  uint64 // accepted, yet not hashing after the window
	UnverifiedPools    uint64 // accepted, yet the pools still differ
	Superseded         uint64 // replaced by a newer intent before they ended
	Reconciles         uint64 // commands started because a reading disagreed with Want
	Reads              uint64 // reads made (polls and read-backs)
	ReadErrors         uint64
	PollsLate          uint64 // polls skipped: the rig's previous read had not ended
	QueueCurtail       int    // commands waiting now
	QueueResume        int
	QueueReads         int // reads waiting now (read-backs and polls)
	InFlight           int // calls running now
}

// QueueDepth is the number of commands and reads waiting now.
func (s Stats) QueueDepth() int { return s.QueueCurtail + s.QueueResume + s.QueueReads }

// Stats returns the counters.
func (f *Fleet) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.stats
	s.Rigs = len(f.rigs)
	s.QueueCurtail, s.QueueResume = f.qs[qCurtail].n, f.qs[qResume].n
	s.QueueReads = f.qs[qPri].n + f.qs[qPoll].n
	return s
}

// LastReading returns the last reading of a rig (false when it is not
// managed or was never read).
func (f *Fleet) LastReading(name string) (device.Reading, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.rigs[name]
	if r == nil || r.last.At.IsZero() {
		return device.Reading{}, false
	}
	return r.last, true
}

// enqueue puts r in queue id and wakes a worker. Locked.
func (f *Fleet) enqueue(r *rig, id qid) {
	f.unqueue(r)
	f.qs[id].push(r, id)
	f.cond.Signal()
}

// unqueue takes r out of its queue, if any. Locked.
func (f *Fleet) unqueue(r *rig) {
	if r.inQ != qNone {
		f.qs[r.inQ].remove(r)
	}
}

// wakeAt arms r's wake (back-off or read-back) at t. Locked.
func (f *Fleet) wakeAt(r *rig, t time.Time) {
	f.unwake(r)
	r.wakeAt = t
	heap.Push(&f.wakes, r)
}

// unwake disarms r's wake, if any. Locked.
func (f *Fleet) unwake(r *rig) {
	if r.heapIdx >= 0 {
		heap.Remove(&f.wakes, int(r.heapIdx))
	}
}
