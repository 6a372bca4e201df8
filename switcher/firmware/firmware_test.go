package firmware

import (
	"slices"
	"testing"
)

// Every name has a driver that answers to it, and nothing else is
// registered: a policy naming a firmware always finds its driver.
func TestDriversMatchNames(t *testing.T) {
	d := Drivers()
	for _, n := range Names() {
		drv, ok := d[n]
		if !ok {
			t.Errorf("no driver for %q", n)
			continue
		}
		if drv.Name() != n {
			t.Errorf("driver under %q says its name is %q; want drv.Name() == n", n, drv.Name())
		}
	}
	if len(d) != len(Names()) {
		var keys []string
		for k := range d {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		t.Errorf("drivers %v, want exactly %v", keys, Names())
	}
}
