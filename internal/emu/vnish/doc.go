// Package vnish emulates the VNish web API on top of an emu.Device:
// POST /api/v1/unlock trades the password for a token, mining/stop and
// mining/start stop and start the miner (taking effect after emu.Faults.
// RestartDelay), GET /api/v1/summary reports state, hashrate, power and
// pools, POST /api/v1/settings rewrites the pools. Not the product: a
// test world.
package vnish
