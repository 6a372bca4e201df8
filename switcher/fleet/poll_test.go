package fleet

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/hashgate/hashgate/switcher/device"
)

// TestPollsSpreadOverTheInterval (real TCP, wall clock on shared
// cores): every rig is read once per interval and no tenth of an
// interval gets a burst (all at once would be ten times the mean; a
// scheduling stall on a loaded machine gives a catch-up of a few).
// TestPollScheduleIsEven checks the evenness itself on a simulated clock.
func TestPollsSpreadOverTheInterval(t *testing.T) {
	s := newFW(t)
	rc := &recorder{}
	cfg := testConfig(rc)
	cfg.PollInterval = time.Second
	cfg.Workers = 32
	f := newFleet(t, cfg)
	const n = 500
	f.SetRigs(rigs(s, "p", n, device.StateUnknown, options("pw")))
	start := time.Now()
	f.Start()
	waitUntil(t, 10*time.Second, "two intervals of reads", func() bool { return time.Since(start) > 2500*time.Millisecond })
	rc.mu.Lock()
	reads := slices.Clone(rc.reads)
	perRig := maps.Clone(rc.readings)
	rc.mu.Unlock()
	var buckets [20]int // tenths of the first two intervals
	for _, at := range reads {
		if i := int(at.Sub(start) / (cfg.PollInterval / 10)); i >= 0 && i < len(buckets) {
			buckets[i]++
		}
	}
	want := n / 10
	if m := slices.Max(buckets[:]); m > 4*want {
		t.Fatalf("got a burst of %d reads in a tenth of the interval, want about %d (all tenths: %v)", m, want, buckets)
	}
	if len(perRig) != n {
		t.Fatalf("got %d rigs read, want %d", len(perRig), n)
	}
	for rig, k := range perRig {
		if k < 2 || k > 3 {
			t.Fatalf("rig %s read %d times in 2.5 intervals, want 2 or 3", rig, k)
		}
	}
}

// TestPollScheduleIsEven drives the scheduler on a simulated clock: each
// tenth of every interval queues exactly a tenth of the rigs, and a
// change of the set mid-interval neither re-polls nor skips rigs.
func TestPollScheduleIsEven(t *testing.T) {
	cfg := testConfig(&recorder{})
	cfg.PollInterval = 10 * time.Second
	t0 := time.Unix(1e9, 0)
	clock := t0
	cfg.Now = func() time.Time { return clock }
	f := newFleet(t, cfg)
	const n = 1000
	set := make([]device.Managed, n+100)
	for i := range set {
		set[i] = device.Managed{Name: fmt.Sprintf("r%d", i), Firmware: fw, Address: "127.0.0.1:1", Options: options("pw")}
	}
	f.SetRigs(set[:n])
	f.mu.Lock()
	f.started, f.epoch = true, t0 // the clock is ours: no workers
	f.mu.Unlock()
	polled := map[string]int{}
	drain := func() int {
		f.mu.Lock()
		defer f.mu.Unlock()
		k := 0
		for r := f.qs[qPoll].pop(); r != nil; r = f.qs[qPoll].pop() {
			polled[r.m.Name]++
			k++
		}
		return k
	}
	tenth := cfg.PollInterval / 10
	for i := range 20 {
		k := 0
		for at := time.Duration(0); at < tenth; at += 50 * time.Millisecond {
			clock = t0.Add(time.Duration(i)*tenth + at)
			f.step(clock)
			k += drain()
		}
		if k < n/10-5 || k > n/10+5 { // within a tick (50 ms: 5 rigs)
			t.Fatalf("tenth %d: got %d polls queued, want %d±5", i, k, n/10)
		}
	}
	for at := 20 * tenth; at < 35*tenth; at += 50 * time.Millisecond {
		if at == 25*tenth {
			f.SetRigs(set) // 100 more, halfway through the third interval
		}
		clock = t0.Add(at)
		f.step(clock)
		drain()
	}
	for _, m := range set[:n] {
		if k := polled[m.Name]; k < 3 || k > 5 {
			t.Fatalf("rig %s polled %d times in 3.5 intervals, want 3 or 4 (5 if the change moved it back)", m.Name, k)
		}
	}
	for _, m := range set[n:] {
		if polled[m.Name] < 1 {
			t.Fatalf("new rig %s never polled in the interval after it came; want polled[m.Name] >= 1", m.Name)
		}
	}
}

