package whatsminer

import (
	"context"
	"fmt"
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

// Rigs of one password share the firmware's salt, so their tokens share
// one key: one md5-crypt per new token (its sign), not two. The cache
// is bounded.
func TestKeyCacheShared(t *testing.T) {
	a := start(t, emu.Faults{}, emuwm.Config{})
	b := start(t, emu.Faults{}, emuwm.Config{})
	d := New(Config{})
	for _, w := range []*world{a, b} {
		if err := d.Curtail(context.Background(), w.tgt); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(d.keys.m); n != 1 {
		t.Fatalf("got %d cached keys for two rigs of one password and salt, want 1", n)
	}
	for i := range maxKeys + 5 {
		d.keys.get(fmt.Sprint("pw", i), emuwm.DefaultSalt)
	}
	if n := len(d.keys.m); n > maxKeys {
		t.Fatalf("got %d cached keys, want at most %d", n, maxKeys)
	}
}
