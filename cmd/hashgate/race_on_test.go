//go:build race

package main

// raceEnabled: the race detector slows every device call several times
// over; wall-clock bounds of the firmware tests are widened under it.
const raceEnabled = true
