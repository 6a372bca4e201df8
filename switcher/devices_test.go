package switcher

import (
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashgate/hashgate/switcher/device"
)

// fleetRecorder records what the switcher asks of the fleet (the
// DeviceFleet interface switcher/fleet implements). It decides nothing:
// the tests drive readings and outcomes through DeviceReading and
// DeviceOutcome, as the fleet does.
type fleetRecorder struct {
	mu       sync.Mutex
	sets     [][]device.Managed
	curtails []string
	resumes  []string
}

func (f *fleetRecorder) SetRigs(rigs []device.Managed) {
	f.mu.Lock()
	f.sets = append(f.sets, slices.Clone(rigs))
	f.mu.Unlock()
}

func (f *fleetRecorder) Curtail(rig string) {
	f.mu.Lock()
	f.curtails = append(f.curtails, rig)
	f.mu.Unlock()
}

func (f *fleetRecorder) Resume(rig string) {
	f.mu.Lock()
	f.resumes = append(f.resumes, rig)
	f.mu.Unlock()
}

// lastSet is the last managed set handed over, by name.
func (f *fleetRecorder) lastSet(t *testing.T) map[string]device.Managed {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sets) == 0 {
		t.Fatalf("SetRigs calls: got %d, want at least one", len(f.sets))
	}
	out := map[string]device.Managed{}
	for _, m := range f.sets[len(f.sets)-1] {
		out[m.Name] = m
	}
	return out
}

func (f *fleetRecorder) calls() (curtails, resumes []string, sets int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.curtails), slices.Clone(f.resumes), len(f.sets)
}

// fwPolicy: one group of rigs put to sleep through their firmware ("f"),
// one of Stratum rigs read by a monitor ("m"). 10 kW a rig, 0.1 idle.
const fwPolicy = `
site_capacity_kw = 100.0
ramp_up_kw_per_min = 1000.0
min_off = "0s"
min_on = "0s"

[[group]]
name = "f"
workers = ["f-*", "inv-*"]
rig_kw = 10.0
idle_kw = 0.1
efficiency_j_th = 20.0
priority = 10
actuator = "stratum"

[[group]]
name = "m"
workers = ["m-*"]
rig_kw = 10.0
idle_kw = 0.1
efficiency_j_th = 30.0
priority = 5
actuator = "stratum"
`

var fwOptions = &device.Options{User: "root", Password: device.NewSecret("hunter2")}

// fwTestPolicy parses fwPolicy and sets the fields the policy parser
// will fill (another helper's work): group f is firmware-actuated, group
// m is monitored.
func fwTestPolicy(t *testing.T, dir string) *Policy {
	t.Helper()
	pol, err := ParsePolicy(filepath.Join(dir, "policy.toml"), []byte(fwPolicy))
	if err != nil {
		t.Fatal(err)
	}
	f, m := pol.Group("f"), pol.Group("m")
	f.Actuator, f.Device = "luxos", fwOptions
	m.Monitor, m.Device = "luxos", fwOptions
	return pol
}

type fwRig struct {
	s     *Switcher
	clk   *fakeClock
	rec   *recorder
	fleet *fleetRecorder
	dir   string
}

