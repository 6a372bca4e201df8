package antminer

import (
	"context"
	"testing"

	"github.com/hashgate/hashgate/internal/emu"
	emuam "github.com/hashgate/hashgate/internal/emu/antminer"
	"github.com/hashgate/hashgate/switcher/device"
	"github.com/hashgate/hashgate/switcher/device/devicetest"
)

// ReadLight reads stats.cgi alone, on one connection: the running
// miner's mode, hashrate and power, no pool list.
func TestReadLight(t *testing.T) {
	rg := startRig(t, emuam.Config{ReportPower: true}, emu.Faults{})
	cc := &devicetest.ConnCounter{}
	d := New(Config{Dial: cc.Dial})
	devicetest.Read(t, d, rg.t) // the digest challenge, cached
	r, err := d.ReadLight(devicetest.Context(t), rg.t)
	if err != nil {
		t.Fatal(err)
	}
	if r.State != device.StateMining || r.HashrateTHs != 104 || r.PowerW != 3250 || r.Pools != nil {
		t.Fatalf("light read: got %+v, want mining, 104 TH/s, 3250 W, pools not read", r)
	}
	cc.WantClosed(t, "a read, then a light read", 2)
	if err := d.Curtail(context.Background(), rg.t); err != nil {
		t.Fatal(err)
	}
	if r, err = d.ReadLight(devicetest.Context(t), rg.t); err != nil || r.State != device.StateSleeping || r.HashrateTHs != 0 {
		t.Fatalf("light read after curtail: got %+v, %v; want sleeping, 0 TH/s", r, err)
	}
}
