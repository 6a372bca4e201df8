package switcher

import (
	"slices"
	"testing"
	"time"

	"github.com/hashgate/hashgate/switcher/device"
)

// A restart in the middle of a plan: the fleet reads each parked rig and
// curtails again the ones still hashing (a curtail cut short). Its
// start-up reads go through a bounded pool, so a rig can be read first
// well after the verification window counted from the load; that first
// reading still hashing is the plan not yet finished, not a curtail that
// failed. It must not flag the rig curtail_failed, nor make the plan
// curtail another rig in its place (the daemon, killed mid-plan and
// restarted, curtailed 19 rigs more than its plan of 52:
// TestFirmwareKill9MidPlan in cmd/hashgate). Still hashing a window
// after that first reading, it is flagged as ever.
func TestRestartMidPlanFirstReadingNotAFailure(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	inv := []InventoryRig{{Name: "inv-1", Address: "10.2.0.1"}, {Name: "inv-2", Address: "10.2.0.2"}, {Name: "inv-3", Address: "10.2.0.3"}}
	s := newFwSwitcher(t, dir, clk, &recorder{last: map[string]time.Time{}}, &fleetRecorder{})
	s.SetInventory(inv)
	s.step()
	// Budget 11 of 30: inv-3 and inv-2 go.
	if p, _, err := s.Allocate(AllocationRequest{AIKW: 89, Reason: "test"}, "desk"); err != nil || !slices.Equal(names(p.Curtail), []string{"inv-3", "inv-2"}) {
		t.Fatalf("curtail %v err %v, want [inv-3 inv-2]", names(p.Curtail), err)
	}
	if err := s.Close(); err != nil { // killed before either device slept
		t.Fatal(err)
	}

	fleet := &fleetRecorder{}
	clk.Advance(time.Minute)
	s2 := newFwSwitcher(t, dir, clk, &recorder{last: map[string]time.Time{}}, fleet)
	defer s2.Close()
	s2.SetInventory(inv)
	s2.step()
	// The fleet's first reads, two minutes on (DeviceVerifyWindow is one):
	// both still hash; the fleet curtails them now.
	clk.Advance(2 * time.Minute)
	mining := device.Reading{State: device.StateMining, PowerW: 9800, HasPower: true, HashrateTHs: 100, HasHashrate: true}
	for _, n := range []string{"inv-3", "inv-2", "inv-1"} {
		rd := mining
		rd.At = clk.Now()
		s2.DeviceReading(n, rd)
	}
	for _, n := range []string{"inv-3", "inv-2"} {
		if rs := rigStatusOK(t, s2, n); slices.Contains(rs.Flags, FlagCurtailFailed) || rs.CountedAs != "parked_unverified" {
			t.Fatalf("%s first read hashing after the restart: %+v; want parked_unverified, not curtail_failed", n, rs)
		}
	}
	clk.Advance(time.Second)
	s2.step()
	if curtails, resumes, _ := fleet.calls(); len(curtails) != 0 || len(resumes) != 0 {
		t.Fatalf("after the first readings: switcher curtails %v resumes %v; want none (the fleet finishes the plan; nothing in their place)", curtails, resumes)
	}
	// inv-3 sleeps; inv-2 still hashes a window after its first reading.
	clk.Advance(61 * time.Second)
	s2.DeviceReading("inv-3", device.Reading{State: device.StateSleeping, PowerW: 50, HasPower: true, HasHashrate: true, At: clk.Now()})
	rd := mining
	rd.At = clk.Now()
	s2.DeviceReading("inv-2", rd)
	if rs := rigStatusOK(t, s2, "inv-3"); rs.CountedAs != "parked_verified" || len(rs.Flags) != 0 {
		t.Fatalf("inv-3 asleep: %+v; want parked_verified, no flags", rs)
	}
	if rs := rigStatusOK(t, s2, "inv-2"); !slices.Contains(rs.Flags, FlagCurtailFailed) || rs.CountedAs != "device_hashing" {
		t.Fatalf("inv-2 hashing a window after its first reading: %+v; want curtail_failed, device_hashing", rs)
	}
	if curtails, _, _ := fleet.calls(); !slices.Equal(curtails, []string{"inv-2"}) {
		t.Fatalf("curtails %v; want inv-2's retry", curtails)
	}
}

// The cause of a firmware outcome survives a restart: a curtail cut short
// by the restart and still hashing a window on is curtail_failed with the
// allocation's seq in cause, so ?cause=<the allocation> lists what came
// of it whether or not the daemon restarted in between.
func TestRestartKeepsOutcomeCause(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	inv := []InventoryRig{{Name: "inv-1", Address: "10.2.0.1"}, {Name: "inv-2", Address: "10.2.0.2"}, {Name: "inv-3", Address: "10.2.0.3"}}
	s := newFwSwitcher(t, dir, clk, &recorder{last: map[string]time.Time{}}, &fleetRecorder{})
	s.SetInventory(inv)
	s.step()
	if p, _, err := s.Allocate(AllocationRequest{AIKW: 89, Reason: "test"}, "desk"); err != nil || !slices.Contains(names(p.Curtail), "inv-2") {
		t.Fatalf("curtail %v err %v, want inv-2 among them", names(p.Curtail), err)
	}
	allocs, err := s.LatestEvents(1, EventFilter{Kinds: []string{EventAllocation}})
	if err != nil || len(allocs) != 1 {
		t.Fatalf("the allocation event: %+v, %v; want one", allocs, err)
	}
	cause := allocs[0].Seq
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	clk.Advance(time.Minute)
	s2 := newFwSwitcher(t, dir, clk, &recorder{last: map[string]time.Time{}}, &fleetRecorder{})
	defer s2.Close()
	s2.SetInventory(inv)
	s2.step()
	mining := device.Reading{State: device.StateMining, PowerW: 9800, HasPower: true, HashrateTHs: 100, HasHashrate: true}
	for range 2 { // first reading after the restart, then a window on
		clk.Advance(2 * time.Minute)
		rd := mining
		rd.At = clk.Now()
		s2.DeviceReading("inv-2", rd)
	}
	evs, err := s2.LatestEvents(10, EventFilter{Kinds: []string{EventCurtailFail}, Rig: "inv-2"})
	if err != nil || len(evs) != 1 {
		t.Fatalf("inv-2's curtail_failed events: %+v, %v; want one", evs, err)
	}
	if evs[0].Cause != cause {
		t.Fatalf("curtail_failed after a restart: cause %d, want %d (the allocation that curtailed it)", evs[0].Cause, cause)
	}
}