func newFwSwitcher(t *testing.T, dir string, clk *fakeClock, rec *recorder, fleet *fleetRecorder) *Switcher {
	t.Helper()
	s, err := New(Config{StatePath: filepath.Join(dir, "state.json"), AuditPath: filepath.Join(dir, "audit.jsonl"),
		Now: clk.Now, CurtailGrace: 30 * time.Second, ResumeGrace: time.Minute, LeftGrace: time.Minute,
		Devices: fleet, PoolURLs: []string{"stratum+tcp://10.0.0.2:3333"}, DeviceVerifyWindow: time.Minute},
		fwTestPolicy(t, dir), rec, rec)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newFw(t *testing.T) *fwRig {
	t.Helper()
	x := &fwRig{clk: &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		rec: &recorder{last: map[string]time.Time{}}, fleet: &fleetRecorder{}, dir: t.TempDir()}
	x.s = newFwSwitcher(t, x.dir, x.clk, x.rec, x.fleet)
	t.Cleanup(func() { x.s.Close() })
	return x
}

func (x *fwRig) allocate(t *testing.T, aiKW float64) Plan {
	t.Helper()
	p, _, err := x.s.Allocate(AllocationRequest{AIKW: aiKW, Reason: "test"}, "desk")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (x *fwRig) read(rig string, st device.State, powerW, ths float64) {
	x.s.DeviceReading(rig, device.Reading{State: st, PowerW: powerW, HasPower: powerW >= 0,
		HashrateTHs: ths, HasHashrate: true, At: x.clk.Now()})
}

func rigStatusOK(t *testing.T, s *Switcher, name string) RigStatus {
	t.Helper()
	for _, r := range s.Rigs() {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no rig %q", name)
	return RigStatus{}
}

// A curtailed firmware rig is parked through Stratum (it is connected)
// and put to sleep through its device; resumed, both are undone. The
// managed set carries its remote host and what was asked of it.
func TestFirmwareCurtailCallsBoth(t *testing.T) {
	x := newFw(t)
	for i, n := range []string{"f-1", "f-2", "f-3"} {
		x.s.RigConnected(n, "10.0.1."+string(rune('1'+i))+":4028")
	}
	x.s.step()
	set := x.fleet.lastSet(t)
	if len(set) != 3 || set["f-2"].Address != "10.0.1.2" || set["f-2"].Firmware != "luxos" || set["f-2"].Options != fwOptions ||
		set["f-2"].Want != device.StateUnknown || set["f-2"].MonitorOnly {
		t.Fatalf("managed set after admission: got %+v, want f-1..3 at 10.0.1.x, luxos, Want unknown", set)
	}
	if got := set["f-1"].BindPools; got != nil {
		t.Fatalf("bind_pools off: got %v, want none", got)
	}
	// Budget 25: one rig goes (30 → 20.1).
	p := x.allocate(t, 75)
	if got := names(p.Curtail); !slices.Equal(got, []string{"f-3"}) {
		t.Fatalf("curtail %v, want [f-3]", got)
	}
	curtails, _, _ := x.fleet.calls()
	if !slices.Equal(curtails, []string{"f-3"}) || !slices.Equal(x.rec.parks, []string{"f-3"}) {
		t.Fatalf("device curtails %v, Stratum parks %v: want both [f-3]", curtails, x.rec.parks)
	}
	if set := x.fleet.lastSet(t); set["f-3"].Want != device.StateSleeping || set["f-1"].Want != device.StateUnknown {
		t.Fatalf("want after curtail: f-3 %v, f-1 %v; want sleeping, unknown", set["f-3"].Want, set["f-1"].Want)
	}
	// Parking closed its connection; asleep, it does not come back. It
	// is still reached through its device and woken by it alone.
	x.s.RigDisconnected("f-3")
	x.clk.Advance(2 * time.Minute)
	x.s.step()
	if fl := flagsOf(x.s, "f-3"); slices.Contains(fl, FlagLeftWhileParked) {
		t.Fatalf("a firmware rig asleep is not left_while_parked: flags %v; want !slices.Contains(fl, FlagLeftWhileParked)", fl)
	}
	x.allocate(t, 0)
	_, resumes, _ := x.fleet.calls()
	if !slices.Equal(resumes, []string{"f-3"}) || len(x.rec.resume) != 3 {
		t.Fatalf("device resumes %v (want [f-3]), Stratum resumes %v (want only the 3 admissions)", resumes, x.rec.resume)
	}
	if set := x.fleet.lastSet(t); set["f-3"].Want != device.StateMining || set["f-3"].Address != "10.0.1.3" {
		t.Fatalf("f-3 after resume: %+v, want mining at 10.0.1.3", set["f-3"])
	}
}

// A rig in the inventory that never connects is counted (at rig_kw until
// its device says otherwise), curtailed and resumed through its device,
// and goes back to the common rules when it leaves the inventory.
func TestInventoryRigNeverConnected(t *testing.T) {
	x := newFw(t)
	x.s.SetInventory([]InventoryRig{{Name: "inv-1", Address: "10.2.0.1"}, {Name: "inv-2", Address: "10.2.0.2"}})
	x.s.step()
	if st := x.s.Status(); st.MiningLoadKW != 20 || !st.Compliant {
		t.Fatalf("two listed rigs never seen: load %v compliant %v, want 20 kW compliant", st.MiningLoadKW, st.Compliant)
	}
	if set := x.fleet.lastSet(t); set["inv-1"].Address != "10.2.0.1" || len(set) != 2 {
		t.Fatalf("managed set %+v, want inv-1, inv-2 at their listed addresses", set)
	}
	// Budget 15: one goes.
	p := x.allocate(t, 85)
	if got := names(p.Curtail); !slices.Equal(got, []string{"inv-2"}) {
		t.Fatalf("curtail %v, want [inv-2]", got)
	}
	curtails, _, _ := x.fleet.calls()
	if !slices.Equal(curtails, []string{"inv-2"}) || len(x.rec.parks) != 0 {
		t.Fatalf("device curtails %v (want [inv-2]), Stratum parks %v (want none: not connected)", curtails, x.rec.parks)
	}
	// Unverified until its device reads asleep: counted at rig_kw.
	if rs := rigStatusOK(t, x.s, "inv-2"); rs.CountedAs != "parked_unverified" || rs.CountedKW != 10 {
		t.Fatalf("inv-2 before a reading: %s %v kW, want parked_unverified 10", rs.CountedAs, rs.CountedKW)
	}
	x.clk.Advance(10 * time.Second)
	x.read("inv-2", device.StateSleeping, 60, 0)
	x.read("inv-1", device.StateMining, 9500, 100)
	x.s.step()
	rs := rigStatusOK(t, x.s, "inv-2")
	if rs.CountedAs != "parked_verified" || rs.CountedKW != 0.06 || rs.Device == nil || rs.Device.State != "sleeping" || *rs.Device.PowerW != 60 {
		t.Fatalf("inv-2 read asleep at 60 W: %+v, want parked_verified at 0.06 kW", rs)
	}
	if st := x.s.Status(); st.MiningLoadKW != 9.56 || st.MeasuredRigs != 2 || st.MiningLoadMeasuredKW != 9.56 || st.Devices["sleeping"] != 1 {
		t.Fatalf("status: load %v measured %v (%d rigs) devices %v; want 9.56, 9.56, 2, one sleeping", st.MiningLoadKW, st.MiningLoadMeasuredKW, st.MeasuredRigs, st.Devices)
	}
	x.allocate(t, 0)
	if _, resumes, _ := x.fleet.calls(); !slices.Equal(resumes, []string{"inv-2"}) {
		t.Fatalf("device resumes %v, want [inv-2]", resumes)
	}
	// Out of the inventory, never connected: offline, counted 0 kW, and
	// no longer managed.
	x.s.SetInventory([]InventoryRig{{Name: "inv-1", Address: "10.2.0.1"}})
	x.s.step()
	if rs := rigStatusOK(t, x.s, "inv-2"); rs.State != "offline" || rs.CountedKW != 0 || rs.Listed {
		t.Fatalf("inv-2 out of the inventory: %+v, want offline 0 kW", rs)
	}
	if set := x.fleet.lastSet(t); len(set) != 1 {
		t.Fatalf("managed set %v, want inv-1 alone", set)
	}
	if was, err := x.s.Forget("inv-1", "ops"); err == nil {
		t.Fatalf("forgetting a listed rig: got %+v and a nil error, want ErrRigListed", was)
	}
}

// The measured draw replaces rig_kw in the load planned and judged: three
// rigs measured at 7.5 kW fit a budget their nameplate does not.
func TestMeasuredPowerReplacesNameplate(t *testing.T) {
	x := newFw(t)
	for i, n := range []string{"f-1", "f-2", "f-3"} {
		x.s.RigConnected(n, "10.0.1."+string(rune('1'+i))+":4028")
	}
	x.s.step()
	for _, n := range []string{"f-1", "f-2", "f-3"} {
		x.read(n, device.StateMining, 7500, 90)
	}
	p := x.allocate(t, 75) // budget 25
	if len(p.Curtail) != 0 || !p.CountedCompliant || p.CountedLoadAfterKW != 22.5 || p.LoadAfterKW != 22.5 {
		t.Fatalf("plan: curtail %v, counted %v planned %v compliant %v; want nothing curtailed, 22.5 kW, compliant",
			names(p.Curtail), p.CountedLoadAfterKW, p.LoadAfterKW, p.CountedCompliant)
	}
	// A budget of 20 needs one rig: it saves its measured 7.5 − 0.1.
	p = x.allocate(t, 80)
	if got := names(p.Curtail); !slices.Equal(got, []string{"f-3"}) || p.LoadAfterKW != 15.1 {
		t.Fatalf("curtail %v to %v kW planned, want [f-3] to 15.1", got, p.LoadAfterKW)
	}
	// Unreachable: back to the policy's figures.
	x.clk.Advance(time.Second)
	x.s.DeviceReading("f-1", device.Reading{State: device.StateUnreachable, At: x.clk.Now()})
	x.s.step()
	if rs := rigStatusOK(t, x.s, "f-1"); rs.CountedKW != 10 || rs.Device.State != "unreachable" || rs.Device.PowerW != nil {
		t.Fatalf("f-1 unreachable: %v kW, device %+v; want 10 kW (rig_kw), unreachable, no power", rs.CountedKW, rs.Device)
	}
}

// A device that says ok to a curtail and keeps hashing is flagged
// curtail_failed, counted at its measured draw, and the plan curtails the
// next rig so the site is within budget; a later reading asleep clears it.
func TestLyingDeviceCompensated(t *testing.T) {
	x := newFw(t)
	for i, n := range []string{"f-1", "f-2", "f-3"} {
		x.s.RigConnected(n, "10.0.1."+string(rune('1'+i))+":4028")
	}
	x.s.step()
	p := x.allocate(t, 75) // budget 25: f-3 goes
	if got := names(p.Curtail); !slices.Equal(got, []string{"f-3"}) {
		t.Fatalf("curtail %v, want [f-3]", got)
	}
	// Within the verification window a reading still hashing is the
	// command taking effect: not flagged, not compensated.
	x.clk.Advance(10 * time.Second)
	x.read("f-3", device.StateMining, 9800, 100)
	x.s.step()
	if rs := rigStatusOK(t, x.s, "f-3"); slices.Contains(rs.Flags, FlagCurtailFailed) || rs.CountedAs != "parked_unverified" {
		t.Fatalf("f-3 hashing 10 s after its curtail: %+v, want parked_unverified without curtail_failed", rs)
	}
	if c, _, _ := x.fleet.calls(); len(c) != 1 {
		t.Fatalf("curtails %v within the window, want only the first", c)
	}
	// The fleet's verification says it lies.
	x.clk.Advance(20 * time.Second)
	ev := device.Reading{State: device.StateMining, PowerW: 9800, HasPower: true, HashrateTHs: 100, HasHashrate: true, At: x.clk.Now()}
	x.s.DeviceOutcome(device.Outcome{Rig: "f-3", Action: device.ActionCurtail, Accepted: true, Verified: false, Attempts: 3, Evidence: &ev, At: x.clk.Now()})
	rs := rigStatusOK(t, x.s, "f-3")
	if !slices.Contains(rs.Flags, FlagCurtailFailed) || rs.CountedAs != "device_hashing" || rs.CountedKW != 9.8 {
		t.Fatalf("f-3 after a verified=false outcome: %+v, want curtail_failed, device_hashing at 9.8 kW", rs)
	}
	x.clk.Advance(time.Second)
	x.s.step()
	curtails, _, _ := x.fleet.calls()
	if !slices.Equal(curtails, []string{"f-3", "f-3", "f-2"}) {
		t.Fatalf("device curtails %v, want f-3, its retry, then f-2 (compensation)", curtails)
	}
	x.clk.Advance(5 * time.Second)
	x.read("f-2", device.StateSleeping, 50, 0)
	x.s.step()
	st := x.s.Status()
	if !st.Compliant || st.MiningLoadKW != 19.85 || st.Counted["device_hashing"].Rigs != 1 {
		t.Fatalf("status: load %v compliant %v counted %v; want 10 + 9.8 + 0.05 = 19.85 kW, compliant", st.MiningLoadKW, st.Compliant, st.Counted)
	}
	if n := x.s.Counters().CurtailFailed.Load(); n != 1 {
		t.Fatalf("curtail_failed counter %d, want 1", n)
	}
	if !hasEvent(x.s, EventCurtailFail) {
		t.Fatalf("events: got kinds %v, want a curtail_failed one", eventKinds(x.s))
	}
	// The outcome names the allocation whose curtail it was.
	alloc, _ := x.s.LatestEvents(1, EventFilter{Kinds: []string{EventAllocation}})
	failed, _ := x.s.LatestEvents(0, EventFilter{Kinds: []string{EventCurtailFail}, Rig: "f-3"})
	if len(alloc) != 1 || len(failed) == 0 || failed[0].Cause != alloc[0].Seq {
		t.Fatalf("curtail_failed %+v, want its cause the allocation %+v", failed, alloc)
	}
	// It finally sleeps: the flag goes, and f-2's room is there again.
	x.clk.Advance(5 * time.Second)
	x.read("f-3", device.StateSleeping, 40, 0)
	if rs := rigStatusOK(t, x.s, "f-3"); slices.Contains(rs.Flags, FlagCurtailFailed) || rs.CountedAs != "parked_verified" {
		t.Fatalf("f-3 read asleep: %+v, want parked_verified, flag cleared", rs)
	}
	x.s.step()
	if _, resumes, _ := x.fleet.calls(); !slices.Equal(resumes, []string{"f-2"}) {
		t.Fatalf("resumes %v, want [f-2] once f-3 sleeps", resumes)
	}
}

// A reading still hashing after the verification window flags the rig
// without an outcome, and its curtail is sent again once.
func TestLyingDeviceByReading(t *testing.T) {
	x := newFw(t)
	x.s.SetInventory([]InventoryRig{{Name: "inv-1", Address: "10.2.0.1"}, {Name: "inv-2", Address: "10.2.0.2"}})
	x.s.step()
	x.allocate(t, 85) // budget 15: inv-2 goes
	x.clk.Advance(2 * time.Minute)
	x.read("inv-2", device.StateSleeping, 8000, 0) // "sleeping", drawing 8 kW
	x.read("inv-1", device.StateMining, 9000, 100)
	rs := rigStatusOK(t, x.s, "inv-2")
	if !slices.Contains(rs.Flags, FlagCurtailFailed) || rs.CountedAs != "device_hashing" || rs.CountedKW != 8 {
		t.Fatalf("inv-2 'sleeping' at 8 kW after the window: %+v, want curtail_failed, device_hashing 8 kW", rs)
	}
	x.clk.Advance(10 * time.Second)
	x.read("inv-2", device.StateSleeping, 8000, 0)
	x.s.step()
	// 9 + 8 kW > 15: inv-1 goes too, and the site is within budget.
	curtails, _, _ := x.fleet.calls()
	if !slices.Equal(curtails, []string{"inv-2", "inv-2", "inv-1"}) {
		t.Fatalf("device curtails %v, want inv-2, one retry, then inv-1", curtails)
	}
	if p := x.s.Status(); p.MiningLoadPlannedKW != 8.1 {
		t.Fatalf("planned load %v, want 8 (inv-2 measured) + 0.1 (inv-1 idle)", p.MiningLoadPlannedKW)
	}
}

// A resume whose device stays asleep is flagged resume_failed and counted
// at its measured draw, not as mining.
func TestResumeFailed(t *testing.T) {
	x := newFw(t)
	x.s.SetInventory([]InventoryRig{{Name: "inv-1", Address: "10.2.0.1"}, {Name: "inv-2", Address: "10.2.0.2"}})
	x.s.step()
	x.allocate(t, 85)
	x.clk.Advance(30 * time.Second)
	x.read("inv-2", device.StateSleeping, 40, 0)
	x.allocate(t, 0)
	if _, resumes, _ := x.fleet.calls(); !slices.Equal(resumes, []string{"inv-2"}) {
		t.Fatalf("resumes %v, want [inv-2]", resumes)
	}
	// Still asleep within the window: counted at rig_kw (waking).
	x.clk.Advance(10 * time.Second)
	x.read("inv-2", device.StateSleeping, 40, 0)
	if rs := rigStatusOK(t, x.s, "inv-2"); rs.CountedKW != 10 || slices.Contains(rs.Flags, FlagResumeFailed) {
		t.Fatalf("inv-2 waking: %+v, want 10 kW, no flag", rs)
	}
	ev := device.Reading{State: device.StateSleeping, PowerW: 40, HasPower: true, At: x.clk.Now()}
	x.s.DeviceOutcome(device.Outcome{Rig: "inv-2", Action: device.ActionResume, Accepted: true, Verified: false, Evidence: &ev, Err: "", At: x.clk.Now()})
	rs := rigStatusOK(t, x.s, "inv-2")
	if !slices.Contains(rs.Flags, FlagResumeFailed) || rs.CountedAs != "resume_failed" || rs.CountedKW != 0.04 {
		t.Fatalf("inv-2 after a failed resume: %+v, want resume_failed at 0.04 kW", rs)
	}
	if n := x.s.Counters().ResumeFailed.Load(); n != 1 {
		t.Fatalf("resume_failed counter %d, want 1", n)
	}
	x.clk.Advance(time.Minute)
	x.read("inv-2", device.StateMining, 9900, 100)
	if rs := rigStatusOK(t, x.s, "inv-2"); slices.Contains(rs.Flags, FlagResumeFailed) || rs.CountedAs != "mining" || rs.CountedKW != 9.9 {
		t.Fatalf("inv-2 woke late: %+v, want mining at 9.9 kW, flag cleared", rs)
	}
}

// A restart keeps listed rigs asleep: the state file holds them curtailed,
// the first managed set after the restart wants them sleeping (and the
// others unknown: a restart wakes nothing), and no resume is sent. A
// firmware rig outside the inventory, asleep and gone from the proxy, is
// still reached at its last address.
func TestRestartKeepsDevicesAsleep(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	rec := &recorder{last: map[string]time.Time{}}
	fleet := &fleetRecorder{}
	s := newFwSwitcher(t, dir, clk, rec, fleet)
	inv := []InventoryRig{{Name: "f-1", Address: "10.2.0.1"}, {Name: "f-2", Address: "10.2.0.2"}, {Name: "f-3", Address: "10.2.0.3"}}
	s.SetInventory(inv)
	s.RigConnected("f-9", "10.0.9.9:4028")
	s.step()
	// Budget 25 of 40: the tail goes, f-9 (connected, not listed) and f-3.
	if p, _, err := s.Allocate(AllocationRequest{AIKW: 75, Reason: "test"}, "desk"); err != nil || !slices.Equal(names(p.Curtail), []string{"f-9", "f-3"}) {
		t.Fatalf("curtail %v err %v, want [f-9 f-3]", names(p.Curtail), err)
	}
	s.RigDisconnected("f-9")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	fleet2 := &fleetRecorder{}
	rec2 := &recorder{last: map[string]time.Time{}}
	clk.Advance(time.Minute)
	s2 := newFwSwitcher(t, dir, clk, rec2, fleet2)
	defer s2.Close()
	s2.SetInventory(inv)
	s2.step()
	set := fleet2.lastSet(t)
	want := map[string]device.State{"f-1": device.StateUnknown, "f-2": device.StateUnknown, "f-3": device.StateSleeping, "f-9": device.StateSleeping}
	for n, w := range want {
		if m, ok := set[n]; !ok || m.Want != w {
			t.Errorf("after restart %s: in set %v, Want %v; want %v", n, ok, m.Want, w)
		}
	}
	if set["f-9"].Address != "10.0.9.9" {
		t.Errorf("f-9 after restart at %q, want its last address 10.0.9.9", set["f-9"].Address)
	}
	curtails, resumes, _ := fleet2.calls()
	if len(resumes) != 0 || len(curtails) != 0 || len(rec2.resume) != 0 {
		t.Fatalf("after restart: curtails %v resumes %v Stratum resumes %v", curtails, resumes, rec2.resume)
	}
	if st := s2.Status(); st.Curtailed != 2 {
		t.Fatalf("curtailed after restart %d, want 2", st.Curtailed)
	}
	// The plan is not lost: with room again both wake through their device.
	if _, _, err := s2.Allocate(AllocationRequest{AIKW: 0, Reason: "back"}, "desk"); err != nil {
		t.Fatal(err)
	}
	if _, resumes, _ := fleet2.calls(); !slices.Equal(slices.Sorted(slices.Values(resumes)), []string{"f-3", "f-9"}) {
		t.Fatalf("resumes %v, want f-3 and f-9", resumes)
	}
}

// A Stratum group with a monitor: its rigs are read, never acted on
// through the device; a reading asleep verifies a Stratum park.
func TestMonitorVerifiesStratumPark(t *testing.T) {
	x := newFw(t)
	x.s.RigConnected("m-1", "10.0.3.1:1")
	x.s.RigConnected("m-2", "10.0.3.2:1")
	x.s.step()
	if set := x.fleet.lastSet(t); !set["m-1"].MonitorOnly || set["m-1"].Firmware != "luxos" {
		t.Fatalf("monitored rig in the set: %+v, want MonitorOnly luxos", set["m-1"])
	}
	x.allocate(t, 85)
	if curtails, _, _ := x.fleet.calls(); len(curtails) != 0 || !slices.Equal(x.rec.parks, []string{"m-2"}) {
		t.Fatalf("device curtails %v (want none), Stratum parks %v (want [m-2])", curtails, x.rec.parks)
	}
	x.clk.Advance(5 * time.Second)
	x.s.DeviceReading("m-2", device.Reading{State: device.StateSleeping, Pools: []string{"stratum+tcp://pool.example:3333"}, At: x.clk.Now()})
	rs := rigStatusOK(t, x.s, "m-2")
	if rs.CountedAs != "parked_verified" || rs.CountedKW != 0.1 || !slices.Contains(rs.Flags, FlagPoolsUnbound) {
		t.Fatalf("m-2 read asleep with a foreign pool: %+v, want parked_verified 0.1 kW, pools_unbound", rs)
	}
	x.s.DeviceReading("m-2", device.Reading{State: device.StateSleeping, Pools: []string{"STRATUM+TCP://10.0.0.2:3333"}, At: x.clk.Now()})
	if fl := flagsOf(x.s, "m-2"); slices.Contains(fl, FlagPoolsUnbound) {
		t.Fatalf("m-2 with hashgate as its only pool: flags %v, want no pools_unbound", fl)
	}
	// It leaves and stays away: still read at its last address, its
	// device's draw counts rather than rig_kw (left_while_parked).
	x.s.RigDisconnected("m-2")
	x.clk.Advance(2 * time.Minute)
	x.s.step()
	if set := x.fleet.lastSet(t); set["m-2"].Address != "10.0.3.2" {
		t.Fatalf("m-2 away: managed %+v, want still read at 10.0.3.2", set["m-2"])
	}
	x.s.DeviceReading("m-2", device.Reading{State: device.StateSleeping, PowerW: 30, HasPower: true, At: x.clk.Now()})
	if rs := rigStatusOK(t, x.s, "m-2"); rs.CountedKW != 0.03 || !slices.Contains(rs.Flags, FlagLeftWhileParked) {
		t.Fatalf("m-2 away, read asleep at 30 W: %+v, want left_while_parked counted at 0.03 kW", rs)
	}
}

// The managed set is handed over when it changes, not on every tick.
func TestManagedSetOnlyOnChange(t *testing.T) {
	x := newFw(t)
	x.s.RigConnected("f-1", "10.0.1.1:1")
	x.s.step()
	_, _, n := x.fleet.calls()
	for range 5 {
		x.clk.Advance(time.Second)
		x.read("f-1", device.StateMining, 9000, 90)
		x.s.step()
	}
	if _, _, m := x.fleet.calls(); m != n {
		t.Fatalf("SetRigs called %d times over 5 ticks without a change, want 0", m-n)
	}
	x.s.RigConnected("f-2", "10.0.1.2:1")
	x.s.step()
	if _, _, m := x.fleet.calls(); m != n+1 {
		t.Fatalf("SetRigs after a new rig: %d calls, want 1", m-n)
	}
}

// A group with bind_pools hands the fleet hashgate's addresses as the
// rigs' pool lists (each with its own worker name); a pool rewrite
// verified clears pools_unbound.
func TestBindPools(t *testing.T) {
	x := newFw(t)
	x.s.mu.Lock()
	x.s.policy.Group("f").BindPools = true
	x.s.mu.Unlock()
	x.s.RigConnected("f-1", "10.0.1.1:1")
	x.s.step()
	want := []device.Pool{{URL: "stratum+tcp://10.0.0.2:3333", User: "f-1", Password: "x"}}
	if got := x.fleet.lastSet(t)["f-1"].BindPools; !slices.Equal(got, want) {
		t.Fatalf("BindPools %v, want %v", got, want)
	}
	x.s.DeviceReading("f-1", device.Reading{State: device.StateMining, Pools: []string{"stratum+tcp://other.example:3333"}, At: x.clk.Now()})
	if fl := flagsOf(x.s, "f-1"); !slices.Contains(fl, FlagPoolsUnbound) {
		t.Fatalf("flags %v, want pools_unbound", fl)
	}
	x.s.DeviceOutcome(device.Outcome{Rig: "f-1", Action: device.ActionSetPools, Accepted: true, Verified: true, At: x.clk.Now()})
	if fl := flagsOf(x.s, "f-1"); slices.Contains(fl, FlagPoolsUnbound) {
		t.Fatalf("flags %v after a verified rewrite, want no pools_unbound", fl)
	}
	if n := x.s.Counters().DevicePoolsOK.Load(); n != 1 {
		t.Fatalf("set_pools verified counter %d, want 1", n)
	}
}

// normPool reads pool URLs from devices: it never panics, and what it
// keeps is a lower-case host:port without scheme, credentials or path.
func FuzzNormPool(f *testing.F) {
	for _, s := range []string{"stratum+tcp://10.0.0.2:3333", "STRATUM+SSL://User:pw@Pool.Example:443/path", "pool:3333", "", "://@/", "a://b://c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, u string) {
		n := normPool(u)
		if strings.ContainsAny(n, "/@") || n != strings.ToLower(n) {
			t.Fatalf("normPool(%q) = %q: want no '/', no '@', lower case", u, n)
		}
	})
}

// Without a fleet (Config.Devices nil) a firmware group is parked through
// Stratum as before, and no rig is managed through its device.
func TestNoFleetParksThroughStratum(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	rec := &recorder{last: map[string]time.Time{}}
	s, err := New(Config{StatePath: filepath.Join(dir, "state.json"), AuditPath: filepath.Join(dir, "audit.jsonl"), Now: clk.Now},
		fwTestPolicy(t, dir), rec, rec)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, n := range []string{"f-1", "f-2", "f-3"} {
		s.RigConnected(n, "10.0.1.1:1")
	}
	s.step()
	p, _, err := s.Allocate(AllocationRequest{AIKW: 75, Reason: "test"}, "desk")
	if err != nil || !slices.Equal(names(p.Curtail), []string{"f-3"}) || !slices.Equal(rec.parks, []string{"f-3"}) {
		t.Fatalf("curtail %v parks %v err %v, want f-3 parked through Stratum", names(p.Curtail), rec.parks, err)
	}
	s.DeviceReading("f-3", device.Reading{State: device.StateMining, PowerW: 9000, HasPower: true, At: clk.Now()})
	if rs := rigStatusOK(t, s, "f-3"); rs.Device != nil || rs.CountedKW != 10 {
		t.Fatalf("f-3 without a fleet: device %+v, %v kW; want no device, 10 kW", rs.Device, rs.CountedKW)
	}
}
