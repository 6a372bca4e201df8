// Package antminer emulates the Bitmain stock web API on top of an
// emu.Device: HTTP digest authentication verified for real,
// get_miner_conf.cgi / set_miner_conf.cgi (miner-mode 1 sleeps, 0
// wakes; the miner process restarts after a write, emu.Faults.
// RestartDelay), stats.cgi and summary.cgi. It models the field quirk
// of firmware that answers success to a write carrying only
// "bitmain-work-mode" and ignores it. Not the product: a test world.
package antminer
