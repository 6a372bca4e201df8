package wmcrypt

import "testing"

func BenchmarkMD5CryptSign(b *testing.B) {
	key := Key("admin", "BQ5hoXV9")
	for b.Loop() {
		Sign(key, "1700000000", "jbzkfQls")
	}
}
