package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// check validates the rig inventory the config names, as run loads it
// (run refuses to start on a bad one without a last good copy): every
// error as FILE:LINE:COL, exit 1. A good one is counted in the summary.
func TestCheckInventory(t *testing.T) {
	dir := t.TempDir()
	conf := "[[pools]]\nurl = \"stratum+tcp://pool.example:3333\"\nuser = \"u\"\n\n[switcher]\npolicy = \"policy.toml\"\ninventory = \"rigs.csv\"\n"
	pol := "site_capacity_kw = 100.0\n\n[[group]]\nname = \"x\"\nworkers = [\"a-*\"]\nrig_kw = 3.0\nefficiency_j_th = 30.0\nactuator = \"stratum\"\n"
	write := func(name, data string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("hashgate.toml", conf)
	write("policy.toml", pol)
	write("rigs.csv", "name,address\na-1,10.0.0.1\na-1,10.0.0.2\n")
	var out, errb bytes.Buffer
	if code := cmdCheck([]string{"-c", filepath.Join(dir, "hashgate.toml")}, &out, &errb); code != 1 {
		t.Fatalf("check with a rig listed twice: exit %d, want 1\nstdout:\n%s", code, out.String())
	}
	inv := filepath.Join(dir, "rigs.csv")
	if want := inv + ":3:1:"; !strings.Contains(errb.String(), want) {
		t.Errorf("check's errors lack %q; want strings.Contains(errb.String(), want):\n%s", want, errb.String())
	}
	write("rigs.csv", "name,address\na-1,10.0.0.1\na-2,10.0.0.2\n")
	out.Reset()
	errb.Reset()
	if code := cmdCheck([]string{"-c", filepath.Join(dir, "hashgate.toml")}, &out, &errb); code != 0 {
		t.Fatalf("check with a good inventory: exit %d, want 0\n%s", code, errb.String())
	}
	if want := "inventory " + inv + ": OK: 2 rigs"; !strings.Contains(out.String(), want) {
		t.Errorf("check's summary lacks %q; want strings.Contains(out.String(), want):\n%s", want, out.String())
	}
}
