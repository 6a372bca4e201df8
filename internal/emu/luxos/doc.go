// Package luxos emulates the LuxOS TCP API (port 4028) on top of an
// emu.Device: cgminer-style JSON commands, one a connection, answers
// NUL-terminated; the one-session-at-a-time rule (logon, logoff, a
// session that expires after a minute unless used), curtail sleep /
// wakeup, summary, power, config (CurtailMode), pools, addpool,
// removepool, and "a+b" multi-commands. Facts and their sources are in
// switcher/luxos's doc.go. A test world, not the product.
package luxos
