package stratum

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
)

// Each constructor's exact line, and the same bytes AppendRequest writes
// for the params the proxy built by hand before the constructors.
func TestMessageConstructors(t *testing.T) {
	n := &Notify{JobID: "pool-7", PrevHash: "4d16b6f85af6e2198f44ae2a6de67f78487ae5611b77c6c0440b921e00000000",
		Coinb1: "01000000010000", Coinb2: "ffffffff", Branches: []string{"aa00", "bb11"},
		Version: "20000000", NBits: "1703a30c", NTime: "6470251b", Clean: true}
	bare := &Notify{JobID: "x", PrevHash: n.PrevHash, Version: "20000000", NBits: "1703a30c", NTime: "6470251b"}
	cases := []struct {
		name   string
		got    []byte
		want   string
		method string
		params any
	}{
		{"set_difficulty integer", AppendSetDifficulty(nil, 65536), `{"id":null,"method":"mining.set_difficulty","params":[65536]}` + "\n",
			MethodSetDifficulty, []float64{65536}},
		{"set_difficulty fraction", AppendSetDifficulty(nil, 0.001), `{"id":null,"method":"mining.set_difficulty","params":[0.001]}` + "\n",
			MethodSetDifficulty, []float64{0.001}},
		{"set_difficulty tiny", AppendSetDifficulty(nil, 2.3e-10), `{"id":null,"method":"mining.set_difficulty","params":[2.3e-10]}` + "\n",
			MethodSetDifficulty, []float64{2.3e-10}},
		{"set_difficulty 1e-7", AppendSetDifficulty(nil, 1e-7), `{"id":null,"method":"mining.set_difficulty","params":[1e-7]}` + "\n",
			MethodSetDifficulty, []float64{1e-7}},
		{"set_difficulty huge", AppendSetDifficulty(nil, 1e21), `{"id":null,"method":"mining.set_difficulty","params":[1e+21]}` + "\n",
			MethodSetDifficulty, []float64{1e21}},
		{"set_difficulty just under 1e21", AppendSetDifficulty(nil, 123456789012345678901), `{"id":null,"method":"mining.set_difficulty","params":[123456789012345680000]}` + "\n",
			MethodSetDifficulty, []float64{123456789012345678901}},
		{"set_extranonce", AppendSetExtranonce(nil, "08000002a1", 3), `{"id":null,"method":"mining.set_extranonce","params":["08000002a1",3]}` + "\n",
			MethodSetExtranonce, []any{"08000002a1", 3}},
		{"set_version_mask", AppendSetVersionMask(nil, 0x1fffe000), `{"id":null,"method":"mining.set_version_mask","params":["1fffe000"]}` + "\n",
			MethodSetVersionMask, []string{"1fffe000"}},
		{"set_version_mask leading zeros", AppendSetVersionMask(nil, 0xe000), `{"id":null,"method":"mining.set_version_mask","params":["0000e000"]}` + "\n",
			MethodSetVersionMask, []string{"0000e000"}},
		{"reconnect", AppendReconnect(nil), `{"id":null,"method":"client.reconnect","params":[]}` + "\n",
			MethodReconnect, []any{}},
		{"notify", AppendNotify(nil, n, "1f"), `{"id":null,"method":"mining.notify","params":["1f","` + n.PrevHash +
			`","01000000010000","ffffffff",["aa00","bb11"],"20000000","1703a30c","6470251b",true]}` + "\n",
			MethodNotify, n.Params("1f")},
		{"notify without branches", AppendNotify(nil, bare, "a<&>\"é"), `{"id":null,"method":"mining.notify","params":["a\u003c\u0026\u003e\"é","` + n.PrevHash +
			`","","",[],"20000000","1703a30c","6470251b",false]}` + "\n",
			MethodNotify, bare.Params("a<&>\"é")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if string(c.got) != c.want {
				t.Errorf("got  %s\nwant %s", c.got, c.want)
			}
			old, err := AppendRequest(nil, nil, c.method, c.params)
			if err != nil || string(old) != string(c.got) {
				t.Errorf("AppendRequest wrote %s (err %v), want what the constructor wrote: %s", old, err, c.got)
			}
		})
	}
}

