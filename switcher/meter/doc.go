// Package meter is the contract between the switcher and the site's power
// meters: what a meter measures (the whole site, the AI racks' non-mining
// load, the mining halls, or a named feeder), how a reading is handed on,
// and how stale is too stale. The sources that read real meters live one
// per package below it (modbus, prometheus, httpjson); the Poller reads
// each configured meter on its own interval, spread and bounded, and hands
// every reading (good or failed) to one sink, the switcher's MeterReading.
//
// A reading is evidence, not a command: the switcher decides what a stale
// or failed meter means (the fail-safe budget of cap mode).
package meter