func TestWantUnknownNeverCommands(t *testing.T) {
	s := newFW(t)
	rc := &recorder{}
	cfg := testConfig(rc)
	cfg.PollInterval = 30 * time.Millisecond
	cfg.RetryEvery = time.Millisecond
	f := newFleet(t, cfg)
	set := rigs(s, "u", 4, device.StateUnknown, options("pw"))
	s.with("u0", func(r *fwRig) { r.sleeping = true })
	s.with("u1", func(r *fwRig) { r.sleeping = true })
	f.SetRigs(set)
	f.Start()
	waitUntil(t, 5*time.Second, "five polls of each rig", func() bool {
		for _, m := range set {
			if s.snapshot(m.Name).reads < 5 {
				return false
			}
		}
		return true
	})
	if ev := s.eventsCopy(); len(ev) != 0 {
		t.Fatalf("got commands %v for rigs whose Want is unknown, want none", ev)
	}
}

// TestStartupReconcile: after a restart the switcher hands rigs it holds
// curtailed with Want sleeping: a hashing one is curtailed at once (long
// before its poll slot), a sleeping one is left alone, and a rig wanted
// mining that sleeps is woken only by its poll.
func TestStartupReconcile(t *testing.T) {
	s := newFW(t)
	rc := &recorder{}
	cfg := testConfig(rc)
	cfg.PollInterval = time.Hour
	f := newFleet(t, cfg)
	set := rigs(s, "s", 2, device.StateSleeping, options("pw"))
	s.with("s1", func(r *fwRig) { r.sleeping = true })
	f.SetRigs(set)
	f.Start()
	waitUntil(t, 5*time.Second, "s0 curtailed", func() bool { return len(rc.of("s0")) == 1 })
	waitUntil(t, 5*time.Second, "s1 read", func() bool { return s.snapshot("s1").reads >= 1 })
	if o := rc.of("s0")[0]; !o.Verified || o.Action != device.ActionCurtail {
		t.Fatalf("s0: got %+v, want a verified curtail", o)
	}
	if got := s.snapshot("s1"); got.curtails != 0 || len(rc.of("s1")) != 0 {
		t.Fatalf("s1 (asleep already): got %d curtails, outcomes %v", got.curtails, rc.of("s1"))
	}
	if st := f.Stats(); st.Reconciles != 1 {
		t.Fatalf("got %d reconciles, want 1", st.Reconciles)
	}
}

func TestReconcileWakesRigWantedMining(t *testing.T) {
	s := newFW(t)
	rc := &recorder{}
	cfg := testConfig(rc)
	cfg.PollInterval = 50 * time.Millisecond
	f := newFleet(t, cfg)
	f.SetRigs(rigs(s, "w", 1, device.StateMining, options("pw")))
	s.with("w0", func(r *fwRig) { r.sleeping = true })
	f.Start()
	waitUntil(t, 5*time.Second, "w0 resumed", func() bool { return len(rc.of("w0")) == 1 })
	if o := rc.of("w0")[0]; !o.Verified || o.Action != device.ActionResume {
		t.Fatalf("w0: got %+v, want a verified resume", o)
	}
}

func TestBindPoolsRewritesDifferingList(t *testing.T) {
	s := newFW(t)
	rc := &recorder{}
	cfg := testConfig(rc)
	cfg.PollInterval = 50 * time.Millisecond
	f := newFleet(t, cfg)
	set := rigs(s, "bp", 2, device.StateUnknown, options("pw"))
	want := []device.Pool{{URL: "stratum+tcp://hashgate:3333"}, {URL: "stratum+tcp://hashgate2:3333"}}
	for i := range set {
		set[i].BindPools = want
	}
	s.with("bp0", func(r *fwRig) { r.pools = []string{"stratum+tcp://elsewhere:3333"} })
	s.with("bp1", func(r *fwRig) { r.pools = []string{want[0].URL, want[1].URL} })
	f.SetRigs(set)
	f.Start()
	waitUntil(t, 5*time.Second, "bp0's pools rewritten", func() bool { return len(rc.of("bp0")) == 1 })
	if o := rc.of("bp0")[0]; !o.Verified || o.Action != device.ActionSetPools {
		t.Fatalf("bp0: got %+v, want a verified set_pools", o)
	}
	waitUntil(t, 5*time.Second, "more polls", func() bool { return s.snapshot("bp1").reads >= 3 })
	if got := s.snapshot("bp1").setPools + s.snapshot("bp0").setPools; got != 1 {
		t.Fatalf("got %d pool rewrites, want 1 (bp1's list is right already)", got)
	}
}
