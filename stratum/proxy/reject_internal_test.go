package proxy

import (
	"testing"

	"github.com/hashgate/hashgate/stratum"
)

// Each share rejection's answer, byte for byte as miners have always got
// it, and its label as the API and the metrics name it: one row each in
// rejectReasons, none missing, no label twice.
func TestRejectReasonTable(t *testing.T) {
	cases := []struct {
		r      rejectReason
		msg    string // the caller's message, "" for the table's
		label  string
		answer string
	}{
		{rejectStale, "", "stale", `[21,"job not found",null]`},
		{rejectStale, "job not found (pool session changed)", "stale", `[21,"job not found (pool session changed)",null]`},
		{rejectDuplicate, "", "duplicate", `[22,"duplicate share",null]`},
		{rejectLowDifficulty, "", "low_difficulty", `[23,"low difficulty share",null]`},
		{rejectUnauthorized, "", "unauthorized", `[24,"unauthorized worker",null]`},
		{rejectNotSubscribed, "", "not_subscribed", `[25,"not subscribed",null]`},
		{rejectNTime, "", "ntime", `[20,"ntime out of range",null]`},
		{rejectVersion, "", "version", `[20,"version bits outside the negotiated mask",null]`},
		{rejectExtranonce2, "", "extranonce2", `[20,"extranonce2 must be hex",null]`},
		{rejectExtranonce2, "extranonce2 must be 4 bytes", "extranonce2", `[20,"extranonce2 must be 4 bytes",null]`},
		{rejectOther, "bad params: param 4: missing", "other", `[20,"bad params: param 4: missing",null]`},
	}
	seen := map[rejectReason]bool{}
	for _, c := range cases {
		t.Run(c.label+"/"+c.msg, func(t *testing.T) {
			seen[c.r] = true
			if got := c.r.String(); got != c.label {
				t.Errorf("label %q, want %q", got, c.label)
			}
			line := string(stratum.AppendError(nil, []byte("7"), c.r.answer(c.msg)))
			if want := `{"id":7,"result":null,"error":` + c.answer + "}\n"; line != want {
				t.Errorf("answer %q, want %q", line, want)
			}
		})
	}
	labels := map[string]rejectReason{}
	for r := range numRejectReasons {
		if !seen[r] {
			t.Errorf("reason %d (%q) has no case here, want one for every reason", r, r)
		}
		row := rejectReasons[r]
		if row.code == 0 || row.label == "" || row.msg == "" {
			t.Errorf("reason %d: row %+v, want a code, a label and a message", r, row)
		}
		if o, dup := labels[row.label]; dup {
			t.Errorf("label %q for reasons %d and %d, want one each", row.label, o, r)
		}
		labels[row.label] = r
	}
}
