package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/internal/bench"
	"github.com/hashgate/hashgate/site"
)

// freePort returns a loopback address nobody listens on right now.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// buildHashgate builds cmd/hashgate into dir.
func buildHashgate(dir string) (string, error) {
	bin := filepath.Join(dir, "hashgate")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/hashgate/hashgate/cmd/hashgate")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/hashgate: %w", err)
	}
	return bin, nil
}

// buildHashgateRev builds cmd/hashgate from a committed revision (git
// archive into dir/src), so uncommitted work in the checkout is not what
// gets measured. It returns the binary and the commit.
func buildHashgateRev(dir, rev string) (string, string, error) {
	out, err := exec.Command("git", "rev-parse", "--short", rev).Output()
	if err != nil {
		return "", "", fmt.Errorf("git rev-parse %s: %w", rev, err)
	}
	commit := strings.TrimSpace(string(out))
	src := filepath.Join(dir, "src-"+commit)
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", "", err
	}
	arch := exec.Command("sh", "-c", fmt.Sprintf("git archive %s | tar -x -C %s", commit, src))
	arch.Stderr = os.Stderr
	if err := arch.Run(); err != nil {
		return "", "", fmt.Errorf("git archive %s: %w", commit, err)
	}
	bin := filepath.Join(dir, "hashgate-"+commit)
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/hashgate")
	cmd.Dir = src
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", "", fmt.Errorf("go build ./cmd/hashgate at %s: %w", commit, err)
	}
	return bin, commit, nil
}

const benchToken = "hashgate-bench-write-token"

// writeConfig writes a hashgate config: the bench pool as the only pool,
// the difficulty fixed at the pool's, loopback miners only, log level warn;
// readPollers 0 leaves read_pollers at its default.
func writeConfig(dir, listen, apiListen, pool string, diff float64, readPollers int) (string, error) {
	d := strconv.FormatFloat(diff, 'g', -1, 64)
	pollers := ""
	if readPollers != 0 {
		pollers = fmt.Sprintf("read_pollers = %d\n", readPollers)
	}
	cfg := fmt.Sprintf(`# written by hashgate-bench
[proxy]
listen = %q
max_connections = 100000
allow = ["127.0.0.0/8"]
%s
[proxy.difficulty]
initial = %s
min = %s
max = %s
target_share_seconds = 10.0

[[pools]]
name = "bench"
url = "stratum+tcp://%s"
user = "bench.proxy"
password = "x"

[api]
listen = %q
token = %q

[log]
level = "warn"
format = "json"
`, listen, pollers, d, d, d, pool, apiListen, benchToken)
	p := filepath.Join(dir, "hashgate.toml")
	return p, os.WriteFile(p, []byte(cfg), 0o600)
}

// daemon is the proxy under test as a child process.
type daemon struct {
	bin      []string // argv before the config
	cfgPath  string
	logLevel string
	listen   string
	api      string
	logPath  string

	cmd     *exec.Cmd
	logFile *os.File
	waitErr chan error
	lines   *logCounter
}

// logCounter counts the daemon's log lines by what they say.
type logCounter struct {
	mu     sync.Mutex
	counts map[string]int
	total  atomic.Int64
}

func (l *logCounter) add(line []byte) {
	l.total.Add(1)
	msg := "?"
	if i := bytes.Index(line, []byte(`"message":"`)); i >= 0 {
		rest := line[i+11:]
		if j := bytes.IndexByte(rest, '"'); j >= 0 {
			msg = string(rest[:j])
		}
	}
	l.mu.Lock()
	l.counts[msg]++
	l.mu.Unlock()
}

func (l *logCounter) snapshot() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := make(map[string]int, len(l.counts))
	for k, v := range l.counts {
		m[k] = v
	}
	return m
}

