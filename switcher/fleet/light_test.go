package fleet

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/switcher/device"
)

// lightFleet polls one rig of lightDriver every 40 ms, a full read every
// third poll.
func lightFleet(t *testing.T, every int) (*fwServer, *recorder) {
	s := newFW(t)
	rc := &recorder{}
	cfg := testConfig(rc)
	cfg.Drivers = map[string]device.Driver{fw: lightDriver{testDriver{fw}}}
	cfg.PollInterval = 40 * time.Millisecond
	cfg.FullReadEvery = every
	f := newFleet(t, cfg)
	f.SetRigs(rigs(s, "l", 1, device.StateUnknown, options("pw")))
	f.Start()
	return s, rc
}

// Between full reads the fleet polls with the driver's light read, and
// a light reading that agrees with the last full one carries its state.
func TestLightPollsBetweenFullReads(t *testing.T) {
	s, rc := lightFleet(t, 3)
	waitUntil(t, 10*time.Second, "nine polls", func() bool {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		return len(s.snapshot("l0").readLog) >= 9 && len(rc.all["l0"]) >= 9
	})
	log := s.snapshot("l0").readLog[:9]
	want := []string{"read", "light", "light", "read", "light", "light", "read", "light", "light"}
	if !slices.Equal(log, want) {
		t.Fatalf("got polls %v, want %v (a full read every third)", log, want)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for i, rd := range rc.all["l0"][:9] {
		if rd.State != device.StateMining || !rd.HasPower || rd.Pools != nil {
			t.Fatalf("reading %d (%s): got state %v, power %v, pools %v; want mining carried over, power read, pools not read",
				i, log[i], rd.State, rd.HasPower, rd.Pools)
		}
	}
}

// A light reading whose numbers disagree with the last full state (the
// rig went to sleep behind hashgate's back) says unknown, and the next
// poll is a full read that tells the state.
func TestLightPollDisagreeingReadsFullNext(t *testing.T) {
	s, rc := lightFleet(t, 1000)
	waitUntil(t, 10*time.Second, "a light poll", func() bool { return s.snapshot("l0").lights >= 1 })
	s.with("l0", func(r *fwRig) { r.sleeping = true })
	waitUntil(t, 10*time.Second, "a sleeping reading", func() bool {
		rd, ok := rc.lastOf("l0")
		return ok && rd.State == device.StateSleeping
	})
	log := strings.Join(s.snapshot("l0").readLog, " ")
	rc.mu.Lock()
	all := slices.Clone(rc.all["l0"])
	rc.mu.Unlock()
	// The readings: mining (full), mining (light)…, unknown (light, idle
	// numbers), sleeping (full).
	n := len(all)
	if n < 3 || all[n-2].State != device.StateUnknown || all[n-2].HasHashrate && all[n-2].HashrateTHs > 0 {
		t.Fatalf("got readings %v (polls %s), want an unknown idle light reading before the sleeping one", states(all), log)
	}
	if !strings.HasSuffix(log, "light read") {
		t.Fatalf("got polls %s, want the disagreeing light poll followed by a full read", log)
	}
}

func states(rs []device.Reading) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.State.String()
	}
	return out
}
