package sharehash

import (
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/big"

	"github.com/btcsuite/btcd/chainhash/v2"
)

var (
	// diff1 is the difficulty-1 target, 0xFFFF·2^208
	// (0x00000000FFFF0000…0000), as used by Stratum pools.
	diff1 = new(big.Int).Lsh(big.NewInt(0xFFFF), 208)
	// maxTarget is 2^256-1, the largest representable target.
	maxTarget = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))
)

// TargetFromDifficulty returns floor(diff1 / diff), computed exactly from the
// float64 value of diff, clamped to [0, 2^256-1]. Difficulties small enough
// that the target would exceed 2^256-1 (below about 2.33e-10) yield
// 2^256-1, which every hash meets. diff <= 0 is treated as that limit too;
// +Inf yields 0. NaN yields 0 (fail closed: only the all-zero hash meets it).
func TargetFromDifficulty(diff float64) *big.Int {
	switch {
	case math.IsNaN(diff), math.IsInf(diff, 1):
		return new(big.Int)
	case diff <= 0:
		return new(big.Int).Set(maxTarget)
	}
	d := new(big.Rat).SetFloat64(diff) // exact for finite diff
	// diff1 / (num/den) = diff1·den / num, floored.
	t := new(big.Int).Mul(diff1, d.Denom())
	t.Quo(t, d.Num())
	if t.Cmp(maxTarget) > 0 {
		t.Set(maxTarget)
	}
	return t
}

// Target is a 256-bit share or block target in big-endian byte order. A hash
// meets it when hash <= target as 256-bit numbers. Compute it once per
// difficulty change with [NewTarget] or [NetworkTarget]; [Target.Met] is then
// allocation-free.
type Target [32]byte

// TargetFromBig converts t to a Target, clamping negative values to 0 and
// values above 2^256-1 to 2^256-1.
func TargetFromBig(t *big.Int) Target {
	var out Target
	switch {
	case t.Sign() <= 0:
	case t.BitLen() > 256:
		for i := range out {
			out[i] = 0xff
		}
	default:
		t.FillBytes(out[:])
	}
	return out
}

// NewTarget returns the share target for a pool difficulty; see
// [TargetFromDifficulty].
func NewTarget(diff float64) Target {
	return TargetFromBig(TargetFromDifficulty(diff))
}

// NetworkTarget returns the block target encoded by a header's compact nbits
// (Bitcoin's "compact" form: a byte of exponent, a sign bit, 23 bits of
// mantissa). A negative encoding yields 0 and an overflowing one is clamped
// to 2^256-1. btcd's blockchain.CompactToBig decodes the same; it is this
// function's test oracle, not a dependency: the package pulled 27 others
// and 9 modules into the daemon for these few lines.
func NetworkTarget(nbits uint32) Target {
	return TargetFromBig(compactToBig(nbits))
}

// compactToBig decodes a compact target: mantissa × 256^(exponent−3).
func compactToBig(compact uint32) *big.Int {
	mantissa := compact & 0x007fffff
	negative := compact&0x00800000 != 0
	exponent := uint(compact >> 24)
	var bn *big.Int
	if exponent <= 3 {
		bn = big.NewInt(int64(mantissa >> (8 * (3 - exponent))))
	} else {
		bn = big.NewInt(int64(mantissa))
		bn.Lsh(bn, 8*(exponent-3))
	}
	if negative {
		bn.Neg(bn)
	}
	return bn
}

// Met reports whether hash <= t. hash is a chainhash.Hash, i.e. little-endian
// as a number (byte 31 most significant). It does not allocate.
func (t Target) Met(hash *chainhash.Hash) bool {
	for i := 0; i < 4; i++ {
		tw := binary.BigEndian.Uint64(t[8*i:])
		hw := binary.LittleEndian.Uint64(hash[24-8*i:])
		if hw != tw {
			return hw < tw
		}
	}
	return true
}

// Big returns t as a big.Int.
func (t Target) Big() *big.Int { return new(big.Int).SetBytes(t[:]) }

// String returns t as 64 big-endian hex digits.
func (t Target) String() string { return hex.EncodeToString(t[:]) }

// DifficultyOf returns the share difficulty a hash achieves, diff1 / hash
// (+Inf for the all-zero hash). It allocates and is meant for logs and tests.
func DifficultyOf(hash *chainhash.Hash) float64 {
	var be [32]byte
	for i := range be {
		be[i] = hash[31-i]
	}
	h := new(big.Int).SetBytes(be[:])
	if h.Sign() == 0 {
		return math.Inf(1)
	}
	q := new(big.Float).SetPrec(256).SetInt(diff1)
	q.Quo(q, new(big.Float).SetPrec(256).SetInt(h))
	f, _ := q.Float64()
	return f
}