// The constructors append: what dst held stays in front.
func TestMessageConstructorsAppend(t *testing.T) {
	pre := []byte("{}\n")
	got := AppendReconnect(AppendSetDifficulty(bytes.Clone(pre), 2))
	want := "{}\n" + `{"id":null,"method":"mining.set_difficulty","params":[2]}` + "\n" + `{"id":null,"method":"client.reconnect","params":[]}` + "\n"
	if string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// Each line is built in one allocation, at its longest (a difficulty of
// 25 characters, a notify with 12 branches).
func TestMessageConstructorsAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	n := &Notify{PrevHash: strings.Repeat("ab", 32), Coinb1: strings.Repeat("01", 60), Coinb2: strings.Repeat("ff", 80),
		Version: "20000000", NBits: "1703a30c", NTime: "6470251b"}
	for range 12 {
		n.Branches = append(n.Branches, strings.Repeat("cd", 32))
	}
	for name, f := range map[string]func(){
		"set_difficulty":   func() { AppendSetDifficulty(nil, -0.0000012345678901234567) },
		"set_extranonce":   func() { AppendSetExtranonce(nil, "0800000201020304", -1234567) },
		"set_version_mask": func() { AppendSetVersionMask(nil, 0x1fffe000) },
		"reconnect":        func() { AppendReconnect(nil) },
		"notify":           func() { AppendNotify(nil, n, "ffffffffffffffff") },
	} {
		t.Run(name, func(t *testing.T) {
			if a := testing.AllocsPerRun(100, f); a != 1 {
				t.Errorf("%s: %v allocations, want 1", name, a)
			}
		})
	}
}

// A difficulty JSON cannot carry writes nothing, as AppendRequest did
// (it failed and returned dst).
func TestSetDifficultyNotFinite(t *testing.T) {
	for _, d := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		t.Run(fmt.Sprint(d), func(t *testing.T) {
			if got := AppendSetDifficulty([]byte("x"), d); string(got) != "x" {
				t.Errorf("AppendSetDifficulty(%v) appended %q, want nothing", d, got[1:])
			}
		})
	}
}

// Every difficulty and every string is written as encoding/json writes
// it (AppendRequest is the oracle): the hand-written number and string
// forms must not drift from it anywhere.
func FuzzMessageConstructors(f *testing.F) {
	f.Add(65536.0, "08000002", 4)
	f.Add(2.3e-10, "1f.3", 0)
	f.Add(1e-6, "", 8)
	f.Add(9.999999e20, "<\u2028>\xff", -1)
	f.Add(-0.0, "a\"b\\c\n", 32)
	f.Fuzz(func(t *testing.T, d float64, s string, size int) {
		got := AppendSetDifficulty(nil, d)
		want, err := AppendRequest(nil, nil, MethodSetDifficulty, []float64{d})
		if string(got) != string(want) || (err != nil) != (len(got) == 0) {
			t.Errorf("set_difficulty %v: %s, want %s (err %v)", d, got, want, err)
		}
		got = AppendSetExtranonce(nil, s, size)
		want, _ = AppendRequest(nil, nil, MethodSetExtranonce, []any{s, size})
		if string(got) != string(want) {
			t.Errorf("set_extranonce %q %d: %s, want %s", s, size, got, want)
		}
		n := &Notify{PrevHash: s, Coinb1: s, Branches: []string{s, s}, NTime: strconv.Itoa(size)}
		got = AppendNotify(nil, n, s)
		want, _ = AppendRequest(nil, nil, MethodNotify, n.Params(s))
		if string(got) != string(want) {
			t.Errorf("notify %q: %s, want %s", s, got, want)
		}
	})
}

// set_difficulty goes to every miner on each vardiff change, at every
// connect and move, and as the keepalive of every parked rig. Measured
// (2 shared cores): 73 ns and 1 allocation (the line); AppendRequest
// with []float64{d} took 383 ns and 8 allocations.
func BenchmarkAppendSetDifficulty(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = AppendSetDifficulty(nil, 16384)
	}
}
