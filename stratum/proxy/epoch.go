package proxy

import "time"

// epoch is when the package was loaded. Per-rig times that are kept as
// 8-byte integers (a time.Time is 24 bytes, and every rig has them; see
// TestPerRigStructsStayInTheirSizeClass) count nanoseconds from it, not
// from 1970: a difference of two time.Time values with monotonic readings
// stays monotonic, so a wall-clock step (NTP at boot, just as rigs
// reconnect) neither cuts every handshake at once nor keeps silent ones
// alive.
var epoch = time.Now()

// sinceEpoch is t as nanoseconds since epoch.
func sinceEpoch(t time.Time) int64 { return int64(t.Sub(epoch)) }

// atEpoch is the time ns nanoseconds after epoch (with epoch's monotonic
// reading).
func atEpoch(ns int64) time.Time { return epoch.Add(time.Duration(ns)) }
