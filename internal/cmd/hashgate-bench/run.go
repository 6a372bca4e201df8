package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashgate/hashgate/internal/bench"
)

// roundRow is one notify round as the fleet saw it.
type roundRow struct {
	Seq       uint64        `json:"seq"`
	Clean     bool          `json:"clean"`
	Received  uint64        `json:"received"`
	P50       time.Duration `json:"p50_ns"`
	P99       time.Duration `json:"p99_ns"`
	Max       time.Duration `json:"max_ns"`
	PoolWrite time.Duration `json:"pool_write_ns"`
}

// tcpResult is one run of the fleet against the proxy or the pool.
type tcpResult struct {
	Label       string        `json:"label"`
	Miners      int           `json:"miners"`
	FleetProcs  int           `json:"fleet_procs"`
	ConnectTime time.Duration `json:"connect_ns"`
	Working     int           `json:"working_after_connect"`
	ConnectHist *bench.Hist   `json:"connect_hist"`

	LatIdle    bench.Hist `json:"latency_idle"`
	LatLoad    bench.Hist `json:"latency_load"`
	RoundsIdle []roundRow `json:"rounds_idle"`
	RoundsLoad []roundRow `json:"rounds_load"`

	ShareSecs     float64       `json:"share_secs"`
	Sent          uint64        `json:"sent"`
	Accepted      uint64        `json:"accepted"`
	StaleExpected uint64        `json:"stale_expected"`
	SharesPerSec  float64       `json:"shares_per_sec"`
	PoolSubmits   uint64        `json:"pool_submits"`
	PoolPerSec    float64       `json:"pool_per_sec"`
	ShareRTT      bench.Hist    `json:"share_rtt"`
	ProxyAccepted float64       `json:"proxy_accepted"`
	CPUPerShare   time.Duration `json:"cpu_per_share_ns"`
	ProxyCPUShare float64       `json:"proxy_cpu_pct_share_phase"`
	ProxySysShare float64       `json:"proxy_sys_pct_share_phase"`   // of which system time
	HarnessCPU    float64       `json:"harness_cpu_pct_share_phase"` // pool + orchestration
	// HarnessPerShare is the harness's CPU per share answered true. Without
	// the proxy that is the test pool answering every miner itself (parse
	// the id, a duplicate check, the answer; no hashing): the floor of any
	// Stratum endpoint on these sockets, beside the proxy's CPU per share.
	HarnessPerShare time.Duration `json:"harness_cpu_per_share_ns"`
	FleetCPU        float64       `json:"fleet_cpu_pct_share_phase"`

	RSSIdle      int64   `json:"proxy_rss_idle"`
	RSSConnected int64   `json:"proxy_rss_connected"`
	RSSPeak      int64   `json:"proxy_rss_peak"`
	RSSPerMiner  float64 `json:"rss_per_miner"`
	FleetRSS     int64   `json:"fleet_rss"`

	IdleCPU      float64       `json:"idle_cpu_pct"`
	IdleWindow   time.Duration `json:"idle_window_ns"`
	IdleHarness  float64       `json:"idle_harness_cpu_pct"`
	IdleFleetCPU float64       `json:"idle_fleet_cpu_pct"`

	Storm *stormResult `json:"storm,omitempty"`

	// Correctness.
	Rejected         uint64             `json:"rejected"`
	RejectCodes      map[string]uint64  `json:"reject_codes,omitempty"`
	Lost             uint64             `json:"lost"`
	LostOnDisconnect uint64             `json:"lost_on_disconnect"`
	Disconnects      uint64             `json:"disconnects"`
	DisconnectWhy    map[string]uint64  `json:"disconnect_why,omitempty"`
	WithoutWork      int                `json:"without_work"`
	PoolDuplicates   uint64             `json:"pool_duplicates"`
	UpstreamGap      int64              `json:"upstream_gap"` // proxy forwarded - pool received
	BadLines         uint64             `json:"bad_lines"`
	Unexpected       uint64             `json:"unexpected_answers"`
	AuthFailures     uint64             `json:"auth_failures"`
	DialErrors       uint64             `json:"dial_errors"`
	Metrics          map[string]float64 `json:"metrics,omitempty"`
	DaemonLog        map[string]int     `json:"daemon_log,omitempty"`
	Profiles         []string           `json:"profiles,omitempty"`
	GCIdle           memStats           `json:"gc_idle,omitempty"`
	GCConnected      memStats           `json:"gc_connected,omitempty"`
	Notes            []string           `json:"notes,omitempty"`
}

