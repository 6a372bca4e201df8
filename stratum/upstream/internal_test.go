package upstream

import (
	"encoding/json"
	"testing"
)

func TestAppendJSONString(t *testing.T) {
	for _, v := range []string{"acct.proxy", `we"ird\name`, "ünï", "tab\there", ""} {
		b := appendJSONString(nil, v)
		var got string
		if err := json.Unmarshal(b, &got); err != nil || got != v {
			t.Fatalf("%q -> %s -> %q (%v)", v, b, got, err)
		}
	}
}
