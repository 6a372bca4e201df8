package rigname

import (
	"fmt"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"acct.rig-1", true},
		{"é.矿机", true},
		{strings.Repeat("x", Max), true},
		{"", false},
		{strings.Repeat("x", Max+1), false},
		{"a-\xff", false},
		{"a-\x1b[31m", false},
		{"a\nb", false},
	} {
		t.Run(fmt.Sprintf("%.20q", c.name), func(t *testing.T) {
			if err := Check(c.name); (err == nil) != c.ok {
				t.Errorf("Check(%.20q): %v, want ok %v", c.name, err, c.ok)
			}
		})
	}
}
