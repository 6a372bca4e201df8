package wmcrypt

import (
	"bytes"
	"strings"
	"testing"
)

// Vectors made with `openssl passwd -1 -salt SALT PASSWORD`.
func TestMD5CryptVectors(t *testing.T) {
	cases := []struct{ pw, salt, want string }{
		{"admin", "BQ5hoXV9", "RxmaDUO33TS7O26yeMHZ81"},
		{"", "abc", "Or2rbeUYTvt12aiVzMuS/."},
		{"password with spaces and a long tail 0123456789abcdef0123456789abcdef0123456789abcdef0123456789", "12345678", "wFDGbRXrUm1g28rOc4a5.."},
		{"a", "x", "P8VObTrxaqT4VBmnH06P8."},
		{"admin", "BQ5hoXV9$rest", "RxmaDUO33TS7O26yeMHZ81"},
		{"admin", "BQ5hoXV9toolong", "RxmaDUO33TS7O26yeMHZ81"},
	}
	for _, c := range cases {
		t.Run(c.pw, func(t *testing.T) {
			if got := MD5Crypt(c.pw, c.salt); got != c.want {
				t.Errorf("MD5Crypt(%q, %q) = %q, want %q", c.pw, c.salt, got, c.want)
			}
		})
	}
}

func TestSealOpen(t *testing.T) {
	key := Key("admin", "BQ5hoXV9")
	for _, plain := range []string{`{"cmd":"power_off","respbefore":"true","token":"x"}`, "0123456789abcdef", "a"} {
		text := Seal(key, []byte(plain))
		if strings.ContainsAny(text, "\n") {
			t.Errorf("sealed text has a newline: %q; want !strings.ContainsAny(text, \"\\n\")", text)
		}
		got, err := Open(key, text)
		if err != nil || string(got) != plain {
			t.Errorf("Open(Seal(%q)) = %q, %v; want err == nil, string(got) == plain", plain, got, err)
		}
		if other, err := Open(Key("wrong", "BQ5hoXV9"), text); err == nil && bytes.Equal(other, []byte(plain)) {
			t.Errorf("a wrong key opened %q; want !(err == nil && bytes.Equal(other, []byte(plain)))", plain)
		}
	}
	for _, bad := range []string{"", "!!", "AAAA"} {
		if _, err := Open(key, bad); err == nil {
			t.Errorf("Open(%q): got nil error, want ErrCipher", bad)
		}
	}
}

func FuzzOpen(f *testing.F) {
	f.Add(Seal("k", []byte(`{"STATUS":"S"}`)))
	f.Add("AAAAAAAAAAAAAAAAAAAAAA==")
	f.Fuzz(func(t *testing.T, text string) {
		_, _ = Open("k", text)
	})
}
