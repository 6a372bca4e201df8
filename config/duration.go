package config

import (
	"fmt"
	"time"
)

// Duration is a time.Duration written in the config file as a string such as
// "30s", "5m" or "1h30m".
type Duration struct {
	time.Duration
}

// UnmarshalText parses a duration string (time.ParseDuration syntax).
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := time.ParseDuration(string(text))
	if err != nil {
		return fmt.Errorf("invalid duration %q: expected a number with a unit, such as \"30s\", \"5m\" or \"1h30m\"", text)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration in the same form UnmarshalText reads.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(d.Duration.String()), nil
}
