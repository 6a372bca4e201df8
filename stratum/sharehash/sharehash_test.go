package sharehash

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

// Slush pool job for block height 791433 with a real share submission.
var slush = struct {
	prevhash, coinb1, coinb2 string
	branches                 []string
	version, nbits, ntime    string
	en1, en2, nonce          string
	merkleRoot               string // header byte order
	hash                     string // display order
	prevDisplay              string // prevhash as a block hash (display order)
}{
	prevhash: "0c859545a3498373a57452fac22eb7113df2a465000543520000000000000000",
	coinb1:   "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4b0389130cfabe6d6d5cbab26a2599e92916edec5657a94a0708ddb970f5c45b5d12905085617eff8e",
	coinb2:   "31650707758de07b010000000000001cfd7038212f736c7573682f000000000379ad0c2a000000001976a9147c154ed1dc59609e3d26abb2df2ea3d587cd8c4188ac00000000000000002c6a4c2952534b424c4f434b3ae725d3994b811572c1f345deb98b56b465ef8e153ecbbd27fa37bf1b005161380000000000000000266a24aa21a9ed63b06a7946b190a3fda1d76165b25c9b883bcc6621b040773050ee2a1bb18f1800000000",
	branches: []string{
		"2b77d9e413e8121cd7a17ff46029591051d0922bd90b2b2a38811af1cb57a2b2",
		"5c8874cef00f3a233939516950e160949ef327891c9090467cead995441d22c5",
		"2d91ff8e19ac5fa69a40081f26c5852d366d608b04d2efe0d5b65d111d0d8074",
		"0ae96f609ad2264112a0b2dfb65624bedbcea3b036a59c0173394bba3a74e887",
		"e62172e63973d69574a82828aeb5711fc5ff97946db10fc7ec32830b24df7bde",
		"adb49456453aab49549a9eb46bb26787fb538e0a5f656992275194c04651ec97",
		"a7bc56d04d2672a8683892d6c8d376c73d250a4871fdf6f57019bcc737d6d2c2",
		"d94eceb8182b4f418cd071e93ec2a8993a0898d4c93bc33d9302f60dbbd0ed10",
		"5ad7788b8c66f8f50d332b88a80077ce10e54281ca472b4ed9bbbbcb6cf99083",
		"9f9d784b33df1b3ed3edb4211afc0dc1909af9758c6f8267e469f5148ed04809",
		"48fd17affa76b23e6fb2257df30374da839d6cb264656a82e34b350722b05123",
		"c4f5ab01913fc186d550c1a28f3f3e9ffaca2016b961a6a751f8cca0089df924",
		"cff737e1d00176dd6bbfa73071adbb370f227cfb5fba186562e4060fcec877e1",
	},
	version:     "20000004",
	nbits:       "1705ae3a",
	ntime:       "647025b5",
	en1:         "01000000",
	en2:         "00000000",
	nonce:       "0a029ed1",
	merkleRoot:  "5bdc1968499c3393873edf8e07a1c3a50a97fc3a9d1a376bbf77087dd63778eb",
	hash:        "00000000005fe144efbc66241c0094b8fdc2702b7729226fdfed70ca8094c0b5",
	prevDisplay: "0000000000000000000543523df2a465c22eb711a57452faa34983730c859545",
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustHex32(t testing.TB, s string) uint32 {
	t.Helper()
	v, err := ParseHex32(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func slushJob(t testing.TB) *Job {
	t.Helper()
	j, err := JobFromHex(slush.prevhash, slush.coinb1, slush.coinb2, slush.branches, slush.version, slush.nbits, slush.ntime)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// refMerkleRoot folds branches with chainhash.DoubleHashB and append, a
// path independent of MerkleRoot/Hasher.
func refMerkleRoot(t testing.TB, job *Job, en1, en2 []byte) chainhash.Hash {
	t.Helper()
	var cb []byte
	cb = append(cb, job.Coinb1...)
	cb = append(cb, en1...)
	cb = append(cb, en2...)
	cb = append(cb, job.Coinb2...)
	root := chainhash.DoubleHashB(cb)
	for _, br := range job.Branches {
		root = chainhash.DoubleHashB(append(append([]byte{}, root...), br[:]...))
	}
	h, err := chainhash.NewHash(root)
	if err != nil {
		t.Fatal(err)
	}
	return *h
}

// wireHeader builds a btcd header for the Slush job from independently
// derived fields (prevhash parsed from its display-order block hash).
func wireHeader(t testing.TB, job *Job, en1, en2 []byte, ntime, nonce, version uint32) *wire.BlockHeader {
	t.Helper()
	prev, err := chainhash.NewHashFromStr(slush.prevDisplay)
	if err != nil {
		t.Fatal(err)
	}
	root := refMerkleRoot(t, job, en1, en2)
	return &wire.BlockHeader{
		Version:    int32(version),
		PrevBlock:  *prev,
		MerkleRoot: root,
		Timestamp:  time.Unix(int64(ntime), 0),
		Bits:       job.NBits,
		Nonce:      nonce,
	}
}

func TestJobFromHex(t *testing.T) {
	j := slushJob(t)
	if j.Version != 0x20000004 || j.NBits != 0x1705ae3a || j.NTime != 0x647025b5 {
		t.Fatalf("version, nbits, ntime = %08x %08x %08x, want 20000004 1705ae3a 647025b5", j.Version, j.NBits, j.NTime)
	}
	if len(j.Branches) != 13 || hex.EncodeToString(j.Branches[12][:]) != slush.branches[12] {
		var last string
		if len(j.Branches) > 0 {
			last = hex.EncodeToString(j.Branches[len(j.Branches)-1][:])
		}
		t.Fatalf("%d branches, the last %s; want 13, the last %s", len(j.Branches), last, slush.branches[12])
	}
	prev := j.HeaderPrevHash()
	want, _ := chainhash.NewHashFromStr(slush.prevDisplay)
	if prev != [32]byte(*want) {
		t.Fatalf("HeaderPrevHash = %x, want %x", prev, want[:])
	}
	// Unprepared job computes the same on the fly; conversion is an involution.
	u := Job{PrevHash: j.PrevHash}
	if got := u.HeaderPrevHash(); got != prev {
		t.Fatalf("unprepared HeaderPrevHash = %x, want the prepared %x", got, prev)
	}
	if got := StratumToHeaderPrevHash(&prev); got != j.PrevHash {
		t.Fatalf("StratumToHeaderPrevHash(HeaderPrevHash) = %x, want the job's %x (an involution)", got, j.PrevHash)
	}

	bad := []struct {
		name                                        string
		prevhash, coinb1, coinb2, branch, v, nb, nt string
	}{
		{"short prevhash", slush.prevhash[:62], "", "", slush.branches[0], "20000004", "1705ae3a", "647025b5"},
		{"odd coinb1", slush.prevhash, "abc", "", slush.branches[0], "20000004", "1705ae3a", "647025b5"},
		{"bad coinb2", slush.prevhash, "", "zz", slush.branches[0], "20000004", "1705ae3a", "647025b5"},
		{"bad branch", slush.prevhash, "", "", "xx" + slush.branches[0][2:], "20000004", "1705ae3a", "647025b5"},
		{"short version", slush.prevhash, "", "", slush.branches[0], "2000004", "1705ae3a", "647025b5"},
		{"bad nbits", slush.prevhash, "", "", slush.branches[0], "20000004", "1705ae3g", "647025b5"},
		{"long ntime", slush.prevhash, "", "", slush.branches[0], "20000004", "1705ae3a", "0647025b5"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if j, err := JobFromHex(tc.prevhash, tc.coinb1, tc.coinb2, []string{tc.branch}, tc.v, tc.nb, tc.nt); err == nil {
				t.Errorf("%s: JobFromHex = %+v, nil; want an error", tc.name, j)
			}
		})
	}
}

func TestParseHex32(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint32
		ok   bool
	}{
		{"00000000", 0, true},
		{"ffffffff", 0xffffffff, true},
		{"0A029eD1", 0x0a029ed1, true},
		{"", 0, false},
		{"1234567", 0, false},
		{"123456789", 0, false},
		{"1234567g", 0, false},
		{"-1234567", 0, false},
	} {
		t.Run(fmt.Sprintf("%q", tc.in), func(t *testing.T) {
			got, err := ParseHex32(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("ParseHex32(%q) = %#x, %v; want %#x, ok %v", tc.in, got, err, tc.want, tc.ok)
			}
		})
	}
}

func TestSlushVector(t *testing.T) {
	j := slushJob(t)
	en1, en2 := mustHex(t, slush.en1), mustHex(t, slush.en2)
	ntime, nonce := mustHex32(t, slush.ntime), mustHex32(t, slush.nonce)

	cbh := chainhash.DoubleHashH(bytes.Join([][]byte{j.Coinb1, en1, en2, j.Coinb2}, nil))
	root := MerkleRoot(cbh, j.Branches)
	if got := hex.EncodeToString(root[:]); got != slush.merkleRoot {
		t.Fatalf("merkle root = %s, want %s", got, slush.merkleRoot)
	}

	var h Hasher
	hash := h.Hash(j, en1, en2, ntime, nonce, j.Version)
	if hash.String() != slush.hash {
		t.Fatalf("hash = %s, want %s", hash, slush.hash)
	}
	if wh := wireHeader(t, j, en1, en2, ntime, nonce, j.Version).BlockHash(); wh != hash {
		t.Fatalf("btcd BlockHash = %s, want %s", wh, hash)
	}

	if d := DifficultyOf(&hash); math.Abs(d-683.5) > 0.05 {
		t.Fatalf("difficulty = %v, want ≈683.5", d)
	}
	for _, tc := range []struct {
		diff float64
		met  bool
	}{
		{1, true}, {683, true}, {683.5, true}, {684, false}, {1e6, false},
	} {
		t.Run(fmt.Sprint(tc.diff), func(t *testing.T) {
			if got := NewTarget(tc.diff).Met(&hash); got != tc.met {
				t.Errorf("Met(diff %v) = %v, want %v", tc.diff, got, tc.met)
			}
		})
	}
	if nt := NetworkTarget(j.NBits); nt.Met(&hash) {
		t.Errorf("hash %s meets the network target %s, want not (a share, not a block)", hash, nt)
	}

	// A different nonce gives a different hash; the Hasher's buffer reuse
	// does not leak state between calls.
	if got := h.Hash(j, en1, en2, ntime, nonce+1, j.Version); got == hash {
		t.Errorf("hash with nonce+1 = %s, want other than the nonce's %s", got, hash)
	}
	if got := h.Hash(j, en1, en2, ntime, nonce, j.Version); got != hash {
		t.Errorf("hash again = %s, want %s as before", got, hash)
	}

	// Root and HashWithRoot split the same work: a kept root gives the
	// same hash for every nonce.
	r := h.Root(j, en1, en2)
	if r != root {
		t.Fatalf("Root = %x, want %x", r, root)
	}
	if got := HashWithRoot(j, &r, ntime, nonce, j.Version); got != hash {
		t.Fatalf("HashWithRoot = %s, want %s", got, hash)
	}
	if got, want := HashWithRoot(j, &r, ntime, nonce+1, j.Version), h.Hash(j, en1, en2, ntime, nonce+1, j.Version); got != want {
		t.Fatalf("HashWithRoot(nonce+1) = %s, want %s", got, want)
	}
}

// Version-rolled share (BIP 310): same job and submission with rolled bits
// 0x2a8e6000 under mask 0x1fffe000, checked against btcd and a recorded hash.
func TestRolledVersionVector(t *testing.T) {
	const (
		mask   = 0x1fffe000
		rolled = 0x2a8e6000
		want   = "0f79adb3a07c9276eae863312030a7806aa39efc717176ec33505cc8becf4b84"
	)
	j := slushJob(t)
	v := RollVersion(j.Version, mask, rolled)
	if v != 0x2a8e6004 {
		t.Fatalf("RollVersion = %#x, want 0x2a8e6004", v)
	}
	en1, en2 := mustHex(t, slush.en1), mustHex(t, slush.en2)
	ntime, nonce := mustHex32(t, slush.ntime), mustHex32(t, slush.nonce)

	var h Hasher
	hash := h.Hash(j, en1, en2, ntime, nonce, v)
	wh := wireHeader(t, j, en1, en2, ntime, nonce, v).BlockHash()
	if hash != wh {
		t.Fatalf("hash = %s, want btcd's BlockHash %s", hash, wh)
	}
	if hash.String() != want {
		t.Fatalf("hash = %s, want recorded %s", hash, want)
	}
}

func TestSerializeHeaderMatchesWire(t *testing.T) {
	var prev, root [32]byte
	for i := range prev {
		prev[i] = byte(i)
		root[i] = byte(0xa0 + i)
	}
	for _, tc := range []struct{ version, ntime, nbits, nonce uint32 }{
		{0x20000004, 0x647025b5, 0x1705ae3a, 0x0a029ed1},
		{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, // negative int32 version, ntime past 2038
		{0, 0, 0, 0},
	} {
		t.Run(fmt.Sprintf("%08x", tc.version), func(t *testing.T) {
			var got [80]byte
			SerializeHeader(&got, tc.version, &prev, &root, tc.ntime, tc.nbits, tc.nonce)
			wh := wire.BlockHeader{
				Version:    int32(tc.version),
				PrevBlock:  prev,
				MerkleRoot: root,
				Timestamp:  time.Unix(int64(tc.ntime), 0),
				Bits:       tc.nbits,
				Nonce:      tc.nonce,
			}
			var buf bytes.Buffer
			if err := wh.Serialize(&buf); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got[:], buf.Bytes()) {
				t.Errorf("%+v:\n got %x\nwant %x", tc, got, buf.Bytes())
			}
		})
	}
}

// TestDoubleHashHEquivalence documents that chainhash.DoubleHashH is plain
// sha256(sha256(b)), for inputs of the sizes used here.
func TestDoubleHashHEquivalence(t *testing.T) {
	for _, n := range []int{0, 32, 55, 56, 64, 80, 250, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(i * 7)
			}
			first := sha256.Sum256(b)
			if want, got := sha256.Sum256(first[:]), chainhash.DoubleHashH(b); got != chainhash.Hash(want) {
				t.Errorf("len %d: DoubleHashH = %x, want sha256∘sha256 = %x", n, got[:], want)
			}
		})
	}
}

