// Package upstream owns one Stratum V1 connection from hashgate to a pool:
// the handshake (mining.configure for BIP310 version rolling, subscribe,
// extranonce.subscribe, authorize), following what the pool sends
// (set_difficulty, notify, set_extranonce, set_version_mask,
// client.reconnect), submitting shares and matching the pool's answers, and
// noticing a pool that has gone silent. Submits are written by one writer
// goroutine, many per write under load (it waits 1 ms between writes; a
// block candidate skips the wait and the queue), and what waits for a pool
// that stops reading is bounded.
//
// A Session knows nothing of miners: it reports to a Handler, and the proxy
// (stratum/proxy) decides what that means for the miners on it. It counts
// its submits, their verdicts and the pool's answer times into the
// Counters its Config gives (counters.go: one per pool, across sessions),
// with atomics and one clock reading per socket read of answers.
package upstream
