package emu

import (
	"crypto/rand"
	"encoding/hex"
)

// RandomHex is n random bytes in hex: the nonces, tokens and session ids
// the emulated firmwares issue.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