// TestDoubleHashHNoAlloc checks the premise of hash.go: DoubleHashH on a
// []byte neither allocates nor forces a stack buffer to the heap.
func TestDoubleHashHNoAlloc(t *testing.T) {
	var sink chainhash.Hash
	if n := testing.AllocsPerRun(100, func() {
		var buf [80]byte
		buf[0] = byte(sink[0])
		sink = chainhash.DoubleHashH(buf[:])
	}); n != 0 {
		t.Fatalf("DoubleHashH allocs = %v, want 0", n)
	}
}

func TestTargetFromDifficulty(t *testing.T) {
	pow2 := func(n uint) *big.Int { return new(big.Int).Lsh(big.NewInt(1), n) }
	max := new(big.Int).Sub(pow2(256), big.NewInt(1))
	d1 := new(big.Int).Lsh(big.NewInt(0xFFFF), 208)
	quo := func(num *big.Int, den int64) *big.Int { return new(big.Int).Quo(num, big.NewInt(den)) }
	mul := func(a *big.Int, m int64) *big.Int { return new(big.Int).Mul(a, big.NewInt(m)) }

	for _, tc := range []struct {
		diff float64
		want *big.Int
	}{
		{1, d1},
		{2, new(big.Int).Rsh(d1, 1)},
		{0.5, mul(d1, 2)},
		{1024, new(big.Int).Rsh(d1, 10)},
		{3, quo(d1, 3)},
		{1e12, quo(d1, 1_000_000_000_000)},
		{65536, new(big.Int).Lsh(big.NewInt(0xFFFF), 192)},
		// 1e-9 is not exactly representable; the float64 value's exact
		// quotient is floored. It is still below 2^256.
		{1e-9, func() *big.Int {
			r := new(big.Rat).SetFloat64(1e-9)
			n := new(big.Int).Mul(d1, r.Denom())
			return n.Quo(n, r.Num())
		}()},
		{2.3e-10, max},
		{1e-20, max},
		{0, max},
		{-1, max},
		{math.Inf(1), new(big.Int)},
		{math.NaN(), new(big.Int)},
	} {
		t.Run(fmt.Sprint(tc.diff), func(t *testing.T) {
			got := TargetFromDifficulty(tc.diff)
			if got.Cmp(tc.want) != 0 {
				t.Errorf("TargetFromDifficulty(%v) = %x, want %x", tc.diff, got, tc.want)
			}
			if nt := NewTarget(tc.diff); nt.Big().Cmp(tc.want) != 0 {
				t.Errorf("NewTarget(%v) = %s, want %x", tc.diff, nt, tc.want)
			}
		})
	}

	if got, want := NewTarget(1).String(), "00000000ffff0000000000000000000000000000000000000000000000000000"; got != want {
		t.Errorf("NewTarget(1) = %s, want %s", got, want)
	}
	// 1e-9 is a ≈2^254 target: below the max, not clamped.
	if tt := TargetFromDifficulty(1e-9); tt.Cmp(max) >= 0 || tt.BitLen() != 254 {
		t.Errorf("diff 1e-9 target %x (bitlen %d), want below 2^256-1 with bitlen 254", tt, tt.BitLen())
	}
	// The clamp threshold is diff1/(2^256-1) ≈ 2.328e-10.
	if tt := TargetFromDifficulty(2.33e-10); tt.Cmp(max) >= 0 {
		t.Errorf("diff 2.33e-10 target %x, want below the clamp 2^256-1", tt)
	}
}

