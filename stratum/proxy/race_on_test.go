//go:build race

package proxy_test

// raceEnabled: the race detector multiplies memory; memory figures are
// taken without it.
const raceEnabled = true