type stormResult struct {
	KillToAllBack    time.Duration `json:"kill_to_all_back_ns"`
	RestartToReady   time.Duration `json:"restart_to_ready_ns"`
	ReadyToAllBack   time.Duration `json:"ready_to_all_back_ns"`
	Back             int           `json:"back"`
	BackHist         *bench.Hist   `json:"back_hist"`
	DialErrors       uint64        `json:"dial_errors"`
	Connects         uint64        `json:"connects"`
	UpstreamSessions uint64        `json:"upstream_sessions"`
	AcceptFailed     int           `json:"accept_failed_logs"`
	RSSAfter         int64         `json:"rss_after"`
}

func (r *tcpResult) errors() []string {
	var e []string
	add := func(cond bool, f string, a ...any) {
		if cond {
			e = append(e, r.Label+": "+fmt.Sprintf(f, a...))
		}
	}
	add(r.Working < r.Miners, "%d of %d miners at work after the connect phase", r.Working, r.Miners)
	add(r.Rejected > 0, "%d shares answered false (codes %v)", r.Rejected, r.RejectCodes)
	add(r.Lost > 0, "%d shares never answered", r.Lost)
	add(r.LostOnDisconnect > 0, "%d shares unanswered when their connection dropped", r.LostOnDisconnect)
	add(r.Disconnects > 0 && r.Storm == nil, "%d unexpected disconnects (%v)", r.Disconnects, r.DisconnectWhy)
	add(r.WithoutWork > 0, "%d miners without the last job", r.WithoutWork)
	add(r.PoolDuplicates > 0, "the pool got %d duplicate shares", r.PoolDuplicates)
	add(r.UpstreamGap != 0, "the proxy forwarded %d shares more than the pool received", r.UpstreamGap)
	add(r.BadLines > 0, "%d lines the miners could not read", r.BadLines)
	add(r.Unexpected > 0, "%d answers to no pending share", r.Unexpected)
	add(r.AuthFailures > 0, "%d authorizations refused", r.AuthFailures)
	if r.Storm != nil {
		add(r.Storm.Back < r.Miners, "storm: %d of %d miners back at work", r.Storm.Back, r.Miners)
	}
	return e
}

func pct(cpu time.Duration, wall time.Duration) float64 {
	if wall <= 0 {
		return 0
	}
	return 100 * cpu.Seconds() / wall.Seconds()
}

// procsCPU sums the CPU time of pids.
func procsCPU(pids []int) (time.Duration, int64) {
	var cpu time.Duration
	var rss int64
	for _, p := range pids {
		s, err := bench.ReadProc(p)
		if err == nil {
			cpu += s.CPU
			rss += s.RSS
		}
	}
	return cpu, rss
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, a...)...)
}

// notifier broadcasts a job every interval until stopped, and keeps the
// rounds it sent.
type notifier struct {
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	sent []bench.Round
}

func startNotifier(p *bench.Pool, every time.Duration) *notifier {
	n := &notifier{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(n.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-n.stop:
				return
			case <-t.C:
				r := p.Broadcast(false)
				n.mu.Lock()
				n.sent = append(n.sent, r)
				n.mu.Unlock()
			}
		}
	}()
	return n
}

func (n *notifier) end() []bench.Round {
	close(n.stop)
	<-n.done
	return n.sent
}

func rows(rounds []bench.Round, rep bench.Report, into *bench.Hist) []roundRow {
	var out []roundRow
	for _, r := range rounds {
		h := rep.Rounds[r.Seq]
		row := roundRow{Seq: r.Seq, Clean: r.Clean, PoolWrite: r.WriteDur}
		if h != nil {
			row.Received, row.P50, row.P99, row.Max = h.Count, h.Quantile(0.5), h.Quantile(0.99), h.Quantile(1)
			into.Merge(h)
		}
		out = append(out, row)
	}
	return out
}

