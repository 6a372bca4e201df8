package luxos

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/hashgate/hashgate/switcher/device"
)

const sampleReading = `{"summary":[{"STATUS":[{"STATUS":"S","Code":11,"Msg":"Summary"}],"SUMMARY":[{"GHS 5s":"104500.5","GHS av":100000}]}],` +
	`"power":[{"STATUS":[{"STATUS":"S","Code":311}],"POWER":[{"PSU":true,"Watts":3250}]}],` +
	`"config":[{"STATUS":[{"STATUS":"S","Code":33}],"CONFIG":[{"CurtailMode":"None"}]}],"id":1}`

func TestParseReading(t *testing.T) {
	cases := []struct {
		name, in string
		want     device.Reading
		err      error
	}{
		{"full", sampleReading, device.Reading{State: device.StateMining, PowerW: 3250, HasPower: true, HashrateTHs: 104.5005, HasHashrate: true}, nil},
		{"sleep", strings.Replace(sampleReading, `"None"`, `"Sleep"`, 1), device.Reading{State: device.StateSleeping, PowerW: 3250, HasPower: true, HashrateTHs: 104.5005, HasHashrate: true}, nil},
		{"power refused", `{"power":[{"STATUS":[{"STATUS":"E","Code":1,"Msg":"no"}]}],"config":[{"STATUS":[{"STATUS":"S"}],"CONFIG":[{"CurtailMode":"Idle"}]}]}`,
			device.Reading{State: device.StateSleeping}, nil},
		{"av fallback", `{"summary":[{"STATUS":[{"STATUS":"S"}],"SUMMARY":[{"GHS av":2000}]}]}`, device.Reading{HashrateTHs: 2, HasHashrate: true}, nil},
		{"nothing", `{"id":1}`, device.Reading{}, device.ErrProtocol},
		{"garbage", `{"summary":`, device.Reading{}, device.ErrProtocol},
		{"bad number", `{"summary":[{"STATUS":[{"STATUS":"S"}],"SUMMARY":[{"GHS 5s":"fast"}]}]}`, device.Reading{}, device.ErrProtocol},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := parseReading([]byte(c.in))
			if !errors.Is(err, c.err) || (c.err == nil && !same(got, c.want)) {
				t.Errorf("%s: got %+v, %v; want %+v, %v", c.name, got, err, c.want, c.err)
			}
		})
	}
}

func TestParseLogon(t *testing.T) {
	cases := []struct {
		in, sid string
		err     error
	}{
		{`{"SESSION":[{"SessionID":"yJN2nlj1"}],"STATUS":[{"Code":316,"Msg":"Session created","STATUS":"S"}],"id":1}`, "yJN2nlj1", nil},
		{`{"STATUS":[{"Code":402,"Msg":"Another session is active","STATUS":"E"}],"id":1}`, "", device.ErrBusy},
		{`{"STATUS":[{"Code":14,"Msg":"Session in use","STATUS":"E"}],"id":1}`, "", device.ErrBusy},
		{`{"STATUS":[{"Code":9,"Msg":"odd","STATUS":"E"}],"id":1}`, "", device.ErrRefused},
		{`{"SESSION":[{"SessionID":""}],"STATUS":[{"Code":316,"STATUS":"S"}]}`, "", device.ErrProtocol},
		{`{"STATUS":[]}`, "", device.ErrProtocol},
		{`nope`, "", device.ErrProtocol},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			sid, err := parseLogon([]byte(c.in))
			if sid != c.sid || !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
				t.Errorf("%s: got %q, %v; want %q, %v", c.in, sid, err, c.sid, c.err)
			}
		})
	}
}

func TestParsePoolsOrder(t *testing.T) {
	ps, err := parsePools([]byte(`{"STATUS":[{"STATUS":"S"}],"POOLS":[{"POOL":4,"URL":"b","Priority":1},{"POOL":2,"URL":"a","Priority":0}]}`))
	if err != nil || len(ps) != 2 || ps[0].URL != "a" || ps[0].ID != 2 || ps[1].URL != "b" {
		t.Fatalf("got %+v, %v; want a (id 2) then b", ps, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sampleReading))
	f.Add([]byte(`{"SESSION":[{"SessionID":"a"}],"STATUS":[{"STATUS":"S"}]}`))
	f.Add([]byte(`{"STATUS":[{"STATUS":"S"}],"POOLS":[{"POOL":1,"URL":"u"}]}`))
	f.Add([]byte("{\"STATUS\":[{\"STATUS\":\"E\",\"Code\":402}]}\x00x"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ans, err := device.ReadToNUL(bytes.NewReader(b), 1<<16)
		if err != nil {
			return
		}
		if bytes.IndexByte(ans, 0) >= 0 {
			t.Fatalf("answer %q holds a NUL; want bytes.IndexByte(ans, 0) < 0", ans)
		}
		_, _ = parseReading(ans)
		_, _ = parseLogon(ans)
		_, _ = parsePools(ans)
		_ = parseStatus(ans)
	})
}

func same(a, b device.Reading) bool {
	return a.State == b.State && a.PowerW == b.PowerW && a.HasPower == b.HasPower &&
		a.HashrateTHs == b.HashrateTHs && a.HasHashrate == b.HasHashrate
}
