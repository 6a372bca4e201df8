package whatsminer

import (
	"context"
	"reflect"
	"testing"

	"github.com/hashgate/hashgate/internal/emu"
	emuwm "github.com/hashgate/hashgate/internal/emu/whatsminer"
	"github.com/hashgate/hashgate/switcher/device"
	"github.com/hashgate/hashgate/switcher/device/devicetest"
)

// ReadLight is summary alone, one connection: power and hashrate, the
// state (in status) left unknown.
func TestReadLight(t *testing.T) {
	w := start(t, emu.Faults{}, emuwm.Config{})
	cc := &devicetest.ConnCounter{}
	w.drv = New(Config{Dial: cc.Dial})
	r, err := w.drv.ReadLight(devicetest.Context(t), w.tgt)
	want := device.Reading{PowerW: miningW, HasPower: true, HashrateTHs: hashTHs, HasHashrate: true}
	if err != nil || !reflect.DeepEqual(r, want) {
		t.Fatalf("light read: got %+v, %v; want %+v", r, err, want)
	}
	cc.WantClosed(t, "a light read", 1)
	if err := w.drv.Curtail(context.Background(), w.tgt); err != nil {
		t.Fatal(err)
	}
	if r, err = w.drv.ReadLight(devicetest.Context(t), w.tgt); err != nil || r.PowerW != sleepingW || r.HashrateTHs != 0 || r.State != device.StateUnknown {
		t.Fatalf("light read after curtail: got %+v, %v; want %v W, 0 TH/s, state unknown", r, err, sleepingW)
	}
}

// A summary refused while asleep (older btminer): the light read falls
// back to status, so the rig reads sleeping, not unreachable.
func TestReadLightSummaryRefused(t *testing.T) {
	w := start(t, emu.Faults{}, emuwm.Config{NoSummaryAsleep: true})
	if err := w.drv.Curtail(context.Background(), w.tgt); err != nil {
		t.Fatal(err)
	}
	r, err := w.drv.ReadLight(devicetest.Context(t), w.tgt)
	if err != nil || r.State != device.StateSleeping {
		t.Fatalf("got %+v, %v; want sleeping from status", r, err)
	}
}
