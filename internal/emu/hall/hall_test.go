package hall_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hashgate/hashgate/internal/emu/hall"
	"github.com/hashgate/hashgate/switcher/antminer"
	"github.com/hashgate/hashgate/switcher/braiins"
	"github.com/hashgate/hashgate/switcher/device"
	"github.com/hashgate/hashgate/switcher/luxos"
	"github.com/hashgate/hashgate/switcher/vnish"
	"github.com/hashgate/hashgate/switcher/whatsminer"
)

// Every rig of a mixed hall is reached by its firmware's driver with the
// hall's password, sleeps when curtailed, and the hall's meter falls by
// exactly the rigs curtailed.
func TestHallRigsAnswerTheirDrivers(t *testing.T) {
	defer goleak.VerifyNone(t)
	h, err := hall.Start(hall.Config{Rigs: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	drivers := map[string]device.Driver{}
	for _, d := range []device.Driver{antminer.New(antminer.Config{}), braiins.New(braiins.Config{}),
		luxos.New(luxos.Config{}), whatsminer.New(whatsminer.Config{}), vnish.New(vnish.Config{})} {
		drivers[d.Name()] = d
	}
	if got, want := h.PowerW(), 10*3250.0; got != want {
		t.Fatalf("hall power before = %v W, want %v", got, want)
	}
	opts := &device.Options{User: "root", Password: device.NewSecret("hall-pass"), Timeout: 5 * time.Second}
	ctx := context.Background()
	for _, r := range h.Rigs[:5] {
		tg := &device.Target{Rig: r.Name, Address: r.Addr, Options: opts}
		if err := drivers[r.Firmware].Curtail(ctx, tg); err != nil {
			t.Fatalf("%s (%s): curtail: %v", r.Name, r.Firmware, err)
		}
		rd, err := drivers[r.Firmware].Read(ctx, tg)
		if err != nil {
			t.Fatalf("%s (%s): read: %v", r.Name, r.Firmware, err)
		}
		if rd.Hashing(1, 100) {
			t.Errorf("%s (%s): after curtail the reading says hashing: %+v; want !rd.Hashing(1, 100)", r.Name, r.Firmware, rd)
		}
	}
	if got, want := h.PowerW(), 5*3250.0+5*60; got != want {
		t.Errorf("hall power after 5 curtails = %v W, want %v", got, want)
	}
	if got := h.Mining(); got != 5 {
		t.Errorf("mining rigs = %d, want 5", got)
	}
	rows, err := csv.NewReader(bytes.NewReader(h.InventoryCSV())).ReadAll()
	if err != nil || len(rows) != 11 || rows[0][0] != "name" || rows[0][1] != "address" || rows[1][1] != h.Rigs[0].Addr {
		t.Errorf("inventory: %d rows, err %v, first %v; want a name,address header and 10 rigs", len(rows), err, rows[:min(2, len(rows))])
	}
}
