package stratum

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
	"testing/iotest"
)

const sampleStream = "{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}\r\n" +
	"\n" +
	"{\"id\":\"auth\",\"method\":\"mining.authorize\",\"params\":[\"acct.rig1\",\"x\"]}\n" +
	"{\"id\":null,\"method\":\"mining.suggest_difficulty\",\"params\":[512]}\n" +
	"{\"id\":4,\"method\":\"mining.submit\",\"params\":[\"acct.rig1\",\"1a\",\"00000001\",\"647025b5\",\"0a029ed1\",\"00002000\"]}\n"

var wantLines = []string{
	`{"id":1,"method":"mining.subscribe","params":[]}`,
	`{"id":"auth","method":"mining.authorize","params":["acct.rig1","x"]}`,
	`{"id":null,"method":"mining.suggest_difficulty","params":[512]}`,
	`{"id":4,"method":"mining.submit","params":["acct.rig1","1a","00000001","647025b5","0a029ed1","00002000"]}`,
}

func readAll(t *testing.T, r io.Reader, max int) ([]string, error) {
	t.Helper()
	lr := NewLineReader(r, max)
	var got []string
	for range 1000 {
		line, err := lr.ReadLine()
		if err != nil {
			return got, err
		}
		got = append(got, string(line))
	}
	t.Fatalf("reader still returning lines after %d (last %q), want it to stop at an error", len(got), got[len(got)-1])
	return nil, nil
}

func TestLineReaderSplits(t *testing.T) {
	readers := map[string]io.Reader{
		"whole":        strings.NewReader(sampleStream),
		"byte-by-byte": iotest.OneByteReader(strings.NewReader(sampleStream)),
		"half-reads":   iotest.HalfReader(strings.NewReader(sampleStream)),
		"data-err":     iotest.DataErrReader(strings.NewReader(sampleStream)),
	}
	for name, r := range readers {
		t.Run(name, func(t *testing.T) {
			got, err := readAll(t, r, 1024)
			if err != io.EOF {
				t.Fatalf("err = %v, want EOF", err)
			}
			if strings.Join(got, "|") != strings.Join(wantLines, "|") {
				t.Fatalf("got %q\nwant %q", got, wantLines)
			}
		})
	}
}

// Every split point of the stream into two reads gives the same lines.
func TestLineReaderEverySplitPoint(t *testing.T) {
	for i := 0; i <= len(sampleStream); i++ {
		r := io.MultiReader(strings.NewReader(sampleStream[:i]), strings.NewReader(sampleStream[i:]))
		got, err := readAll(t, r, 1024)
		if err != io.EOF || len(got) != len(wantLines) {
			t.Fatalf("split at %d: %d lines, err %v; want %d lines, EOF", i, len(got), err, len(wantLines))
		}
		for j := range got {
			if got[j] != wantLines[j] {
				t.Fatalf("split at %d line %d: %q, want %q", i, j, got[j], wantLines[j])
			}
		}
	}
}

func TestLineReaderTooLong(t *testing.T) {
	cases := map[string]string{
		"1MiB no newline":   strings.Repeat("a", 1<<20),
		"1MiB then newline": strings.Repeat("{", 1<<20) + "\n",
		"just over":         strings.Repeat("x", 101) + "\n",
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			cr := &countingReader{r: strings.NewReader(in)}
			_, err := readAll(t, cr, 100)
			if !errors.Is(err, ErrLineTooLong) {
				t.Fatalf("err = %v, want ErrLineTooLong", err)
			}
			// The reader must give up early, not swallow the whole megabyte.
			if cr.n > 1024 {
				t.Fatalf("read %d bytes before refusing, want at most 1024", cr.n)
			}
		})
	}
	// Exactly at the limit, with \r\n, is fine.
	got, err := readAll(t, strings.NewReader(strings.Repeat("y", 100)+"\r\n"), 100)
	if err != io.EOF || len(got) != 1 || len(got[0]) != 100 {
		t.Fatalf("line at the limit: lines %q, err %v; want one of 100 bytes, EOF", got, err)
	}
}

