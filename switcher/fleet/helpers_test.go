package fleet

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hashgate/hashgate/switcher/device"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder keeps what the fleet reports.
type recorder struct {
	mu       sync.Mutex
	outcomes []device.Outcome
	reads    []time.Time
	readings map[string]int
	last     map[string]device.Reading
	all      map[string][]device.Reading // the first 64 per rig
}

func (rc *recorder) onReading(rig string, r device.Reading) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.readings == nil {
		rc.readings = map[string]int{}
		rc.last = map[string]device.Reading{}
		rc.all = map[string][]device.Reading{}
	}
	rc.last[rig] = r
	if len(rc.all[rig]) < 64 {
		rc.all[rig] = append(rc.all[rig], r)
	}
	rc.readings[rig]++
	rc.reads = append(rc.reads, r.At)
}

func (rc *recorder) onOutcome(o device.Outcome) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.outcomes = append(rc.outcomes, o)
}

func (rc *recorder) lastOf(rig string) (device.Reading, bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	r, ok := rc.last[rig]
	return r, ok
}

// of returns the outcomes of one rig, in order.
func (rc *recorder) of(rig string) []device.Outcome {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []device.Outcome
	for _, o := range rc.outcomes {
		if o.Rig == rig {
			out = append(out, o)
		}
	}
	return out
}

func (rc *recorder) count(pred func(o device.Outcome) bool) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := 0
	for _, o := range rc.outcomes {
		if pred(o) {
			n++
		}
	}
	return n
}

// waitUntil polls cond until it holds or d passes.
func waitUntil(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("waited %v for %s; want !time.Now().After(end)", d, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

const fw = "testfw"

// testConfig: quick timings, no polls unless a test sets an interval.
func testConfig(rc *recorder) Config {
	return Config{
		Drivers:      map[string]device.Driver{fw: testDriver{fw}},
		Workers:      16,
		PollInterval: time.Hour,
		Attempts:     3,
		BackoffMin:   10 * time.Millisecond,
		BackoffMax:   40 * time.Millisecond,
		VerifyEvery:  20 * time.Millisecond,
		VerifyWithin: 300 * time.Millisecond,
		RetryEvery:   time.Hour,
		OnReading:    rc.onReading,
		OnOutcome:    rc.onOutcome,
	}
}

func options(pw string) *device.Options {
	return &device.Options{Password: device.NewSecret(pw), Timeout: time.Second}
}

// rigs adds n mining rigs name0..name(n-1) to the server and returns
// them as the fleet's set.
func rigs(s *fwServer, prefix string, n int, want device.State, opt *device.Options) []device.Managed {
	out := make([]device.Managed, n)
	for i := range out {
		name := fmt.Sprintf("%s%d", prefix, i)
		s.rig(name)
		out[i] = device.Managed{Name: name, Firmware: fw, Address: s.addr(), Options: opt, Want: want, IdleW: 100}
	}
	return out
}

func newFleet(t testing.TB, cfg Config) *Fleet {
	t.Helper()
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}
