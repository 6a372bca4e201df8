package config

import (
	"time"

	"github.com/hashgate/hashgate/switcher/evidence"
)

// Evidence is the [switcher] table's evidence keys: where and how much
// of the evidence behind the event reports is kept (switcher/evidence).
// Zero values are the switcher's defaults.
type Evidence struct {
	// Dir (evidence_dir): the directory of the sample log and the
	// per-decision rig lists; DirPath is it resolved against the config
	// file's directory. Empty: next to the audit log (its path without
	// the extension, plus ".evidence").
	Dir     string
	DirPath string
	// MaxMB (evidence_max_mb): both logs together, in MiB
	// (DefaultEvidenceMaxMB when 0).
	MaxMB int
	// Interval (evidence_interval): how often the site's figures are
	// sampled (DefaultEvidenceInterval when 0; at most once per switcher
	// tick).
	Interval Duration
}

// Defaults and bounds of the evidence keys; the defaults are the
// switcher's own.
const (
	DefaultEvidenceMaxMB    = evidence.DefaultMaxBytes >> 20
	MaxEvidenceMaxMB        = 1 << 20
	DefaultEvidenceInterval = evidence.DefaultInterval
	MinEvidenceInterval     = 100 * time.Millisecond
	MaxEvidenceInterval     = time.Minute
)

// MaxBytes is evidence_max_mb in bytes (0: the default).
func (e Evidence) MaxBytes() int64 { return int64(e.MaxMB) << 20 }

// evidence decodes the evidence keys of [switcher] (p) into e.
func (d *decoder) evidence(m map[string]any, p string, e *Evidence) {
	if d.Str(m, p, "evidence_dir", &e.Dir) {
		if e.Dir == "" {
			d.Errorf(p+".evidence_dir", "switcher.evidence_dir: must not be empty (leave it out for the default, next to the audit log)")
		}
		e.DirPath = d.Resolve(e.Dir)
	}
	if d.Integer(m, p, "evidence_max_mb", &e.MaxMB) {
		d.between(p+".evidence_max_mb", e.MaxMB, 1, MaxEvidenceMaxMB)
	}
	if d.Duration(m, p, "evidence_interval", &e.Interval.Duration) &&
		(e.Interval.Duration < MinEvidenceInterval || e.Interval.Duration > MaxEvidenceInterval) {
		d.Errorf(p+".evidence_interval", "switcher.evidence_interval: must be between %v and %v, got %q",
			MinEvidenceInterval, MaxEvidenceInterval, e.Interval.Duration.String())
	}
}
