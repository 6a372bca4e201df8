package termsafe

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// String returns s with every byte that is not printable text written as a
// Go escape: \n, \r, \t, \a, \b, \f, \v; \x1b and the other C0 controls,
// DEL and invalid UTF-8 as \xNN; C1 controls, Unicode format characters (the
// bidi overrides that reorder what follows) and other non-printable runes
// as \uNNNN. Printable UTF-8 (accents, CJK, emoji) and spaces are kept, so
// ordinary names print unchanged, and s itself is returned when nothing
// needs escaping (no allocation: names are mostly plain ASCII). A backslash
// is kept as is: escaping it would change names that hold one, and an
// escape cannot do harm at a terminal.
func String(s string) string {
	i := 0
	for i < len(s) && s[i] >= 0x20 && s[i] < 0x7f {
		i++
	}
	if i == len(s) {
		return s
	}
	if clean(s[i:]) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteString(`\x`)
			b.WriteByte(hex[s[i]>>4])
			b.WriteByte(hex[s[i]&0xf])
		case r == ' ' || strconv.IsPrint(r):
			b.WriteString(s[i : i+n])
		default:
			// QuoteRune gives 'x' with the escape inside: \n, \x1b, \u202e.
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += n
	}
	return b.String()
}

const hex = "0123456789abcdef"

// clean says whether s (past its plain ASCII prefix) holds only printable
// runes, so that String can return it without copying.
func clean(s string) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || (r != ' ' && !strconv.IsPrint(r)) {
			return false
		}
		i += n
	}
	return true
}
