package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/hashgate/hashgate/internal/bench"
)

// cmdRigs is an emulator process: `hashgate-bench rigs --host H --rigs N
// --base I`. It starts its rigs and the floor servers (fwfloor.go),
// prints "name,address,firmware" per rig, "floor ADDR ADDR..." and
// "floorhttp ADDR", then "ready", and answers lines on stdin: "mining"
// (rigs hashing now), "profile PATH" (start a CPU profile of this
// process into PATH), "profile-stop", "quit". It exits when stdin
// closes.
func cmdRigs(args []string) int {
	fs := flag.NewFlagSet("rigs", flag.ContinueOnError)
	host := fs.String("host", "127.0.0.1", "listen address (no port)")
	rigs := fs.Int("rigs", 100, "rigs in this process")
	base := fs.Int("base", 0, "global index of the first rig")
	pw := fs.String("password", "hall-pass", "every rig's password")
	delayAM := fs.Duration("delay-antminer", 0, "Antminer rigs wait this long before each answer")
	delayOther := fs.Duration("delay-other", 0, "the other rigs wait this long before each answer")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	delay := func(fw string) time.Duration {
		if fw == "antminer" {
			return *delayAM
		}
		return *delayOther
	}
	h, err := bench.StartFWRigs(bench.FWRigsConfig{Host: *host, Rigs: *rigs, Base: *base, Password: *pw, Delay: delay})
	if err != nil {
		fmt.Fprintln(os.Stderr, "rigs:", err)
		return 1
	}
	fl, floorTCP, floorWeb, err := startFloor(*host)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rigs: floor:", err)
		return 1
	}
	defer fl.close()
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	for _, r := range h.Rigs {
		fmt.Fprintf(out, "%s,%s,%s\n", r.Name, r.Addr, r.Firmware)
	}
	fmt.Fprintf(out, "floor %s\nfloorhttp %s\n", strings.Join(floorTCP, " "), floorWeb)
	fmt.Fprintln(out, "ready")
	if err := out.Flush(); err != nil {
		return 1
	}
	in := bufio.NewScanner(os.Stdin)
	var prof *os.File
	defer func() { stopChildProfile(prof) }()
	for in.Scan() {
		line := strings.TrimSpace(in.Text())
		switch {
		case strings.HasPrefix(line, "profile "):
			stopChildProfile(prof)
			prof = startChildProfile(strings.TrimPrefix(line, "profile "))
			fmt.Fprintln(out, "ok")
		case line == "profile-stop":
			stopChildProfile(prof)
			prof = nil
			fmt.Fprintln(out, "ok")
		case line == "mining":
			fmt.Fprintf(out, "%d %.0f\n", h.Mining(), h.PowerW())
		case line == "quit":
			// The process exits: its sockets go with it. Closing 15,000
			// HTTP servers one by one would only slow the harness.
			return 0
		default:
			fmt.Fprintln(out, "?")
		}
		if err := out.Flush(); err != nil {
			return 1
		}
	}
	return 0
}

// rigProc is one emulator process as the harness sees it.
type rigProc struct {
	floorTCP  []string // the floor servers (fwfloor.go)
	floorHTTP string
	cmd       *exec.Cmd
	in        io.WriteCloser
	out       *bufio.Scanner
	mu        sync.Mutex
}

// rigGroup is every emulator process of a run, and the inventory they
// printed.
type rigGroup struct {
	procs []*rigProc
	csv   []byte // "name,address,firmware" header and one line per rig
	n     int
}

// fwDelays are the emulators' answer delays (0: none).
type fwDelays struct{ antminer, other time.Duration }

