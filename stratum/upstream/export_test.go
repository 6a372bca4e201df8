package upstream

import "time"

// SetWritePace sets the writer's pause between writes for sessions dialed
// from now on, returning the old one. Not safe while sessions run.
func SetWritePace(d time.Duration) time.Duration {
	old := writePace
	writePace = d
	return old
}
