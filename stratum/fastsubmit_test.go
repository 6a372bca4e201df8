package stratum

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseSubmitLine(t *testing.T) {
	good := []string{
		`{"id":4,"method":"mining.submit","params":["acct.rig1","1a","00000001","647025b5","0a029ed1","00002000"]}`,
		`{"params":["acct.rig1","1a","00000001","647025b5","0a029ed1"],"id":"s-9","method":"mining.submit"}`,
		`{"id": null, "method": "mining.submit", "params": ["w", "1a.2f", "", "647025b5", "0a029ed1"]}`,
	}
	for i, l := range good {
		t.Run(fmt.Sprintf("good %d", i), func(t *testing.T) {
			var s Submit
			id, ok := ParseSubmitLine([]byte(l), &s)
			if !ok {
				t.Fatalf("ParseSubmitLine(%s) refused it, want it taken by the fast path", l)
			}
			m, err := Decode([]byte(l))
			if err != nil {
				t.Fatal(err)
			}
			want, err := ParseSubmit(m.Params)
			if err != nil {
				t.Fatal(err)
			}
			if s != *want || !bytes.Equal(bytes.TrimSpace(id), m.ID) {
				t.Fatalf("%s: fast %+v id %s, slow %+v id %s", l, s, id, want, m.ID)
			}
		})
	}
	slow := []string{
		`{"id":1,"method":"mining.subscribe","params":[]}`,
		`{"id":1,"method":"mining.submit","params":["w\"x","1","00","647025b5","0a029ed1"]}`,
		`{"id":1.5,"method":"mining.submit","params":["w","1","00","647025b5","0a029ed1"]}`,
		`{"id":1,"method":"mining.submit","params":["w","1","00","647025b5"]}`,
		`{"id":1,"method":"mining.submit","params":["w","1","0g","647025b5","0a029ed1"]}`,
		`{"id":1,"method":"mining.submit","params":["w","1","00","647025b5","0a029ed1"],"extra":1}`,
		`{"id":1,"method":"mining.submit","params":["w",1,"00","647025b5","0a029ed1"]}`,
		`{"id":01,"method":"mining.submit","params":["w","1","00","647025b5","0a029ed1"]}`,
	}
	for i, l := range slow {
		t.Run(fmt.Sprintf("slow %d", i), func(t *testing.T) {
			var s Submit
			if id, ok := ParseSubmitLine([]byte(l), &s); ok {
				t.Errorf("ParseSubmitLine(%s) took it: id %s, %+v; want it left to the slow path", l, id, s)
			}
		})
	}
	line := []byte(good[0])
	var s Submit
	if n := testing.AllocsPerRun(100, func() { ParseSubmitLine(line, &s) }); n > 1 {
		t.Fatalf("%v allocations per submit, want at most 1", n)
	}
}

// FuzzParseSubmitLine: whatever the fast path accepts, the slow path reads
// the same way.
func FuzzParseSubmitLine(f *testing.F) {
	f.Add([]byte(`{"id":4,"method":"mining.submit","params":["acct.rig1","1a","00000001","647025b5","0a029ed1","00002000"]}`))
	f.Add([]byte(`{"params":["a","b","","00000000","00000000"],"id":"x","method":"mining.submit"}`))
	f.Add([]byte(`{"id":7,"method":"mining.submit","params":["nerd","1a","00000001","647025b5","a029ed1"]}`))
	f.Add([]byte(`{"id":7,"method":"mining.submit","params":["nerd","1a","00000001","647025b5","F"]}`))
	f.Add([]byte(`{"id":7,"method":"mining.submit","params":["nerd","1a","00000001","647025b5",""]}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		var s Submit
		id, ok := ParseSubmitLine(line, &s)
		if !ok {
			return
		}
		m, err := Decode(line)
		if err != nil {
			t.Fatalf("fast path took %q (%+v) that Decode refuses (%v), want refused", line, s, err)
		}
		want, err := ParseSubmit(m.Params)
		if err != nil || m.Method != MethodSubmit {
			t.Fatalf("fast path took %q (%+v) that ParseSubmit refuses (method %q, err %v), want refused", line, s, m.Method, err)
		}
		if s != *want || !bytes.Equal(id, m.ID) {
			t.Fatalf("%q: fast %+v id %s, slow %+v id %s", line, s, id, want, m.ID)
		}
		if len(s.Nonce) != 8 {
			t.Fatalf("%q: nonce %q, want it padded to 8 digits", line, s.Nonce)
		}
	})
}

func TestParseAnswerLine(t *testing.T) {
	cases := []struct {
		line   string
		id     uint64
		result bool
		ok     bool
	}{
		{`{"id":12,"result":true,"error":null}`, 12, true, true},
		{`{"result":false,"error":null,"id":7}`, 7, false, true},
		{`{"id": 3, "result": true, "error": null}`, 3, true, true},
		{`{"id":12,"result":null,"error":[23,"Low difficulty",null]}`, 0, false, false},
		{`{"id":"x","result":true,"error":null}`, 0, false, false},
		{`{"id":null,"method":"mining.notify","params":[]}`, 0, false, false},
		{`{"id":1,"result":true}`, 0, false, false},
		{`{"id":007,"result":true,"error":null}`, 0, false, false},
	}
	for _, c := range cases {
		t.Run(c.line, func(t *testing.T) {
			id, res, ok := ParseAnswerLine([]byte(c.line))
			if ok != c.ok || ok && (id != c.id || res != c.result) {
				t.Errorf("ParseAnswerLine(%s) = %d, %v, %v; want %d, %v, %v", c.line, id, res, ok, c.id, c.result, c.ok)
			}
		})
	}
	line := []byte(cases[0].line)
	if n := testing.AllocsPerRun(100, func() { ParseAnswerLine(line) }); n != 0 {
		t.Fatalf("%v allocations, want 0", n)
	}
}

// FuzzParseAnswerLine: whatever the fast path accepts, Decode reads alike.
func FuzzParseAnswerLine(f *testing.F) {
	f.Add([]byte(`{"id":12,"result":true,"error":null}`))
	f.Add([]byte(`{"result":false,"error":null,"id":7}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		id, res, ok := ParseAnswerLine(line)
		if !ok {
			return
		}
		m, err := Decode(line)
		if err != nil {
			t.Fatalf("fast path took %q (id %d, result %v) that Decode refuses (%v), want refused", line, id, res, err)
		}
		mid, idok := m.IDInt()
		if !idok || mid != id || ParseError(m.Error) != nil || (string(m.Result) == "true") != res || m.IsRequest() {
			t.Fatalf("%q: fast id %d result %v, slow id %s result %s error %s; want the same answer from both", line, id, res, m.ID, m.Result, m.Error)
		}
	})
}