func TestLineReaderMidLineClose(t *testing.T) {
	_, err := readAll(t, strings.NewReader("{\"id\":1}\n{\"id\":"), 100)
	if err != io.ErrUnexpectedEOF {
		t.Fatalf("err = %v, want ErrUnexpectedEOF", err)
	}
}

// After one long line the buffer goes back to its small size, so an idle
// miner does not keep a big buffer.
func TestLineReaderShrinks(t *testing.T) {
	long := strings.Repeat("z", 8000)
	lr := NewLineReader(iotest.HalfReader(strings.NewReader(long+"\n{}\n")), 16<<10)
	if l, err := lr.ReadLine(); err != nil || len(l) != 8000 {
		t.Fatalf("long line: %d bytes, err %v; want 8000, nil", len(l), err)
	}
	if l, err := lr.ReadLine(); err != nil || string(l) != "{}" {
		t.Fatalf("second line: %q, err %v; want {}, nil", l, err)
	}
	if _, err := lr.ReadLine(); err != io.EOF {
		t.Fatal(err)
	}
	if cap(lr.buf) > minLineBuffer {
		t.Fatalf("buffer kept at %d bytes, want at most %d", cap(lr.buf), minLineBuffer)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestDecodeIDsEchoed(t *testing.T) {
	for _, id := range []string{`1`, `"auth"`, `null`, `12345678901234567890`, `"x\"y"`, `1.5`} {
		t.Run(id, func(t *testing.T) {
			m, err := Decode([]byte(`{"id":` + id + `,"method":"mining.subscribe","params":[]}`))
			if err != nil {
				t.Fatalf("id %s: %v", id, err)
			}
			resp := AppendRawResponse(nil, m.ID, []byte("true"))
			want := `{"id":` + id + `,"result":true,"error":null}` + "\n"
			if string(resp) != want {
				t.Fatalf("id %s: answer %s, want %s", id, resp, want)
			}
			e := AppendError(nil, m.ID, NewError(ErrJobNotFound, "Job not found"))
			if !bytes.HasPrefix(e, []byte(`{"id":`+id+`,`)) || !bytes.Contains(e, []byte(`[21,"Job not found",null]`)) {
				t.Fatalf("id %s: error answer %s, want id %s and [21,\"Job not found\",null]", id, e, id)
			}
		})
	}
	// A request without an id is answered with null.
	m, err := Decode([]byte(`{"method":"mining.subscribe","params":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(AppendRawResponse(nil, m.ID, []byte("1"))); got != `{"id":null,"result":1,"error":null}`+"\n" {
		t.Fatalf("answer %s, want id null", got)
	}
}

func TestDecodeMalformed(t *testing.T) {
	for _, in := range []string{
		``, `not json`, `[1,2]`, `{"id":1,`, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", `{"id":1,"method":5}`, `"str"`,
	} {
		t.Run(fmt.Sprintf("%q", in), func(t *testing.T) {
			if _, err := Decode([]byte(in)); !errors.Is(err, ErrMalformed) {
				t.Errorf("%q: err = %v, want ErrMalformed", in, err)
			}
		})
	}
}

func TestErrorCodes(t *testing.T) {
	for code, name := range map[ErrorCode]string{20: "other", 21: "job_not_found", 22: "duplicate", 23: "low_difficulty", 24: "unauthorized", 25: "not_subscribed"} {
		t.Run(name, func(t *testing.T) {
			if code.String() != name {
				t.Errorf("ErrorCode(%d).String() = %s, want %s", code, code.String(), name)
			}
		})
	}
	cases := map[string]*Error{
		`null`:                             nil,
		`[23,"Low difficulty share",null]`: {ErrLowDifficulty, "Low difficulty share"},
		`{"code":21,"message":"Stale"}`:    {ErrJobNotFound, "Stale"},
		`"weird"`:                          {ErrOther, "weird"},
		`[22]`:                             {ErrDuplicate, ""},
	}
	for in, want := range cases {
		t.Run(in, func(t *testing.T) {
			got := ParseError(json.RawMessage(in))
			if (got == nil) != (want == nil) || got != nil && *got != *want {
				t.Errorf("%s: got %+v want %+v", in, got, want)
			}
		})
	}
}

func TestParseSubmit(t *testing.T) {
	good := `["acct.rig1","1a","00000001","647025b5","0a029ed1","00002000"]`
	s, err := ParseSubmit(json.RawMessage(good))
	if err != nil || s.Worker != "acct.rig1" || s.Version != "00002000" || s.Nonce != "0a029ed1" {
		t.Fatalf("ParseSubmit(%s) = %+v, %v; want worker acct.rig1, version 00002000, nonce 0a029ed1", good, s, err)
	}
	bad := map[string]int{
		`["w","1","00","647025b5"]`:                 4,
		`["w",1,"00","647025b5","0a029ed1"]`:        1,
		`["w","1","0g","647025b5","0a029ed1"]`:      2,
		`["w","1","00","647025b","0a029ed1"]`:       3,
		`["w","1","00","647025b5","0a029ed1x"]`:     4,
		`["w","1","00","647025b5","0a029ed1","zz"]`: 5,
		`{"worker":"w"}`:                            -1,
	}
	for in, idx := range bad {
		t.Run(in, func(t *testing.T) {
			_, err := ParseSubmit(json.RawMessage(in))
			var pe *ParamError
			if !errors.As(err, &pe) || pe.Index != idx {
				t.Errorf("%s: err %v, want param %d", in, err, idx)
			}
		})
	}
}

func TestParseConfigure(t *testing.T) {
	c, err := ParseConfigure(json.RawMessage(`[["version-rolling","minimum-difficulty","subscribe-extranonce"],{"version-rolling.mask":"1fffe000","version-rolling.min-bit-count":2,"minimum-difficulty.value":2048}]`))
	if err != nil {
		t.Fatal(err)
	}
	if !c.VersionRolling || c.VersionRollingMask != 0x1fffe000 || c.MinimumDifficulty != 2048 || !c.SubscribeExtranonce {
		t.Fatalf("ParseConfigure = %+v, want version rolling with mask 1fffe000, minimum difficulty 2048, subscribe-extranonce", c)
	}
	if c, err := ParseConfigure(json.RawMessage(`[["version-rolling"],{"version-rolling.mask":17}]`)); err == nil {
		t.Fatalf("ParseConfigure with a numeric mask = %+v, nil; want an error", c)
	}
}

func TestParseNotifyRoundTrip(t *testing.T) {
	h := strings.Repeat("ab", 32)
	raw := `["j1","` + h + `","01","02",["` + h + `"],"20000000","1705ae3a","647025b5",true]`
	n, err := ParseNotify(json.RawMessage(raw))
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(n.Params("j1"))
	if err != nil || string(out) != raw {
		t.Fatalf("round trip %s (err %v), want %s", out, err, raw)
	}
	if n, err := ParseNotify(json.RawMessage(`["j1","00","01","02",[],"20000000","1705ae3a","647025b5",true]`)); err == nil {
		t.Fatalf("ParseNotify with a 1-byte prevhash = %+v, nil; want an error", n)
	}
}

func TestParseSubscribeResult(t *testing.T) {
	r, err := ParseSubscribeResult(json.RawMessage(`[[["mining.set_difficulty","1"],["mining.notify","1"]],"08000002",4]`))
	if err != nil || len(r.Extranonce1) != 4 || r.Extranonce2Size != 4 {
		t.Fatalf("ParseSubscribeResult = %+v, %v; want a 4-byte extranonce1, extranonce2 size 4", r, err)
	}
	r, err = ParseSetExtranonce(json.RawMessage(`["0800000203",3]`))
	if err != nil || len(r.Extranonce1) != 5 || r.Extranonce2Size != 3 {
		t.Fatalf("ParseSetExtranonce = %+v, %v; want a 5-byte extranonce1, extranonce2 size 3", r, err)
	}
	for _, bad := range []string{`[[],"xx",4]`, `[[],"08",4.5]`, `[[],"08"]`, `"x"`} {
		t.Run(bad, func(t *testing.T) {
			if r, err := ParseSubscribeResult(json.RawMessage(bad)); err == nil {
				t.Errorf("ParseSubscribeResult(%s) = %+v, nil; want an error", bad, r)
			}
		})
	}
}

func TestHexUint32(t *testing.T) {
	for _, v := range []uint32{0, 1, 0x647025b5, 0xffffffff} {
		t.Run(FormatUint32(v), func(t *testing.T) {
			got, ok := HexUint32(FormatUint32(v))
			if !ok || got != v {
				t.Fatalf("HexUint32(FormatUint32(%x)) = %x, %v; want %x, true", v, got, ok, v)
			}
		})
	}
	if v, ok := HexUint32("1234567"); ok {
		t.Fatalf("HexUint32(\"1234567\") = %x, true; want false (8 digits needed)", v)
	}
}

// FuzzDecode feeds arbitrary streams through the framing and the decoder:
// nothing may panic, and every line that decodes must re-encode to JSON.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(sampleStream))
	f.Add([]byte("{\"id\":1}\r\n\r\n{"))
	f.Add([]byte("\x16\x03\x01\x00"))
	f.Add([]byte(`{"id":[1],"method":"mining.submit","params":[1,2,3,4,5,6]}` + "\n"))
	f.Add([]byte(`{"id":null,"method":"mining.set_difficulty","params":[1e400]}` + "\n" +
		`{"id":null,"method":"mining.set_difficulty","params":["NaN"]}` + "\n" +
		`{"id":null,"method":"mining.set_extranonce","params":["08",28]}` + "\n" +
		`{"id":1,"result":[[],"08","Inf"]}` + "\n" +
		`{"id":2,"method":"mining.configure","params":[["minimum-difficulty"],{"minimum-difficulty.value":"-inf"}]}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lr := NewLineReader(iotest.HalfReader(bytes.NewReader(data)), 256)
		for range 1000 {
			line, err := lr.ReadLine()
			if err != nil {
				return
			}
			if len(line) > 256 {
				t.Fatalf("line of %d bytes, want at most the limit 256", len(line))
			}
			m, err := Decode(line)
			if err != nil {
				continue
			}
			_, _ = ParseSubmit(m.Params)
			_, _ = ParseNotify(m.Params)
			checkNumbers(t, m.Params)
			checkNumbers(t, m.Result)
			_ = ParseError(m.Error)
			out := AppendRawResponse(nil, m.ID, []byte("true"))
			if !json.Valid(bytes.TrimSpace(out)) {
				t.Fatalf("answer %s, want valid JSON", out)
			}
		}
	})
}

func TestParseVersionMaskAndConfigureResult(t *testing.T) {
	for in, want := range map[string]uint32{`["1fffe000"]`: 0x1fffe000, `["ffe000"]`: 0xffe000, `["FFFFFFFF"]`: 0xffffffff} {
		t.Run(in, func(t *testing.T) {
			got, err := ParseVersionMask(json.RawMessage(in))
			if err != nil || got != want {
				t.Errorf("ParseVersionMask(%s) = %08x, %v; want %08x, nil", in, got, err, want)
			}
		})
	}
	for _, bad := range []string{`[]`, `[7]`, `["1fffe0000"]`, `["xyz"]`, `[""]`} {
		t.Run(bad, func(t *testing.T) {
			if m, err := ParseVersionMask(json.RawMessage(bad)); err == nil {
				t.Errorf("ParseVersionMask(%s) = %08x, nil; want an error", bad, m)
			}
		})
	}
	if ok, m := ParseConfigureResult(json.RawMessage(`{"version-rolling":true,"version-rolling.mask":"1fffe000"}`)); !ok || m != 0x1fffe000 {
		t.Errorf("grant: %v %08x, want true 1fffe000", ok, m)
	}
	for _, no := range []string{`{"version-rolling":false}`, `{"version-rolling":true}`, `null`, `[1]`} {
		t.Run(no, func(t *testing.T) {
			if ok, m := ParseConfigureResult(json.RawMessage(no)); ok {
				t.Errorf("ParseConfigureResult(%s) = true, %08x; want no grant", no, m)
			}
		})
	}
	if e := ParseError(json.RawMessage(`false`)); e != nil {
		t.Errorf(`ParseError("false") = %+v, want nil (no error)`, e)
	}
}

// After a read deadline passes mid-line, the reader keeps what it had and
// the line completes on the next read (the fleet relies on this).
func TestLineReaderResumesAfterTimeout(t *testing.T) {
	r := &timeoutOnce{parts: []string{`{"id":1,"met`, "", `hod":"x"}` + "\n"}}
	lr := NewLineReader(r, 100)
	if _, err := lr.ReadLine(); err != errTimeout {
		t.Fatalf("first read: %v, want the timeout", err)
	}
	line, err := lr.ReadLine()
	if err != nil || string(line) != `{"id":1,"method":"x"}` {
		t.Fatalf("after the timeout: %q, err %v; want {\"id\":1,\"method\":\"x\"}, nil", line, err)
	}
}

var errTimeout = errors.New("timeout")

// timeoutOnce returns its parts in order; an empty part is a timeout.
type timeoutOnce struct{ parts []string }

func (r *timeoutOnce) Read(p []byte) (int, error) {
	if len(r.parts) == 0 {
		return 0, io.EOF
	}
	part := r.parts[0]
	r.parts = r.parts[1:]
	if part == "" {
		return 0, errTimeout
	}
	return copy(p, part), nil
}

// HasLine says whether ReadLine would return without reading: buffered
// empty lines ("\n", "\r\n") are not lines, a split "\r" is not yet one.
func TestLineReaderHasLine(t *testing.T) {
	cases := []struct {
		in   string // what one read brings
		want bool
	}{
		{"", false},
		{"\n", false},
		{"\r\n", false},
		{"\n\r\n\n", false},
		{"\r", false},
		{"{}", false},
		{"{}\n", true},
		{"\n\r\n{}\n", true},
		{"\r\n{}", false},
		{"x\r\n", true},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%q", c.in), func(t *testing.T) {
			// One read of the whole input after a first line, so the input
			// is buffered when HasLine looks.
			lr := NewLineReader(strings.NewReader("{\"id\":0}\n"+c.in), 100)
			if l, err := lr.ReadLine(); err != nil || string(l) != `{"id":0}` {
				t.Fatalf("%q: first line %q, err %v; want {\"id\":0}, nil", c.in, l, err)
			}
			if got := lr.HasLine(); got != c.want {
				t.Errorf("HasLine with %q buffered = %v, want %v", c.in, got, c.want)
			}
			if c.want {
				// True means a line comes back without a read: the reader
				// has nothing more to give.
				if l, err := lr.ReadLine(); err != nil || len(l) == 0 {
					t.Errorf("%q: HasLine true, ReadLine %q, err %v; want a line", c.in, l, err)
				}
			}
		})
	}
}

// checkNumbers runs every decoder that reads a number a pool or a miner
// sends and fails on a non-finite or out-of-range value let through.
func checkNumbers(t *testing.T, params json.RawMessage) {
	t.Helper()
	ps, _ := SplitParams(params)
	for i := range ps {
		if f, err := FloatParam(ps, i); err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
			t.Fatalf("FloatParam(%s) = %v, want an error", ps[i], f)
		}
	}
	if c, err := ParseConfigure(params); err == nil && (math.IsNaN(c.MinimumDifficulty) || math.IsInf(c.MinimumDifficulty, 0) || c.MinimumDifficulty < 0) {
		t.Fatalf("ParseConfigure(%s): minimum difficulty %v, want finite and >= 0 or an error", params, c.MinimumDifficulty)
	}
	for _, parse := range []func(json.RawMessage) (*SubscribeResult, error){ParseSubscribeResult, ParseSetExtranonce} {
		if r, err := parse(params); err == nil && (r.Extranonce2Size < 0 || r.Extranonce2Size > MaxExtranonce2Size) {
			t.Fatalf("extranonce2_size %d from %s, want 0..%d or an error", r.Extranonce2Size, params, MaxExtranonce2Size)
		}
	}
	_, _ = ParseVersionMask(params)
	_, _ = ParseConfigureResult(params)
}

