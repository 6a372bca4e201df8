// Package modbus reads a site power meter (or a PDU, or any device that
// serves its power figure in a register) over Modbus TCP: a meter.Source
// on github.com/simonvetter/modbus v1.6.4's client.
//
// Protocol facts, as used here (Modbus Application Protocol v1.1b3 and
// Modbus Messaging on TCP/IP v1.0b, modbus.org; the library's client.go
// and tcp_transport.go):
//
//   - A read is function 0x03, Read Holding Registers, of 1 register
//     (uint16, int16) or 2 consecutive registers (uint32, int32,
//     float32) starting at `register`, a 0-based protocol address (the
//     "40001" of a vendor's register table is address 0; "40101" is 100).
//     The MBAP header carries `unit_id` (0..255; a gateway in front of
//     serial meters routes by it, a meter on TCP itself usually answers
//     1, 0 or 255).
//   - Each register is big-endian on the wire. A 32-bit value takes two
//     registers, high word first ("big-endian words", ABCD): the value
//     0x00012345 is registers 0x0001, 0x2345. int16 and int32 are two's
//     complement; float32 is IEEE 754 single precision. Meters that swap
//     words (CDAB) are not supported: read them through a gateway that
//     fixes the order, or ask for the option.
//   - kW = raw value × `scale` (a meter giving watts: 0.001; tenths of a
//     kW: 0.1). Scale may be negative, to turn an export-positive meter
//     around.
//   - An exception answer (function | 0x80 plus a code: 1 illegal
//     function, 2 illegal data address, 3 illegal data value, 4 device
//     failure, 6 busy, 0x0A/0x0B gateway) is a failed read that keeps the
//     connection; a timeout, a reset or a malformed frame closes it and
//     the next read connects again.
//
// The library dials with its own fixed 5 s connect timeout and bounds each
// request by Config.Timeout; Read honours its context on top of both (a
// read cut short leaves the library call to end in the background, and
// the next Read waits for it first), so one Source has at most one
// connection and one call in flight.
package modbus
