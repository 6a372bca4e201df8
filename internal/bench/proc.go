package bench

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// ProcSample is a process's resident memory and CPU time (user + system)
// at one moment, from /proc.
type ProcSample struct {
	At  time.Time     `json:"at"`
	RSS int64         `json:"rss"`
	CPU time.Duration `json:"cpu_ns"`
	Sys time.Duration `json:"sys_ns"` // the system part of CPU
}

// clockTick is USER_HZ: /proc/PID/stat counts CPU time in 1/100 s on Linux.
const clockTick = 10 * time.Millisecond

// ReadProc samples pid (0: this process; its CPU time then comes from
// getrusage, to the microsecond).
func ReadProc(pid int) (ProcSample, error) {
	s := ProcSample{At: time.Now()}
	p := "self"
	if pid > 0 {
		p = strconv.Itoa(pid)
	}
	statm, err := os.ReadFile("/proc/" + p + "/statm")
	if err != nil {
		return s, err
	}
	f := bytes.Fields(statm)
	if len(f) < 2 {
		return s, fmt.Errorf("statm: %q", statm)
	}
	pages, _ := strconv.ParseInt(string(f[1]), 10, 64)
	s.RSS = pages * int64(os.Getpagesize())
	if pid <= 0 {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			return s, err
		}
		s.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		s.Sys = time.Duration(ru.Stime.Nano())
		return s, nil
	}
	stat, err := os.ReadFile("/proc/" + p + "/stat")
	if err != nil {
		return s, err
	}
	// The command name may hold spaces: fields count from the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return s, fmt.Errorf("stat: %q", stat)
	}
	rest := bytes.Fields(stat[i+1:])
	// rest[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(rest) < 13 {
		return s, fmt.Errorf("stat: %q", stat)
	}
	ut, _ := strconv.ParseInt(string(rest[11]), 10, 64)
	st, _ := strconv.ParseInt(string(rest[12]), 10, 64)
	s.CPU = time.Duration(ut+st) * clockTick
	s.Sys = time.Duration(st) * clockTick
	return s, nil
}

// Sampler samples a process at an interval and keeps the peak RSS.
type Sampler struct {
	pid  int
	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex
	last    ProcSample
	peakRSS int64
	series  []ProcSample
}

// StartSampler samples pid every interval until Close.
func StartSampler(pid int, every time.Duration) *Sampler {
	s := &Sampler{pid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	s.sample()
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.sample()
			}
		}
	}()
	return s
}

func (s *Sampler) sample() {
	p, err := ReadProc(s.pid)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.last = p
	s.peakRSS = max(s.peakRSS, p.RSS)
	if len(s.series) < 100000 {
		s.series = append(s.series, p)
	}
	s.mu.Unlock()
}

// Now samples at once and returns it.
func (s *Sampler) Now() ProcSample {
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// PeakRSS is the highest RSS seen.
func (s *Sampler) PeakRSS() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peakRSS
}

// Close ends the sampling and returns once its goroutine has stopped.
func (s *Sampler) Close() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
}

// MemAfterGC is this process's memory statistics after three full GCs,
// with freed spans given back to the system (so RSS read after it shows
// what is really held): the baseline and figure of the in-memory session
// measurements (the harness, proxyd and the proxy's memory test).
func MemAfterGC() runtime.MemStats {
	var ms runtime.MemStats
	for range 3 {
		runtime.GC()
	}
	debug.FreeOSMemory()
	runtime.ReadMemStats(&ms)
	return ms
}

// SelfRSS is this process's resident set, in bytes (0 if unreadable).
func SelfRSS() int64 {
	s, _ := ReadProc(0)
	return s.RSS
}
