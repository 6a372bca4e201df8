package sharehash

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
)

// Job is the part of a mining.notify that determines share hashes.
//
// Build it with [JobFromHex], or fill the fields and call [Job.Prepare].
// After Prepare a Job is read-only and may be shared by any number of
// goroutines (each with its own [Hasher]).
type Job struct {
	// PrevHash is the previous block hash exactly as sent in mining.notify
	// (Stratum word order: 8 groups of 4 bytes, each group byte-swapped
	// relative to the header).
	PrevHash [32]byte
	// Coinb1 and Coinb2 are the coinbase transaction halves; the coinbase
	// is Coinb1 ‖ extranonce1 ‖ extranonce2 ‖ Coinb2.
	Coinb1, Coinb2 []byte
	// Branches are the merkle branches in notify order, raw
	// double-SHA-256 bytes (header order), used as-is.
	Branches [][32]byte
	// Version, NBits and NTime are the numeric values of the notify's
	// 8-hex-digit big-endian fields.
	Version uint32
	NBits   uint32
	NTime   uint32

	prevHeader [32]byte // PrevHash in header byte order, set by Prepare
	prepared   bool
}

// Prepare precomputes the header-order prevhash. Call it once after filling
// or changing PrevHash; [JobFromHex] calls it for you. It must not run
// concurrently with readers of the Job.
func (j *Job) Prepare() {
	j.prevHeader = StratumToHeaderPrevHash(&j.PrevHash)
	j.prepared = true
}

// HeaderPrevHash returns PrevHash in header byte order (the bytes of
// wire.BlockHeader.PrevBlock). It uses the value precomputed by Prepare and
// falls back to converting on the fly for an unprepared Job.
func (j *Job) HeaderPrevHash() [32]byte {
	if j.prepared {
		return j.prevHeader
	}
	return StratumToHeaderPrevHash(&j.PrevHash)
}

// StratumToHeaderPrevHash converts a mining.notify prevhash to header byte
// order by reversing each 4-byte group. The conversion is its own inverse.
func StratumToHeaderPrevHash(p *[32]byte) [32]byte {
	var out [32]byte
	for i := 0; i < 32; i += 4 {
		binary.LittleEndian.PutUint32(out[i:], binary.BigEndian.Uint32(p[i:]))
	}
	return out
}

// JobFromHex decodes mining.notify params exactly as they appear on the
// wire: prevhash (64 hex digits, Stratum word order), coinb1, coinb2, the
// merkle branches (64 hex digits each) and version, nbits, ntime (8 hex
// digits each, big-endian). The returned Job is prepared.
func JobFromHex(prevhash, coinb1, coinb2 string, branches []string, version, nbits, ntime string) (*Job, error) {
	j := &Job{}
	if err := decodeHash(&j.PrevHash, prevhash); err != nil {
		return nil, fmt.Errorf("sharehash: prevhash: %w", err)
	}
	var err error
	if j.Coinb1, err = hex.DecodeString(coinb1); err != nil {
		return nil, fmt.Errorf("sharehash: coinb1: %w", err)
	}
	if j.Coinb2, err = hex.DecodeString(coinb2); err != nil {
		return nil, fmt.Errorf("sharehash: coinb2: %w", err)
	}
	j.Branches = make([][32]byte, len(branches))
	for i, b := range branches {
		if err := decodeHash(&j.Branches[i], b); err != nil {
			return nil, fmt.Errorf("sharehash: merkle branch %d: %w", i, err)
		}
	}
	if j.Version, err = ParseHex32(version); err != nil {
		return nil, fmt.Errorf("sharehash: version: %w", err)
	}
	if j.NBits, err = ParseHex32(nbits); err != nil {
		return nil, fmt.Errorf("sharehash: nbits: %w", err)
	}
	if j.NTime, err = ParseHex32(ntime); err != nil {
		return nil, fmt.Errorf("sharehash: ntime: %w", err)
	}
	j.Prepare()
	return j, nil
}

var (
	errHashLen  = errors.New("want 64 hex digits")
	errHex32Len = errors.New("want 8 hex digits")
	errHexDigit = errors.New("invalid hex digit")
)

func decodeHash(dst *[32]byte, s string) error {
	if len(s) != 64 {
		return errHashLen
	}
	_, err := hex.Decode(dst[:], []byte(s))
	return err
}

// ParseHex32 parses the 8-hex-digit big-endian form Stratum uses for
// version, nbits, ntime and nonce (e.g. "20000004"). Either letter case is
// accepted. It does not allocate on success.
func ParseHex32(s string) (uint32, error) {
	if len(s) != 8 {
		return 0, errHex32Len
	}
	var v uint32
	for i := 0; i < 8; i++ {
		c := s[i]
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, errHexDigit
		}
		v = v<<4 | uint32(d)
	}
	return v, nil
}

// RollVersion applies BIP 310 version rolling: the bits of rolled inside
// mask replace those of jobVersion; bits outside mask are kept from
// jobVersion. Callers must check separately that the miner changed no bits
// outside the negotiated mask.
func RollVersion(jobVersion, mask, rolled uint32) uint32 {
	return jobVersion&^mask | rolled&mask
}