// Every number a pool or a miner sends goes through FloatParam, as a JSON
// number or a string: none may come out NaN or infinite (a pool's NaN
// difficulty made a target of 0 and stopped all forwarding).
func TestFloatParamRefusesNonFinite(t *testing.T) {
	good := map[string]float64{`[1]`: 1, `[0.0001]`: 0.0001, `["2.5"]`: 2.5, `[1e-400]`: 0, `[-3]`: -3, `["1e300"]`: 1e300}
	for in, want := range good {
		t.Run(in, func(t *testing.T) {
			ps, _ := SplitParams(json.RawMessage(in))
			if got, err := FloatParam(ps, 0); err != nil || got != want {
				t.Errorf("FloatParam(%s) = %v, %v; want %v", in, got, err, want)
			}
		})
	}
	for _, in := range []string{`[1e400]`, `[-1e400]`, `["1e400"]`, `["-1e400"]`, `["NaN"]`, `["nan"]`,
		`["Inf"]`, `["+Inf"]`, `["-inf"]`, `["infinity"]`, `["-Infinity"]`, `[null]`, `[true]`, `["x"]`, `[]`} {
		t.Run(in, func(t *testing.T) {
			ps, _ := SplitParams(json.RawMessage(in))
			got, err := FloatParam(ps, 0)
			var pe *ParamError
			if !errors.As(err, &pe) || pe.Index != 0 {
				t.Errorf("FloatParam(%s) = %v, %v; want a ParamError for param 0", in, got, err)
			}
		})
	}
}

