package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/hashgate/hashgate/internal/bench"
)

// request is one command from the harness to a fleet process, as a JSON
// line on the child's stdin; every request gets one JSON line back.
type request struct {
	Cmd     string  `json:"cmd"`
	Seq     uint64  `json:"seq,omitempty"`
	Since   int64   `json:"since,omitempty"`
	Rate    float64 `json:"rate,omitempty"`
	Window  int     `json:"window,omitempty"`
	DrainMS int64   `json:"drain_ms,omitempty"`
}

type reply struct {
	Err         string        `json:"err,omitempty"`
	Outstanding uint64        `json:"outstanding,omitempty"`
	Status      *bench.Status `json:"status,omitempty"`
	Report      *bench.Report `json:"report,omitempty"`
}

// cmdFleet is a fleet process: `hashgate-bench fleet --target ADDR
// --miners N --base I`, driven by JSON lines on stdin.
func cmdFleet(args []string) int {
	fs := flag.NewFlagSet("fleet", flag.ContinueOnError)
	target := fs.String("target", "", "host:port to connect to")
	miners := fs.Int("miners", 100, "miners in this process")
	base := fs.Int("base", 0, "global index of the first miner")
	src := fs.String("src", "", "comma-separated local addresses to spread connections over")
	dialPar := fs.Int("dial-parallel", 1000, "connects in progress at once")
	retry := fs.Duration("retry", time.Second, "pause before retrying a failed connect (±50%)")
	window := fs.Int("window", 8, "unanswered submits per miner at most")
	perEN2 := fs.Int("nonces-per-en2", 1, "shares per extranonce2 (consecutive nonces)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg := bench.FleetConfig{Target: *target, Miners: *miners, Base: *base, DialParallel: *dialPar, Retry: *retry, Window: *window, NoncesPerExtranonce2: *perEN2}
	if *src != "" {
		cfg.SourceIPs = strings.Split(*src, ",")
	}
	f := bench.NewFleet(cfg)
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 64<<10), 1<<20)
	enc := json.NewEncoder(os.Stdout)
	started := false
	defer func() {
		if started {
			f.Close()
		}
	}()
	for in.Scan() {
		var req request
		var rep reply
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			rep.Err = err.Error()
			_ = enc.Encode(rep)
			continue
		}
		switch req.Cmd {
		case "start":
			if !started {
				f.Start()
				started = true
			}
		case "status":
			s := f.Status(req.Seq, req.Since)
			rep.Status = &s
		case "submit":
			if req.Rate > 0 {
				f.SubmitOpen(req.Rate)
			} else {
				f.SubmitClosed(req.Window)
			}
		case "stop":
			rep.Outstanding = f.StopSubmitting(time.Duration(req.DrainMS) * time.Millisecond)
		case "report":
			r := f.Report(req.Seq)
			r.Process, _ = bench.ReadProc(0)
			rep.Report = &r
		case "quit":
			_ = enc.Encode(rep)
			return 0
		default:
			rep.Err = "unknown command " + req.Cmd
		}
		if err := enc.Encode(rep); err != nil {
			return 1
		}
	}
	return 0
}

// fleetProc is one fleet process as the harness sees it.
type fleetProc struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Scanner
	miners int
}

// fleetGroup is every fleet process of a run.
type fleetGroup struct {
	procs  []*fleetProc
	miners int
}

