// Package emu is the common core of hashgate's firmware emulators: a
// rig's power state as its hashboards and PSU see it (mining, asleep, a
// state change under way while the miner process restarts), the faults
// field firmware shows (answers "ok" and keeps mining, never wakes,
// hangs, answers slowly, refuses credentials), and a TCP server that owns
// its connections and stops them all on Close.
//
// Each firmware's emulator (internal/emu/antminer, braiins, luxos,
// whatsminer, vnish, webhook) speaks its own protocol on top of a Device
// and keeps only that protocol: what all of them share is here. A Rig
// embeds an Endpoint that StartTCP or StartHTTP sets (its Addr and
// Close); Default and DefaultNow fill its Config; WriteJSON and
// WriteChunks write its answers; RandomHex makes its nonces and tokens.
// They are test worlds, shared by tests, benchmarks and hashgate demo;
// not the product.
package emu
