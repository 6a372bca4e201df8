package antminer

import (
	"strings"
	"testing"
)

// The worked example of RFC 2617 section 3.5.
func TestDigestRFC2617Example(t *testing.T) {
	c, err := parseChallenge(`Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"`)
	if err != nil {
		t.Fatalf("parseChallenge: %v", err)
	}
	h := c.authorizationWith("0a4f113b", "GET", "/dir/index.html", "Mufasa", "Circle Of Life")
	p, err := parseParams(strings.TrimPrefix(h, "Digest "))
	if err != nil {
		t.Fatalf("parseParams(%q): %v", h, err)
	}
	want := map[string]string{
		"response": "6629fae49393a05397450978507c4ef1", "nc": "00000001", "qop": "auth",
		"cnonce": "0a4f113b", "opaque": "5ccc069c403ebaf9f0171e9517f40e41", "uri": "/dir/index.html",
		"username": "Mufasa", "realm": "testrealm@host.com",
	}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("%s: got %q, want %q (header %s)", k, p[k], v, h)
		}
	}
	c.authorizationWith("x", "GET", "/", "u", "p")
	if c.nc != 2 {
		t.Errorf("nonce count after two requests: got %d, want 2", c.nc)
	}
}

func TestParseChallenge(t *testing.T) {
	cases := []struct {
		in    string
		ok    bool
		qop   string
		alg   string
		stale bool
	}{
		{`Digest realm="antMiner Configuration", nonce="abc", qop="auth"`, true, "auth", "MD5", false},
		{`digest nonce=abc, algorithm=SHA-256, stale=TRUE`, true, "", "SHA-256", true},
		{`Digest realm="a,b", nonce="x\"y", qop="auth-int"`, false, "", "", false},
		{`Basic realm="x"`, false, "", "", false},
		{`Digest realm="x"`, false, "", "", false},
		{`Digest nonce="x", algorithm=SHA-512-256`, false, "", "", false},
		{`Digest nonce="x`, false, "", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			c, err := parseChallenge(tc.in)
			if (err == nil) != tc.ok {
				t.Errorf("parseChallenge(%q): got err %v, want ok=%v", tc.in, err, tc.ok)
				return
			}
			if tc.ok && (c.qop != tc.qop || c.algorithm != tc.alg || c.stale != tc.stale) {
				t.Errorf("parseChallenge(%q): got qop %q alg %q stale %v, want %q %q %v", tc.in, c.qop, c.algorithm, c.stale, tc.qop, tc.alg, tc.stale)
			}
		})
	}
	c, _ := parseChallenge(`Digest realm="a,b", nonce="x\"y"`)
	if c.realm != "a,b" || c.nonce != `x"y` {
		t.Errorf("quoted values: got realm %q nonce %q, want %q %q", c.realm, c.nonce, "a,b", `x"y`)
	}
}

func FuzzParseChallenge(f *testing.F) {
	f.Add(`Digest realm="antMiner Configuration", nonce="abc", qop="auth"`)
	f.Add(`Digest nonce="x\"y", opaque=o, algorithm=MD5-sess`)
	f.Add(`Digest ,,=`)
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseChallenge(s)
		if err != nil {
			return
		}
		h := c.authorization("GET", "/cgi-bin/stats.cgi", "root", "pw")
		if !strings.HasPrefix(h, "Digest ") {
			t.Fatalf("header %q; want strings.HasPrefix(h, \"Digest \")", h)
		}
		if _, err := parseParams(strings.TrimPrefix(h, "Digest ")); err != nil {
			t.Fatalf("our own header does not parse: %v (%q)", err, h)
		}
	})
}
