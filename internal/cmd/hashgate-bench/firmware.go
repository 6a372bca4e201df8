package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"text/tabwriter"
	"time"

	"github.com/hashgate/hashgate/internal/bench"
	"github.com/hashgate/hashgate/internal/emu/hall"
	"github.com/hashgate/hashgate/switcher"
	"github.com/hashgate/hashgate/switcher/device"
	"github.com/hashgate/hashgate/switcher/firmware"
)

// fwOptions are the flags of --mode firmware.
type fwOptions struct {
	rigs        int           // allocation part: rigs
	pollRigs    int           // polling part: rigs
	workers     int           // [switcher] device_workers
	interval    time.Duration // [switcher] poll_interval
	window      time.Duration // measured polling window
	sample      int           // reads per firmware in the per-firmware part
	parts       string        // alloc,poll,reads
	cpuProfile  string        // directory for CPU profiles
	timeout     time.Duration // groups' per-call timeout
	delayAM     time.Duration // emulators' answer delays
	delayOther  time.Duration
	realAM      time.Duration // real firmware's command latency, for the computed figure
	realOther   time.Duration
	readWorkers int
	floorN      int // exchanges per kind in the floor part
	fullEvery   int // fleet.Config.FullReadEvery
}

// fwResult is what --mode firmware measured.
type fwResult struct {
	Alloc *allocResult `json:"alloc,omitempty"`
	Poll  *pollResult  `json:"poll,omitempty"`
	Reads []readCost   `json:"reads,omitempty"`
	Floor []floorCost  `json:"floor,omitempty"`
}

type allocResult struct {
	Rigs, Workers, Planned, Answered, Failed int
	EmuProcs                                 int
	PlainCurtail                             time.Duration // baseline: a plain loop of the drivers
	PlainErrors                              int
	PlainMiningAfter                         int
	AllocateCall                             time.Duration // Allocate's return (plan made, commands queued)
	FirstAnswer, AllAnswered                 time.Duration // from the call
	MiningAfter                              int           // emulated rigs still hashing once all answered
	PollsLate                                uint64
	RealLower, RealUpper                     time.Duration // computed for real firmware latencies
	RealFormula                              string
	// CPU (user + system) over the timed parts: this process's and the
	// emulator processes', for the baseline loop and for hashgate's
	// allocation (from the call to the last answer, polls included).
	PlainCPU, PlainEmuCPU, CPU, EmuCPU time.Duration
}

type pollResult struct {
	Rigs, Workers, EmuProcs int
	Interval, Window        time.Duration
	FirstCycle              time.Duration
	Reads, ReadErrors, Late uint64
	CPU                     time.Duration // hashgate's (this process) over the window
	CorePct, EmuCorePct     float64
	CPUPerRead              time.Duration
	HeapPerRig              float64 // bytes: fleet + switcher + inventory, after GC
	HeapTotal               int64
}

type readCost struct {
	Firmware   string
	Light      bool // device.LightReader's ReadLight, not Read
	Reads      int
	Errors     int
	CPUPerRead time.Duration // this process: the driver's client side only
	EmuPerRead time.Duration // the emulator processes: the rigs' side
	Wall       time.Duration
}

func hasPart(parts, p string) bool {
	for _, x := range splitComma(parts) {
		if x == p {
			return true
		}
	}
	return false
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}

// runFirmware runs the parts of --mode firmware asked for.
func runFirmware(o *options, tmp string) (*fwResult, error) {
	f := &o.fw
	res := &fwResult{}
	if hasPart(f.parts, "alloc") {
		a, err := runAlloc(o, filepath.Join(tmp, "alloc"))
		if err != nil {
			return nil, fmt.Errorf("alloc: %w", err)
		}
		res.Alloc = a
	}
	if hasPart(f.parts, "poll") || hasPart(f.parts, "reads") || hasPart(f.parts, "floor") {
		p, r, fl, err := runPoll(o, filepath.Join(tmp, "poll"))
		if err != nil {
			return nil, fmt.Errorf("poll: %w", err)
		}
		res.Poll, res.Reads, res.Floor = p, r, fl
	}
	return res, nil
}

