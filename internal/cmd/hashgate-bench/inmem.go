package main

import (
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/internal/bench"
	"github.com/hashgate/hashgate/stratum/proxy"
	"github.com/hashgate/hashgate/stratum/vardiff"
)

type inmemRound struct {
	Seq      uint64        `json:"seq"`
	Received int           `json:"received"`
	P50      time.Duration `json:"p50_ns"`
	P99      time.Duration `json:"p99_ns"`
	Last     time.Duration `json:"last_ns"`
}

type cleanCheck struct {
	Slow          int           `json:"slow_sessions"`
	SlowWrite     time.Duration `json:"slow_write_ns"`
	Burst         int           `json:"older_jobs_before_clean"`
	Delivered     int           `json:"clean_delivered"`
	Violations    int           `json:"older_after_clean"`           // an older job written after the clean one
	QueuedAhead   int           `json:"sessions_older_queued_ahead"` // older jobs written after the clean was sent, beyond the write in progress
	MaxOlderFast  int           `json:"max_older_after_send_fast"`
	MaxOlderSlow  int           `json:"max_older_after_send_slow"`
	FastCleanLast time.Duration `json:"fast_clean_last_ns"`
	SlowCleanLast time.Duration `json:"slow_clean_last_ns"`
	FastCleanP99  time.Duration `json:"fast_clean_p99_ns"`
	JobsDropped   uint64        `json:"jobs_dropped"`
	SlowConsumers uint64        `json:"slow_consumers"`
	SlowNotifies  float64       `json:"slow_notifies_avg"`
}

type inmemResult struct {
	Sessions     int                 `json:"sessions"`
	ConnectTime  time.Duration       `json:"connect_ns"`
	Working      int                 `json:"working"`
	HeapBefore   uint64              `json:"heap_stack_before"`
	HeapAfter    uint64              `json:"heap_stack_after"`
	RSSBefore    int64               `json:"rss_before"`
	RSSAfter     int64               `json:"rss_after"`
	HeapPer      float64             `json:"heap_stack_per_session"`
	RSSPer       float64             `json:"rss_per_session"`
	Goroutines   int                 `json:"goroutines"`
	Rounds       []inmemRound        `json:"rounds"`
	Delivery     bench.Hist          `json:"delivery"`
	LastDelivery bench.Hist          `json:"last_delivery"`
	Missing      int                 `json:"missing"`
	Clean        cleanCheck          `json:"clean"`
	Stats        proxy.StatsSnapshot `json:"proxy_stats"`
}

func (r *inmemResult) errors() []string {
	var e []string
	if r.Working < r.Sessions {
		e = append(e, fmt.Sprintf("inmem: %d of %d sessions got work", r.Working, r.Sessions))
	}
	if r.Missing > 0 {
		e = append(e, fmt.Sprintf("inmem: %d notify deliveries missing", r.Missing))
	}
	if r.Clean.Violations > 0 {
		e = append(e, fmt.Sprintf("inmem: %d sessions got an older job after the clean one", r.Clean.Violations))
	}
	if r.Clean.Delivered < r.Sessions {
		e = append(e, fmt.Sprintf("inmem: the clean job reached %d of %d sessions", r.Clean.Delivered, r.Sessions))
	}
	return e
}

// waitConns polls until every conn has seen round seq (bounded). It
// rescans only the conns still waiting, every 10 ms, so that it takes
// little of the CPU the proxy is measured on.
func waitConns(conns []*bench.MemConn, seq uint64, timeout time.Duration) int {
	deadline := time.Now().Add(timeout)
	return scanConns(conns, seq, deadline)
}

// waitFresh waits until want more fresh notifies than before were
// recorded (cheap), then counts exactly.
func waitFresh(conns []*bench.MemConn, seq uint64, before int64, timeout time.Duration) int {
	deadline := time.Now().Add(timeout)
	for bench.FreshNotifies()-before < int64(len(conns)) && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	return scanConns(conns, seq, deadline)
}

