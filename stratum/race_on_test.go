//go:build race

package stratum

// raceEnabled: the race detector allocates on its own; allocation
// counts are taken without it.
const raceEnabled = true
