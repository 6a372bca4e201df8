package config

import (
	"strings"
	"testing"
)

// A pool_urls entry refused for carrying credentials is quoted without
// them: the error reaches `hashgate check`'s output and the logs.
func TestPoolURLsErrorRedactsCredentials(t *testing.T) {
	data := "[switcher]\npool_urls = [\"stratum+tcp://acct.proxy:hunter2@10.0.0.2:3333\"]\n\n[[pools]]\nurl = \"stratum+tcp://pool.example:3333\"\nuser = \"u\"\n"
	_, err := Parse("hashgate.toml", []byte(data))
	if err == nil {
		t.Fatalf("pool_urls with credentials: got error %v, want one", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error echoes the password: %v", err)
	}
	if !strings.Contains(err.Error(), "switcher.pool_urls") {
		t.Fatalf("error %q does not name switcher.pool_urls", err)
	}
}
