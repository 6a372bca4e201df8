package braiins

import (
	"reflect"
	"testing"

	"github.com/hashgate/hashgate/switcher/device"
	"github.com/hashgate/hashgate/switcher/device/devicetest"

	emubraiins "github.com/hashgate/hashgate/internal/emu/braiins"
)

// ReadLight reads the stats alone: power and hashrate, the state left
// unknown (it is in the details), no pool list.
func TestReadLight(t *testing.T) {
	w := newWorld(t, emubraiins.Config{})
	d := New(Config{})
	r, err := d.ReadLight(devicetest.Context(t), w.tgt)
	want := device.Reading{PowerW: 3250, HasPower: true, HashrateTHs: 110, HasHashrate: true}
	if err != nil || !reflect.DeepEqual(r, want) {
		t.Fatalf("light read: got %+v, %v; want %+v", r, err, want)
	}
	if err := d.Curtail(devicetest.Context(t), w.tgt); err != nil {
		t.Fatal(err)
	}
	r, err = d.ReadLight(devicetest.Context(t), w.tgt)
	want = device.Reading{PowerW: 40, HasPower: true, HashrateTHs: 0, HasHashrate: true}
	if err != nil || !reflect.DeepEqual(r, want) {
		t.Fatalf("light read after curtail: got %+v, %v; want %+v", r, err, want)
	}
}
