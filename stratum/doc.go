// Package stratum owns the Stratum V1 wire protocol as hashgate speaks it on
// both sides: line-delimited JSON-RPC framing with a maximum line length,
// the message shape (requests, responses, notifications), request ids of any
// JSON type, the typed error codes 20-25, and the parameter shapes of the
// mining.* methods.
//
// It holds no sockets and no state: the miner side lives in stratum/proxy,
// the pool side in stratum/upstream and share hashing in stratum/sharehash.
package stratum