// runAlloc: the baseline (a plain loop of the drivers curtails every rig
// with device_workers goroutines), then the same rigs woken and one
// allocation through the switcher and the fleet that curtails them all.
func runAlloc(o *options, dir string) (*allocResult, error) {
	f := &o.fw
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	g, err := startRigs(f.rigs, o.perProc, fwDelays{f.delayAM, f.delayOther})
	if err != nil {
		return nil, err
	}
	defer g.close()
	r := &allocResult{Rigs: f.rigs, Workers: f.workers, EmuProcs: len(g.procs)}
	rigs, err := plainRigs(g.csv, f.timeout)
	if err != nil {
		return nil, err
	}
	drivers := firmware.Drivers()
	// Sessions first (tokens, digest challenges), as hashgate holds them
	// from its polls; then the timed curtails; then all woken again.
	plainLoop(drivers, rigs, f.workers, plainRead)
	stop := profBoth(f, g, "alloc-plain")
	c0, _ := bench.ReadProc(0)
	em0 := g.cpu()
	r.PlainCurtail, r.PlainErrors = plainLoop(drivers, rigs, f.workers, plainCurtail)
	c1, _ := bench.ReadProc(0)
	r.PlainCPU, r.PlainEmuCPU = c1.CPU-c0.CPU, g.cpu()-em0
	stop()
	if r.PlainMiningAfter, _, err = g.mining(); err != nil {
		return nil, err
	}
	plainLoop(drivers, rigs, f.workers, plainResume)
	if !waitFor(30*time.Second, func() bool { m, _, err := g.mining(); return err == nil && m == f.rigs }) {
		return nil, fmt.Errorf("rigs not all mining again after the baseline")
	}
	capacity := float64(f.rigs)*3.25 + 10
	s, err := startSide(fwSideConfig{dir: dir, csv: g.csv, rigs: f.rigs, workers: f.workers, poll: f.interval, timeout: f.timeout, capacity: capacity, fullEvery: f.fullEvery})
	if err != nil {
		return nil, err
	}
	defer s.close()
	if !s.waitReads(0, f.rigs, f.interval+60*time.Second) ||
		!waitFor(30*time.Second, func() bool { return s.sw.Counters().DeviceReadings.Load() >= uint64(f.rigs) }) {
		return nil, fmt.Errorf("not every rig read once: %+v", s.fl.Stats())
	}
	late0 := s.fl.Stats().PollsLate
	s.ans.arm()
	stop = profBoth(f, g, "alloc")
	c0, _ = bench.ReadProc(0)
	em0 = g.cpu()
	t0 := time.Now()
	plan, _, err := s.sw.Allocate(switcher.AllocationRequest{AIKW: capacity, Reason: "hashgate-bench firmware"}, "bench")
	r.AllocateCall = time.Since(t0)
	if err != nil {
		return nil, err
	}
	var planned []string
	for _, a := range plan.Curtail {
		planned = append(planned, a.Name)
	}
	for _, a := range plan.Park {
		planned = append(planned, a.Name)
	}
	r.Planned = len(planned)
	waitFor(f.timeout*3+time.Duration(f.rigs)*f.realAM/time.Duration(max(1, f.workers))+60*time.Second, func() bool {
		_, n := s.ans.last(planned)
		return n == len(planned)
	})
	c1, _ = bench.ReadProc(0)
	r.CPU, r.EmuCPU = c1.CPU-c0.CPU, g.cpu()-em0
	stop()
	last, n := s.ans.last(planned)
	r.Answered = n
	s.ans.mu.Lock()
	r.Failed = s.ans.failed
	first := last
	for _, t := range s.ans.at {
		if t.Before(first) {
			first = t
		}
	}
	s.ans.mu.Unlock()
	r.FirstAnswer, r.AllAnswered = first.Sub(t0), last.Sub(t0)
	r.PollsLate = s.fl.Stats().PollsLate - late0
	if r.MiningAfter, _, err = g.mining(); err != nil {
		return nil, err
	}
	r.computeReal(f, planned)
	return r, nil
}