func TestTargetMet(t *testing.T) {
	// hashOf makes a chainhash.Hash (little-endian) with the given value.
	hashOf := func(v *big.Int) *chainhash.Hash {
		var be [32]byte
		v.FillBytes(be[:])
		var h chainhash.Hash
		for i := range h {
			h[i] = be[31-i]
		}
		return &h
	}
	one := big.NewInt(1)
	tgt := NewTarget(1)
	tb := tgt.Big()
	for _, tc := range []struct {
		name string
		v    *big.Int
		met  bool
	}{
		{"zero", new(big.Int), true},
		{"target-1", new(big.Int).Sub(tb, one), true},
		{"target", tb, true},
		{"target+1", new(big.Int).Add(tb, one), false},
		{"low limbs only", new(big.Int).Sub(new(big.Int).Lsh(one, 192), one), true},
		{"high word above", new(big.Int).Lsh(one, 224), false},
		{"max", new(big.Int).Sub(new(big.Int).Lsh(one, 256), one), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tgt.Met(hashOf(tc.v)); got != tc.met {
				t.Errorf("%s: Met = %v, want %v", tc.name, got, tc.met)
			}
		})
	}

	// Boundaries inside every limb, against a target with distinct limbs.
	var mixed Target
	for i := range mixed {
		mixed[i] = byte(0x11 * (i%15 + 1))
	}
	mb := mixed.Big()
	for bit := uint(0); bit < 256; bit += 37 {
		d := new(big.Int).Lsh(one, bit)
		above := new(big.Int).Add(mb, d)
		below := new(big.Int).Sub(mb, d)
		if mixed.Met(hashOf(above)) {
			t.Errorf("Met(target+2^%d) = true, want false", bit)
		}
		if !mixed.Met(hashOf(below)) {
			t.Errorf("Met(target-2^%d) = false, want true", bit)
		}
	}

	// Every hash is valid at tiny difficulty.
	all := hashOf(new(big.Int).Sub(new(big.Int).Lsh(one, 256), one))
	if !NewTarget(2.3e-10).Met(all) {
		t.Errorf("NewTarget(2.3e-10) = %s: Met(max hash) = false, want true", NewTarget(2.3e-10))
	}
	if NewTarget(1e-9).Met(all) {
		t.Errorf("NewTarget(1e-9) = %s: Met(max hash) = true, want false", NewTarget(1e-9))
	}
	// Zero target is met only by the zero hash.
	var zero Target
	if z, o := zero.Met(hashOf(new(big.Int))), zero.Met(hashOf(one)); !z || o {
		t.Errorf("zero target: Met(0) = %v, Met(1) = %v; want true, false", z, o)
	}
}

