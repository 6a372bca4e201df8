package switcher

import (
	"fmt"
	"slices"
	"strings"
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

// A resume decided (and saved) before a restart is not lost: a firmware
// rig asleep on its device never reconnects, so after the restart it
// must still be managed, at its last address, with the fleet told to
// have it mining (the fleet's reconcile wakes it if the resume was cut
// short). It was neither managed nor counted: offline after the grace,
// asleep for good.
func TestRestartKeepsResumeOfSleepingRig(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	rec := &recorder{last: map[string]time.Time{}}
	fleet := &fleetRecorder{}
	s := newFwSwitcher(t, dir, clk, rec, fleet)
	inv := []InventoryRig{{Name: "f-1", Address: "10.2.0.1"}, {Name: "f-2", Address: "10.2.0.2"}, {Name: "f-3", Address: "10.2.0.3"}}
	s.SetInventory(inv)
	s.RigConnected("f-9", "10.0.9.9:4028")
	s.step()
	if p, _, err := s.Allocate(AllocationRequest{AIKW: 75, Reason: "test"}, "desk"); err != nil || !slices.Equal(names(p.Curtail), []string{"f-9", "f-3"}) {
		t.Fatalf("curtail %v err %v, want [f-9 f-3]", names(p.Curtail), err)
	}
	s.RigDisconnected("f-9") // asleep: it leaves the proxy
	clk.Advance(time.Minute)
	if _, _, err := s.Allocate(AllocationRequest{AIKW: 0, Reason: "back"}, "desk"); err != nil {
		t.Fatal(err)
	}
	if _, resumes, _ := fleet.calls(); len(resumes) != 2 {
		t.Fatalf("resumes %v, want f-9 and f-3", resumes)
	}
	// kill -9 now: the resume is saved, the devices still asleep.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fleet2 := &fleetRecorder{}
	clk.Advance(time.Second)
	s2 := newFwSwitcher(t, dir, clk, rec, fleet2)
	defer s2.Close()
	s2.SetInventory(inv)
	s2.step()
	set := fleet2.lastSet(t)
	for _, n := range []string{"f-9", "f-3"} {
		if m, ok := set[n]; !ok || m.Want != device.StateMining {
			t.Errorf("after restart %s: in the managed set %v, Want %v; want in it, Want mining (its resume finished)", n, ok, m.Want)
		}
	}
	if m := set["f-9"]; m.Address != "10.0.9.9" {
		t.Errorf("f-9 after restart at %q, want its last address 10.0.9.9", m.Address)
	}
	if m := set["f-1"]; m.Want != device.StateUnknown {
		t.Errorf("f-1 (never acted on) after restart: Want %v, want unknown", m.Want)
	}
	// Its device still asleep a window later: resume_failed, not mining.
	clk.Advance(2 * time.Minute)
	s2.DeviceReading("f-9", device.Reading{State: device.StateSleeping, PowerW: 40, HasPower: true, At: clk.Now()})
	if rs := rigStatusOK(t, s2, "f-9"); !slices.Contains(rs.Flags, FlagResumeFailed) {
		t.Errorf("f-9 still asleep after the restart: %+v, want resume_failed", rs)
	}
}

// The fleet may still report while hashgate shuts down (run closes the
// switcher, then the fleet): a reading or an outcome after Close changes
// nothing, commands nothing and writes no audit event (the audit log is
// closed: each event was an "audit log cannot be written" error).
func TestDeviceReportsAfterCloseIgnored(t *testing.T) {
	x := newFw(t)
	for i, n := range []string{"f-1", "f-2", "f-3"} {
		x.s.RigConnected(n, "10.0.1."+string(rune('1'+i))+":4028")
	}
	x.s.step()
	x.allocate(t, 75) // f-3 goes
	if err := x.s.Close(); err != nil {
		t.Fatal(err)
	}
	before, _, _ := x.fleet.calls()
	x.clk.Advance(2 * time.Minute)
	ev := device.Reading{State: device.StateMining, PowerW: 9800, HasPower: true, At: x.clk.Now()}
	x.s.DeviceOutcome(device.Outcome{Rig: "f-3", Action: device.ActionCurtail, Accepted: true, Evidence: &ev, At: x.clk.Now()})
	x.s.DeviceReading("f-3", ev)
	if after, _, _ := x.fleet.calls(); len(after) != len(before) {
		t.Fatalf("device curtails after Close: %v, want none beyond %v", after, before)
	}
	if x.s.auditFailing.Load() {
		t.Fatalf("a fleet report after Close: got audit failing %v (it wrote to the closed log), want it ignored", x.s.auditFailing.Load())
	}
}

// A curtail the fleet reports unverified after the switcher's
// verification window (a long queue, retries with back-off, a 20 s
// answer) is sent again once, like one reported within it: its evidence
// flags the rig first, and that must not swallow the retry.
func TestLateUnverifiedCurtailSentAgain(t *testing.T) {
	x := newFw(t)
	for i, n := range []string{"f-1", "f-2", "f-3"} {
		x.s.RigConnected(n, "10.0.1."+string(rune('1'+i))+":4028")
	}
	x.s.step()
	x.allocate(t, 75)               // f-3 goes
	x.clk.Advance(90 * time.Second) // past DeviceVerifyWindow (1m)
	ev := device.Reading{State: device.StateMining, PowerW: 9800, HasPower: true, HashrateTHs: 100, HasHashrate: true, At: x.clk.Now()}
	x.s.DeviceOutcome(device.Outcome{Rig: "f-3", Action: device.ActionCurtail, Accepted: true, Attempts: 3, Evidence: &ev, At: x.clk.Now()})
	if fl := flagsOf(x.s, "f-3"); !slices.Contains(fl, FlagCurtailFailed) {
		t.Fatalf("f-3 flags %v, want curtail_failed", fl)
	}
	if c, _, _ := x.fleet.calls(); !slices.Equal(c, []string{"f-3", "f-3"}) {
		t.Fatalf("device curtails %v, want f-3 and its one retry", c)
	}
}

// A command a later decision overtook (a curtail superseded by the
// resume that followed it) only counts: it is no failure to audit.
func TestOvertakenOutcomeOnlyCounts(t *testing.T) {
	x := newFw(t)
	for i, n := range []string{"f-1", "f-2", "f-3"} {
		x.s.RigConnected(n, "10.0.1."+string(rune('1'+i))+":4028")
	}
	x.s.step()
	x.allocate(t, 75) // f-3 goes
	x.clk.Advance(time.Second)
	x.allocate(t, 0) // and comes back before its curtail ran
	x.s.DeviceOutcome(device.Outcome{Rig: "f-3", Action: device.ActionCurtail, Err: "superseded by resume", At: x.clk.Now()})
	if hasEvent(x.s, EventDeviceCommandFailed) || hasEvent(x.s, EventCurtailFail) {
		t.Fatalf("an overtaken curtail: got events %v, want no device_command_failed or curtail_failed (only counted)", eventKinds(x.s))
	}
	if n := x.s.Counters().DeviceCurtailFailed.Load(); n != 1 {
		t.Fatalf("device curtail failed counter %d, want 1 (counted)", n)
	}
}

// A device's pool list is the network's word: the pool a pools_unbound
// event names has its credentials redacted (a pool URL may carry
// user:password@) and its length bounded (a device answers up to 1 MiB).
func TestPoolsUnboundEventRedacted(t *testing.T) {
	x := newFw(t)
	x.s.RigConnected("f-1", "10.0.1.1:1")
	x.s.step()
	long := "stratum+tcp://acct.w1:s3cret-pool-pass@evil.example:3333/" + strings.Repeat("x", 100_000)
	x.s.DeviceReading("f-1", device.Reading{State: device.StateMining, Pools: []string{long}, At: x.clk.Now()})
	if fl := flagsOf(x.s, "f-1"); !slices.Contains(fl, FlagPoolsUnbound) {
		t.Fatalf("flags %v, want pools_unbound", fl)
	}
	evs, _ := x.s.Events(0, 10000)
	for _, e := range evs {
		if e.Kind != EventPoolsUnbound {
			continue
		}
		p := fmt.Sprint(e.Fields["pool"])
		if strings.Contains(p, "s3cret") || len(p) > 300 {
			t.Fatalf("pools_unbound event names the pool as %.120q (%d bytes): want it redacted and under 300 bytes", p, len(p))
		}
		return
	}
	t.Fatalf("events: got kinds %v, want a pools_unbound one", eventKinds(x.s))
}

// A rig flagged resume_failed by its device (read asleep after the
// resume) that then sends shares through the proxy is mining: the shares
// clear the flag and it counts at its full draw again, whatever a device
// that can no longer be read said last. It stayed counted at its idle
// draw while it hashed: the site's load under-counted.
func TestSharesClearDeviceResumeFailed(t *testing.T) {
	x := newFw(t)
	for i, n := range []string{"f-1", "f-2", "f-3"} {
		x.s.RigConnected(n, "10.0.1."+string(rune('1'+i))+":4028")
	}
	x.s.step()
	x.allocate(t, 75) // f-3 goes
	x.clk.Advance(time.Minute)
	x.allocate(t, 0) // and comes back
	x.clk.Advance(90 * time.Second)
	ev := device.Reading{State: device.StateSleeping, PowerW: 40, HasPower: true, At: x.clk.Now()}
	x.s.DeviceOutcome(device.Outcome{Rig: "f-3", Action: device.ActionResume, Accepted: true, Evidence: &ev, At: x.clk.Now()})
	if rs := rigStatusOK(t, x.s, "f-3"); rs.CountedAs != "resume_failed" {
		t.Fatalf("f-3 read asleep after its resume: counted %s, want resume_failed", rs.CountedAs)
	}
	// Its device can no longer be read; its shares flow through the proxy.
	x.clk.Advance(5 * time.Second)
	x.s.DeviceReading("f-3", device.Reading{State: device.StateUnreachable, At: x.clk.Now()})
	x.rec.mu.Lock()
	x.rec.last["f-3"] = x.clk.Now()
	x.rec.mu.Unlock()
	x.clk.Advance(time.Second)
	x.s.step()
	rs := rigStatusOK(t, x.s, "f-3")
	if rs.CountedAs != "mining" || rs.CountedKW != 10 || slices.Contains(rs.Flags, FlagResumeFailed) {
		t.Fatalf("f-3 sending shares: %s at %v kW, flags %v; want mining at 10 kW, no resume_failed", rs.CountedAs, rs.CountedKW, rs.Flags)
	}
}

// A Stratum park verified by a device reading asleep holds while the
// readings are fresh: once they are older than DeviceStaleAfter (the
// fleet can no longer read it, or is behind), the park is unverified
// again, like any other figure from a stale reading. It stayed verified
// (counted at idle_kw) for good.
func TestStaleReadingNoLongerVerifiesPark(t *testing.T) {
	x := newFw(t)
	x.s.RigConnected("m-1", "10.0.3.1:1")
	x.s.RigConnected("m-2", "10.0.3.2:1")
	x.s.step()
	x.allocate(t, 85) // m-2 goes, through Stratum
	x.clk.Advance(5 * time.Second)
	x.s.DeviceReading("m-2", device.Reading{State: device.StateSleeping, At: x.clk.Now()})
	if rs := rigStatusOK(t, x.s, "m-2"); rs.CountedAs != "parked_verified" {
		t.Fatalf("m-2 read asleep: %s, want parked_verified", rs.CountedAs)
	}
	x.clk.Advance(DefaultDeviceStaleAfter + time.Second)
	x.s.step()
	if rs := rigStatusOK(t, x.s, "m-2"); rs.CountedAs != "parked_unverified" || rs.CountedKW != 10 {
		t.Fatalf("m-2 last read %v ago: %s at %v kW, want parked_unverified at 10 kW (rig_kw)", DefaultDeviceStaleAfter+time.Second, rs.CountedAs, rs.CountedKW)
	}
}

// An inventory address refused for carrying a user (and password) is
// quoted without them: the error reaches `hashgate check`, the logs and
// the audit log.
func TestInventoryAddressErrorRedactsCredentials(t *testing.T) {
	for _, addr := range []string{"root:hunter2@10.0.0.1", "http://root:hunter2@10.0.0.1/", "hunter2@rig-1"} {
		_, err := ParseInventory("rigs.csv", []byte("name,address\nf-1,"+addr+"\n"))
		if err == nil {
			t.Fatalf("address %q: got nil, want an error", addr)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("address %q: error echoes the credential: %v; want !strings.Contains(err.Error(), \"hunter2\")", addr, err)
		}
	}
}