// computeReal is the allocation's figure for real firmware: each worker
// runs commands one after the other, so the plan's commands take their
// summed latencies divided by the workers, plus at most one command's
// latency for the last one started, plus what the machinery itself
// took (the figure measured with emulators answering at once).
func (r *allocResult) computeReal(f *fwOptions, planned []string) {
	var sum time.Duration
	am := 0
	for _, name := range planned {
		if firmwareOf(name) == "antminer" {
			am++
			sum += f.realAM
		} else {
			sum += f.realOther
		}
	}
	w := time.Duration(max(1, min(f.workers, len(planned))))
	r.RealLower = sum/w + r.AllAnswered
	r.RealUpper = r.RealLower + max(f.realAM, f.realOther)
	r.RealFormula = fmt.Sprintf("T = (%d x %v + %d x %v) / %d workers + %v measured [+ up to %v for the last command started]",
		am, f.realAM, len(planned)-am, f.realOther, w, r.AllAnswered.Round(time.Millisecond), max(f.realAM, f.realOther))
}

// firmwareOf reads the firmware from a hall rig's name (emu.FW-NNNNN).
func firmwareOf(name string) string {
	for _, fw := range hall.Firmwares {
		if len(name) > 4+len(fw) && name[4:4+len(fw)] == fw {
			return fw
		}
	}
	return ""
}

func heapNow() runtime.MemStats {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}

// runPoll: pollRigs emulated rigs in child processes; hashgate's side
// polls them at the poll interval; its CPU over a window, and its heap
// per rig once each was read. Then, with the fleet stopped, the CPU of
// one read per firmware in a plain loop of the drivers.
func runPoll(o *options, dir string) (*pollResult, []readCost, []floorCost, error) {
	f := &o.fw
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, nil, err
	}
	g, err := startRigs(f.pollRigs, o.perProc, fwDelays{f.delayAM, f.delayOther})
	if err != nil {
		return nil, nil, nil, err
	}
	defer g.close()
	var floor []floorCost
	if hasPart(f.parts, "floor") {
		floor = measureFloor(g, f.floorN, f.workers, func(name string) func() { return profBoth(f, g, name) })
	}
	var p *pollResult
	if hasPart(f.parts, "poll") {
		if p, err = measurePoll(o, dir, g); err != nil {
			return nil, nil, floor, err
		}
	}
	var reads []readCost
	if hasPart(f.parts, "reads") {
		if reads, err = measureReads(o, g); err != nil {
			return p, nil, floor, err
		}
	}
	return p, reads, floor, nil
}

// profBoth starts CPU profiles of this process (NAME.pprof) and of the
// emulator processes (NAME-emuK.pprof) when --fw-cpuprofile is set.
func profBoth(f *fwOptions, g *rigGroup, name string) func() {
	a := startProfile(f.cpuProfile, name+".pprof")
	b := g.profile(f.cpuProfile, name)
	return func() { a(); b() }
}

func measurePoll(o *options, dir string, g *rigGroup) (*pollResult, error) {
	f := &o.fw
	p := &pollResult{Rigs: f.pollRigs, Workers: f.workers, EmuProcs: len(g.procs), Interval: f.interval, Window: f.window}
	before := heapNow()
	t0 := time.Now()
	s, err := startSide(fwSideConfig{dir: dir, csv: g.csv, rigs: f.pollRigs, workers: f.workers, poll: f.interval,
		timeout: f.timeout, capacity: float64(f.pollRigs)*3.25 + 10, fullEvery: f.fullEvery})
	if err != nil {
		return nil, err
	}
	defer s.close()
	if !s.waitReads(0, f.pollRigs, f.interval+60*time.Second) ||
		!waitFor(30*time.Second, func() bool { return s.sw.Counters().DeviceReadings.Load() >= uint64(f.pollRigs) }) {
		return nil, fmt.Errorf("not every rig read once: %+v", s.fl.Stats())
	}
	p.FirstCycle = time.Since(t0)
	after := heapNow()
	writeHeapProfile(f.cpuProfile, "poll-heap.pprof")
	p.HeapTotal = int64(after.HeapAlloc) - int64(before.HeapAlloc)
	p.HeapPerRig = float64(p.HeapTotal) / float64(f.pollRigs)
	// Start the window on a cycle in progress, after the first.
	stop := profBoth(f, g, "poll")
	c0, _ := bench.ReadProc(0)
	st0, e0 := s.fl.Stats(), g.cpu()
	time.Sleep(f.window)
	c1, _ := bench.ReadProc(0)
	st1, e1 := s.fl.Stats(), g.cpu()
	stop()
	p.Reads, p.ReadErrors, p.Late = st1.Reads-st0.Reads, st1.ReadErrors-st0.ReadErrors, st1.PollsLate-st0.PollsLate
	p.CPU = c1.CPU - c0.CPU
	win := c1.At.Sub(c0.At)
	p.CorePct = 100 * p.CPU.Seconds() / win.Seconds()
	p.EmuCorePct = 100 * (e1 - e0).Seconds() / win.Seconds()
	if p.Reads > 0 {
		p.CPUPerRead = p.CPU / time.Duration(p.Reads)
	}
	return p, nil
}