func TestNumbersInHandshakesRefuseNonFinite(t *testing.T) {
	for _, in := range []string{`[[],"08","NaN"]`, `[[],"08","Inf"]`, `[[],"08",1e400]`, `[[],"08","1e400"]`, `[[],"08",-1e400]`, `[[],"08",33]`, `[[],"08",-1]`} {
		t.Run("subscribe "+in, func(t *testing.T) {
			if r, err := ParseSubscribeResult(json.RawMessage(in)); err == nil {
				t.Errorf("subscribe result %s = %+v, nil; want an error", in, r)
			}
		})
	}
	for _, in := range []string{`["08","NaN"]`, `["08",1e400]`, `["08","-Infinity"]`, `["08",33]`} {
		t.Run("set_extranonce "+in, func(t *testing.T) {
			if r, err := ParseSetExtranonce(json.RawMessage(in)); err == nil {
				t.Errorf("set_extranonce %s = %+v, nil; want an error", in, r)
			}
		})
	}
	for _, v := range []string{`"Inf"`, `"NaN"`, `1e400`, `"1e400"`, `"-inf"`, `"x"`} {
		t.Run("configure "+v, func(t *testing.T) {
			in := `[["minimum-difficulty"],{"minimum-difficulty.value":` + v + `}]`
			c, err := ParseConfigure(json.RawMessage(in))
			var pe *ParamError
			if !errors.As(err, &pe) || pe.Index != 1 {
				t.Errorf("configure %s = %+v, %v; want a ParamError for param 1", in, c, err)
			}
		})
	}
	// 0 and below still mean no floor, as firmware that sends 0 expects.
	for _, v := range []string{`0`, `-5`, `null`} {
		t.Run("configure "+v, func(t *testing.T) {
			c, err := ParseConfigure(json.RawMessage(`[["minimum-difficulty"],{"minimum-difficulty.value":` + v + `}]`))
			if err != nil || c.MinimumDifficulty != 0 {
				t.Errorf("configure value %s = %+v, %v; want no floor, no error", v, c, err)
			}
		})
	}
}
