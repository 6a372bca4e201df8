package fleet

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/switcher/device"
)

// TestScale2000: one plan curtails 2,000 rigs through 100 workers; 31
// hang (every 66th: their calls time out after 8 s), 31 lie (accept and
// keep mining), about 20 have a dead port. The fast ones are all answered in about
// n / (Workers - hung) x per-call time, long before the first hung call
// times out; every rig gets an outcome; the liars are flagged with
// evidence and commanded again; no rig ever sees two calls at once.
func TestScale2000(t *testing.T) {
	if testing.Short() {
		t.Skip("2,000 rigs over TCP")
	}
	s := newFW(t)
	rc := &recorder{}
	cfg := testConfig(rc)
	cfg.Workers = 100
	cfg.Attempts = 1 // retries are TestBusyRetriedWithBackoff's and TestDeadPort…'s
	cfg.PollInterval = 2 * time.Second
	cfg.VerifyEvery = 100 * time.Millisecond
	cfg.VerifyWithin = time.Second
	cfg.RetryEvery = time.Second
	f := newFleet(t, cfg)

	const n, hung, lying, dead = 2000, 30, 30, 20
	const perCall = 20 * time.Millisecond
	opt := options("pw")
	opt.Timeout = 8 * time.Second // far above the fast ones' total, even under -race on loaded cores
	set := rigs(s, "r", n, device.StateUnknown, opt)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := ln.Addr().String()
	_ = ln.Close()
	kind := func(i int) string {
		switch {
		case i%(n/hung) == 1:
			return "hung"
		case i%(n/lying) == 2:
			return "lying"
		case i%(n/dead) == 3:
			return "dead"
		}
		return "fast"
	}
	kinds := map[string]int{}
	for i := range set {
		k := kind(i)
		kinds[k]++
		s.with(set[i].Name, func(r *fwRig) {
			r.delay = perCall
			r.hung = k == "hung"
			r.lying = k == "lying"
		})
		if k == "dead" {
			set[i].Address = deadAddr
		}
	}
	f.SetRigs(set)
	f.Start()
	start := time.Now()
	for _, m := range set {
		f.Curtail(m.Name)
	}
	waitUntil(t, 30*time.Second, "every fast rig curtailed", func() bool {
		for i, m := range set {
			if k := kind(i); (k == "fast" || k == "lying") && s.snapshot(m.Name).curtails == 0 {
				return false
			}
		}
		return true
	})
	fastDone := time.Since(start)
	ideal := time.Duration(n/(cfg.Workers-kinds["hung"])) * perCall
	t.Logf("%d rigs %v, %d workers: fast ones answered in %v (ideal n/(workers-hung) x %v = %v)",
		n, kinds, cfg.Workers, fastDone, perCall, ideal)
	if fastDone >= opt.Timeout {
		t.Fatalf("fast rigs answered in %v, want under the hung calls' timeout %v (they must not wait for them)", fastDone, opt.Timeout)
	}
	waitUntil(t, 30*time.Second, "an outcome for every rig", func() bool {
		for _, m := range set {
			if len(rc.of(m.Name)) == 0 {
				return false
			}
		}
		return true
	})
	checkScaleOutcomes(t, s, rc, set, kind)
	waitUntil(t, 30*time.Second, "every liar commanded again", func() bool {
		for i, m := range set {
			if kind(i) == "lying" && s.snapshot(m.Name).curtails < 2 {
				return false
			}
		}
		return true
	})
	for _, m := range set {
		if got := s.snapshot(m.Name).maxInCall; got > 1 {
			t.Fatalf("rig %s saw %d calls at once, want at most 1", m.Name, got)
		}
	}
	t.Logf("stats: %+v", f.Stats())
}

func checkScaleOutcomes(t *testing.T, s *fwServer, rc *recorder, set []device.Managed, kind func(int) string) {
	t.Helper()
	for i, m := range set {
		o := rc.of(m.Name)[0]
		var bad string
		switch kind(i) {
		case "fast":
			if !o.Verified || !o.Accepted || o.Attempts != 1 {
				bad = "verified after 1 attempt"
			}
		case "lying":
			if !o.Accepted || o.Verified || o.Evidence == nil || !o.Evidence.Hashing(1, 100) ||
				!strings.Contains(o.Err, "still hashing") {
				bad = "accepted, unverified, with hashing evidence"
			}
		case "hung", "dead":
			if o.Accepted || o.Attempts != 1 || o.Err == "" {
				bad = "unaccepted after 1 attempt with Err"
			}
		}
		if bad != "" {
			t.Fatalf("%s rig %s: got %s, want %s", kind(i), m.Name, fmt.Sprintf("%+v", o), bad)
		}
	}
}
