package antminer

import (
	"context"
	"testing"

	"github.com/hashgate/hashgate/internal/emu"
	emuam "github.com/hashgate/hashgate/internal/emu/antminer"
	"github.com/hashgate/hashgate/switcher/device/devicetest"
)

// TestOneConnectionPerCall: a call's requests (the digest challenge's
// 401, get_miner_conf.cgi, then stats.cgi or set_miner_conf.cgi) share
// one connection, and none is left open once the call returns: a fleet
// of tens of thousands of rigs holds no socket between polls.
func TestOneConnectionPerCall(t *testing.T) {
	rg := startRig(t, emuam.Config{}, emu.Faults{})
	cc := &devicetest.ConnCounter{}
	d := New(Config{Dial: cc.Dial})
	devicetest.Read(t, d, rg.t) // 401, get_miner_conf, stats
	cc.WantClosed(t, "a first read (challenge, conf, stats)", 1)
	devicetest.Read(t, d, rg.t)
	cc.WantClosed(t, "a second read (conf, stats)", 2)
	if err := d.Curtail(context.Background(), rg.t); err != nil {
		t.Fatal(err)
	}
	cc.WantClosed(t, "a curtail (conf, set_miner_conf)", 3)
	if _, err := d.Pools(context.Background(), rg.t); err != nil {
		t.Fatal(err)
	}
	cc.WantClosed(t, "a pool read (conf)", 4)
}
