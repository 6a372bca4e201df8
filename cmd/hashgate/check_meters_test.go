package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// check prints each [[meters]] entry, a password in its URL hidden, and
// refuses a bad one with FILE:LINE:COL.
func TestCheckMeters(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "hashgate.toml")
	base := "[[pools]]\nurl = \"stratum+tcp://pool.example:3333\"\nuser = \"u\"\n\n"
	good := base + "[[meters]]\nname = \"ai-racks\"\nmeasures = \"ai\"\nsource = \"modbus\"\naddress = \"10.0.0.5:502\"\nregister = 100\ntype = \"uint32\"\nscale = 0.1\n\n" +
		"[[meters]]\nname = \"site\"\nmeasures = \"site\"\nsource = \"http\"\nurl = \"http://u:hunter2@meter/r\"\nfield = \"kw\"\n"
	if err := os.WriteFile(path, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := cmdCheck([]string{"-c", path}, &out, &errb); code != 0 {
		t.Fatalf("check: exit %d, want 0\n%s", code, errb.String())
	}
	for _, want := range []string{
		"  meter ai-racks (ai): modbus 10.0.0.5:502 unit 1 register 100 uint32 ×0.1, every 1s, stale after 10s\n",
		"  meter site (site): http GET http://REDACTED@meter/r field kw, every 1s, stale after 10s\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check's summary lacks %q; want strings.Contains(out.String(), want):\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "hunter2") {
		t.Errorf("check shows the meter URL's password; want !strings.Contains(out.String(), \"hunter2\"):\n%s", out.String())
	}
	bad := base + "[[meters]]\nname = \"m\"\nmeasures = \"ai\"\nsource = \"modbus\"\naddress = \"10.0.0.5:502\"\nregister = 100\ntype = \"uint32\"\nquery = \"up\"\n"
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errb.Reset()
	if code := cmdCheck([]string{"-c", path}, &out, &errb); code != 1 {
		t.Fatalf("check of a modbus meter with a query: exit %d, want 1", code)
	}
	if want := path + ":12:1: meters[0].query: not a key of a modbus meter"; !strings.Contains(errb.String(), want) {
		t.Errorf("check's errors lack %q; want strings.Contains(errb.String(), want):\n%s", want, errb.String())
	}
}