// runTCP runs the fleet against the daemon (viaProxy) or the pool.
func runTCP(o *options, tmp string, viaProxy bool) (*tcpResult, error) {
	r := &tcpResult{Label: "baseline", Miners: o.miners}
	if viaProxy {
		r.Label = "proxy"
	}
	logf("%s: %d miners", r.Label, o.miners)
	pool, err := bench.StartPool(bench.PoolConfig{Branches: o.branches, DupCheck: o.dupCheck})
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	target := pool.Addr()
	self := bench.StartSampler(0, time.Second)
	defer self.Close()

	var d *daemon
	var samp *bench.Sampler
	if viaProxy {
		if d, err = newDaemon(o, tmp, pool); err != nil {
			return nil, err
		}
		if err := d.start(); err != nil {
			return nil, err
		}
		defer d.stop()
		if err := d.ready(pool.Working, 30*time.Second); err != nil {
			return nil, err
		}
		target = d.listen
		time.Sleep(time.Second)
		samp = bench.StartSampler(d.pid(), 250*time.Millisecond)
		defer func() { samp.Close() }()
		r.RSSIdle = samp.Now().RSS
		if o.profile != "" {
			if m, err := d.gcMemStats(); err == nil {
				r.GCIdle = m
			}
		}
		logf("daemon pid %d up, RSS %.1f MiB", d.pid(), float64(r.RSSIdle)/(1<<20))
	}

	g, err := startFleet(o, target, o.miners)
	if err != nil {
		return nil, err
	}
	defer g.close()
	r.FleetProcs = len(g.procs)
	t0 := time.Now()
	if _, err := g.call(request{Cmd: "start"}); err != nil {
		return nil, err
	}
	st, _ := g.waitStatus(0, t0.UnixNano(), o.connectTimeout, func(s bench.Status) bool { return s.Working == o.miners })
	r.ConnectTime = time.Since(t0)
	if st.LastWorking > 0 && st.Working == o.miners {
		r.ConnectTime = time.Duration(st.LastWorking - t0.UnixNano())
	}
	r.Working, r.ConnectHist = st.Working, st.BackHist
	logf("%s: %d/%d miners at work in %s", r.Label, st.Working, o.miners, bench.FmtDur(r.ConnectTime))
	time.Sleep(o.settle)
	if samp != nil {
		r.RSSConnected = samp.Now().RSS
		r.RSSPerMiner = float64(r.RSSConnected-r.RSSIdle) / float64(o.miners)
		logf("daemon RSS %.1f MiB with miners: %.0f B per miner", float64(r.RSSConnected)/(1<<20), r.RSSPerMiner)
	}
	if viaProxy && o.profile != "" {
		if err := d.fetch("/debug/pprof/heap?gc=1", filepath.Join(o.profile, "heap-connected.pprof"), time.Minute); err != nil {
			logf("heap profile: %v", err)
		} else {
			r.Profiles = append(r.Profiles, filepath.Join(o.profile, "heap-connected.pprof"))
		}
		if r.GCIdle.RSS > 0 {
			if m, err := d.gcMemStats(); err == nil {
				r.GCConnected = m
				per := func(a, b uint64) float64 { return (float64(a) - float64(b)) / float64(o.miners) }
				note := fmt.Sprintf("after a forced GC and FreeOSMemory (proxyd): heap %.0f B + stack %.0f B = %.0f B per miner, RSS %.0f B per miner, %d goroutines",
					per(m.HeapInuse, r.GCIdle.HeapInuse), per(m.StackInuse, r.GCIdle.StackInuse),
					per(m.HeapInuse+m.StackInuse, r.GCIdle.HeapInuse+r.GCIdle.StackInuse),
					float64(m.RSS-r.GCIdle.RSS)/float64(o.miners), m.Goroutines)
				r.Notes = append(r.Notes, note)
				logf("%s", note)
			}
		}
	}

	switch {
	case o.idle:
		runIdle(o, r, pool, g, samp, self)
	case o.storm:
		if err := runStorm(o, r, pool, g, d, &samp); err != nil {
			return nil, err
		}
	default:
		runLoad(o, r, pool, g, d, samp, self)
	}

	// A last clean job: every miner must get it.
	fr := pool.Broadcast(true)
	st, _ = g.waitStatus(fr.Seq, 0, 20*time.Second, func(s bench.Status) bool { return s.SeenSeq == o.miners })
	r.WithoutWork = o.miners - st.SeenSeq
	rep, err := g.report(fr.Seq)
	if err != nil {
		return nil, err
	}
	r.Rejected, r.RejectCodes = rep.Rejected, rep.RejectCodes
	r.Lost = rep.Outstanding
	r.LostOnDisconnect = rep.LostOnDisconnect
	r.Disconnects = rep.Disconnects
	r.DisconnectWhy = rep.DisconnectWhy
	r.DisconnectWhy = rep.DisconnectWhy
	r.BadLines, r.Unexpected, r.AuthFailures = rep.BadLines, rep.UnexpectedAnswers, rep.AuthFailures
	r.DialErrors = rep.DialErrors
	r.FleetRSS = rep.Process.RSS
	r.ShareRTT = rep.ShareRTT
	r.PoolDuplicates = pool.Stats.Duplicates.Load()
	if d != nil {
		r.Metrics = d.metrics()
		r.DaemonLog = d.lines.snapshot()
		fwd := sumFamily(r.Metrics, "hashgate_shares_forwarded_total") // by pool
		r.UpstreamGap = int64(fwd) - int64(pool.Stats.Submits.Load())
		if r.Storm != nil {
			// Shares forwarded by the killed daemon are not in the new one's counters.
			r.UpstreamGap = 0
		}
		r.RSSPeak = samp.PeakRSS()
	} else if rep.Accepted+rep.StaleExpected != pool.Stats.Submits.Load() {
		r.UpstreamGap = int64(rep.Accepted+rep.StaleExpected) - int64(pool.Stats.Submits.Load())
	}
	return r, nil
}