func (d *daemon) start() error {
	args := append(append([]string(nil), d.bin[1:]...), "-c", d.cfgPath, "--log-level", d.logLevel, "--log-format", "json")
	d.cmd = exec.Command(d.bin[0], args...)
	f, err := os.OpenFile(d.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	d.logFile = f
	pr, pw := io.Pipe()
	d.cmd.Stdout, d.cmd.Stderr = pw, pw
	if d.lines == nil {
		d.lines = &logCounter{counts: map[string]int{}}
	}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			d.lines.add(sc.Bytes())
			_, _ = f.Write(append(sc.Bytes(), '\n'))
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	if err := d.cmd.Start(); err != nil {
		pw.Close()
		return err
	}
	d.waitErr = make(chan error, 1)
	go func() {
		err := d.cmd.Wait()
		pw.Close()
		d.waitErr <- err
	}()
	return nil
}

// ready waits until the daemon accepts miners and its pool session is up
// (the pool has an authorized connection).
func (d *daemon) ready(poolWorking func() int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-d.waitErr:
			d.waitErr <- err
			return fmt.Errorf("daemon exited: %v (log: %s)", err, d.logPath)
		default:
		}
		if poolWorking() > 0 {
			if c, err := net.DialTimeout("tcp", d.listen, time.Second); err == nil {
				c.Close()
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("daemon not ready after %s (log: %s)", timeout, d.logPath)
}

func (d *daemon) pid() int { return d.cmd.Process.Pid }

// kill9 kills the daemon at once.
func (d *daemon) kill9() {
	_ = d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.waitErr
	d.logFile.Close()
}

// stop ends the daemon with SIGTERM (bounded), then SIGKILL.
func (d *daemon) stop() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.waitErr:
	case <-time.After(20 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.waitErr
	}
	d.logFile.Close()
}

// metrics reads the daemon's /metrics into name{labels} -> value.
func (d *daemon) metrics() map[string]float64 {
	m := map[string]float64{}
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + d.api + "/metrics")
	if err != nil {
		return m
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			m[line[:i]] = v
		}
	}
	return m
}

// fetch GETs a path of the daemon's API with the write token into file.
func (d *daemon) fetch(path, file string, timeout time.Duration) error {
	req, _ := http.NewRequest("GET", "http://"+d.api+path, nil)
	req.Header.Set("Authorization", "Bearer "+benchToken)
	c := http.Client{Timeout: timeout}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, b)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}

// cmdProxyd is `hashgate run` with /debug/pprof on (behind the write
// token) and no switcher: the same site (package site) from the same
// config, whatever its [api] pprof and [switcher] policy say, and a
// SIGUSR1 handler for memory figures.
func cmdProxyd(args []string) int {
	var path string
	for i := 0; i < len(args); i++ {
		if (args[i] == "-c" || args[i] == "--config") && i+1 < len(args) {
			path = args[i+1]
			i++
		}
	}
	cfg, err := config.Load(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	level := zerolog.WarnLevel
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "--log-level" {
			if l, err := zerolog.ParseLevel(args[i+1]); err == nil {
				level = l
			}
		}
	}
	log := zerolog.New(os.Stderr).Level(level).With().Timestamp().Logger()
	cfg.API.Pprof = true
	cfg.Switcher.PolicyPath = "" // the proxy alone
	hs, err := site.New(cfg, log, site.WithUserAgent("hashgate-bench-proxyd"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := hs.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// SIGUSR1: a full GC, memory returned to the OS, then the memory
	// figures written next to the config (memstats.json).
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-usr1:
			ms := bench.MemAfterGC()
			b, _ := json.Marshal(memStats{HeapInuse: ms.HeapInuse, StackInuse: ms.StackInuse, RSS: bench.SelfRSS(), Goroutines: runtime.NumGoroutine()})
			_ = os.WriteFile(filepath.Join(filepath.Dir(path), "memstats.json"), b, 0o600)
		}
	}
	_ = hs.Close()
	return 0
}

// memStats is what proxyd reports on SIGUSR1.
type memStats struct {
	HeapInuse  uint64 `json:"heap_inuse"`
	StackInuse uint64 `json:"stack_inuse"`
	RSS        int64  `json:"rss"`
	Goroutines int    `json:"goroutines"`
}

// gcMemStats asks proxyd for its memory after a GC (bounded wait).
func (d *daemon) gcMemStats() (memStats, error) {
	var m memStats
	p := filepath.Join(filepath.Dir(d.cfgPath), "memstats.json")
	_ = os.Remove(p)
	if err := d.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		return m, err
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		if b, err := os.ReadFile(p); err == nil && len(b) > 0 {
			err = json.Unmarshal(b, &m)
			return m, err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return m, fmt.Errorf("proxyd wrote no memstats")
}
