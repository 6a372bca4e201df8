// Package sitemeter is a test world, not the product: a site power meter
// served over Modbus TCP (the interface real site meters and PDUs speak),
// whose AI racks' draw follows a scripted profile (steps, ramps, spikes,
// repeating) and whose site figure adds the mining load the caller
// reports. `hashgate demo` reads it as its `ai` and `site` meters, and
// tests drive cap mode through it.
//
// Register map (holding and input registers alike, 0-based addresses,
// float32 in kW, big-endian words, high word first, as the contract's
// `type = "float32"` reads them):
//
//	100-101  AI racks' draw (the profile now)
//	102-103  site load: AI + mining
//	104-105  mining load (what the caller's Mining func says)
//
// Writes are refused (illegal function), as a read-only meter does.
package sitemeter