func newDaemon(o *options, tmp string, pool *bench.Pool) (*daemon, error) {
	listen, err := freePort()
	if err != nil {
		return nil, err
	}
	apiAddr, err := freePort()
	if err != nil {
		return nil, err
	}
	cfg, err := writeConfig(tmp, listen, apiAddr, pool.Addr(), pool.Difficulty(), o.readPollers)
	if err != nil {
		return nil, err
	}
	d := &daemon{cfgPath: cfg, logLevel: o.daemonLog, listen: listen, api: apiAddr, logPath: filepath.Join(tmp, "hashgate.log")}
	switch {
	case o.profile != "":
		if err := os.MkdirAll(o.profile, 0o755); err != nil {
			return nil, err
		}
		self, err := os.Executable()
		if err != nil {
			return nil, err
		}
		d.bin = []string{self, "proxyd"}
	default:
		bin := o.hashgate
		switch {
		case bin != "":
		case o.hashgateRev != "":
			var commit string
			if bin, commit, err = buildHashgateRev(tmp, o.hashgateRev); err != nil {
				return nil, err
			}
			logf("built cmd/hashgate at %s", commit)
			o.daemonCommit = commit
			o.hashgate = bin // the proxy run after a baseline reuses it
		default:
			logf("building cmd/hashgate from the checkout")
			if bin, err = buildHashgate(tmp); err != nil {
				return nil, err
			}
		}
		d.bin = []string{bin, "run"}
	}
	return d, nil
}

