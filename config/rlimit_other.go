//go:build !unix

package config

// openFileLimit is unknown on this platform.
func openFileLimit() (uint64, bool) { return 0, false }
