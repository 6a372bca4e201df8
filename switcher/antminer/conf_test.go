package antminer

import (
	"encoding/json"
	"testing"
)

const s19Conf = `{"pools":[{"url":"stratum+tcp://a:3333","user":"w","pass":"x"},{"url":"","user":"","pass":""},{"url":"","user":"","pass":""}],
"api-listen":true,"bitmain-fan-ctrl":true,"bitmain-fan-pwm":"80","bitmain-work-mode":"1","bitmain-freq-level":"90"}`

func TestWritePayload(t *testing.T) {
	c, err := parseConf([]byte(s19Conf))
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := c.mode(); !ok || m != 1 {
		t.Errorf("mode: got %d %v, want 1 from the string bitmain-work-mode", m, ok)
	}
	b, err := c.writePayload(modeNormal, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"bitmain-fan-ctrl": true, "bitmain-fan-pwm": "80", "freq-level": "90",
		"miner-mode": 0.0, "bitmain-work-mode": 0.0}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %#v, want %#v (body %s)", k, got[k], v, b)
		}
	}
	pools, _ := got["pools"].([]any)
	if len(pools) != 3 || pools[0].(map[string]any)["url"] != "stratum+tcp://a:3333" || pools[2].(map[string]any)["url"] != "" {
		t.Errorf("pools: got %v, want the configured one then two blank slots", got["pools"])
	}
	if _, ok := got["api-listen"]; ok {
		t.Errorf("read-only key api-listen was sent back: %s", b)
	}
}

func TestParseStats(t *testing.T) {
	cases := []struct {
		in               string
		mode             int
		hasMode, hasHash bool
		ths              float64
		hasPower         bool
		w                float64
	}{
		{`{"STATS":[{"rate_5s":104000,"rate_unit":"GH","miner-mode":0}]}`, 0, true, true, 104, false, 0},
		{`{"STATS":[{"rate_5s":"0.00","miner-mode":1,"chain_power":"45 W"}]}`, 1, true, true, 0, true, 45},
		{`{"STATS":[{"rate_5s":95,"rate_unit":"TH","power":3010}]}`, 0, false, true, 95, true, 3010},
		{`{"STATS":[]}`, 0, false, false, 0, false, 0},
		{`{"STATS":[{"rate_5s":1,"rate_unit":"ZH"}]}`, 0, false, false, 0, false, 0},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			s, err := parseStats([]byte(tc.in))
			if err != nil {
				t.Errorf("%s: %v", tc.in, err)
				return
			}
			if s.mode != tc.mode || s.hasMode != tc.hasMode || s.hasHash != tc.hasHash || s.hashTHs != tc.ths || s.hasPower != tc.hasPower || s.powerW != tc.w {
				t.Errorf("%s: got %+v, want mode %d/%v hash %v/%v power %v/%v", tc.in, s, tc.mode, tc.hasMode, tc.ths, tc.hasHash, tc.w, tc.hasPower)
			}
		})
	}
	if st, err := parseStats([]byte(`[`)); err == nil {
		t.Errorf("truncated stats: got %+v and a nil error, want an error", st)
	}
}

func FuzzParseConf(f *testing.F) {
	f.Add([]byte(s19Conf))
	f.Add([]byte(`{"miner-mode":1.5,"pools":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseConf(b)
		if err != nil {
			return
		}
		c.mode()
		c.poolURLs()
		out, err := c.writePayload(modeSleep, nil)
		if err != nil {
			return // a raw value json cannot re-encode
		}
		c2, err := parseConf(out)
		if err != nil {
			t.Fatalf("our payload does not parse: %v", err)
		}
		if m, ok := c2.mode(); !ok || m != modeSleep {
			t.Fatalf("payload mode: got %d %v, want 1", m, ok)
		}
	})
}

func FuzzParseStats(f *testing.F) {
	f.Add([]byte(`{"STATS":[{"rate_5s":104000,"rate_unit":"GH","miner-mode":0,"power":3250}]}`))
	f.Add([]byte(`{"STATS":[{"chain_power":"1 W","rate_5s":"NaN"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseStats(b)
		if err != nil {
			return
		}
		if s.hashTHs < 0 || s.powerW < 0 || s.hashTHs != s.hashTHs {
			t.Fatalf("negative or NaN reading: %+v; want s.hashTHs >= 0, s.powerW >= 0, s.hashTHs == s.hashTHs", s)
		}
	})
}

func FuzzParseSetResult(f *testing.F) {
	f.Add([]byte(`{"stats":"success","code":"M000","msg":"OK!"}`))
	f.Add([]byte(`{"stats":"error"}`))
	f.Fuzz(func(t *testing.T, b []byte) { _ = parseSetResult(b) })
}