// measureReads: per firmware, sample rigs read once (sessions), then
// read again in a plain loop; this process's CPU per read.
func measureReads(o *options, g *rigGroup) ([]readCost, error) {
	f := &o.fw
	all, err := plainRigs(g.csv, f.timeout)
	if err != nil {
		return nil, err
	}
	drivers := firmware.Drivers()
	var out []readCost
	for _, fw := range hall.Firmwares {
		var rigs []plainRig
		for _, r := range all {
			if r.fw == fw && len(rigs) < f.sample {
				rigs = append(rigs, r)
			}
		}
		plainLoop(drivers, rigs, f.readWorkers, plainRead)
		out = append(out, measureRead(f, g, drivers, rigs, fw, false))
		if _, ok := drivers[fw].(device.LightReader); ok {
			out = append(out, measureRead(f, g, drivers, rigs, fw, true))
		}
	}
	return out, nil
}

// measureRead reads every rig once in a plain loop (Read, or ReadLight
// when light) and returns this process's and the emulators' CPU per read.
func measureRead(f *fwOptions, g *rigGroup, drivers map[string]device.Driver, rigs []plainRig, fw string, light bool) readCost {
	call, name := plainRead, "read-"+fw
	if light {
		call, name = plainReadLight, "readlight-"+fw
	}
	runtime.GC()
	stop := profBoth(f, g, name)
	c0, _ := bench.ReadProc(0)
	em0 := g.cpu()
	wall, errs := plainLoop(drivers, rigs, f.readWorkers, call)
	c1, _ := bench.ReadProc(0)
	em1 := g.cpu()
	stop()
	rc := readCost{Firmware: fw, Light: light, Reads: len(rigs), Errors: errs, Wall: wall}
	if len(rigs) > 0 {
		rc.CPUPerRead = (c1.CPU - c0.CPU) / time.Duration(len(rigs))
		rc.EmuPerRead = (em1 - em0) / time.Duration(len(rigs))
	}
	return rc
}

// startProfile starts a CPU profile into dir/name when dir is set; the
// returned func stops it.
func startProfile(dir, name string) func() {
	if dir == "" {
		return func() {}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		return func() {}
	}
	fh, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(fh); err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		fh.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		fh.Close()
	}
}

func fwFlags(fs *flag.FlagSet, f *fwOptions) {
	fs.IntVar(&f.rigs, "fw-rigs", 10000, "firmware: rigs the allocation curtails (all of them)")
	fs.IntVar(&f.pollRigs, "fw-poll-rigs", 50000, "firmware: rigs polled")
	fs.IntVar(&f.workers, "fw-workers", 256, "firmware: [switcher] device_workers (the baseline loop uses as many goroutines)")
	fs.DurationVar(&f.interval, "fw-poll-interval", 10*time.Second, "firmware: [switcher] poll_interval")
	fs.DurationVar(&f.window, "fw-window", 30*time.Second, "firmware: measured polling window")
	fs.IntVar(&f.sample, "fw-read-sample", 2000, "firmware: reads per firmware in the per-firmware CPU part")
	fs.IntVar(&f.readWorkers, "fw-read-workers", 64, "firmware: goroutines of the per-firmware reads")
	fs.StringVar(&f.parts, "fw-parts", "alloc,floor,poll,reads", "firmware: parts to run (floor: the cheapest exchanges, the polls' baseline)")
	fs.StringVar(&f.cpuProfile, "fw-cpuprofile", "", "firmware: directory for CPU profiles (this process NAME.pprof, the emulator processes NAME-emuK.pprof) of the allocation, the floor, the polling window and each firmware's reads")
	fs.IntVar(&f.floorN, "fw-floor-exchanges", 20000, "firmware: exchanges of each kind in the floor part")
	fs.IntVar(&f.fullEvery, "fw-full-every", 0, "firmware: a full read every Nth poll, light reads between (fleet FullReadEvery; 0: its default, 6)")
	fs.DurationVar(&f.timeout, "fw-timeout", 30*time.Second, "firmware: the groups' per-call timeout")
	fs.DurationVar(&f.delayAM, "fw-delay-antminer", 0, "firmware: emulated Antminers wait this long before each answer")
	fs.DurationVar(&f.delayOther, "fw-delay-other", 0, "firmware: the other emulated rigs wait this long before each answer")
	fs.DurationVar(&f.realAM, "fw-real-antminer", 20*time.Second, "firmware: a real Antminer's curtail latency, for the computed figure")
	fs.DurationVar(&f.realOther, "fw-real-other", time.Second, "firmware: the other firmwares' curtail latency, for the computed figure")
}

