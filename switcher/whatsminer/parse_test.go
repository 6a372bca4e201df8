package whatsminer

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/hashgate/hashgate/switcher/device"
	"github.com/hashgate/hashgate/switcher/whatsminer/wmcrypt"
)

const (
	sampleSummary = `{"STATUS":[{"STATUS":"S","When":1,"Code":11,"Msg":"Summary","Description":"btminer"}],"SUMMARY":[{"Elapsed":10,"MHS av":100000000,"MHS 1m":"112000000.0","Power":3400}],"id":1}`
	sampleStatus  = `{"STATUS":"S","When":1,"Code":131,"Msg":{"mineroff":"true","mineroff_reason":"by api"},"Description":""}`
	sampleToken   = `{"STATUS":"S","When":1,"Code":134,"Msg":{"time":"1706287567","salt":"BQ5hoXV9","newsalt":"zUP4Wu8W"},"Description":""}`
)

func TestParseSummary(t *testing.T) {
	cases := []struct {
		in   string
		want summary
		err  error
	}{
		{sampleSummary, summary{PowerW: 3400, HasPower: true, HashTHs: 112, HasHashes: true}, nil},
		{`{"STATUS":[{"STATUS":"S"}],"SUMMARY":[{"MHS av":2000000,"Power":-1}]}`, summary{HashTHs: 2, HasHashes: true}, nil},
		{`{"STATUS":[{"STATUS":"E","Code":14,"Msg":"no"}]}`, summary{}, device.ErrRefused},
		{`{"STATUS":[{"STATUS":"S"}]}`, summary{}, device.ErrProtocol},
		{`{"STATUS":[{"STATUS":"S"}],"SUMMARY":[{"Power":"lots"}]}`, summary{}, device.ErrProtocol},
		{`[`, summary{}, device.ErrProtocol},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := parseSummary([]byte(c.in))
			if !errors.Is(err, c.err) || (c.err == nil && got != c.want) {
				t.Errorf("%s: got %+v, %v; want %+v, %v", c.in, got, err, c.want, c.err)
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	cases := []struct {
		in   string
		want device.State
	}{
		{sampleStatus, device.StateSleeping},
		{strings.Replace(sampleStatus, `"true"`, `"false"`, 1), device.StateMining},
		{`{"STATUS":"S","Msg":{"btmineroff":"false"}}`, device.StateMining},
		{`{"STATUS":"S","Msg":{"other":"x"}}`, device.StateUnknown},
		{`{"STATUS":"S","Msg":"text"}`, device.StateUnknown},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			if got, err := parseStatus([]byte(c.in)); err != nil || got != c.want {
				t.Errorf("%s: got %v, %v; want %v", c.in, got, err, c.want)
			}
		})
	}
}

func TestParseTokenAndErrors(t *testing.T) {
	ti, err := parseToken([]byte(sampleToken))
	if err != nil || ti.Time != "1706287567" || ti.Salt != "BQ5hoXV9" || ti.NewSalt != "zUP4Wu8W" {
		t.Fatalf("got %+v, %v; want err == nil, ti.Time == \"1706287567\", ti.Salt == \"BQ5hoXV9\", ti.NewSalt == \"zUP4Wu8W\"", ti, err)
	}
	if ti, err = parseToken([]byte(`{"STATUS":"S","Code":134,"Msg":{"time":1706287567,"salt":"a","newsalt":"b"}}`)); err != nil || ti.Time != "1706287567" {
		t.Errorf("numeric time: got %+v, %v; want err == nil, ti.Time == \"1706287567\"", ti, err)
	}
	cases := []struct {
		in  string
		err error
	}{
		{`{"STATUS":"E","Code":136,"Msg":"over max connect"}`, device.ErrBusy},
		{`{"STATUS":"E","Code":135,"Msg":"check token error"}`, errToken},
		{`{"STATUS":"E","Code":23,"Msg":"invalid json message"}`, errGarbled},
		{`{"STATUS":"E","Code":45,"Msg":"permission denied"}`, device.ErrRefused},
		{`{"STATUS":"E","Code":132,"Msg":"command error"}`, device.ErrRefused},
		{`{"STATUS":"S","Code":134,"Msg":{"time":"1"}}`, device.ErrProtocol},
		{`{}`, device.ErrProtocol},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			if _, err := parseToken([]byte(c.in)); !errors.Is(err, c.err) {
				t.Errorf("%s: got %v, want %v", c.in, err, c.err)
			}
		})
	}
}

func TestParsePrivileged(t *testing.T) {
	key := wmcrypt.Key("admin", "BQ5hoXV9")
	sealed := `{"enc":"` + wmcrypt.Seal(key, []byte(`{"STATUS":"S","Code":131,"Msg":""}`)) + `"}`
	if err := parsePrivileged(key, []byte(sealed)); err != nil {
		t.Errorf("sealed ok: %v", err)
	}
	if err := parsePrivileged(wmcrypt.Key("other", "BQ5hoXV9"), []byte(sealed)); !errors.Is(err, device.ErrProtocol) {
		t.Errorf("sealed under another key: got %v, want ErrProtocol", err)
	}
	if err := parsePrivileged(key, []byte(`{"STATUS":"E","Code":135,"Msg":"check token error"}`)); !errors.Is(err, errToken) {
		t.Errorf("plain token error: got %v, want errToken", err)
	}
	if err := parsePrivileged(key, []byte(`{"enc":"%%%"}`)); !errors.Is(err, device.ErrProtocol) {
		t.Errorf("bad base64: got %v, want ErrProtocol", err)
	}
}

func FuzzParse(f *testing.F) {
	key := wmcrypt.Key("admin", "salt")
	for _, s := range []string{sampleSummary, sampleStatus, sampleToken,
		`{"enc":"` + wmcrypt.Seal(key, []byte(`{"STATUS":"S"}`)) + `"}`,
		`{"STATUS":[{"STATUS":"S"}],"POOLS":[{"URL":"u"}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ans, err := device.ReadToNUL(bytes.NewReader(b), 1<<16)
		if err != nil {
			return
		}
		_, _ = parseSummary(ans)
		_, _ = parseStatus(ans)
		_, _ = parseToken(ans)
		_, _ = parsePools(ans)
		_ = parsePrivileged(key, ans)
	})
}