// startRigs spawns ceil(n/perProc) emulator processes of this binary,
// process k on 127.0.0.(11+k), and reads their inventories.
func startRigs(n, perProc int, d fwDelays) (*rigGroup, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	g := &rigGroup{n: n}
	var csv strings.Builder
	csv.WriteString("name,address,firmware\n")
	nproc := (n + perProc - 1) / perProc
	base := 0
	for k := range nproc {
		m := n / nproc
		if k < n%nproc {
			m++
		}
		cmd := exec.Command(self, "rigs", "--host", fmt.Sprintf("127.0.0.%d", 11+k), "--rigs", fmt.Sprint(m),
			"--base", fmt.Sprint(base), "--delay-antminer", d.antminer.String(), "--delay-other", d.other.String())
		cmd.Stderr = os.Stderr
		p := &rigProc{cmd: cmd}
		if p.in, err = cmd.StdinPipe(); err == nil {
			var out io.ReadCloser
			if out, err = cmd.StdoutPipe(); err == nil {
				p.out = bufio.NewScanner(out)
				err = cmd.Start()
			}
		}
		if err != nil {
			g.close()
			return nil, err
		}
		g.procs = append(g.procs, p)
		base += m
	}
	for _, p := range g.procs {
		if err := p.readInventory(&csv); err != nil {
			g.close()
			return nil, err
		}
	}
	g.csv = []byte(csv.String())
	return g, nil
}

func (p *rigProc) readInventory(csv *strings.Builder) error {
	for p.out.Scan() {
		line := p.out.Text()
		if line == "ready" {
			return nil
		}
		if rest, ok := strings.CutPrefix(line, "floor "); ok {
			p.floorTCP = strings.Fields(rest)
			continue
		}
		if rest, ok := strings.CutPrefix(line, "floorhttp "); ok {
			p.floorHTTP = rest
			continue
		}
		csv.WriteString(line)
		csv.WriteByte('\n')
	}
	return fmt.Errorf("emulator process %d: ended before ready: %v", p.cmd.Process.Pid, p.out.Err())
}

// mining sums the rigs hashing now and their draw (W) over the processes.
func (g *rigGroup) mining() (int, float64, error) {
	total, watts := 0, 0.0
	for _, p := range g.procs {
		p.mu.Lock()
		_, err := io.WriteString(p.in, "mining\n")
		var m int
		var w float64
		if err == nil {
			if !p.out.Scan() {
				err = errors.New("emulator process: no answer")
			} else {
				_, err = fmt.Sscanf(p.out.Text(), "%d %f", &m, &w)
			}
		}
		p.mu.Unlock()
		if err != nil {
			return 0, 0, err
		}
		total += m
		watts += w
	}
	return total, watts, nil
}

// cpu is the emulator processes' CPU time so far (user + system).
func (g *rigGroup) cpu() time.Duration {
	var t time.Duration
	for _, p := range g.procs {
		if s, err := bench.ReadProc(p.cmd.Process.Pid); err == nil {
			t += s.CPU
		}
	}
	return t
}

// close quits every process (bounded) and kills what is left.
func (g *rigGroup) close() {
	if g == nil {
		return
	}
	for _, p := range g.procs {
		_, _ = io.WriteString(p.in, "quit\n")
		_ = p.in.Close()
	}
	for _, p := range g.procs {
		done := make(chan struct{})
		go func() {
			_ = p.cmd.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-done
		}
	}
}

// startChildProfile starts a CPU profile of the emulator process into
// path; nil when it cannot (said on stderr).
func startChildProfile(path string) *os.File {
	fh, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rigs: profile:", err)
		return nil
	}
	if err := pprof.StartCPUProfile(fh); err != nil {
		fmt.Fprintln(os.Stderr, "rigs: profile:", err)
		fh.Close()
		return nil
	}
	return fh
}

func stopChildProfile(fh *os.File) {
	if fh == nil {
		return
	}
	pprof.StopCPUProfile()
	fh.Close()
}

// profile starts a CPU profile of every emulator process into
// dir/name-emuK.pprof when dir is set; the returned func stops them.
func (g *rigGroup) profile(dir, name string) func() {
	if dir == "" {
		return func() {}
	}
	for k := range g.procs {
		g.say(k, fmt.Sprintf("profile %s\n", filepath.Join(dir, fmt.Sprintf("%s-emu%d.pprof", name, k))))
	}
	return func() {
		for k := range g.procs {
			g.say(k, "profile-stop\n")
		}
	}
}

// say sends a command line to process k and reads its one-line answer.
func (g *rigGroup) say(k int, line string) {
	p := g.procs[k]
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := io.WriteString(p.in, line); err == nil {
		p.out.Scan()
	}
}
