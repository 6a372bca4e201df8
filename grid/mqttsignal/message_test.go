package mqttsignal

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var now = time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)

func TestParse(t *testing.T) {
	until := now.Add(time.Hour)
	for _, tc := range []struct {
		in   string
		want Signal
	}{
		{`{"ai_kw": 80, "reason": "r", "id": "x", "until": "2026-12-07T05:00:00Z", "emergency": true}`,
			Signal{Kind: KindAllocation, ID: "x", KW: 80, Reason: "r", Until: until, Emergency: true}},
		{`{"cap_kw": 0}`, Signal{Kind: KindCap}},
		{`{"command": "curtail", "until": "2026-12-07T05:00:00Z"}`, Signal{Kind: KindCurtail, Until: until}},
		{`{"command": "release", "id": "y"}`, Signal{Kind: KindRelease, ID: "y"}},
		{`{"price_usd_per_mwh": -20.5}`, Signal{Kind: KindPrice, Price: -20.5}},
		{` {"heartbeat": true} `, Signal{Kind: KindHeartbeat}},
	} {
		t.Run(string(tc.want.Kind), func(t *testing.T) {
			got, err := Parse([]byte(tc.in), now)
			if err != nil || got.Kind != tc.want.Kind || got.ID != tc.want.ID || got.KW != tc.want.KW ||
				got.Price != tc.want.Price || got.Reason != tc.want.Reason || !got.Until.Equal(tc.want.Until) || got.Emergency != tc.want.Emergency {
				t.Errorf("Parse(%s): got %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct{ in, id, want string }{
		{``, "", "not a signal"},
		{`[1]`, "", "not a signal"},
		{`{"ai_kw": 1} {"ai_kw": 2}`, "", "after the JSON"},
		{`{"id": "a"}`, "a", "no signal"},
		{`{"id": "a", "ai_kw": 1, "heartbeat": true}`, "a", "one signal a message"},
		{`{"ai_kw": -1}`, "", "≥ 0"},
		{`{"ai_kw": 1e300}`, "", "≥ 0"},
		{`{"cap_kw": "5"}`, "", "cap_kw"},
		{`{"price_usd_per_mwh": 1e7}`, "", "finite"},
		{`{"heartbeat": false}`, "", "must be true"},
		{`{"heartbeat": true, "until": "2027-01-01T00:00:00Z"}`, "", "not taken"},
		{`{"cap_kw": 1, "emergency": true}`, "", "not taken"},
		{`{"ai_kw": 1, "until": "yesterday"}`, "", "not a signal"},
		{`{"ai_kw": 1, "until": "2026-12-07T03:00:00Z"}`, "", "future"},
		{`{"id": "` + strings.Repeat("i", MaxIDBytes+1) + `", "heartbeat": true}`, "", "id:"},
		{`{"reason": "` + strings.Repeat("r", MaxReasonBytes+1) + `", "heartbeat": true}`, "", "reason:"},
		{`{"command": "` + strings.Repeat("z", 500) + `"}`, "", "not a command"},
		{`{"ai_kw": 1, "AI_KW": 2}`, "", ""}, // encoding/json folds case: the second wins or errs; either way no panic
	} {
		t.Run(tc.want, func(t *testing.T) {
			sig, err := Parse([]byte(tc.in), now)
			if tc.want == "" {
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || sig.ID != tc.id {
				t.Errorf("Parse(%.60s): got %+v, %v; want an error mentioning %q and id %q", tc.in, sig, err, tc.want, tc.id)
			}
			if err != nil && len(err.Error()) > 300 {
				t.Errorf("Parse(%.60s): error of %d bytes, want it bounded", tc.in, len(err.Error()))
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"ai_kw": 80, "reason": "r", "id": "x"}`, `{"cap_kw": 5, "until": "2027-01-01T00:00:00Z"}`,
		`{"command": "curtail"}`, `{"price_usd_per_mwh": 3}`, `{"heartbeat": true}`, `{`, `null`, `{"id": 5}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		sig, err := Parse(in, now)
		if err != nil {
			if len(err.Error()) > 600 || (utf8.Valid(in) && !utf8.ValidString(err.Error())) {
				t.Fatalf("error %q (%d bytes): want at most 600 bytes, UTF-8 when the input is", err, len(err.Error()))
			}
			return
		}
		switch sig.Kind {
		case KindAllocation, KindCap:
			if !(sig.KW >= 0) {
				t.Fatalf("accepted kW %v, want >= 0", sig.KW)
			}
		case KindCurtail, KindRelease, KindPrice, KindHeartbeat:
		default:
			t.Fatalf("accepted kind %q, want a known kind", sig.Kind)
		}
		if len(sig.ID) > MaxIDBytes || len(sig.Reason) > MaxReasonBytes || (!sig.Until.IsZero() && !sig.Until.After(now)) {
			t.Fatalf("accepted %+v; want id <= %d bytes, reason <= %d bytes, until after %v", sig, MaxIDBytes, MaxReasonBytes, now)
		}
	})
}
