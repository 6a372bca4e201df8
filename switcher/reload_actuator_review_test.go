package switcher

import (
	"slices"
	"testing"
	"time"

	"github.com/hashgate/hashgate/switcher/device"
)

// reloadFw puts a copy of the switcher's policy in force with group f's
// actuator set to act (its options fwOptions for a firmware, none for
// stratum).
func reloadFw(t *testing.T, x *fwRig, act string) {
	t.Helper()
	p := fwTestPolicy(t, x.dir)
	f := p.Group("f")
	f.Actuator, f.Device = act, nil
	if act != ActuatorStratum {
		f.Device = fwOptions
	}
	x.s.SetPolicy(p, []string{"group f actuator " + act})
}

// A rig parked through Stratum whose group then gets a firmware
// actuator is put to sleep through its device too: its device is wanted
// asleep (the fleet's reconcile read curtails it if it hashes).
func TestReloadStratumToFirmwareWhileParked(t *testing.T) {
	x := newFw(t)
	reloadFw(t, x, ActuatorStratum)
	for i, n := range []string{"f-1", "f-2", "f-3"} {
		x.s.RigConnected(n, "10.0.1."+string(rune('1'+i))+":4028")
	}
	x.s.step()
	if p := x.allocate(t, 75); !slices.Equal(names(p.Curtail), []string{"f-3"}) {
		t.Fatalf("curtail %v, want [f-3]", names(p.Curtail))
	}
	reloadFw(t, x, "luxos")
	x.clk.Advance(time.Second)
	x.s.step()
	if m, ok := x.fleet.lastSet(t)["f-3"]; !ok || m.Want != device.StateSleeping {
		t.Fatalf("parked f-3 after its group became luxos: in set %v, Want %v; want Want sleeping", ok, m.Want)
	}
}

// A rig put to sleep through its device whose group then goes back to
// the Stratum actuator is still woken through its device when resumed:
// asleep, it never reconnects, and a Stratum resume cannot wake it.
func TestReloadFirmwareToStratumWhileAsleep(t *testing.T) {
	x := newFw(t)
	for i, n := range []string{"f-1", "f-2", "f-3"} {
		x.s.RigConnected(n, "10.0.1."+string(rune('1'+i))+":4028")
	}
	x.s.step()
	if p := x.allocate(t, 75); !slices.Equal(names(p.Curtail), []string{"f-3"}) {
		t.Fatalf("curtail %v, want [f-3]", names(p.Curtail))
	}
	x.s.RigDisconnected("f-3") // asleep
	reloadFw(t, x, ActuatorStratum)
	x.clk.Advance(time.Second)
	x.s.step()
	if m, ok := x.fleet.lastSet(t)["f-3"]; !ok || m.Firmware != "luxos" || m.Options != fwOptions || m.Want != device.StateSleeping || m.MonitorOnly {
		t.Fatalf("f-3 asleep after the reload to stratum: in set %v, %+v; want still luxos with its options, Want sleeping", ok, m)
	}
	if m, ok := x.fleet.lastSet(t)["f-1"]; ok {
		t.Fatalf("f-1 (awake, now stratum): got %+v in the managed set, want it out", m)
	}
	x.allocate(t, 0)
	if _, resumes, _ := x.fleet.calls(); !slices.Equal(resumes, []string{"f-3"}) {
		t.Fatalf("device resumes %v after the reload to stratum, want [f-3]: its device sleeps", resumes)
	}
	if m := x.fleet.lastSet(t)["f-3"]; m.Firmware != "luxos" || m.Want != device.StateMining {
		t.Fatalf("f-3 being woken: %+v, want luxos, Want mining", m)
	}
	// Awake: its old firmware is no longer needed, the group's rules apply.
	x.clk.Advance(10 * time.Second)
	x.s.DeviceOutcome(device.Outcome{Rig: "f-3", Action: device.ActionResume, Accepted: true, Verified: true, At: x.clk.Now()})
	x.s.step()
	if m, ok := x.fleet.lastSet(t)["f-3"]; ok {
		t.Fatalf("f-3 awake in a stratum group: got %+v in the managed set, want it out", m)
	}
}
