// Package registers owns hashgate's Modbus TCP server: the site's figures
// (from switcher.Status) in registers for the site's RTU or SCADA. It is
// read-only and serves a snapshot: a refresher goroutine takes Status every
// `refresh` (default 1 s, at most 2 s) and a read never waits for the
// switcher. The server is github.com/simonvetter/modbus (v1.6.4, server
// side): `max_clients` concurrent connections (more are closed at once) and
// an idle timeout per connection are its options.
//
// # Register map (version 1)
//
// The same block is served in the holding registers (function 3) and the
// input registers (function 4), at the configured unit id (and 255, the
// Modbus TCP "no unit" value; other units get exception 0x0B, gateway
// target failed to respond). Addresses are 0-based as on the wire (tools
// that number registers from 1 show address 0 as 40001 / 30001). A float32
// or uint32 takes two registers, high word first, each word big-endian
// (ABCD order). A figure that is not known (no meter, no price) reads 0 and
// its bit in the flags register is clear.
//
// | Address | Registers | Type    | Unit      | Meaning |
// |--------:|----------:|---------|-----------|---------|
// | 0       | 2 | float32 | kW        | Mining load as reported and judged (`mining_load_kw`) |
// | 2       | 2 | float32 | kW        | Mining budget in force (`mining_budget_kw`) |
// | 4       | 2 | float32 | kW        | Site cap in force, 0 = no cap mode (`cap_kw`) |
// | 6       | 2 | float32 | kW        | Measured non-mining (AI) load (`ai_kw_measured`; flags bit 3) |
// | 8       | 2 | float32 | kW        | Measured site load (`site_load_kw`; flags bit 4) |
// | 10      | 2 | float32 | kW        | Site capacity (policy `site_capacity_kw`) |
// | 12      | 2 | float32 | USD/MWh   | Power price in force (`price_usd_per_mwh`; flags bit 5) |
// | 14      | 2 | float32 | kW        | AI allocation in force (`ai_kw`) |
// | 16      | 2 | float32 | kW        | Mining power the devices report (`mining_load_measured_kw`) |
// | 18      | 2 | float32 | kW        | Reserve (policy `reserve_kw`) |
// | 20      | 2 | uint32  | rigs      | Curtailed rigs (parked by the switcher) |
// | 22      | 2 | uint32  | rigs      | Connected rigs (miners connected to the proxy) |
// | 24      | 2 | uint32  | count     | Refresh counter: +1 on every refresh, wraps; a SCADA sees the figures are live |
// | 26      | 2 | uint32  | unix s    | When this snapshot was taken (UTC seconds since 1970) |
// | 28      | 1 | uint16  | 0/1       | Compliant: the mining load is within the budget |
// | 29      | 1 | uint16  | 0/1       | Fail-safe: the budget is the safe budget (an input is stale) |
// | 30      | 1 | uint16  | bits      | Flags: bit 0 compliant, 1 fail-safe, 2 emergency allocation, 3 AI load measured, 4 site load measured, 5 price known, 6 cap mode |
// | 31      | 1 | uint16  | -         | Register map version (1) |
//
// A read that reaches past address 31 gets exception 0x02 (illegal data
// address). Every write (functions 5, 6, 15, 16) gets exception 0x01
// (illegal function), as do reads of coils and discrete inputs.
package registers
