// Package switcher owns the power side of hashgate: the ops' policy (groups
// of rigs with their power draw, efficiency, priority and actuator), the
// planner that turns "AI takes N kW" into which rigs stop and which come
// back, the actuators that park and resume rigs, and the state and audit
// log that survive restarts.
//
// It sees rigs through small interfaces and knows nothing of sockets; the
// Stratum actuator adapter (wired by cmd) is the one bridge to the proxy.
package switcher
