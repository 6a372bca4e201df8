package sharehash

import (
	"encoding/binary"

	"github.com/btcsuite/btcd/chainhash/v2"
)

// Double SHA-256 note: chainhash.DoubleHashH(b []byte) is two calls to
// sha256.Sum256 on stack values; it neither allocates nor lets b escape
// (TestDoubleHashHNoAlloc), so it is used directly everywhere below.

// Hasher computes share hashes. It holds the coinbase scratch buffer, which
// grows to the largest coinbase seen and is then reused, so after the first
// call Hash and Search do not allocate. The zero value is ready to use. A
// Hasher is not safe for concurrent use; give each goroutine its own.
type Hasher struct {
	coinbase []byte
}

// coinbaseHash returns dSHA256(coinb1 ‖ en1 ‖ en2 ‖ coinb2). en1 and en2 are
// only copied, never retained.
func (h *Hasher) coinbaseHash(job *Job, en1, en2 []byte) chainhash.Hash {
	if n := len(job.Coinb1) + len(en1) + len(en2) + len(job.Coinb2); cap(h.coinbase) < n {
		h.coinbase = make([]byte, 0, n+64) // one growth step, with slack for extranonce changes
	}
	cb := append(h.coinbase[:0], job.Coinb1...)
	cb = append(cb, en1...)
	cb = append(cb, en2...)
	cb = append(cb, job.Coinb2...)
	h.coinbase = cb
	return chainhash.DoubleHashH(cb)
}

// header writes the 80-byte header for the job and submission into dst.
func (h *Hasher) header(dst *[80]byte, job *Job, en1, en2 []byte, ntime, nonce, version uint32) {
	root := h.Root(job, en1, en2)
	serializeJobHeader(dst, job, &root, ntime, nonce, version)
}

// Root returns the merkle root of a share's block: its coinbase hash
// folded with job.Branches. Every share on one (job, extranonce1,
// extranonce2) has the same root, so a caller that sees many nonces per
// extranonce2 can keep it and use [HashWithRoot]; the root is ~90% of a
// share's hashing with a dozen branches.
func (h *Hasher) Root(job *Job, extranonce1, extranonce2 []byte) [32]byte {
	return MerkleRoot(h.coinbaseHash(job, extranonce1, extranonce2), job.Branches)
}

// HashWithRoot is [Hasher.Hash] from a root [Hasher.Root] returned for the
// same job and extranonces.
func HashWithRoot(job *Job, root *[32]byte, ntime, nonce, version uint32) chainhash.Hash {
	var hdr [80]byte
	serializeJobHeader(&hdr, job, root, ntime, nonce, version)
	return chainhash.DoubleHashH(hdr[:])
}

func serializeJobHeader(dst *[80]byte, job *Job, root *[32]byte, ntime, nonce, version uint32) {
	var prev [32]byte
	if job.prepared {
		prev = job.prevHeader
	} else {
		prev = StratumToHeaderPrevHash(&job.PrevHash)
	}
	SerializeHeader(dst, version, &prev, root, ntime, job.NBits, nonce)
}

// Hash returns the block-header hash of a share: the coinbase is
// job.Coinb1 ‖ extranonce1 ‖ extranonce2 ‖ job.Coinb2, its double SHA-256 is
// folded with job.Branches into the merkle root, and the header is built from
// version (already rolled, see [RollVersion]), the job's prevhash and nbits,
// and the submitted ntime and nonce. The result is little-endian as a number;
// String prints display order.
//
// Hash does not allocate once the Hasher's scratch buffer is large enough,
// and does not retain extranonce1 or extranonce2.
func (h *Hasher) Hash(job *Job, extranonce1, extranonce2 []byte, ntime, nonce, version uint32) chainhash.Hash {
	var hdr [80]byte
	h.header(&hdr, job, extranonce1, extranonce2, ntime, nonce, version)
	return chainhash.DoubleHashH(hdr[:])
}

// Search tries nonces startNonce, startNonce+1, … (wrapping at 2^32) for at
// most maxTries attempts and returns the first nonce whose hash meets target.
// The coinbase and merkle root are computed once; each try rewrites only the
// nonce. It is meant for simulated miners at tiny difficulties.
func (h *Hasher) Search(job *Job, extranonce1, extranonce2 []byte, ntime, version, startNonce, maxTries uint32, target Target) (nonce uint32, found bool) {
	var hdr [80]byte
	h.header(&hdr, job, extranonce1, extranonce2, ntime, startNonce, version)
	nonce = startNonce
	for i := uint32(0); i < maxTries; i++ {
		binary.LittleEndian.PutUint32(hdr[76:], nonce)
		hash := chainhash.DoubleHashH(hdr[:])
		if target.Met(&hash) {
			return nonce, true
		}
		nonce++
	}
	return 0, false
}

// MerkleRoot folds the merkle branches into the coinbase hash:
// root = dSHA256(root ‖ branch) for each branch in order. All values are raw
// double-SHA-256 bytes (header order).
func MerkleRoot(coinbaseHash [32]byte, branches [][32]byte) [32]byte {
	var buf [64]byte
	root := coinbaseHash
	for i := range branches {
		copy(buf[:32], root[:])
		copy(buf[32:], branches[i][:])
		root = chainhash.DoubleHashH(buf[:])
	}
	return root
}

// SerializeHeader writes the 80-byte Bitcoin block header: version,
// prevhash (header order), merkle root, ntime, nbits, nonce; integers
// little-endian. It matches wire.BlockHeader.Serialize.
func SerializeHeader(dst *[80]byte, version uint32, prevHeaderOrder, merkleRoot *[32]byte, ntime, nbits, nonce uint32) {
	binary.LittleEndian.PutUint32(dst[0:], version)
	copy(dst[4:36], prevHeaderOrder[:])
	copy(dst[36:68], merkleRoot[:])
	binary.LittleEndian.PutUint32(dst[68:], ntime)
	binary.LittleEndian.PutUint32(dst[72:], nbits)
	binary.LittleEndian.PutUint32(dst[76:], nonce)
}
