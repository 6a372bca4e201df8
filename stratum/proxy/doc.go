// Package proxy owns the miner side of hashgate's Stratum V1 proxy and the
// plumbing between miners and pools: the listener and its admission rules
// (allow list, connection cap, the share of slots for connections still
// in their handshake), one small state machine per miner
// connection, the split of each pool session's extranonce space into
// per-miner prefixes, hashgate's own job ids, the fan-out of each job to
// every miner on a session (encoded once, written in connection order
// straight to idle sockets, queued to bounded per-miner queues for the
// rest), and the choice of pool: failover to the next healthy pool and
// failback to the primary.
//
// Reading: a miner's handshake runs on a goroutine of its own; once it is
// at work, a TCP miner on Linux is parked in an epoll read poller (one per
// core) that validates and answers its submits, and its goroutine ends
// (~4 KiB of stack saved per miner). Anything but a plain submit hands it
// back to a goroutine, which parks it again when it is quiet. A poller
// itself waits parked in the Go runtime's poller (its epoll set is
// pollable), and writes the answers of one wake-up together after its
// reads. While a job is being fanned out the pollers wait: a late answer
// costs nothing, a late job makes stale shares.
//
// It asks a Gate whether an authorized rig may get jobs; it never imports
// the switcher. A rig is its name from one address: a second connection
// from there (hashgate as primary and backup pool) is the rig's standby
// connection, told to the Gate once. Mass events are logged through a
// limiter that summarizes past a few lines per reason (internal/lograte). Pool connections themselves are stratum/upstream's.
package proxy
