package upstream

import (
	"encoding/json"
	"fmt"
	"testing"
)

func TestAppendJSONString(t *testing.T) {
	for _, v := range []string{"acct.proxy", `we"ird\name`, "ünï", "tab\there", ""} {
		t.Run(fmt.Sprintf("%q", v), func(t *testing.T) {
			// Whole, and split in two parts at every byte (the extranonce2 is
			// the proxy's prefix ‖ the miner's part).
			for cut := 0; cut <= len(v); cut++ {
				b := appendJSONString(nil, v[:cut], v[cut:])
				var got string
				if err := json.Unmarshal(b, &got); err != nil || got != v {
					t.Fatalf("%q|%q -> %s -> %q (%v), want %q", v[:cut], v[cut:], b, got, err, v)
				}
			}
		})
	}
}
