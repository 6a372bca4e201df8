// Package hall starts a hall of emulated rigs of mixed firmware (antminer,
// braiins, luxos, whatsminer, vnish), each on its own 127.0.0.1 port, and
// says how hashgate reaches them: the inventory CSV, the policy groups
// and the password file. Tests, benchmarks and hashgate demo share it.
// Its summed device power is the hall's meter.
package hall
