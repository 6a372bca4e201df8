package tomlfile

import (
	"fmt"
	"time"
)

// ParseDuration reads a duration as hashgate's files write it
// (time.ParseDuration syntax: "30s", "5m", "1h30m"), with an error that
// says what is expected.
func ParseDuration(s string) (time.Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: expected a number with a unit, such as \"30s\", \"5m\" or \"1h30m\"", s)
	}
	return v, nil
}
