package sharehash

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// FuzzJobFromHex: the hex of a pool's mining.notify becomes a job; what
// is accepted hashes without panicking, keeps no more than it was sent, and
// reads back the same from its own hex. Seed: a real Slush pool job.
func FuzzJobFromHex(f *testing.F) {
	f.Add(slush.prevhash, slush.coinb1, slush.coinb2, strings.Join(slush.branches, ","), slush.version, slush.nbits, slush.ntime)
	f.Add(slush.prevhash, "", "", "", slush.version, slush.nbits, slush.ntime)
	f.Add(strings.Repeat("g", 64), "0", "zz", ",", "2000000", "1d00ffff", "ffffffff")
	f.Fuzz(func(t *testing.T, prevhash, coinb1, coinb2, branches, version, nbits, ntime string) {
		var br []string
		if branches != "" {
			br = strings.Split(branches, ",")
		}
		j, err := JobFromHex(prevhash, coinb1, coinb2, br, version, nbits, ntime)
		if err != nil {
			return
		}
		if 2*(len(j.Coinb1)+len(j.Coinb2)) != len(coinb1)+len(coinb2) || len(j.Branches) != len(br) {
			t.Fatalf("job of %d+%d coinbase bytes, %d branches from %d+%d hex digits, %d branches; want half the digits and as many branches",
				len(j.Coinb1), len(j.Coinb2), len(j.Branches), len(coinb1), len(coinb2), len(br))
		}
		var h Hasher
		_ = h.Hash(j, []byte{1, 2, 3, 4}, []byte{0, 0, 0, 0}, j.NTime, 0, j.Version)
		hexBr := make([]string, len(j.Branches))
		for i, b := range j.Branches {
			hexBr[i] = hex.EncodeToString(b[:])
		}
		again, err := JobFromHex(hex.EncodeToString(j.PrevHash[:]), hex.EncodeToString(j.Coinb1), hex.EncodeToString(j.Coinb2), hexBr,
			hexWord(j.Version), hexWord(j.NBits), hexWord(j.NTime))
		if err != nil || again.PrevHash != j.PrevHash || again.Version != j.Version || again.NBits != j.NBits || again.NTime != j.NTime ||
			string(again.Coinb1) != string(j.Coinb1) || string(again.Coinb2) != string(j.Coinb2) {
			t.Fatalf("job read back as %+v (err %v), want %+v as it was", again, err, j)
		}
	})
}

func hexWord(v uint32) string { return fmt.Sprintf("%08x", v) }
