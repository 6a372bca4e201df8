package tomlfile

import (
	"errors"
	"testing"
	"time"
)

// TestDecoder walks a document of another shape than the config file, as
// the switcher's policy loader does.
func TestDecoder(t *testing.T) {
	root, d, err := ParseDocument("p.toml", []byte("a = 1.5\nwait = \"0s\"\nlate = \"-1s\"\n[[item]]\nname = 3\n[t]\nx = true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Err() != nil {
		t.Fatalf("fresh decoder: err %v, want nil", d.Err())
	}
	var f float64
	var w, l time.Duration
	var s string
	if !d.Float(root, "", "a", &f) || f != 1.5 {
		t.Errorf("Float(a) = %v, want 1.5 and set", f)
	}
	if !d.DurationOrZero(root, "", "wait", &w) || w != 0 {
		t.Errorf("DurationOrZero(0s) = %v, want 0 and set", w)
	}
	if late, missing := d.DurationOrZero(root, "", "late", &l), d.Float(root, "", "missing", &f); late || missing {
		t.Errorf("set: got late (-1s) %v, missing key %v; want both false", late, missing)
	}
	items := d.Tables("item", root["item"], "[[item]]")
	if len(items) != 1 || d.Str(items[0], Index("item", 0), "name", &s) {
		t.Errorf("items = %v, want one whose name (an integer) does not read as a string", items)
	}
	if tb, ok := d.Table(root, "", "t"); !ok {
		t.Errorf("Table(t): got none in %v, want the [t] table", root)
	} else {
		d.Unknown("t", tb, []string{"y"})
	}
	d.Errorf("item[0]", "custom %d", 7)
	var errs Errors
	if !errors.As(d.Err(), &errs) {
		t.Fatalf("Err() = %v (%T), want Errors", d.Err(), d.Err())
	}
	want := "p.toml:3:1: late: must not be negative, got \"-1s\"\n" +
		"p.toml:4:1: custom 7\n" +
		"p.toml:5:1: item[0].name: expected a string, got integer 3\n" +
		"p.toml:7:1: unknown key \"t.x\" (did you mean \"y\"?)"
	if errs.Error() != want {
		t.Errorf("errors:\n%v\nwant:\n%s", errs, want)
	}

	if _, _, err := ParseDocument("bad.toml", []byte("a = \n")); err == nil || err.Error() != `bad.toml:1:5: expected value but found '\n' instead` {
		t.Errorf("syntax error = %v, want bad.toml:1:5: expected value but found '\\n' instead", err)
	}
	if root, d, err := ParseDocument("empty.toml", nil); err != nil || root == nil || d.Err() != nil {
		t.Errorf("empty document: root %v, decoder %v, err %v; want a root and no errors", root, d, err)
	}
}
