// Package gridtest builds what the grid packages' tests run against: a
// real switcher (state and audit log in the test's TempDir) with a few
// rigs connected, started and closed with the test.
package gridtest

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/hashgate/hashgate/switcher"
)

// Policy is the test site: 100 kW, no reserve, one group of 10 kW rigs
// that park and resume at once.
const Policy = `
site_capacity_kw = 100.0
ramp_up_kw_per_min = 100000.0
min_off = "0s"
min_on = "0s"
release_vanished_after = "10m"

[[group]]
name = "a"
workers = ["a-*"]
rig_kw = 10.0
idle_kw = 1.0
efficiency_j_th = 20.0
priority = 10
actuator = "stratum"
pools_bound = true
`

// Rigs is how many rigs Switcher connects.
const Rigs = 5

// Switcher starts a switcher on Policy with Rigs rigs ("a-1"...)
// connected and a first plan made; it is closed when the test ends.
func Switcher(tb testing.TB) *switcher.Switcher {
	tb.Helper()
	dir := tb.TempDir()
	pol, err := switcher.ParsePolicy(filepath.Join(dir, "policy.toml"), []byte(Policy))
	if err != nil {
		tb.Fatal(err)
	}
	rigs := &Rigs0{}
	sw, err := switcher.New(switcher.Config{StatePath: filepath.Join(dir, "state.json"),
		AuditPath: filepath.Join(dir, "audit.jsonl"), Tick: 50 * time.Millisecond}, pol, rigs, rigs)
	if err != nil {
		tb.Fatal(err)
	}
	sw.Start()
	tb.Cleanup(func() { _ = sw.Close() })
	for i := 1; i <= Rigs; i++ {
		sw.RigConnected("a-"+string(rune('0'+i)), "10.0.0.1:1")
	}
	Eventually(tb, 5*time.Second, "a plan made", func() bool {
		return sw.Status().NotCompliantReason != "no plan made yet"
	})
	return sw
}

// Rigs0 stands for the proxy side of the switcher: parking and resuming
// succeed, and every rig shares now (so resumes are confirmed).
type Rigs0 struct{}

func (*Rigs0) Park(string) error           { return nil }
func (*Rigs0) Resume(string) error         { return nil }
func (*Rigs0) LastShare(string) time.Time  { return time.Now() }
func (*Rigs0) LastSubmit(string) time.Time { return time.Time{} }
func (*Rigs0) HashrateTHs(string) float64  { return 0 }

// Eventually polls cond until it holds or d has passed, then fails tb
// saying what it waited for.
func Eventually(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("waited %v for %s; it did not happen", d, what)
		}
		time.Sleep(10 * time.Millisecond) // a poll interval, not a wait for the condition
	}
}
