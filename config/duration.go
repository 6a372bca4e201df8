package config

import (
	"time"

	"github.com/hashgate/hashgate/config/tomlfile"
)

// Duration is a time.Duration written in the config file as a string such as
// "30s", "5m" or "1h30m".
type Duration struct {
	time.Duration
}

// UnmarshalText parses a duration string (tomlfile.ParseDuration).
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := tomlfile.ParseDuration(string(text))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration in the same form UnmarshalText reads.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(d.Duration.String()), nil
}
