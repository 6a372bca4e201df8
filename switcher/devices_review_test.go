package switcher

import (
	"slices"
	"testing"
	"time"

	"github.com/hashgate/hashgate/switcher/device"
)

// A firmware rig flagged curtail_failed by the share path (it submitted
// after its Stratum park) and then read asleep by its device is cleared
// for good: the share the flag came from is older than the reading, so
// the share check must not raise the flag again on every tick (it did:
// the flag flapped between the two paths, one audit event, one counter
// increment and one Stratum re-park per flip).
func TestShareFlagClearedByDeviceStaysCleared(t *testing.T) {
	x := newFw(t)
	for i, n := range []string{"f-1", "f-2", "f-3"} {
		x.s.RigConnected(n, "10.0.1."+string(rune('1'+i))+":4028")
	}
	x.s.step()
	x.allocate(t, 75) // budget 25: f-3 goes
	// A late submit after the curtail grace (30 s): the share path flags it.
	x.clk.Advance(40 * time.Second)
	x.rec.mu.Lock()
	x.rec.last["f-3"] = x.clk.Now()
	x.rec.mu.Unlock()
	x.clk.Advance(time.Second)
	x.s.step()
	if fl := flagsOf(x.s, "f-3"); !slices.Contains(fl, FlagCurtailFailed) {
		t.Fatalf("f-3 submitting after its park: flags %v, want curtail_failed", fl)
	}
	// Its device then goes to sleep: the flag clears, and stays cleared.
	for i := range 5 {
		x.clk.Advance(5 * time.Second)
		x.read("f-3", device.StateSleeping, 40, 0)
		x.s.step()
		if fl := flagsOf(x.s, "f-3"); slices.Contains(fl, FlagCurtailFailed) {
			t.Fatalf("tick %d after f-3 read asleep (no submit since): flags %v, want curtail_failed cleared", i, fl)
		}
	}
	if n := x.s.Counters().CurtailFailed.Load(); n != 1 {
		t.Fatalf("curtail_failed counter %d, want 1 (one flag, no flapping)", n)
	}
	// A submit after the reading that cleared it is new evidence.
	x.clk.Advance(time.Second)
	x.rec.mu.Lock()
	x.rec.last["f-3"] = x.clk.Now()
	x.rec.mu.Unlock()
	x.clk.Advance(time.Second)
	x.s.step()
	if fl := flagsOf(x.s, "f-3"); !slices.Contains(fl, FlagCurtailFailed) {
		t.Fatalf("f-3 submitting after it read asleep: flags %v, want curtail_failed again", fl)
	}
}
