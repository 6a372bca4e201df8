package tomlfile

import "testing"

func TestRedactURL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"stratum+tcp://pool.example:3333", "stratum+tcp://pool.example:3333"},
		{"stratum+tcp://acct:hunter2@pool.example:3333", "stratum+tcp://REDACTED@pool.example:3333"},
		{"stratum+tcp://hunter2@pool.example:3333/", "stratum+tcp://REDACTED@pool.example:3333/"},
		{"stratum+tcp://a:b@c@pool.example:3333", "stratum+tcp://REDACTED@pool.example:3333"},
		{"stratum+tcp://pool.example:3333/path@x", "stratum+tcp://pool.example:3333/path@x"},
		{`pools[0].url "stratum+tcp://u:p@h:1": credentials`, `pools[0].url "stratum+tcp://REDACTED@h:1": credentials`},
		{"dial a://u:p@h:1 and b://v:q@k:2 failed", "dial a://REDACTED@h:1 and b://REDACTED@k:2 failed"},
		{"mail me@example.com from http://h/", "mail me@example.com from http://h/"},
		{"://@", "://REDACTED@"},
	} {
		t.Run(c.in, func(t *testing.T) {
			if got := RedactURL(c.in); got != c.want {
				t.Errorf("RedactURL(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestRedactSyntaxError(t *testing.T) {
	for _, c := range []struct{ line, want string }{
		{"password = hunter2", "syntax error in the value of password"},
		{`  "password"=hunter2`, "syntax error in the value of password"},
		{"pools.password = x y", "syntax error in the value of password"},
		{`tokens = [{name = "a", token = abc}]`, "syntax error in the value of token"},
		{"secret = k3y", "syntax error in the value of secret"},
		{"token_file = x", "the decoder's message"},
		{"secret_file = x", "the decoder's message"},
		{"user = acct", "the decoder's message"},
	} {
		t.Run(c.line, func(t *testing.T) {
			if got := redactSyntaxError(c.line, "the decoder's message"); len(got) < len(c.want) || got[:len(c.want)] != c.want {
				t.Errorf("line %q: message %q, want it to start %q", c.line, got, c.want)
			}
		})
	}
}
