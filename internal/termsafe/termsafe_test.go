package termsafe

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestString(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"acct.rig-00001", "acct.rig-00001"},
		{"hall a / rig 7", "hall a / rig 7"},
		{`back\slash`, `back\slash`},
		{"café.rig-é", "café.rig-é"},
		{"矿机.01 🚀", "矿机.01 🚀"},
		{"rig\x1b[2J\x1b]0;pwned\a", `rig\x1b[2J\x1b]0;pwned\a`},
		{"rig\nacct.fake  mining", `rig\nacct.fake  mining`},
		{"a\rb\tc\bd\fe\vf\x00g\x7f", `a\rb\tc\bd\fe\vf\x00g\x7f`},
		{"\x9b2J", `\x9b2J`},                       // a lone C1 byte: invalid UTF-8
		{"x\u009b2J", `x\u009b2J`},                 // CSI as a C1 rune
		{"evil\u202egnp.exe", `evil\u202egnp.exe`}, // bidi override
		{"bad\xff\xfe", `bad\xff\xfe`},
		{"cut\xe2\x82", `cut\xe2\x82`}, // a rune cut short
		{"nb\u00a0sp", `nb\u00a0sp`},
	} {
		t.Run(fmt.Sprintf("%q", c.in), func(t *testing.T) {
			got := String(c.in)
			if got != c.want {
				t.Errorf("String(%q) = %q, want %q", c.in, got, c.want)
			}
			if !Safe(got) {
				t.Errorf("String(%q) = %q still holds a control byte or invalid UTF-8, want neither", c.in, got)
			}
		})
	}
}

// Safe is what every test of a terminal output checks: no C0 control but
// newline (the output's own), no DEL, no C1, valid UTF-8.
func Safe(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if (r < 0x20 && r != '\n') || (r >= 0x7f && r < 0xa0) {
			return false
		}
	}
	return true
}

func TestStringPlainDoesNotCopy(t *testing.T) {
	for _, s := range []string{"acct.rig-00001", "café"} {
		t.Run(s, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, func() { _ = String(s) }); n != 0 {
				t.Errorf("String(%q): %v allocations, want 0", s, n)
			}
		})
	}
}

func FuzzString(f *testing.F) {
	for _, s := range []string{"acct.rig-1", "rig\x1b[31m", "a\nb", "\xff", "é\u202e", strings.Repeat("\x00", 9)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := String(s)
		if strings.ContainsAny(got, "\n\r\t\x1b\a") || !Safe(got) {
			t.Fatalf("String(%q) = %q, want no newline, CR, tab, ESC, BEL, other control byte or invalid UTF-8", s, got)
		}
		if len(got) > 6*len(s) {
			t.Fatalf("String(%q): %d bytes from %d, want at most %d (6 a byte)", s, len(got), len(s), 6*len(s))
		}
		if String(got) != got {
			t.Fatalf("String(%q) = %q, want %q unchanged (idempotent)", got, String(got), got)
		}
	})
}