// Targets of issue 11 (Speed).
const (
	allocTarget  = 5 * time.Second
	pollTargetPc = 10.0
	memTarget    = 2048.0
)

// errors are the correctness failures: a rig not curtailed, a read
// failing. Missed targets are reported, not failures.
func (r *fwResult) errors(f *fwOptions) []string {
	var errs []string
	if a := r.Alloc; a != nil {
		if a.Planned != a.Rigs {
			errs = append(errs, fmt.Sprintf("firmware alloc: plan curtails %d of %d rigs, want all", a.Planned, a.Rigs))
		}
		if a.Answered != a.Planned || a.Failed > 0 || a.MiningAfter != 0 {
			errs = append(errs, fmt.Sprintf("firmware alloc: %d of %d curtails answered, %d failed, %d rigs still mining; want all, 0, 0",
				a.Answered, a.Planned, a.Failed, a.MiningAfter))
		}
		if a.PlainErrors > 0 || a.PlainMiningAfter != 0 {
			errs = append(errs, fmt.Sprintf("firmware baseline: %d errors, %d rigs still mining; want 0, 0", a.PlainErrors, a.PlainMiningAfter))
		}
	}
	if p := r.Poll; p != nil && p.ReadErrors > 0 {
		errs = append(errs, fmt.Sprintf("firmware poll: %d read errors in the window, want 0", p.ReadErrors))
	}
	for _, fc := range r.Floor {
		if fc.Errors > 0 {
			errs = append(errs, fmt.Sprintf("firmware floor: %s: %d errors, want 0", fc.Kind, fc.Errors))
		}
	}
	for _, rc := range r.Reads {
		if rc.Errors > 0 {
			errs = append(errs, fmt.Sprintf("firmware reads: %s: %d errors, want 0", rc.Firmware, rc.Errors))
		}
	}
	return errs
}

