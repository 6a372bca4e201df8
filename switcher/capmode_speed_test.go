package switcher

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashgate/hashgate/switcher/meter"
)

// countingActuator counts parks and resumes and says when the number
// awaited was reached.
type countingActuator struct {
	parks, resumes atomic.Int64
	want           atomic.Int64 // parks + resumes awaited
	done           chan struct{}
}

func (a *countingActuator) count() {
	if a.parks.Load()+a.resumes.Load() == a.want.Load() {
		a.done <- struct{}{}
	}
}

func (a *countingActuator) Park(string) error   { a.parks.Add(1); a.count(); return nil }
func (a *countingActuator) Resume(string) error { a.resumes.Add(1); a.count(); return nil }

// await sets the count awaited to n more actions than now and returns a
// function that waits for them.
func (a *countingActuator) await(b *testing.B, n int64) func() {
	a.want.Store(a.parks.Load() + a.resumes.Load() + n)
	return func() {
		select {
		case <-a.done:
		case <-time.After(30 * time.Second):
			b.Fatalf("%d actions of %d after 30 s", a.parks.Load()+a.resumes.Load(), a.want.Load())
		}
	}
}

// The speed goals at 50,000 rigs, with the switcher's own loop
// and clock: each iteration is the time from a meter reading that breaks
// the cap to the plan's last curtail command sent (17,242 rigs); the AI
// draw then falls back and the rigs resume, untimed. cpu-%-of-core is
// the loop's CPU over 10 s of one reading a second that changes nothing.
func BenchmarkCapReaction50k(b *testing.B) {
	const rigs = 50000
	dir := b.TempDir()
	pol, err := ParsePolicy(filepath.Join(dir, "policy.toml"), []byte(`
site_capacity_kw = 200000.0
ramp_up_kw_per_min = 1000000.0
min_off = "0s"
min_on = "0s"
site_cap_kw = 200000.0
cap_hold_up = "0s"
[default]
rig_kw = 3.0
idle_kw = 0.1
pools_bound = true
`))
	if err != nil {
		b.Fatal(err)
	}
	act := &countingActuator{done: make(chan struct{}, 1)}
	act.want.Store(-1)
	s, err := New(Config{StatePath: filepath.Join(dir, "state.json"), AuditPath: filepath.Join(dir, "audit.jsonl"),
		Meters: []meter.Spec{{Name: "ai", Measures: meter.AI, Interval: time.Second, StaleAfter: time.Minute}}}, pol, act, nil)
	if err != nil {
		b.Fatal(err)
	}
	read := func(kw float64) {
		s.MeterReading(meter.Reading{Meter: "ai", Measures: meter.AI, KW: kw, At: time.Now()})
	}
	settle := func() { // two steps: the last plan's state file written
		for steps := s.Counters().Steps.Load(); s.Counters().Steps.Load() < steps+2; {
			time.Sleep(10 * time.Millisecond)
		}
	}
	read(40000) // 160,000 kW for mining: all 150,000 fit
	for i := range rigs {
		s.RigConnected(fmt.Sprintf("rig-%05d", i), "10.0.0.1:1")
	}
	wait := act.await(b, rigs)
	s.Start()
	defer s.Close()
	wait()
	var curtail int64 // AI at 100,000 kW: mining from 150,000 to 100,000
	for load := 3.0 * rigs; load > 100000; load -= 2.9 {
		curtail++
	}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		settle()
		wait := act.await(b, curtail)
		b.StartTimer()
		read(100000)
		wait()
		b.StopTimer()
		settle()
		wait = act.await(b, curtail)
		read(40000)
		wait()
	}
	b.StopTimer()
	b.ReportMetric(float64(curtail), "curtails/op")

	settle()
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	c0, w0 := cpu(), time.Now()
	tk := time.NewTicker(time.Second)
	defer tk.Stop()
	for i := range 10 {
		<-tk.C
		read(40000 + float64(i%3))
	}
	b.ReportMetric(100*(cpu()-c0).Seconds()/time.Since(w0).Seconds(), "cpu-%-of-core")
}
