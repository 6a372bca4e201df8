package upstream

import (
	"encoding/json"
	"testing"
)

func TestAppendJSONString(t *testing.T) {
	for _, v := range []string{"acct.proxy", `we"ird\name`, "ünï", "tab\there", ""} {
		// Whole, and split in two parts at every byte (the extranonce2 is
		// the proxy's prefix ‖ the miner's part).
		for cut := 0; cut <= len(v); cut++ {
			b := appendJSONString(nil, v[:cut], v[cut:])
			var got string
			if err := json.Unmarshal(b, &got); err != nil || got != v {
				t.Fatalf("%q|%q -> %s -> %q (%v)", v[:cut], v[cut:], b, got, err)
			}
		}
	}
}
