// Package device is the contract between the switcher and the firmware
// actuators under switcher/: what a rig's management interface is asked to
// do (curtail, resume, read back), what a reading says, how a rig is
// reached and with which credentials, and the typed errors every driver
// returns. It holds no I/O of its own beyond small helpers every driver
// shares (addresses, secrets); each firmware is one package (antminer,
// braiins, luxos, whatsminer, vnish, webhook) implementing Driver, and the
// fleet package runs them at scale.
//
// A driver's word is not evidence: field firmware answers "ok" to a sleep
// command and keeps mining. Curtail and Resume only say the command was
// delivered and accepted; whether the rig stopped is judged by the
// Reading that follows (state, power, hashrate).
package device
