package sharehash

import (
	"fmt"
	"testing"

	"github.com/btcsuite/btcd/blockchain"
)

// NetworkTarget decodes compact nbits exactly as btcd does (the oracle):
// real headers' nbits, the sign bit, tiny and overflowing exponents.
func TestNetworkTargetMatchesBtcd(t *testing.T) {
	for _, nbits := range []uint32{
		0x1d00ffff, // genesis, difficulty 1
		0x1705ae3a, 0x17034219, 0x1b0404cb,
		0x00000000, 0x01003456, 0x02008000, 0x03123456, 0x04123456,
		0x01803456, 0x04923456, // sign bit set: negative, so 0
		0x20ffffff, 0x21010000, 0x22000001, 0xff123456, // at and past 2^256
	} {
		t.Run(fmt.Sprintf("%08x", nbits), func(t *testing.T) {
			if got, want := NetworkTarget(nbits), TargetFromBig(blockchain.CompactToBig(nbits)); got != want {
				t.Errorf("nbits %08x: got %s, want %s (btcd)", nbits, got, want)
			}
		})
	}
}

func FuzzNetworkTarget(f *testing.F) {
	for _, s := range []uint32{0x1d00ffff, 0x1705ae3a, 0x04923456, 0x22000001} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, nbits uint32) {
		if got, want := NetworkTarget(nbits), TargetFromBig(blockchain.CompactToBig(nbits)); got != want {
			t.Fatalf("nbits %08x: got %s, want %s (btcd)", nbits, got, want)
		}
	})
}
