package braiins

import (
	"testing"

	emubraiins "github.com/hashgate/hashgate/internal/emu/braiins"
	"github.com/hashgate/hashgate/switcher/device/devicetest"
)

// TestOneConnectionPerCall: a call's requests (the login, a read's
// details and stats) share one connection, and no connection is left
// open once the call returns: a fleet of 50,000 rigs holds no socket
// between polls.
func TestOneConnectionPerCall(t *testing.T) {
	w := newWorld(t, emubraiins.Config{})
	cc := &devicetest.ConnCounter{}
	d := New(Config{Dial: cc.Dial})
	if _, err := d.Read(devicetest.Context(t), w.tgt); err != nil { // login, details, stats
		t.Fatal(err)
	}
	cc.WantClosed(t, "a first read (login, details, stats)", 1)
	if _, err := d.Read(devicetest.Context(t), w.tgt); err != nil {
		t.Fatal(err)
	}
	cc.WantClosed(t, "a second read (details, stats)", 2)
	if err := d.Curtail(devicetest.Context(t), w.tgt); err != nil {
		t.Fatal(err)
	}
	cc.WantClosed(t, "a curtail", 3)
	w.tgt.Session = nil
	if err := d.Resume(devicetest.Context(t), w.tgt); err != nil { // login, resume
		t.Fatal(err)
	}
	cc.WantClosed(t, "a resume after a login", 4)
}