func printFirmware(w io.Writer, f *fwOptions, r *fwResult) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "\nFIRMWARE (hashgate's switcher + fleet + drivers in this process; emulated rigs in child processes)")
	if a := r.Alloc; a != nil {
		fmt.Fprintf(tw, "  allocation: rigs curtailed (emulator processes)\t%d of %d planned (%d)\t\n", a.Answered, a.Planned, a.EmuProcs)
		fmt.Fprintf(tw, "  device_workers / baseline goroutines\t%d\t\n", a.Workers)
		fmt.Fprintf(tw, "  baseline: plain loop of the drivers, all curtailed in\t%s (%d errors)\t\n", bench.FmtDur(a.PlainCurtail), a.PlainErrors)
		fmt.Fprintf(tw, "  baseline CPU per curtail: here / emulators / sum on 2 cores\t%s / %s / %s\t\n", perN(a.PlainCPU, a.Rigs), perN(a.PlainEmuCPU, a.Rigs),
			bench.FmtDur((a.PlainCPU+a.PlainEmuCPU)/2))
		fmt.Fprintf(tw, "  hashgate: Allocate returned after\t%s\t\n", bench.FmtDur(a.AllocateCall))
		fmt.Fprintf(tw, "  hashgate: first / every curtail answered after\t%s / %s  target < %v: %s\t\n",
			bench.FmtDur(a.FirstAnswer), bench.FmtDur(a.AllAnswered), allocTarget, passFail(a.AllAnswered < allocTarget && a.Answered == a.Planned))
		fmt.Fprintf(tw, "  hashgate's machinery over the baseline\t%s\t\n", bench.FmtDur(a.AllAnswered-a.PlainCurtail))
		fmt.Fprintf(tw, "  hashgate CPU per curtail (polls included): here / emulators / sum on 2 cores\t%s / %s / %s\t\n", perN(a.CPU, a.Rigs), perN(a.EmuCPU, a.Rigs),
			bench.FmtDur((a.CPU+a.EmuCPU)/2))
		fmt.Fprintf(tw, "  rigs still mining after / failed answers / polls late\t%d / %d / %d\t\n", a.MiningAfter, a.Failed, a.PollsLate)
		fmt.Fprintf(tw, "  computed for real firmware\t%s to %s\t\n", bench.FmtDur(a.RealLower), bench.FmtDur(a.RealUpper))
		fmt.Fprintf(tw, "    %s\t\t\n", a.RealFormula)
	}
	if p := r.Poll; p != nil {
		fmt.Fprintf(tw, "  polling: rigs (emulator processes), workers, interval\t%d (%d), %d, %v\t\n", p.Rigs, p.EmuProcs, p.Workers, p.Interval)
		fmt.Fprintf(tw, "  first full cycle after start\t%s\t\n", bench.FmtDur(p.FirstCycle))
		fmt.Fprintf(tw, "  window: reads (errors, late)\t%v: %d (%d, %d), %.0f/s\t\n", p.Window, p.Reads, p.ReadErrors, p.Late, float64(p.Reads)/p.Window.Seconds())
		fmt.Fprintf(tw, "  hashgate CPU: %% of one core, per read\t%.1f%%, %s  target < %.0f%%: %s\t\n", p.CorePct, bench.FmtDur(p.CPUPerRead), pollTargetPc, passFail(p.CorePct < pollTargetPc))
		if p.Interval != 10*time.Second || p.Rigs != 50000 {
			// The same CPU per read at 5,000 reads/s.
			fmt.Fprintf(tw, "  projected for 50,000 rigs every 10 s (same CPU per read)\t%.1f%% of one core\t\n", 100*p.CPUPerRead.Seconds()*5000)
		}
		fmt.Fprintf(tw, "  emulators' CPU (not hashgate's)\t%.1f%% of one core\t\n", p.EmuCorePct)
		fmt.Fprintf(tw, "  heap per rig (fleet + switcher + inventory)\t%.0f B (%s total)  target < 2 KiB: %s\t\n", p.HeapPerRig, mib(p.HeapTotal), passFail(p.HeapPerRig < memTarget))
	}
	for _, fc := range r.Floor {
		fmt.Fprintf(tw, "  floor: %s, %d at once\t%s CPU here, %s in the emulators per exchange (%d in %s, %d errors)\t\n",
			fc.Kind, fc.Concurrency, bench.FmtDur(fc.CPUPer), bench.FmtDur(fc.EmuCPUPer), fc.Exchanges, bench.FmtDur(fc.Wall), fc.Errors)
	}
	for _, rc := range r.Reads {
		kind := "read"
		if rc.Light {
			kind = "light read"
		}
		fmt.Fprintf(tw, "  CPU per %s, %s (plain loop, %d at once)\t%s here, %s in the emulators (%d reads in %s, %d errors)\t\n",
			kind, rc.Firmware, f.readWorkers, bench.FmtDur(rc.CPUPerRead), bench.FmtDur(rc.EmuPerRead), rc.Reads, bench.FmtDur(rc.Wall), rc.Errors)
	}
	tw.Flush()
}

// writeHeapProfile writes the heap in use to dir/name when dir is set.
func writeHeapProfile(dir, name string) {
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		return
	}
	fh, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		return
	}
	defer fh.Close()
	if err := pprof.Lookup("heap").WriteTo(fh, 0); err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
	}
}

func perN(d time.Duration, n int) string {
	if n <= 0 {
		return "-"
	}
	return bench.FmtDur(d / time.Duration(n))
}
