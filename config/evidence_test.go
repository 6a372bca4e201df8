package config_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/config"
)

// The evidence keys: decoded, resolved against the config's directory,
// bounded.
func TestEvidenceKeys(t *testing.T) {
	const pool = "[[pools]]\nname = \"p\"\nurl = \"stratum+tcp://pool.example:3333\"\nuser = \"acct\"\n"
	dir := t.TempDir()
	c, err := config.Parse(filepath.Join(dir, "hashgate.toml"), []byte("[switcher]\nevidence_dir = \"ev\"\nevidence_max_mb = 32\nevidence_interval = \"5s\"\n"+pool))
	if err != nil {
		t.Fatal(err)
	}
	e := c.Switcher.Evidence
	if e.DirPath != filepath.Join(dir, "ev") || e.MaxBytes() != 32<<20 || e.Interval.Duration != 5*time.Second {
		t.Errorf("evidence %+v; want dir %s, 32 MiB, 5s", e, filepath.Join(dir, "ev"))
	}
	for _, bad := range []struct{ text, want string }{
		{"evidence_dir = \"\"", "switcher.evidence_dir: must not be empty"},
		{"evidence_max_mb = 0", "switcher.evidence_max_mb: must be between 1 and"},
		{"evidence_interval = \"10ms\"", "switcher.evidence_interval: must be between 100ms and 1m0s"},
	} {
		t.Run(bad.text, func(t *testing.T) {
			_, err := config.Parse(filepath.Join(dir, "hashgate.toml"), []byte("[switcher]\n"+bad.text+"\n"+pool))
			if err == nil || !strings.Contains(err.Error(), bad.want) {
				t.Errorf("%s: err %v; want %q", bad.text, err, bad.want)
			}
		})
	}
}
