// Package proxy owns the miner side of hashgate's Stratum V1 proxy and the
// plumbing between miners and pools: the listener and its admission rules
// (allow list, connection cap), one small state machine per miner
// connection, the split of each pool session's extranonce space into
// per-miner prefixes, hashgate's own job ids, the fan-out of each job to
// every miner on a session (encoded once, queued to bounded per-miner
// queues), and the choice of pool: failover to the next healthy pool and
// failback to the primary.
//
// It asks a Gate whether an authorized rig may get jobs; it never imports
// the switcher. Pool connections themselves are stratum/upstream's.
package proxy