func TestNetworkTarget(t *testing.T) {
	// Genesis nbits 0x1d00ffff is the difficulty-1 target.
	if NetworkTarget(0x1d00ffff) != NewTarget(1) {
		t.Errorf("NetworkTarget(0x1d00ffff) = %s, want the difficulty-1 target %s", NetworkTarget(0x1d00ffff), NewTarget(1))
	}
	want := new(big.Int).Lsh(big.NewInt(0x05ae3a), 8*(0x17-3))
	if got := NetworkTarget(0x1705ae3a).Big(); got.Cmp(want) != 0 {
		t.Errorf("NetworkTarget(0x1705ae3a) = %x, want %x", got, want)
	}
	if got := NetworkTarget(0x1d80ffff); got != (Target{}) { // sign bit set
		t.Errorf("NetworkTarget(0x1d80ffff) = %s, want 0 (a negative compact)", got)
	}
	if got := NetworkTarget(0xff7fffff); got != NewTarget(0) { // overflow
		t.Errorf("NetworkTarget(0xff7fffff) = %s, want the max %s (an overflowing compact clamps)", got, NewTarget(0))
	}
}

func TestDifficultyOf(t *testing.T) {
	var h chainhash.Hash
	if d := DifficultyOf(&h); !math.IsInf(d, 1) {
		t.Errorf("DifficultyOf(zero hash) = %v, want +Inf", d)
	}
	tgt := NewTarget(1)
	for i := range h {
		h[i] = tgt[31-i]
	}
	if d := DifficultyOf(&h); d != 1 {
		t.Errorf("DifficultyOf(diff1 target) = %v, want 1", d)
	}
}

