// Package firmware is the one list of the firmware drivers hashgate
// ships: a new firmware package under switcher/ is registered here and
// nowhere else. The daemon, the demo and the load harness take their
// drivers from Drivers.
package firmware
