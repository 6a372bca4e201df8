// Package braiins emulates the Braiins OS public REST API (25.07+) of one
// miner on top of an emu.Device: login for a token sent raw in the
// Authorization header, pause and resume, miner details (status and
// detailed_status), miner stats (approximated power, real hashrate in
// GH/s) and pool groups. Wrong credentials get 401, a token it did not
// issue or that expired gets 401, the device's faults (Hang, Delay,
// Lying, NoWake, RestartDelay) apply. A test world, not the product.
package braiins