func TestSearch(t *testing.T) {
	j := slushJob(t)
	en1, en2 := mustHex(t, slush.en1), mustHex(t, slush.en2)
	ntime := mustHex32(t, slush.ntime)
	var h Hasher

	// Max target: first nonce wins.
	if n, ok := h.Search(j, en1, en2, ntime, j.Version, 42, 1, NewTarget(1e-12)); !ok || n != 42 {
		t.Fatalf("Search at max target = %d, %v; want 42, true", n, ok)
	}
	// Difficulty 2^-24: about 1 in 256 hashes meets it; start near 2^32 to cover wrap-around.
	tgt := NewTarget(1.0 / (1 << 24))
	n, ok := h.Search(j, en1, en2, ntime, j.Version, 0xffffff00, 1<<16, tgt)
	if !ok {
		t.Fatalf("Search(0xffffff00, 65536 tries, diff 2^-24) = %#x, false; want a share (about 1 hash in 256 meets it)", n)
	}
	hash := h.Hash(j, en1, en2, ntime, n, j.Version)
	if !tgt.Met(&hash) {
		t.Fatalf("Search returned nonce %#x whose hash %s misses the target %s, want it met", n, hash, tgt)
	}
	// Nothing earlier in the range (with wrap-around) met the target.
	for m := uint32(0xffffff00); m != n; m++ {
		if hh := h.Hash(j, en1, en2, ntime, m, j.Version); tgt.Met(&hh) {
			t.Fatalf("Search returned %#x but skipped nonce %#x, which meets the target; want the first", n, m)
		}
	}
	// The real share's nonce is found when the search starts on it.
	if n, ok := h.Search(j, en1, en2, ntime, j.Version, 0x0a029ed1, 1, NewTarget(683)); !ok || n != 0x0a029ed1 {
		t.Fatalf("Search(real nonce) = %#x, %v; want 0x0a029ed1, true", n, ok)
	}
	if n, ok := h.Search(j, en1, en2, ntime, j.Version, 0, 0, NewTarget(0)); ok {
		t.Fatalf("Search with 0 tries = %#x, true; want nothing found", n)
	}
}

