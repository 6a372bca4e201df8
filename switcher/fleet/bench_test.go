package fleet

import (
	"context"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/hashgate/hashgate/switcher/device"
)

// memDriver answers at once from memory: the benchmarks measure the
// fleet's own cost, not the network's (that is the drivers').
type memDriver struct{}

type memSession struct{ token [32]byte }

func (memDriver) Name() string                                  { return "mem" }
func (memDriver) Curtail(context.Context, *device.Target) error { return nil }
func (memDriver) Resume(context.Context, *device.Target) error  { return nil }
func (memDriver) Read(_ context.Context, t *device.Target) (device.Reading, error) {
	if t.Session == nil {
		t.Session = &memSession{}
	}
	return device.Reading{State: device.StateMining, PowerW: 3250, HasPower: true, HashrateTHs: 110, HasHashrate: true}, nil
}

// realisticDriver is memDriver plus a pool list allocated on every read,
// as a real driver parsing an answer does.
type realisticDriver struct{ memDriver }

func (realisticDriver) Name() string { return "real" }
func (d realisticDriver) Read(ctx context.Context, t *device.Target) (device.Reading, error) {
	r, err := d.memDriver.Read(ctx, t)
	r.Pools = []string{
		fmt.Sprintf("stratum+tcp://10.1.%d.1:3333", len(t.Rig)),
		fmt.Sprintf("stratum+tcp://10.1.%d.2:3333", len(t.Rig)),
	}
	return r, err
}

func memRigs(n int, firmware string) []device.Managed {
	opt := &device.Options{User: "root", Password: device.NewSecret("pw"), Timeout: time.Second}
	set := make([]device.Managed, n)
	for i := range set {
		set[i] = device.Managed{Name: fmt.Sprintf("site-a-row%03d-rig%05d", i/100, i), Firmware: firmware,
			Address: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), Options: opt, Want: device.StateMining, IdleW: 150}
	}
	return set
}

func heapNow() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestMemoryPerRig: 50,000 rigs, each read once (a last reading with a
// pool list, a driver session): the fleet's memory per rig, its names
// and addresses included, stays under 2 KiB.
func TestMemoryPerRig(t *testing.T) {
	if testing.Short() {
		t.Skip("50,000 rigs")
	}
	const n = 50_000
	before := heapNow()
	f, err := New(Config{Drivers: map[string]device.Driver{"real": realisticDriver{}},
		PollInterval: time.Second, Workers: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	set := memRigs(n, "real")
	t0 := time.Now()
	f.SetRigs(set)
	took := time.Since(t0)
	f.Start()
	t0 = time.Now()
	f.SetRigs(set)
	t.Logf("SetRigs of %d rigs: %v new, %v unchanged", n, took, time.Since(t0))
	set = nil
	waitUntil(t, 60*time.Second, "every rig read once", func() bool { return f.Stats().Reads >= n })
	f.mu.Lock() // hold still while measuring
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	f.mu.Unlock()
	perRig := float64(m.HeapAlloc-before) / n
	t.Logf("memory: %.0f bytes per rig with %d rigs (heap %d MB; rig struct %d bytes)", perRig, n,
		(m.HeapAlloc-before)>>20, sizeofRig)
	if perRig >= 2048 {
		t.Fatalf("got %.0f bytes per rig, want under 2048", perRig)
	}
}

// BenchmarkPollPath: the fleet's cost of one poll without goroutine
// switches: queue it, take it, call the (in-memory) driver, record it.
func BenchmarkPollPath(b *testing.B) {
	f, err := New(Config{Drivers: map[string]device.Driver{"mem": memDriver{}}})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	f.SetRigs(memRigs(1000, "mem"))
	f.started = true
	rs := f.sched
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r := rs[i%len(rs)]
		i++
		f.mu.Lock()
		f.pollDue(r)
		j := f.prepare(f.qs[qPoll].pop(), qPoll)
		f.mu.Unlock()
		f.finish(&j, run(&j))
	}
}

// BenchmarkPolling50k runs 50,000 rigs on the in-memory driver polled
// every second (ten times the 10 s target rate) through the real worker
// pool and scheduler, and reports the process CPU per poll and what
// that makes for 50,000 rigs every 10 s, in % of one core.
func BenchmarkPolling50k(b *testing.B) {
	const n = 50_000
	interval := time.Second
	f, err := New(Config{Drivers: map[string]device.Driver{"mem": memDriver{}}, PollInterval: interval})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	f.SetRigs(memRigs(n, "mem"))
	f.Start()
	waitUntil(b, time.Minute, "a first round", func() bool { return f.Stats().Reads >= n })
	b.ReportAllocs()
	reads0, cpu0 := f.Stats().Reads, cpuTime()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	for b.Loop() {
		target := f.Stats().Reads + n
		waitUntil(b, time.Minute, "a round", func() bool { return f.Stats().Reads >= target })
	}
	runtime.ReadMemStats(&ms1)
	reads, cpu := f.Stats().Reads-reads0, cpuTime()-cpu0
	perPoll := float64(cpu.Nanoseconds()) / float64(reads)
	b.ReportMetric(perPoll, "cpu-ns/poll")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(reads), "allocs/poll")
	b.ReportMetric(perPoll*n/10/1e9*100, "%core@50k/10s")
	b.ReportMetric(float64(f.Stats().PollsLate), "late")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
