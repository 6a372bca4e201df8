package bench

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/switcher/device"
	"github.com/hashgate/hashgate/switcher/firmware"
)

// A slice of the hall on another loopback address: rigs named and dealt
// as the hall deals them from Base, listening on Host, reached by their
// drivers with the hall's password, asleep once curtailed, and every
// goroutine gone after Close.
func TestFWRigsOnAHost(t *testing.T) {
	before := runtime.NumGoroutine()
	h, err := StartFWRigs(FWRigsConfig{Host: "127.0.0.11", Rigs: 10, Base: 7})
	if err != nil {
		t.Fatal(err)
	}
	wantNames := map[int]string{0: "emu.luxos-00007", 1: "emu.whatsminer-00008", 3: "emu.antminer-00010"}
	for i, want := range wantNames {
		if got := h.Rigs[i].Name; got != want {
			t.Errorf("rig %d: got name %q, want %q", i, got, want)
		}
	}
	drivers := firmware.Drivers()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, r := range h.Rigs[:5] {
		if !strings.HasPrefix(r.Addr, "127.0.0.11:") {
			t.Errorf("%s listens on %s, want 127.0.0.11", r.Name, r.Addr)
		}
		o := &device.Options{Timeout: 5 * time.Second}
		if r.Firmware != "luxos" {
			o.Password = device.NewSecret("hall-pass")
		}
		if r.Firmware == "antminer" || r.Firmware == "braiins" {
			o.User = "root"
		}
		if err := drivers[r.Firmware].Curtail(ctx, &device.Target{Rig: r.Name, Address: r.Addr, Options: o}); err != nil {
			t.Errorf("%s: curtail: %v", r.Name, err)
		}
	}
	if got := h.Mining(); got != 5 {
		t.Errorf("mining after 5 curtails: got %d, want 5", got)
	}
	if got, want := h.PowerW(), 5*3250.0+5*60; got != want {
		t.Errorf("draw after 5 curtails: got %v W, want %v", got, want)
	}
	if err := h.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	var now int
	if err := sim.Poll(5*time.Second, func() bool { now = runtime.NumGoroutine(); return now <= before }); err != nil {
		t.Errorf("goroutines: got %d after Close, want at most %d as before", now, before)
	}
}
