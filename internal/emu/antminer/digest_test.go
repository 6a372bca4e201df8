package antminer

import (
	"maps"
	"strings"
	"testing"
)

// The server's reader of digest parameters: quoted and token values,
// escapes, spacing, upper-case keys, and malformed input read up to the
// fault.
func TestParams(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[string]string
	}{
		{`username="root", realm="antMiner Configuration", nc=00000001, qop=auth`,
			map[string]string{"username": "root", "realm": "antMiner Configuration", "nc": "00000001", "qop": "auth"}},
		{`Username = "a\"b\\c",NONCE=  x y ,,  cnonce=`,
			map[string]string{"username": `a"b\c`, "nonce": "x y", "cnonce": ""}},
		{`uri="/cgi-bin/stats.cgi?x=1,2"`, map[string]string{"uri": "/cgi-bin/stats.cgi?x=1,2"}},
		{`k=, j="v"`, map[string]string{"k": "", "j": "v"}},
		{`a="unterminated`, map[string]string{"a": "unterminated"}},
		{`a=1, =2, b=3`, map[string]string{"a": "1"}},
		{`a=1, novalue`, map[string]string{"a": "1"}},
		{``, map[string]string{}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := params(tc.in); !maps.Equal(got, tc.want) {
				t.Errorf("params(%q): got %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	var b strings.Builder
	for i := range 40 {
		b.WriteString(", k")
		b.WriteByte(byte('A' + i))
		b.WriteString("=v")
	}
	if got := params(b.String()); len(got) != maxParams {
		t.Errorf("40 parameters: got %d read, want at most %d", len(got), maxParams)
	}
}

// Any header: no panic, at most maxParams keys; a value quoted with its
// backslashes and quotes escaped reads back as itself.
func FuzzParams(f *testing.F) {
	for _, s := range []string{`plain`, `a "quoted" one`, `back\slash`, `trailing\`, `, = "`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if got := params(v); len(got) > maxParams {
			t.Fatalf("params(%q): got %d keys, want at most %d", v, len(got), maxParams)
		}
		q := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v)
		got := params(`username="` + q + `", nc=00000001`)
		if got["username"] != v || got["nc"] != "00000001" {
			t.Fatalf("quoted %q: got username %q nc %q, want %q and 00000001", v, got["username"], got["nc"], v)
		}
	})
}
