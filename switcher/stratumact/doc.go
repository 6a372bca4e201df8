// Package stratumact is the one bridge between the power switcher and the
// Stratum proxy: it is the proxy's admission Gate (asking the switcher
// whether a rig may mine), the switcher's Actuator for groups with
// actuator = "stratum" (parking a rig closes its connection, which aborts
// the work it holds, and keeps it without work when it comes back;
// resuming gives it its difficulty and the current job at once), and the
// switcher's ShareSource (what the proxy's per-worker accounting says).
//
// Neither side imports the other; only this package (wired by cmd) sees
// both.
package stratumact