func TestAllocs(t *testing.T) {
	j := slushJob(t)
	en1 := mustHex(t, slush.en1)
	ntime, nonce := mustHex32(t, slush.ntime), mustHex32(t, slush.nonce)
	tgt := NewTarget(683)
	var h Hasher
	var hash chainhash.Hash

	// extranonce2 as the proxy builds it: prefix ‖ miner part in a stack
	// buffer, which must not be forced to the heap.
	if n := testing.AllocsPerRun(100, func() {
		var buf [16]byte // all-zero, matching slush.en2
		hash = h.Hash(j, en1, buf[:4], ntime, nonce, j.Version)
	}); n != 0 {
		t.Errorf("Hasher.Hash allocs = %v, want 0", n)
	}
	if hash.String() != slush.hash {
		t.Fatalf("hash = %s, want %s", hash, slush.hash)
	}
	root := h.Root(j, en1, make([]byte, 4))
	if n := testing.AllocsPerRun(100, func() {
		hash = HashWithRoot(j, &root, ntime, nonce, j.Version)
	}); n != 0 {
		t.Errorf("HashWithRoot allocs = %v, want 0", n)
	}
	if hash.String() != slush.hash {
		t.Fatalf("HashWithRoot hash = %s, want %s", hash, slush.hash)
	}
	var met bool
	if n := testing.AllocsPerRun(100, func() { met = tgt.Met(&hash) }); n != 0 || !met {
		t.Errorf("Target.Met allocs = %v (met %v), want 0", n, met)
	}
	if n := testing.AllocsPerRun(10, func() {
		h.Search(j, en1, en1, ntime, j.Version, 0, 16, tgt)
	}); n != 0 {
		t.Errorf("Hasher.Search allocs = %v, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		_, _ = ParseHex32(slush.nonce)
	}); n != 0 {
		t.Errorf("ParseHex32 allocs = %v, want 0", n)
	}
}

