package stratum

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
)

// Fuzz targets for every decoder of what a pool or a miner sends, past the
// framing (FuzzDecode, FuzzParseSubmitLine, FuzzParseAnswerLine in the
// other test files): each must not panic, must bound what it keeps by what
// it was given, and what it accepts must read back the same when written
// out again (the proxy re-sends notify and submit params it parsed).
// Seeds are real messages: a pool's (public-pool, ckpool), cgminer's and
// NerdMiner's.

// realNotify is a mining.notify of a public pool (block 840,000 era).
const realNotify = `["1a2f","4d16b6f85af6e2198f44ae2a6de67f78487ae5611b77c6c0440b921e00000000",` +
	`"01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff20020862062f503253482f04b8864e5008",` +
	`"072f736c7573682f000000000100f2052a010000001976a914d23fcdf86f7e756a64a7a9688ef9903327048ed988ac00000000",` +
	`["8f3c1d0b0cd3f1e7c7a0ea5f8e0fd1aa63ab4c4da4b0e6f5b0f2a1b3c4d5e6f7","0b6a7e0c5f4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0918273645f3e2"],` +
	`"20000000","1705c739","6613a7e0",true]`

// realSubmits are submit params of cgminer (6 params, version rolled) and
// of NerdMiner (5 params).
var realSubmits = []string{
	`["acct.rig1","1a","00000001","647025b5","0a029ed1","00002000"]`,
	`["bc1qexample.nerd","6613a7e0000001","0000000000000000","6613a7e0","1f3a9c02"]`,
}

// chunkReader returns at most n bytes per Read: the line reader must not
// depend on how the stream was cut.
type chunkReader struct {
	data []byte
	n    int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	k := min(len(p), r.n, len(r.data))
	copy(p, r.data[:k])
	r.data = r.data[k:]
	return k, nil
}

// FuzzLineReader: the lines are those of a plain split (without "\r",
// empty ones skipped), however the stream is cut; a line over the limit
// is refused, never buffered past the limit; a stream cut mid-line ends
// with ErrUnexpectedEOF.
func FuzzLineReader(f *testing.F) {
	f.Add([]byte(sampleStream), uint16(256), uint8(0))
	f.Add([]byte(sampleStream), uint16(60), uint8(6))
	f.Add([]byte("{\"id\":1}\r\n\r\n\n{\"id\":2}\n{"), uint16(8), uint8(1))
	f.Add([]byte("aaaa\r\naaaaa\n"), uint16(4), uint8(2))
	f.Add([]byte(`{"id":null,"method":"mining.notify","params":`+realNotify+"}\n"), uint16(700), uint8(200))
	f.Fuzz(func(t *testing.T, data []byte, maxLen uint16, chunk uint8) {
		limit := int(maxLen%1024) + 1
		lr := NewLineReaderSize(&chunkReader{data: data, n: int(chunk) + 1}, limit, 16)
		rest := data
		for n := 0; ; n++ {
			var want []byte
			var wantErr error
			i := bytes.IndexByte(rest, '\n')
			for i == 0 || (i == 1 && rest[0] == '\r') { // empty lines
				rest = rest[i+1:]
				i = bytes.IndexByte(rest, '\n')
			}
			switch {
			case i > 0:
				want = bytes.TrimSuffix(rest[:i], []byte("\r"))
				if len(want) > limit {
					want, wantErr = nil, ErrLineTooLong
				}
			case len(rest) > limit+1:
				wantErr = ErrLineTooLong
			case len(rest) > 0:
				wantErr = io.ErrUnexpectedEOF
			default:
				wantErr = io.EOF
			}
			line, err := lr.ReadLine()
			if c := cap(lr.buf); c > max(16, limit+2) {
				t.Fatalf("buffer of %d bytes for lines of at most %d, want at most %d", c, limit, max(16, limit+2))
			}
			if !errors.Is(err, wantErr) || !bytes.Equal(line, want) {
				t.Fatalf("line %d (limit %d, reads of %d): got %q %v, want %q %v", n, limit, int(chunk)+1, line, err, want, wantErr)
			}
			if err != nil {
				return
			}
			rest = rest[i+1:]
		}
	})
}