// runLoad: notify rounds without shares, then the share phase with
// notifies going on.
func runLoad(o *options, r *tcpResult, pool *bench.Pool, g *fleetGroup, d *daemon, samp, self *bench.Sampler) {
	var idle []bench.Round
	var fanProf chan error
	if d != nil && o.profile != "" {
		// A profile of the rounds without shares: the fan-out alone.
		fanProf = make(chan error, 1)
		out := filepath.Join(o.profile, "cpu-fanout.pprof")
		r.Profiles = append(r.Profiles, out)
		secs := max(1, int((time.Duration(o.rounds) * o.interval).Seconds()))
		go func() {
			fanProf <- d.fetch(fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs), out, time.Duration(secs)*time.Second+time.Minute)
		}()
		time.Sleep(100 * time.Millisecond) // the profile is running before the first round
	}
	for i := range o.rounds {
		rd := pool.Broadcast(false)
		idle = append(idle, rd)
		if i < o.rounds-1 {
			time.Sleep(o.interval)
		}
	}
	last := idle[len(idle)-1]
	g.waitStatus(last.Seq, 0, 10*time.Second, func(s bench.Status) bool { return s.SeenSeq == o.miners })
	if fanProf != nil {
		if err := <-fanProf; err != nil {
			logf("cpu profile: %v", err)
		}
	}
	rep, _ := g.report(0)
	r.RoundsIdle = rows(idle, rep, &r.LatIdle)
	logf("%s: fan-out without shares p50/p99/max %s", r.Label, r.LatIdle.String())
	if o.rate <= 0 && !o.closed {
		return
	}

	var perfCmd *exec.Cmd
	if d != nil && o.perf != "" {
		_ = os.MkdirAll(o.perf, 0o755)
		out := filepath.Join(o.perf, "perf.data")
		perfCmd = exec.Command("perf", "record", "-F", "499", "-g", "-p", fmt.Sprint(d.pid()), "-o", out)
		perfCmd.Stdout, perfCmd.Stderr = os.Stderr, os.Stderr
		if err := perfCmd.Start(); err != nil {
			logf("perf: %v", err)
			perfCmd = nil
		} else {
			r.Profiles = append(r.Profiles, out)
		}
	}
	var profDone chan error
	if d != nil && o.profile != "" {
		profDone = make(chan error, 1)
		out := filepath.Join(o.profile, "cpu-shares.pprof")
		r.Profiles = append(r.Profiles, out)
		secs := max(1, int(o.duration.Seconds())-1)
		go func() {
			profDone <- d.fetch(fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs), out, o.duration+time.Minute)
		}()
	}

	before, _ := g.report(0)
	var m0 map[string]float64
	var c0 bench.ProcSample
	if d != nil {
		m0 = d.metrics()
		c0 = samp.Now()
	}
	h0 := self.Now()
	f0, _ := procsCPU(g.pids())
	pool0 := pool.Stats.Submits.Load()
	t0 := time.Now()
	req := request{Cmd: "submit", Rate: o.rate}
	if o.closed {
		req = request{Cmd: "submit", Window: o.window}
	}
	if _, err := g.call(req); err != nil {
		logf("submit: %v", err)
	}
	n := startNotifier(pool, o.interval)
	time.Sleep(o.duration)
	after, _ := g.report(0)
	wall := time.Since(t0)
	pool1 := pool.Stats.Submits.Load()
	f1, _ := procsCPU(g.pids())
	h1 := self.Now()
	if d != nil {
		c1 := samp.Now()
		m1 := d.metrics()
		r.ProxyAccepted = m1["hashgate_shares_accepted_total"] - m0["hashgate_shares_accepted_total"]
		if r.ProxyAccepted > 0 {
			r.CPUPerShare = time.Duration(float64(c1.CPU-c0.CPU) / r.ProxyAccepted)
		}
		r.ProxyCPUShare = pct(c1.CPU-c0.CPU, wall)
		r.ProxySysShare = pct(c1.Sys-c0.Sys, wall)
	}
	loadRounds := n.end()
	reps, _ := g.call(request{Cmd: "stop", DrainMS: 10000})
	_ = reps
	if perfCmd != nil {
		_ = perfCmd.Process.Signal(syscall.SIGINT)
		_ = perfCmd.Wait()
	}
	if profDone != nil {
		if err := <-profDone; err != nil {
			logf("cpu profile: %v", err)
		}
	}
	r.ShareSecs = wall.Seconds()
	r.Sent = after.Sent - before.Sent
	r.Accepted = after.Accepted - before.Accepted
	r.StaleExpected = after.StaleExpected - before.StaleExpected
	r.SharesPerSec = float64(r.Accepted) / wall.Seconds()
	r.PoolSubmits = pool1 - pool0
	r.PoolPerSec = float64(r.PoolSubmits) / wall.Seconds()
	r.HarnessCPU = pct(h1.CPU-h0.CPU, wall)
	if r.Accepted > 0 {
		r.HarnessPerShare = (h1.CPU - h0.CPU) / time.Duration(r.Accepted)
	}
	r.FleetCPU = pct(f1-f0, wall)
	if len(loadRounds) > 0 { // none with --interval longer than --duration
		g.waitStatus(loadRounds[len(loadRounds)-1].Seq, 0, 10*time.Second, func(s bench.Status) bool { return s.SeenSeq == o.miners })
		rep, _ = g.report(0)
		r.RoundsLoad = rows(loadRounds, rep, &r.LatLoad)
	}
	logf("%s: %.0f shares/s accepted (%d sent), proxy CPU %.0f%%, %s per share; fan-out under load %s",
		r.Label, r.SharesPerSec, r.Sent, r.ProxyCPUShare, bench.FmtDur(r.CPUPerShare), r.LatLoad.String())
}

