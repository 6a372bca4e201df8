package braiins

import (
	"encoding/json"
	"net"
	"strconv"
	"testing"

	"github.com/hashgate/hashgate/switcher/device"
)

func splitHostPort(t *testing.T, addr string) (string, int) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return h, n
}

func TestDetailsState(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want device.State
	}{
		{`{"status":2}`, device.StateMining},
		{`{"status":5}`, device.StateMining},
		{`{"status":3}`, device.StateSleeping},
		{`{"status":1}`, device.StateSleeping},
		{`{"status":4}`, device.StateSleeping},
		{`{"status":0}`, device.StateUnknown},
		{`{"status":"MINER_STATUS_PAUSED"}`, device.StateSleeping},
		{`{"status":"normal"}`, device.StateMining},
		{`{}`, device.StateUnknown},
		{`{"status":2,"detailed_status":{"status":{"stopped":{"reason":{"user_pause":{}}}}}}`, device.StateSleeping},
		{`{"status":3,"detailed_status":{"status":{"starting":{"reason":{"none":{}}}}}}`, device.StateMining},
		{`{"status":3,"detailed_status":{"status":{"running":{}}}}`, device.StateMining},
		{`{"status":2,"detailed_status":{"status":{"stopping":{}}}}`, device.StateSleeping},
		{`{"status":2,"detailed_status":{"status":null}}`, device.StateMining},
	} {
		t.Run(tc.in, func(t *testing.T) {
			var d details
			if err := json.Unmarshal([]byte(tc.in), &d); err != nil {
				t.Fatalf("%s: %v", tc.in, err)
			}
			if got := d.state(); got != tc.want {
				t.Errorf("state of %s: got %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestStatsFields(t *testing.T) {
	for _, tc := range []struct {
		in          string
		w, th       float64
		hasW, hasTH bool
	}{
		{`{"miner_stats":{"real_hashrate":{"last_5s":{"gigahash_per_second":110000}}},"power_stats":{"approximated_consumption":{"watt":3250}}}`, 3250, 110, true, true},
		{`{"miner_stats":{"real_hashrate":{"last_1m":{"gigahash_per_second":"90000"}}},"power_stats":{"approximated_consumption":{"watt":"3000"}}}`, 3000, 90, true, true},
		{`{"miner_stats":null,"power_stats":null}`, 0, 0, false, false},
		{`{"power_stats":{"approximated_consumption":null}}`, 0, 0, false, false},
		{`{"power_stats":{"approximated_consumption":{"watt":-5}}}`, -5, 0, false, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			var s stats
			if err := json.Unmarshal([]byte(tc.in), &s); err != nil {
				t.Fatalf("%s: %v", tc.in, err)
			}
			w, hasW := s.power()
			th, hasTH := s.hashrate()
			if hasW != tc.hasW || (hasW && w != tc.w) || hasTH != tc.hasTH || th != tc.th {
				t.Errorf("stats %s: got %v W (%v) %v TH/s (%v), want %v W (%v) %v TH/s (%v)", tc.in, w, hasW, th, hasTH, tc.w, tc.hasW, tc.th, tc.hasTH)
			}
		})
	}
}

func TestLoginAnswer(t *testing.T) {
	if lr, err := parseLogin([]byte(`{"token":"abc","timeout_s":3600}`)); err != nil || lr.Token != "abc" || lr.TimeoutS != 3600 {
		t.Fatalf("login: got %+v, %v; want abc/3600", lr, err)
	}
	for _, bad := range []string{`{"timeout_s":3600}`, `nope`, `{"token":5}`} {
		if _, err := parseLogin([]byte(bad)); err == nil {
			t.Errorf("login answer %s: got nil error, want ErrProtocol", bad)
		}
	}
}

func TestPoolURLs(t *testing.T) {
	var groups []poolGroup
	in := `[{"uid":"a","name":"A","pools":[{"url":"u1","enabled":true},{"url":"u2","enabled":false},{"url":"u3"}]},{"uid":"b","name":"B","pools":[{"url":"u4","enabled":true}]}]`
	if err := json.Unmarshal([]byte(in), &groups); err != nil {
		t.Fatal(err)
	}
	got := poolURLs(groups)
	if want := []string{"u1", "u3", "u4"}; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("pool URLs: got %v, want %v", got, want)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"token":"abc","timeout_s":3600}`,
		`{"status":2,"detailed_status":{"status":{"running":{"reason":{"normal":{}}}}}}`,
		`{"miner_stats":{"real_hashrate":{"last_5s":{"gigahash_per_second":110000}}},"power_stats":{"approximated_consumption":{"watt":"3250"}}}`,
		`[{"uid":"g","name":"n","pools":[{"url":"stratum+tcp://x:3333","enabled":true}]}]`,
		`{"status":"MINER_STATUS_PAUSED"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseLogin(b)
		var d details
		if json.Unmarshal(b, &d) == nil {
			_ = d.state()
		}
		var s stats
		if json.Unmarshal(b, &s) == nil {
			if w, ok := s.power(); ok && w < 0 {
				t.Fatalf("power %v reported with negative watts; want !(ok && w < 0)", w)
			}
			if h, ok := s.hashrate(); ok && h < 0 {
				t.Fatalf("hashrate %v reported negative; want !(ok && h < 0)", h)
			}
		}
		var g []poolGroup
		if json.Unmarshal(b, &g) == nil {
			_ = poolURLs(g)
		}
	})
}
