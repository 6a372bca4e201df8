package api_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashgate/hashgate/api"
	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/internal/apitest"
	"github.com/hashgate/hashgate/switcher"
	"github.com/hashgate/hashgate/switcher/device"
)

// fleetRecorder records what the switcher asks of the fleet (the
// DeviceFleet seam switcher/fleet implements); the test reports readings
// and outcomes through the switcher as the fleet does.
type fleetRecorder struct {
	mu       sync.Mutex
	curtails []string
	sets     int
}

func (f *fleetRecorder) SetRigs([]device.Managed) { f.mu.Lock(); f.sets++; f.mu.Unlock() }
func (f *fleetRecorder) Curtail(rig string) {
	f.mu.Lock()
	f.curtails = append(f.curtails, rig)
	f.mu.Unlock()
}
func (f *fleetRecorder) Resume(string) {}

// startFirmware runs the test site with a fleet seam; hall-a
// (acct.rig-00000-00009) is put to sleep through LuxOS, and one rig of
// the inventory (acct.rig-0000-inv, hall-a) never connects.
func startFirmware(t *testing.T) (*env, *fleetRecorder) {
	t.Helper()
	fl := &fleetRecorder{}
	s := apitest.Start(t, apitest.Options{Policy: testPolicy, Miners: fleetSize, Log: testLog(t),
		Tokens: []config.Token{{Name: "power-desk", Token: writeToken, Role: config.RoleWrite}},
		Switcher: func(c *switcher.Config) {
			c.Devices, c.PoolURLs = fl, []string{"stratum+tcp://10.0.0.2:3333"}
		},
	})
	e := &env{t: t, pool: s.Pool, srv: s.Proxy, sw: s.Switcher, fleet: s.Fleet, ts: s.API}
	// The policy parser fills Group.Device; here it is set in code.
	pol, err := switcher.ParsePolicy("policy.toml", []byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	g := pol.Group("hall-a")
	g.Actuator, g.Device = "luxos", &device.Options{User: "root", Password: device.NewSecret("hunter2")}
	e.sw.SetPolicy(pol, nil)
	e.steady()
	e.sw.SetInventory([]switcher.InventoryRig{{Name: "acct.rig-0000-inv", Address: "10.9.0.1"}})
	e.eventually("the listed rig counted (63 kW)", func() (bool, any) { kw := e.status().Power.MiningLoadKW; return kw == 63, kw })
	return e, fl
}

// The workers and status JSON as the contract names it: actuator and
// device on each rig (device absent for a plain Stratum rig), measured
// load and rigs in the power section, and the metrics.
func TestDeviceJSONShapes(t *testing.T) {
	e, fl := startFirmware(t)
	now := time.Now()
	e.sw.DeviceReading("acct.rig-00001", device.Reading{State: device.StateMining, PowerW: 2900, HasPower: true, HashrateTHs: 95.5, HasHashrate: true, At: now})
	e.sw.DeviceReading("acct.rig-0000-inv", device.Reading{State: device.StateMining, PowerW: 3100, HasPower: true, At: now})
	e.eventually("measured load in the status (6 kW from 2 rigs)", func() (bool, any) {
		p := e.status().Power
		return p.MiningLoadMeasuredKW == 6 && p.MeasuredRigs == 2, fmt.Sprintf("%v kW from %d rigs", p.MiningLoadMeasuredKW, p.MeasuredRigs)
	})
	p := e.status().Power
	// 10 hall-a rigs + the listed one, 10 default: 2.9 + 3.1 + 9×3 + 10×3.
	if p.MiningLoadKW != 63 || p.Devices["mining"] != 2 || p.Devices["unknown"] != 9 {
		t.Fatalf("power: load %v devices %v; want 63 kW (2 measured), 2 mining and 9 unknown devices", p.MiningLoadKW, p.Devices)
	}
	_, data := e.do("GET", "/api/v1/workers?limit=100", "", nil)
	var rows []map[string]json.RawMessage
	if err := json.Unmarshal(data, &rows); err != nil {
		t.Fatal(err)
	}
	by := map[string]map[string]json.RawMessage{}
	for _, r := range rows {
		var n string
		json.Unmarshal(r["name"], &n)
		by[n] = r
	}
	check := func(name, key, want string) {
		t.Helper()
		if got := string(by[name][key]); got != want {
			t.Errorf("%s %s: got %s, want %s", name, key, got, want)
		}
	}
	check("acct.rig-00001", "actuator", `"luxos"`)
	var dev map[string]any
	if err := json.Unmarshal(by["acct.rig-00001"]["device"], &dev); err != nil {
		t.Fatal(err)
	}
	if dev["state"] != "mining" || dev["power_w"] != 2900.0 || dev["hashrate_ths"] != 95.5 || dev["checked_at"] == nil {
		t.Errorf("acct.rig-00001 device %v, want mining, 2900 W, 95.5 TH/s, checked_at set", dev)
	}
	check("acct.rig-00002", "device", `{"state":"unknown","power_w":null,"hashrate_ths":null,"checked_at":null}`)
	check("acct.rig-00015", "actuator", `"stratum"`)
	if _, ok := by["acct.rig-00015"]["device"]; ok {
		t.Errorf("a Stratum rig without a monitor has a device: %s", by["acct.rig-00015"]["device"])
	}
	check("acct.rig-0000-inv", "state", `"offline"`)
	check("acct.rig-0000-inv", "counted_as", `"mining"`)
	check("acct.rig-0000-inv", "counted_kw", `3.1`)
	check("acct.rig-0000-inv", "listed", `true`)
	// The raw status carries the contract's keys.
	_, data = e.do("GET", "/api/v1/status", "", nil)
	for _, k := range []string{`"mining_load_measured_kw":6`, `"measured_rigs":2`} {
		if !strings.Contains(string(data), k) {
			t.Errorf("status has no %s: %s; want strings.Contains(string(data), k)", k, data)
		}
	}

	if page, ok := dashboardText(t, e.ts.URL); ok {
		wantOnPage(t, page, "measured by devices (2 rigs)")
	}

	// A curtail the device did not carry out: flagged, counted, metered.
	var plan api.PlanResponse
	// Budget 32 of 63: the ten default rigs, then hall-a's tail.
	e.want("PUT", "/api/v1/allocation", writeToken, map[string]any{"ai_kw": 68.0, "reason": "fw"}, 200, &plan)
	const fw = "acct.rig-00009"
	if !slices.Contains(plan.Curtail, fw) || len(plan.Curtail) != 11 {
		t.Fatalf("curtail %v, want the ten default rigs and %s", plan.Curtail, fw)
	}
	ev := device.Reading{State: device.StateMining, PowerW: 3000, HasPower: true, At: time.Now()}
	e.sw.DeviceOutcome(device.Outcome{Rig: fw, Action: device.ActionCurtail, Accepted: true, Evidence: &ev, Attempts: 2, At: time.Now()})
	ws, _ := e.workers("?limit=100")
	i := slices.IndexFunc(ws, func(w api.Worker) bool { return w.Name == fw })
	if i < 0 || !slices.Contains(ws[i].Flags, switcher.FlagCurtailFailed) || ws[i].CountedAs != "device_hashing" || ws[i].CountedKW != 3 {
		t.Fatalf("%s after an unverified curtail: %+v, want flagged curtail_failed, device_hashing at 3 kW", fw, ws[i])
	}
	_, data = e.do("GET", "/metrics", "", nil)
	for _, want := range []string{`hashgate_power_mining_load_measured_kw`, `hashgate_rigs_measured`, `hashgate_devices{state="mining"}`,
		`hashgate_device_commands_total{action="curtail",outcome="failed"} 1`, `hashgate_device_commands_total{action="resume",outcome="verified"} 0`,
		`hashgate_rigs_counted{as="device_hashing"}`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("metrics have no %q; want strings.Contains(string(data), want)", want)
		}
	}
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if fl.sets == 0 || len(fl.curtails) == 0 {
		t.Errorf("fleet: %d sets, curtails %v; want the managed set and the curtails", fl.sets, fl.curtails)
	}
}