// FuzzParseNotify: an accepted notify re-sent under its own id parses the
// same (the proxy re-sends it to every miner).
func FuzzParseNotify(f *testing.F) {
	f.Add([]byte(realNotify))
	f.Add([]byte(strings.Replace(realNotify, `["8f3c`, `[], ["8f3c`, 1)))
	f.Add([]byte(`["j","` + strings.Repeat("0", 64) + `","","",[],"20000000","1d00ffff","00000000",false]`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		n, err := ParseNotify(raw)
		if err != nil {
			return
		}
		if len(n.Branches) > len(raw)/64 {
			t.Fatalf("%d branches from %d bytes, want at most %d (64 bytes each)", len(n.Branches), len(raw), len(raw)/64)
		}
		b, err := json.Marshal(n.Params(n.JobID))
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseNotify(b)
		if err != nil {
			t.Fatalf("re-sent notify %s refused (%v), want it read back as %+v", b, err, n)
		}
		if n.Branches == nil {
			n.Branches = []string{}
		}
		if !reflect.DeepEqual(n, again) {
			t.Fatalf("notify %s read back as %+v, want %+v as it was", b, again, n)
		}
	})
}

// FuzzParseSubmit: an accepted submit forwarded as parsed reads the same.
func FuzzParseSubmit(f *testing.F) {
	for _, s := range realSubmits {
		f.Add([]byte(s))
	}
	f.Add([]byte(`["w","j","","00000000","00000000",null]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := ParseSubmit(raw)
		if err != nil {
			return
		}
		ps := []any{s.Worker, s.JobID, s.Extranonce2, s.NTime, s.Nonce}
		if s.Version != "" {
			ps = append(ps, s.Version)
		}
		b, err := json.Marshal(ps)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseSubmit(b)
		if err != nil || *again != *s {
			t.Fatalf("submit %s read back as %+v (err %v), want %+v as it was", b, again, err, s)
		}
	})
}

// FuzzParseSubscribeResult: the pool's subscribe answer and
// mining.set_extranonce give an extranonce1 no longer than they sent and a
// size in 0..32, and read back the same.
func FuzzParseSubscribeResult(f *testing.F) {
	f.Add([]byte(`[[["mining.set_difficulty","b4b6693b72a50c7116db18d6497cac52"],["mining.notify","ae6812eb4cd7735a302a8a9dd95cf71f"]],"08000002",4]`))
	f.Add([]byte(`[null,"f8002c90",8]`))
	f.Add([]byte(`[[],"",0]`))
	f.Add([]byte(`[[],"ab","4"]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		check := func(what string, r *SubscribeResult, err error) {
			if err != nil {
				return
			}
			if r.Extranonce2Size < 0 || r.Extranonce2Size > 32 || 2*len(r.Extranonce1) > len(raw) {
				t.Fatalf("%s %s: extranonce1 %d bytes, extranonce2_size %d; want at most %d bytes and a size in 0..32", what, raw, len(r.Extranonce1), r.Extranonce2Size, len(raw)/2)
			}
			b, _ := json.Marshal([]any{[]any{}, hex.EncodeToString(r.Extranonce1), r.Extranonce2Size})
			again, err := ParseSubscribeResult(b)
			if err != nil || !reflect.DeepEqual(again, r) {
				t.Fatalf("%s %s read back as %+v (err %v), want %+v as it was", what, b, again, err, r)
			}
		}
		r, err := ParseSubscribeResult(raw)
		check("subscribe result", r, err)
		r, err = ParseSetExtranonce(raw)
		check("set_extranonce", r, err)
	})
}

