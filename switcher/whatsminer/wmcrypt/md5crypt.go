package wmcrypt

import (
	"crypto/md5"
	"strings"
)

const itoa64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// MD5Crypt is the hash part of the md5-crypt of password with salt (the
// 22 characters after "$1$salt$"). The salt is cut at its first '$' and
// at 8 bytes, as md5-crypt does.
func MD5Crypt(password, salt string) string {
	if i := strings.IndexByte(salt, '$'); i >= 0 {
		salt = salt[:i]
	}
	if len(salt) > 8 {
		salt = salt[:8]
	}
	pw, sl := []byte(password), []byte(salt)
	alt := md5.Sum(append(append(append([]byte{}, pw...), sl...), pw...))

	h := md5.New()
	h.Write(pw)
	h.Write([]byte("$1$"))
	h.Write(sl)
	for i := len(pw); i > 0; i -= 16 {
		h.Write(alt[:min(16, i)])
	}
	for i := len(pw); i != 0; i >>= 1 {
		if i&1 != 0 {
			h.Write([]byte{0})
		} else {
			h.Write(pw[:1])
		}
	}
	var final [md5.Size]byte
	h.Sum(final[:0])
	// The 1000 rounds hash at most final, salt and the password twice:
	// built in one buffer and hashed with md5.Sum, no allocation.
	buf := make([]byte, 0, 2*md5.Size+len(sl)+2*len(pw))
	for i := 0; i < 1000; i++ {
		buf = buf[:0]
		if i&1 != 0 {
			buf = append(buf, pw...)
		} else {
			buf = append(buf, final[:]...)
		}
		if i%3 != 0 {
			buf = append(buf, sl...)
		}
		if i%7 != 0 {
			buf = append(buf, pw...)
		}
		if i&1 != 0 {
			buf = append(buf, final[:]...)
		} else {
			buf = append(buf, pw...)
		}
		final = md5.Sum(buf)
	}
	return encode(final[:])
}

// encode is md5-crypt's own base-64 of the 16-byte digest.
func encode(f []byte) string {
	var b strings.Builder
	to64 := func(v uint32, n int) {
		for ; n > 0; n-- {
			b.WriteByte(itoa64[v&0x3f])
			v >>= 6
		}
	}
	for _, g := range [][3]int{{0, 6, 12}, {1, 7, 13}, {2, 8, 14}, {3, 9, 15}, {4, 10, 5}} {
		to64(uint32(f[g[0]])<<16|uint32(f[g[1]])<<8|uint32(f[g[2]]), 4)
	}
	to64(uint32(f[11]), 2)
	return b.String()
}
