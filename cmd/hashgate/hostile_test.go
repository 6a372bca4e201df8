package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rawControl is the first control byte but newline, DEL, C1 control or
// invalid UTF-8 in s, as a rune, or -1.
func rawControl(s string) rune {
	for i, r := range s {
		if r == '\uFFFD' && !strings.HasPrefix(s[i:], "\uFFFD") {
			return r // invalid UTF-8
		}
		if (r < 0x20 && r != '\n') || (r >= 0x7f && r < 0xa0) {
			return r
		}
	}
	return -1
}

// hashgate check never prints a secret: not the credentials of a pool URL
// (which it refuses), not a password or token of the wrong type, not the
// line of an unquoted password or token (a TOML syntax error), and not
// escape sequences written in the file.
func TestCheckNeverEchoesSecrets(t *testing.T) {
	const secret = "hunter2sekrit"
	pool := "[[pools]]\nurl = \"stratum+tcp://pool.example:3333\"\nuser = \"acct.proxy\"\n"
	for _, c := range []struct {
		name, conf string
		want       []string // in the errors
	}{
		{"credentials in the pool URL", "[[pools]]\nurl = \"stratum+tcp://acct:" + secret + "@pool.example:3333\"\nuser = \"acct.proxy\"\n",
			[]string{`pools[0].url "stratum+tcp://REDACTED@pool.example:3333": credentials in the URL are not used`}},
		{"a token alone as userinfo", "[[pools]]\nurl = \"stratum+tcp://" + secret + "@pool.example:3333/x\"\nuser = \"acct.proxy\"\n",
			[]string{`"stratum+tcp://REDACTED@pool.example:3333/x"`}},
		{"an unquoted password", pool + "password = " + secret + "\n",
			[]string{":4:12: syntax error in the value of password (not shown: it is a secret)", `password = "..."`}},
		{"an unquoted password of digits then letters", pool + "password = 12" + secret + "\n",
			[]string{":4:", "syntax error in the value of password"}},
		{"a password left open", pool + "password = \"" + secret + "\n",
			[]string{":4:", "syntax error in the value of password"}},
		{"a password that is a number", pool + "password = 20250601\n",
			[]string{"pools[0].password: expected a string, got integer (the value is not shown: it is a secret)"}},
		{"an unquoted token in an inline table", pool + "[api]\ntokens = [{name = \"desk\", token = " + secret + ", role = \"write\"}]\n",
			[]string{":5:", "syntax error in the value of token"}},
		{"a token that is a float", pool + "[api]\ntoken = 1.5e3\n",
			[]string{"api.token: expected a string, got float (the value is not shown: it is a secret)"}},
		{"escape sequences in the file", "[[pools]]\nname = \"p\\u001b]0;pwned\\u0007\"\nurl = \"stratum+tcp://pool.example:3333\x1b[2J\"\nuser = \"acct.proxy\"\n",
			[]string{"TOML files cannot contain control characters"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "hashgate.toml")
			if err := os.WriteFile(path, []byte(c.conf), 0o600); err != nil {
				t.Fatal(err)
			}
			var out, errb bytes.Buffer
			if code := cmdCheck([]string{"-c", path}, &out, &errb); code != 1 {
				t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
			}
			// The temp dir's random name is not the check's to judge (it
			// once held "1500", failing a run).
			all := strings.ReplaceAll(out.String()+errb.String(), filepath.Dir(path), "DIR")
			for _, w := range c.want {
				if !strings.Contains(errb.String(), w) {
					t.Errorf("errors lack %q; want strings.Contains(errb.String(), w):\n%s", w, errb.String())
				}
			}
			if strings.Contains(all, secret) || strings.Contains(all, "20250601") || strings.Contains(all, "1500") {
				t.Errorf("check printed the secret; want !strings.Contains(all, secret), !strings.Contains(all, \"20250601\"), !strings.Contains(all, \"1500\"):\n%s", all)
			}
			if r := rawControl(all); r >= 0 {
				t.Errorf("check printed a raw %U; want r < 0:\n%q", r, all)
			}
		})
	}
}

// hashgate check's OK report quotes the file (pool names, users, paths):
// control characters there are escaped too.
func TestCheckReportIsEscaped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hashgate.toml")
	conf := "[[pools]]\nname = \"p\\u001b]0;pwned\\u0007\\nFAKE\"\nurl = \"stratum+tcp://pool.example:3333\"\nuser = \"acct\\u001b[2J.proxy\"\n"
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := cmdCheck([]string{"-c", path}, &out, &errb); code != 0 {
		t.Fatalf("exit %d, want 0\n%s", code, errb.String())
	}
	if want := `pool 1 (primary): p\x1b]0;pwned\a\nFAKE stratum+tcp://pool.example:3333 as acct\x1b[2J.proxy`; !strings.Contains(out.String(), want) {
		t.Errorf("report lacks %q; want strings.Contains(out.String(), want):\n%s", want, out.String())
	}
	if r := rawControl(out.String() + errb.String()); r >= 0 {
		t.Errorf("check printed a raw %U; want r < 0:\n%q", r, out.String())
	}
}

// The console log format prints the message unquoted: a message that
// quotes a worker name or a pool's text is escaped (field values are
// quoted by zerolog itself).
func TestConsoleLogEscapesTheMessage(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	log, err := newLogger("console", "info", f)
	if err != nil {
		t.Fatal(err)
	}
	log.Warn().Str("worker", "acct\x1b[2J\n.rig").Msg("worker acct\x1b]0;pwned\a\n.rig\xff refused")
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	got := string(data)
	// zerolog's JSON has made the invalid byte U+FFFD already.
	for _, want := range []string{"worker acct\\x1b]0;pwned\\a\\n.rig\uFFFD refused", `worker="acct\x1b[2J\n.rig"`} {
		if !strings.Contains(got, want) {
			t.Errorf("console log lacks %q; want strings.Contains(got, want):\n%s", want, got)
		}
	}
	if r := rawControl(got); r >= 0 || strings.Count(got, "\n") != 1 {
		t.Errorf("console log printed a raw %U, or more than one line; want r < 0, strings.Count(got, \"\\n\") == 1:\n%q", r, got)
	}
}
