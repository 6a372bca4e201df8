package vnish

import (
	"errors"
	"testing"

	"github.com/hashgate/hashgate/switcher/device"
)

const summaryDoc = `{"miner":{"miner_type":"Antminer S19 (Vnish 1.2.6)","miner_status":{"miner_state":"auto-tuning"},
"hr_realtime":95000.5,"power_usage":3050,"pools":[{"id":1,"url":"stratum+tcp://a:3333","user":"w"},{"id":2,"url":""}]}}`

func TestParseSummary(t *testing.T) {
	r, err := parseSummary([]byte(summaryDoc))
	if err != nil {
		t.Fatal(err)
	}
	if r.State != device.StateMining || r.HashrateTHs != 95.0005 || !r.HasPower || r.PowerW != 3050 || len(r.Pools) != 1 {
		t.Errorf("got %+v, want mining (auto-tuning), 95.0005 TH/s, 3050 W, one pool", r)
	}
	for in, want := range map[string]device.State{
		"mining": device.StateMining, "stopped": device.StateSleeping, "shutting-down": device.StateSleeping,
		"failure": device.StateUnknown, "": device.StateUnknown, "paused": device.StateSleeping,
	} {
		if got := stateOf(in); got != want {
			t.Errorf("stateOf(%q): got %v, want %v", in, got, want)
		}
	}
	for _, bad := range []string{`{}`, `{"miner":null}`, `[`, `{"miner":{"hr_realtime":"x"}}`} {
		if _, err := parseSummary([]byte(bad)); !errors.Is(err, device.ErrProtocol) {
			t.Errorf("parseSummary(%s): got %v, want ErrProtocol", bad, err)
		}
	}
	r, _ = parseSummary([]byte(`{"miner":{"hr_realtime":-1,"power_consumption":12}}`))
	if r.HasHashrate || !r.HasPower || r.PowerW != 12 {
		t.Errorf("negative hashrate, power_consumption: got %+v, want no hashrate, 12 W", r)
	}
}

func TestParseCommandAndUnlock(t *testing.T) {
	for in, refused := range map[string]bool{`{}`: false, ``: false, `{"success":true}`: false, `{"success":false}`: true} {
		if err := parseCommand([]byte(in)); errors.Is(err, device.ErrRefused) != refused {
			t.Errorf("parseCommand(%q): got %v, want refused=%v", in, err, refused)
		}
	}
	if tok, err := parseUnlock([]byte(`{"token":"abc"}`)); err != nil || tok != "abc" {
		t.Errorf("unlock: got %q %v, want abc", tok, err)
	}
	if _, err := parseUnlock([]byte(`{"err":"x"}`)); !errors.Is(err, device.ErrProtocol) {
		t.Errorf("unlock without token: got %v, want ErrProtocol", err)
	}
}

func FuzzParseSummary(f *testing.F) {
	f.Add([]byte(summaryDoc))
	f.Add([]byte(`{"miner":{"hr_realtime":1e400}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseSummary(b)
		if err != nil {
			return
		}
		if r.HashrateTHs < 0 || r.PowerW < 0 || r.HashrateTHs != r.HashrateTHs {
			t.Fatalf("bad reading %+v; want r.HashrateTHs >= 0, r.PowerW >= 0, r.HashrateTHs == r.HashrateTHs", r)
		}
	})
}

func FuzzParseUnlock(f *testing.F) {
	f.Add([]byte(`{"token":"abc"}`))
	f.Add([]byte(`{"token":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if tok, err := parseUnlock(b); err == nil && tok == "" {
			t.Fatalf("parseUnlock(%q): got an empty token and no error, want an error", b)
		}
		_ = parseCommand(b)
	})
}