// runIdle: no shares, a notify every idle interval; the proxy's CPU over
// the window.
func runIdle(o *options, r *tcpResult, pool *bench.Pool, g *fleetGroup, samp, self *bench.Sampler) {
	var c0 bench.ProcSample
	if samp != nil {
		c0 = samp.Now()
	}
	h0 := self.Now()
	f0, _ := procsCPU(g.pids())
	t0 := time.Now()
	var sent []bench.Round
	deadline := t0.Add(o.idleWindow)
	for time.Now().Before(deadline) {
		sent = append(sent, pool.Broadcast(false))
		next := time.Now().Add(o.idleInterval)
		if next.After(deadline) {
			next = deadline
		}
		time.Sleep(time.Until(next))
	}
	wall := time.Since(t0)
	if samp != nil {
		c1 := samp.Now()
		r.IdleCPU = pct(c1.CPU-c0.CPU, wall)
		r.RSSConnected = c1.RSS
		r.RSSPerMiner = float64(c1.RSS-r.RSSIdle) / float64(o.miners)
	}
	h1 := self.Now()
	f1, _ := procsCPU(g.pids())
	r.IdleWindow = wall
	r.IdleHarness = pct(h1.CPU-h0.CPU, wall)
	r.IdleFleetCPU = pct(f1-f0, wall)
	rep, _ := g.report(0)
	r.RoundsIdle = rows(sent, rep, &r.LatIdle)
	logf("%s idle: %.2f%% of a core over %s (%d notifies); RSS per miner %.0f B", r.Label, r.IdleCPU, wall.Round(time.Second), len(sent), r.RSSPerMiner)
}

// runStorm kills the daemon with every miner connected, restarts it at
// once, and times until every miner has a job on a new connection.
func runStorm(o *options, r *tcpResult, pool *bench.Pool, g *fleetGroup, d *daemon, samp **bench.Sampler) error {
	// A few rounds first, so the miners are in steady state.
	for range 3 {
		pool.Broadcast(false)
		time.Sleep(o.interval)
	}
	before, _ := g.report(0)
	authBefore := pool.Stats.Authorized.Load()
	n := startNotifier(pool, o.interval)
	defer n.end()
	logf("storm: kill -9 %d with %d miners connected", d.pid(), o.miners)
	(*samp).Close()
	kill := time.Now()
	d.kill9()
	restart := time.Now()
	if err := d.start(); err != nil {
		return err
	}
	if err := d.ready(func() int { return int(pool.Stats.Authorized.Load() - authBefore) }, 30*time.Second); err != nil {
		return err
	}
	ready := time.Now()
	*samp = bench.StartSampler(d.pid(), 250*time.Millisecond)
	st, _ := g.waitStatus(0, kill.UnixNano(), 120*time.Second, func(s bench.Status) bool { return s.Back == o.miners })
	after, _ := g.report(0)
	s := &stormResult{Back: st.Back, BackHist: st.BackHist, RestartToReady: ready.Sub(restart)}
	if st.BackHist != nil && st.BackHist.Count > 0 {
		s.KillToAllBack = time.Duration(st.BackHist.Max)
		s.ReadyToAllBack = s.KillToAllBack - ready.Sub(kill)
	}
	s.DialErrors = after.DialErrors - before.DialErrors
	s.Connects = after.Connects - before.Connects
	s.UpstreamSessions = pool.Stats.Authorized.Load() - authBefore
	lines := d.lines.snapshot()
	s.AcceptFailed = lines["accept failed"]
	time.Sleep(o.settle)
	s.RSSAfter = (*samp).Now().RSS
	r.Storm = s
	logf("storm: %d/%d back at work %s after the kill (daemon ready after %s); %d connects, %d failed dials",
		s.Back, o.miners, bench.FmtDur(s.KillToAllBack), bench.FmtDur(ready.Sub(kill)), s.Connects, s.DialErrors)
	return nil
}

// sumFamily adds every series of a metric family, whatever its labels.
func sumFamily(m map[string]float64, name string) float64 {
	var sum float64
	for k, v := range m {
		if k == name || strings.HasPrefix(k, name+"{") {
			sum += v
		}
	}
	return sum
}
