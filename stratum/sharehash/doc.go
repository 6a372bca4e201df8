// Package sharehash owns Bitcoin Stratum V1 share hashing: turning a
// mining.notify job plus a miner's submission (extranonce1, extranonce2,
// ntime, nonce and an optionally rolled version) into the block-header hash,
// and comparing that hash against share and network targets.
//
// It is shared by the test pool, the simulated-miner fleet and the proxy's
// own share validation, so there is exactly one implementation of:
//
//   - decoding the hex fields of mining.notify ([JobFromHex], [ParseHex32]);
//   - converting the Stratum prevhash word order to header byte order
//     ([Job.Prepare], [Job.HeaderPrevHash]);
//   - coinbase assembly, merkle-root folding and the 80-byte header layout
//     ([Hasher.Hash], [MerkleRoot], [SerializeHeader]);
//   - BIP 310 version rolling ([RollVersion]);
//   - difficulty/target arithmetic ([TargetFromDifficulty], [NewTarget],
//     [NetworkTarget], [Target.Met], [DifficultyOf]);
//   - a brute-force nonce search for simulated miners ([Hasher.Search]).
//
// It does not parse JSON-RPC, track jobs or sessions, decide whether a share
// is stale or duplicate, or build blocks; callers do that.
//
// # Hot path
//
// Share validation is [Hasher.Hash] followed by [Target.Met]. Both are
// allocation-free once a [Hasher] has warmed up its coinbase scratch buffer,
// and neither lets its slice arguments escape, so callers may pass
// extranonce buffers that live on their stack (for the proxy, extranonce2 is
// prefix‖miner-extranonce2 concatenated into such a buffer). Targets are
// computed with math/big once per difficulty change ([NewTarget]) and
// compared as four 64-bit limbs per share.
//
// # Byte orders
//
// mining.notify sends prevhash as 8 groups of 4 bytes, each group
// byte-swapped relative to the header; merkle branches are raw double-SHA-256
// outputs (header order) and are used as-is. version, nbits and ntime are
// 8-hex-digit big-endian numbers and are written little-endian into the
// header. A [chainhash.Hash] is little-endian as a number (byte 31 is the most
// significant); its String method prints the usual reversed "display" order.
// A [Target] is stored big-endian, so its hex form reads like the familiar
// 0x00000000ffff0000… notation.
package sharehash