func scanConns(conns []*bench.MemConn, seq uint64, deadline time.Time) int {
	pending := append([]*bench.MemConn(nil), conns...)
	for {
		kept := pending[:0]
		for _, c := range pending {
			if s, _ := c.Last(); s < seq {
				kept = append(kept, c)
			}
		}
		pending = kept
		if len(pending) == 0 || !time.Now().Before(deadline) {
			return len(conns) - len(pending)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// runInmem serves in-memory miner sessions with the proxy's own session
// code in this process and measures their memory and the job fan-out.
func runInmem(o *options) (*inmemResult, error) {
	n := o.sessions
	r := &inmemResult{Sessions: n}
	logf("inmem: %d sessions", n)
	pool, err := bench.StartPool(bench.PoolConfig{Branches: o.branches})
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	d := pool.Difficulty()
	srv, err := proxy.New(proxy.Config{
		MaxConnections: n + 100,
		Allow:          []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		Pools:          []proxy.PoolSpec{{Name: "bench", Address: pool.Addr(), User: "bench.proxy", Password: "x"}},
		Difficulty:     vardiff.Config{Initial: d, Min: d, Max: d, TargetShareSeconds: 10},
		Log:            zerolog.Nop(),
	})
	if err != nil {
		return nil, err
	}
	if err := srv.Start(); err != nil {
		return nil, err
	}
	defer srv.Close()
	for deadline := time.Now().Add(10 * time.Second); !srv.Healthy(); {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("inmem: no pool session")
		}
		time.Sleep(10 * time.Millisecond)
	}
	conns := make([]*bench.MemConn, n)
	for i := range conns {
		conns[i] = bench.NewMemConn(`{"id":1,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":"1fffe000"}]}` + "\n" +
			`{"id":2,"method":"mining.subscribe","params":["bmminer/2.0.0"]}` + "\n" +
			`{"id":3,"method":"mining.extranonce.subscribe","params":[]}` + "\n" +
			`{"id":4,"method":"mining.authorize","params":["bench.mem-` + strconv.Itoa(i) + `","x"]}` + "\n")
	}
	r.HeapBefore, r.RSSBefore = held(bench.MemAfterGC()), bench.SelfRSS()
	t0 := time.Now()
	for _, c := range conns {
		srv.ServeConn(c)
	}
	deadline := t0.Add(60*time.Second + time.Duration(n/1000)*time.Second)
	for {
		w := 0
		for _, c := range conns {
			if c.Notifies() > 0 {
				w++
			}
		}
		r.Working = w
		if w == n || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.ConnectTime = time.Since(t0)
	logf("inmem: %d/%d sessions at work in %s", r.Working, n, bench.FmtDur(r.ConnectTime))
	// Let the flushers exit: an idle session has one goroutine.
	for deadline := time.Now().Add(30 * time.Second); runtime.NumGoroutine() > n+200 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	r.HeapAfter, r.RSSAfter = held(bench.MemAfterGC()), bench.SelfRSS()
	r.Goroutines = runtime.NumGoroutine()
	r.HeapPer = (float64(r.HeapAfter) - float64(r.HeapBefore)) / float64(n)
	r.RSSPer = float64(r.RSSAfter-r.RSSBefore) / float64(n)
	logf("inmem: %.0f B heap+stack, %.0f B RSS per session (%d goroutines)", r.HeapPer, r.RSSPer, r.Goroutines)

	// Fan-out: one notify, every session.
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
	}
	for i := range o.inmemRounds {
		before := bench.FreshNotifies()
		rd := pool.Broadcast(false)
		got := waitFresh(conns, rd.Seq, before, 20*time.Second)
		var h bench.Hist
		for _, c := range conns {
			if s, at := c.Last(); s == rd.Seq {
				h.Add(at - rd.Stamp)
			}
		}
		r.Missing += n - got
		row := inmemRound{Seq: rd.Seq, Received: got, P50: h.Quantile(0.5), P99: h.Quantile(0.99), Last: h.Quantile(1)}
		r.Rounds = append(r.Rounds, row)
		r.Delivery.Merge(&h)
		r.LastDelivery.Add(int64(row.Last))
		if i < o.inmemRounds-1 {
			time.Sleep(o.inmemInterval)
		}
	}
	if o.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	logf("inmem: fan-out to %d sessions: delivery %s; last delivery per round %s", n, r.Delivery.String(), r.LastDelivery.String())

	// clean_jobs: a burst of jobs, then a clean one, with some sessions
	// reading slowly so that jobs queue for them.
	cc := &r.Clean
	cc.SlowWrite = o.slowWrite
	step := n
	if o.slowFrac > 0 {
		step = max(1, int(1/o.slowFrac))
	}
	for i := 0; i < n; i += step {
		conns[i].SetSlow(o.slowWrite)
		cc.Slow++
	}
	st0 := srv.Stats()
	cc.Burst = 4
	isSlow := func(i int) bool { return o.slowFrac > 0 && i%step == 0 }
	var fastConns []*bench.MemConn
	for i, c := range conns {
		if !isSlow(i) {
			fastConns = append(fastConns, c)
		}
	}
	// Each older job reaches every fast session before the next is sent:
	// what is still queued then is queued for the slow ones only.
	for range cc.Burst {
		rd := pool.Broadcast(false)
		waitConns(fastConns, rd.Seq, 20*time.Second)
	}
	clean := pool.Broadcast(true)
	cc.Delivered = waitConns(conns, clean.Seq, 60*time.Second)
	var fast, slow bench.Hist
	var slowNotifies int
	for i, c := range conns {
		arr := c.Arrivals()
		idx := -1
		for k, a := range arr {
			if a.Seq == clean.Seq {
				idx = k
				break
			}
		}
		if idx < 0 {
			continue
		}
		if isSlow(i) {
			slow.Add(arr[idx].At - clean.Stamp)
		} else {
			fast.Add(arr[idx].At - clean.Stamp)
		}
		for _, a := range arr[idx+1:] {
			if a.Seq < clean.Seq {
				cc.Violations++
				break
			}
		}
		// Older jobs written after the clean one was sent: a slow
		// session may finish the one write in progress; anything more
		// was queued ahead of the clean job.
		older := 0
		for _, a := range arr[:idx] {
			if a.Seq < clean.Seq && a.At > clean.Stamp {
				older++
			}
		}
		allowed := 0
		if isSlow(i) {
			allowed = 1
			cc.MaxOlderSlow = max(cc.MaxOlderSlow, older)
			for _, a := range arr {
				if a.Seq+uint64(cc.Burst) >= clean.Seq && a.Seq < clean.Seq {
					slowNotifies++
				}
			}
		} else {
			cc.MaxOlderFast = max(cc.MaxOlderFast, older)
		}
		if older > allowed {
			cc.QueuedAhead++
		}
	}
	for i := 0; i < n; i += step {
		conns[i].SetSlow(0)
	}
	st1 := srv.Stats()
	cc.JobsDropped = st1.JobsDropped - st0.JobsDropped
	cc.SlowConsumers = st1.SlowConsumers - st0.SlowConsumers
	cc.FastCleanLast, cc.FastCleanP99 = fast.Quantile(1), fast.Quantile(0.99)
	cc.SlowCleanLast = slow.Quantile(1)
	if cc.Slow > 0 {
		cc.SlowNotifies = float64(slowNotifies) / float64(cc.Slow)
	}
	r.Stats = srv.Stats()
	logf("inmem: clean job after %d others: reached %d/%d; fast sessions last %s, slow (%d, %s a write) last %s; older job after the clean one: %d sessions; older queued ahead of it: %d sessions (max older written after it was sent: fast %d, slow %d); %d queued jobs dropped, avg %.1f of the %d jobs written to a slow session",
		cc.Burst, cc.Delivered, n, bench.FmtDur(cc.FastCleanLast), cc.Slow, cc.SlowWrite, bench.FmtDur(cc.SlowCleanLast), cc.Violations, cc.QueuedAhead, cc.MaxOlderFast, cc.MaxOlderSlow, cc.JobsDropped, cc.SlowNotifies, cc.Burst+1)
	runtime.KeepAlive(conns)
	return r, nil
}

// held is the heap and stack of ms.
func held(ms runtime.MemStats) uint64 { return ms.HeapInuse + ms.StackInuse }