// BenchmarkValidateShare is the proxy's per-share work: Hash with 13 merkle
// branches plus a Target.Met check.
func BenchmarkValidateShare(b *testing.B) {
	j := slushJob(b)
	en1 := mustHex(b, slush.en1)
	en2 := mustHex(b, slush.en2)
	ntime, nonce := mustHex32(b, slush.ntime), mustHex32(b, slush.nonce)
	tgt := NewTarget(683)
	var h Hasher
	valid := 0
	b.ReportAllocs()
	for b.Loop() {
		hash := h.Hash(j, en1, en2, ntime, nonce, j.Version)
		if tgt.Met(&hash) {
			valid++
		}
	}
	if valid == 0 {
		b.Fatalf("share rejected in all %d hashes, want it valid at 683", b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "shares/s")
}

// BenchmarkValidateShareKnownRoot is a share on an extranonce2 the miner
// already submitted on (its merkle root kept): the header hash only.
func BenchmarkValidateShareKnownRoot(b *testing.B) {
	j := slushJob(b)
	var h Hasher
	root := h.Root(j, mustHex(b, slush.en1), mustHex(b, slush.en2))
	ntime, nonce := mustHex32(b, slush.ntime), mustHex32(b, slush.nonce)
	tgt := NewTarget(683)
	valid := 0
	b.ReportAllocs()
	for b.Loop() {
		hash := HashWithRoot(j, &root, ntime, nonce, j.Version)
		if tgt.Met(&hash) {
			valid++
		}
	}
	if valid == 0 {
		b.Fatalf("share rejected in all %d hashes, want it valid at 683", b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "shares/s")
}
