package wmcrypt

import (
	"bytes"
	"crypto/aes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
)

// Key is the md5-crypt key of a password with the token's salt: the
// secret both sides derive, from which the AES key comes.
func Key(password, salt string) string { return MD5Crypt(password, salt) }

// Sign is the token sent in privileged commands: the md5-crypt of
// key+time with the token's newsalt.
func Sign(key, time, newsalt string) string { return MD5Crypt(key+time, newsalt) }

// aesKey is sha256 of the key string: 32 bytes, AES-256.
func aesKey(key string) []byte {
	k := sha256.Sum256([]byte(key))
	return k[:]
}

// Seal encrypts plain with AES-256-ECB under key, padded with NUL bytes
// to a multiple of 16, and returns it base64-encoded (standard
// alphabet, no newlines).
func Seal(key string, plain []byte) string {
	block, _ := aes.NewCipher(aesKey(key))
	n := (len(plain) + 15) / 16 * 16
	if n == 0 {
		n = 16
	}
	buf := make([]byte, n)
	copy(buf, plain)
	for i := 0; i < n; i += 16 {
		block.Encrypt(buf[i:i+16], buf[i:i+16])
	}
	return base64.StdEncoding.EncodeToString(buf)
}

// ErrCipher: the text is not base64 of whole AES blocks.
var ErrCipher = errors.New("not an AES-ECB base64 text")

// Open reverses Seal: base64 (newlines tolerated), AES-256-ECB, and the
// trailing NUL padding removed.
func Open(key, text string) ([]byte, error) {
	clean := bytes.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, []byte(text))
	buf, err := base64.StdEncoding.DecodeString(string(clean))
	if err != nil || len(buf) == 0 || len(buf)%16 != 0 {
		return nil, ErrCipher
	}
	block, _ := aes.NewCipher(aesKey(key))
	for i := 0; i < len(buf); i += 16 {
		block.Decrypt(buf[i:i+16], buf[i:i+16])
	}
	return bytes.TrimRight(buf, "\x00"), nil
}
