package switcher

import (
	"slices"
	"testing"
	"time"

	"github.com/hashgate/hashgate/switcher/device"
)

// A listed rig whose management API hangs: its curtail times out and no
// reading comes, so nothing shows it stopped and no Stratum park holds it
// (it is not connected). It is flagged curtail_failed, counted and planned
// at its full draw (device_hashing), and the plan curtails the next rig
// so the site is within budget; once its device reads asleep the flag
// goes. (Planned at idle_kw, the site stayed over budget by the hung
// rigs' whole draw: TestFirmwarePlanOf2000Rigs in cmd/hashgate.)
func TestUnansweredCurtailCompensated(t *testing.T) {
	x := newFw(t)
	x.s.SetInventory([]InventoryRig{{Name: "inv-1", Address: "10.2.0.1"}, {Name: "inv-2", Address: "10.2.0.2"}, {Name: "inv-3", Address: "10.2.0.3"}})
	x.s.step()
	p := x.allocate(t, 79) // budget 21 of 30: inv-3 goes
	if got := names(p.Curtail); !slices.Equal(got, []string{"inv-3"}) {
		t.Fatalf("curtail %v, want [inv-3]", got)
	}
	x.clk.Advance(7 * time.Second)
	x.s.DeviceOutcome(device.Outcome{Rig: "inv-3", Action: device.ActionCurtail, Attempts: 3,
		Err: "luxos inv-3 curtail: context deadline exceeded", At: x.clk.Now()})
	x.s.DeviceReading("inv-3", device.Reading{State: device.StateUnreachable, At: x.clk.Now()})
	rs := rigStatusOK(t, x.s, "inv-3")
	if !slices.Contains(rs.Flags, FlagCurtailFailed) || rs.CountedAs != "device_hashing" || rs.CountedKW != 10 {
		t.Fatalf("inv-3 after a timed-out curtail, unreachable: %+v; want curtail_failed, device_hashing at rig_kw 10", rs)
	}
	x.clk.Advance(time.Second)
	x.s.step()
	curtails, resumes, _ := x.fleet.calls()
	if !slices.Equal(curtails, []string{"inv-3", "inv-3", "inv-2"}) || len(resumes) != 0 {
		t.Fatalf("device curtails %v resumes %v; want inv-3, its retry, then inv-2 in its place, no resume", curtails, resumes)
	}
	x.clk.Advance(time.Second)
	x.read("inv-2", device.StateSleeping, 50, 0)
	x.read("inv-1", device.StateMining, 9000, 100)
	x.s.step()
	if st := x.s.Status(); !st.Compliant || st.MiningLoadKW != 19.05 || st.MiningLoadPlannedKW != 19.05 {
		t.Fatalf("status: load %v planned %v compliant %v; want 9 + 10 + 0.05 = 19.05 kW both, compliant", st.MiningLoadKW, st.MiningLoadPlannedKW, st.Compliant)
	}
	// Its device answers again, asleep: flag cleared, counted at its draw.
	x.clk.Advance(time.Second)
	x.read("inv-3", device.StateSleeping, 40, 0)
	if rs := rigStatusOK(t, x.s, "inv-3"); slices.Contains(rs.Flags, FlagCurtailFailed) || rs.CountedAs != "parked_verified" || rs.CountedKW != 0.04 {
		t.Fatalf("inv-3 read asleep: %+v, want parked_verified at 0.04 kW, flag cleared", rs)
	}
}

// The same failure on a rig connected through the proxy keeps the rule
// for parks: it is parked through Stratum too, so it is planned at idle_kw
// and counted at rig_kw (curtail_failed) until a reading shows more.
func TestUnansweredCurtailConnectedStaysAPark(t *testing.T) {
	x := newFw(t)
	for i, n := range []string{"f-1", "f-2", "f-3"} {
		x.s.RigConnected(n, "10.0.1."+string(rune('1'+i))+":4028")
	}
	x.s.step()
	x.allocate(t, 79) // budget 21: f-3 goes
	x.clk.Advance(7 * time.Second)
	x.s.DeviceOutcome(device.Outcome{Rig: "f-3", Action: device.ActionCurtail, Attempts: 3, Err: "timeout", At: x.clk.Now()})
	if rs := rigStatusOK(t, x.s, "f-3"); !slices.Contains(rs.Flags, FlagCurtailFailed) || rs.CountedAs != "curtail_failed" {
		t.Fatalf("f-3 connected after a timed-out curtail: %+v; want curtail_failed, counted curtail_failed", rs)
	}
	x.s.step()
	if curtails, _, _ := x.fleet.calls(); !slices.Equal(curtails, []string{"f-3", "f-3"}) {
		t.Fatalf("device curtails %v; want f-3 and its retry only", curtails)
	}
}