// startFleet spawns ceil(miners/perProc) fleet processes of this binary.
func startFleet(o *options, target string, miners int) (*fleetGroup, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	g := &fleetGroup{miners: miners}
	nproc := (miners + o.perProc - 1) / o.perProc
	base := 0
	for k := range nproc {
		n := miners / nproc
		if k < miners%nproc {
			n++
		}
		args := []string{"fleet", "--target", target, "--miners", fmt.Sprint(n), "--base", fmt.Sprint(base),
			"--dial-parallel", fmt.Sprint(o.dialParallel), "--retry", o.retry.String(), "--window", fmt.Sprint(o.window), "--nonces-per-en2", fmt.Sprint(o.perEN2)}
		if miners > o.spreadAbove {
			// Each process gets its own source address, so its
			// ephemeral ports are its own.
			args = append(args, "--src", fmt.Sprintf("127.0.0.%d", 10+k))
		}
		cmd := exec.Command(self, args...)
		cmd.Stderr = os.Stderr
		in, err := cmd.StdinPipe()
		if err != nil {
			g.close()
			return nil, err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			g.close()
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			g.close()
			return nil, err
		}
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 256<<20)
		g.procs = append(g.procs, &fleetProc{cmd: cmd, in: in, out: sc, miners: n})
		base += n
	}
	return g, nil
}

func (p *fleetProc) call(req request) (reply, error) {
	var rep reply
	b, _ := json.Marshal(req)
	if _, err := p.in.Write(append(b, '\n')); err != nil {
		return rep, err
	}
	if !p.out.Scan() {
		if err := p.out.Err(); err != nil {
			return rep, err
		}
		return rep, io.ErrUnexpectedEOF
	}
	if err := json.Unmarshal(p.out.Bytes(), &rep); err != nil {
		return rep, err
	}
	if rep.Err != "" {
		return rep, errors.New(rep.Err)
	}
	return rep, nil
}

// call sends req to every process at once and returns their replies.
func (g *fleetGroup) call(req request) ([]reply, error) {
	reps := make([]reply, len(g.procs))
	errs := make([]error, len(g.procs))
	var wg sync.WaitGroup
	for i, p := range g.procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reps[i], errs[i] = p.call(req)
		}()
	}
	wg.Wait()
	return reps, errors.Join(errs...)
}

func (g *fleetGroup) status(seq uint64, since int64) (bench.Status, error) {
	reps, err := g.call(request{Cmd: "status", Seq: seq, Since: since})
	var t bench.Status
	if err != nil {
		return t, err
	}
	for _, r := range reps {
		s := r.Status
		t.Miners += s.Miners
		t.Connected += s.Connected
		t.Working += s.Working
		t.SeenSeq += s.SeenSeq
		t.LastWorking = max(t.LastWorking, s.LastWorking)
		t.Back += s.Back
		if s.BackHist != nil {
			if t.BackHist == nil {
				t.BackHist = &bench.Hist{}
			}
			t.BackHist.Merge(s.BackHist)
		}
	}
	return t, nil
}

func (g *fleetGroup) report(seq uint64) (bench.Report, error) {
	reps, err := g.call(request{Cmd: "report", Seq: seq})
	if err != nil {
		return bench.Report{}, err
	}
	rs := make([]bench.Report, len(reps))
	for i, r := range reps {
		rs[i] = *r.Report
	}
	return bench.MergeReports(rs), nil
}

// waitStatus polls until ok(status) or the timeout; it returns the last
// status and whether ok was reached.
func (g *fleetGroup) waitStatus(seq uint64, since int64, timeout time.Duration, ok func(bench.Status) bool) (bench.Status, bool) {
	deadline := time.Now().Add(timeout)
	for {
		s, err := g.status(seq, since)
		if err == nil && ok(s) {
			return s, true
		}
		if err != nil || !time.Now().Before(deadline) {
			return s, false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// close quits every process (bounded) and kills what is left.
func (g *fleetGroup) close() {
	if g == nil {
		return
	}
	var wg sync.WaitGroup
	for _, p := range g.procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done := make(chan struct{})
			go func() {
				_, _ = p.call(request{Cmd: "quit"})
				_ = p.in.Close()
				_ = p.cmd.Wait()
				close(done)
			}()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				_ = p.cmd.Process.Kill()
				<-done
			}
		}()
	}
	wg.Wait()
}

// pids of the fleet processes.
func (g *fleetGroup) pids() []int {
	var ps []int
	for _, p := range g.procs {
		ps = append(ps, p.cmd.Process.Pid)
	}
	return ps
}