// BenchmarkParseSubmitLine is the share path's decoder on the common
// line: an 8-digit nonce, as nearly every firmware sends it.
func BenchmarkParseSubmitLine(b *testing.B) {
	line := []byte(`{"id":4,"method":"mining.submit","params":["acct.rig1","1a","00000001","647025b5","0a029ed1","00002000"]}`)
	var s Submit
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := ParseSubmitLine(line, &s); !ok {
			b.Fatalf("ParseSubmitLine(%s) refused it, want it taken", line)
		}
	}
}

// Nonces without leading zeros (NerdMiner V1.8.3 sends String(nonce, HEX):
// 1 to 8 digits) are read by both decoders and left-padded to 8, for
// validating and for forwarding; anything else is refused with code 20.
func TestSubmitShortNonce(t *testing.T) {
	cases := []struct {
		nonce, want string // want "": refused
	}{
		{"0a029ed1", "0a029ed1"},
		{"a029ed1", "0a029ed1"},
		{"ed1", "00000ed1"},
		{"1", "00000001"},
		{"0", "00000000"},
		{"ABCDEF", "00ABCDEF"},
		{"", ""},
		{"123456789", ""},
		{"00000000a", ""},
		{"0x1", ""},
		{"12g4", ""},
		{" 1", ""},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%q", c.nonce), func(t *testing.T) {
			line := []byte(`{"id":9,"method":"mining.submit","params":["nerd","1a","00000001","647025b5","` + c.nonce + `"]}`)
			m, err := Decode(line)
			if err != nil {
				t.Fatal(err)
			}
			slow, slowErr := ParseSubmit(m.Params)
			var fast Submit
			_, fastOK := ParseSubmitLine(line, &fast)
			if c.want == "" {
				var pe *ParamError
				if slowErr == nil || !errors.As(slowErr, &pe) || pe.Index != 4 || fastOK {
					t.Errorf("nonce %q: slow %+v %v, fast ok %v; want refused (param 4) by both", c.nonce, slow, slowErr, fastOK)
				}
				return
			}
			if slowErr != nil || !fastOK || slow.Nonce != c.want || fast.Nonce != c.want {
				t.Errorf("nonce %q: slow %+v %v, fast %+v ok %v; want %q from both", c.nonce, slow, slowErr, fast, fastOK, c.want)
			}
			if v, ok := HexUint32(fast.Nonce); !ok || FormatUint32(v) != strings.ToLower(c.want) {
				t.Errorf("nonce %q: padded %q reads as %08x %v, want %s true", c.nonce, fast.Nonce, v, ok, strings.ToLower(c.want))
			}
		})
	}
	// The common 8-digit nonce costs nothing more: the line's one copy.
	line := []byte(`{"id":4,"method":"mining.submit","params":["acct.rig1","1a","00000001","647025b5","0a029ed1"]}`)
	var s Submit
	if n := testing.AllocsPerRun(100, func() { ParseSubmitLine(line, &s) }); n > 1 {
		t.Fatalf("%v allocations per 8-digit submit, want 1", n)
	}
}