// FuzzFloatParam: the difficulty of mining.set_difficulty (pool) and
// mining.suggest_difficulty (miner); a finite one reads back the same.
// (Whether a non-finite or non-positive one is refused is the callers'
// and the decoder's rule, tested where it is made.)
func FuzzFloatParam(f *testing.F) {
	for _, s := range []string{`[512]`, `[0.001]`, `["1024"]`, `[1e-300]`, `[65536.0, "x"]`, `[]`, `["NaN"]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		ps, err := SplitParams(raw)
		if err != nil {
			return
		}
		d, err := FloatParam(ps, 0)
		if err != nil || math.IsNaN(d) || math.IsInf(d, 0) {
			return
		}
		b, _ := json.Marshal([]float64{d})
		ps, _ = SplitParams(b)
		if again, err := FloatParam(ps, 0); err != nil || again != d {
			t.Fatalf("%s: %v read back as %v (err %v), want %v", raw, d, again, err, d)
		}
	})
}

// FuzzParseConfigure: mining.configure (BIP310) of a miner.
func FuzzParseConfigure(f *testing.F) {
	f.Add([]byte(`[["version-rolling"],{"version-rolling.mask":"1fffe000","version-rolling.min-bit-count":2}]`))
	f.Add([]byte(`[["minimum-difficulty","subscribe-extranonce"],{"minimum-difficulty.value":2048}]`))
	f.Add([]byte(`[["version-rolling","minimum-difficulty"],{"version-rolling.mask":"ffffffff","minimum-difficulty.value":"512"}]`))
	f.Add([]byte(`[[]]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := ParseConfigure(raw)
		if err != nil {
			return
		}
		if len(c.Extensions) > len(raw)/2 || math.IsNaN(c.MinimumDifficulty) || c.MinimumDifficulty < 0 {
			t.Fatalf("ParseConfigure(%s) = %+v, want at most %d extensions and a minimum difficulty >= 0", raw, c, len(raw)/2)
		}
		if c.VersionRollingMask != 0 && !c.VersionRolling {
			t.Fatalf("ParseConfigure(%s) = %+v: a mask without version rolling, want none", raw, c)
		}
	})
}

// FuzzParseVersionMask: mining.set_version_mask and the answer to
// mining.configure, from a pool; a mask read back is the same mask.
func FuzzParseVersionMask(f *testing.F) {
	f.Add([]byte(`["1fffe000"]`), []byte(`{"version-rolling":true,"version-rolling.mask":"1fffe000"}`))
	f.Add([]byte(`["ffe000"]`), []byte(`{"version-rolling":false}`))
	f.Add([]byte(`[7]`), []byte(`{"version-rolling":true}`))
	f.Fuzz(func(t *testing.T, params, result []byte) {
		if m, err := ParseVersionMask(params); err == nil {
			b, _ := json.Marshal([]string{FormatUint32(m)})
			if again, err := ParseVersionMask(b); err != nil || again != m {
				t.Fatalf("%s: mask %08x read back as %08x (err %v), want %08x", params, m, again, err, m)
			}
		}
		if ok, m := ParseConfigureResult(result); ok {
			b, _ := json.Marshal(map[string]any{"version-rolling": true, "version-rolling.mask": FormatUint32(m)})
			if ok2, again := ParseConfigureResult(b); !ok2 || again != m {
				t.Fatalf("%s: mask %08x read back as %08x (grant %v), want %08x granted", result, m, again, ok2, m)
			}
		} else if m != 0 {
			t.Fatalf("%s: no grant but a mask %08x, want mask 0", result, m)
		}
	})
}

// FuzzParseError: the error member of an answer, from a pool (its message
// goes to the logs and the status) or from a miner's own answers.
func FuzzParseError(f *testing.F) {
	for _, s := range []string{`[23,"Low difficulty share",null]`, `[21,"Job not found"]`, `{"code":-1,"message":"Stale"}`,
		`false`, `null`, `["x"]`, `[1e300,"big"]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		e := ParseError(raw)
		if e == nil {
			return
		}
		if len(e.Message) > 3*len(raw) { // an invalid byte in a JSON string becomes U+FFFD
			t.Fatalf("%s: message of %d bytes from %d, want at most %d", raw, len(e.Message), len(raw), 3*len(raw))
		}
		line := AppendError(nil, IntID(1), e)
		m, err := Decode(bytes.TrimSpace(line))
		if err != nil {
			t.Fatalf("answer %s does not decode (%v), want a valid answer", line, err)
		}
		// A message that is not JSON is kept as sent; JSON carries its
		// invalid UTF-8 as U+FFFD, byte for byte, as a []rune does.
		want := Error{Code: e.Code, Message: string([]rune(e.Message))}
		if again := ParseError(m.Error); again == nil || *again != want {
			t.Fatalf("%s: %+v read back as %+v, want %+v", raw, e, again, want)
		}
	})
}
