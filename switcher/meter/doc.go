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
//
// How the Poller reads (the config's [[meters]] keys in brackets):
//
//   - Each meter is read every [interval] (default 1 s) by a goroutine of
//     its own. Meter i of n is first read i/n of its interval after Start,
//     so meters of one interval are spread over it, never read all at
//     once; a read never outlasts its interval, so no tick is skipped.
//   - Each read has a deadline of 3/4 of the interval, at most 10 s
//     (ReadTimeout); a meter that has not answered by then gives a failed
//     reading "no answer within 750ms". At most PollerConfig.Workers
//     (default 8) reads are in flight at once.
//   - Every reading reaches the sink, one call at a time: a good one with
//     KW, a failed one with KW 0 and Err saying why (the source's words:
//     connection refused, an exception answer, HTTP 503, no series...;
//     never a password). A value that is NaN or ±Inf is a failed read.
//     At is when the read ended, by the Poller's clock.
//   - Staleness is the switcher's to judge from [stale_after] (default
//     10 s, always longer than the interval): the Poller keeps reading a
//     failing meter at its interval and says so in the log once when it
//     starts failing and once when it recovers (with how long and how
//     many reads failed), never per failed read.
//   - Close cancels reads in flight, closes the sources (their
//     connections) and returns once every goroutine has stopped; the sink
//     is not called after it.
//
// The sources (each package's doc has its protocol facts): modbus (a
// holding register over Modbus TCP: uint16, int16, uint32, int32 or
// float32, 32-bit values high word first, raw × [scale] = kW), prometheus
// (a PromQL instant query that must give a scalar or exactly one series),
// httpjson (a number at a dotted path in a JSON document over HTTP).
package meter
