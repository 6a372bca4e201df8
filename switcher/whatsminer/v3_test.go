package whatsminer

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/hashgate/hashgate/internal/emu"
	emuwm "github.com/hashgate/hashgate/internal/emu/whatsminer"
	"github.com/hashgate/hashgate/switcher/device"
	"github.com/hashgate/hashgate/switcher/device/devicetest"
)

func startV3(t *testing.T, f emu.Faults, cfg emuwm.Config) *world {
	cfg.APIVersion = 3
	w := start(t, f, cfg)
	w.tgt.Options.APIVersion = 3
	w.tgt.Options.User = "super"
	return w
}

func TestV3CurtailResumeReadback(t *testing.T) {
	w := startV3(t, emu.Faults{}, emuwm.Config{Chunk: 5})
	ctx := context.Background()
	r := w.read(t)
	if r.State != device.StateUnknown || r.PowerW != miningW || r.HashrateTHs != hashTHs || !r.HasPower || !r.HasHashrate {
		t.Fatalf("before: got %+v, want %v W, %v TH/s, state unknown (v3 gives none)", r, miningW, hashTHs)
	}
	if err := w.drv.Curtail(ctx, w.tgt); err != nil {
		t.Fatalf("Curtail: %v", err)
	}
	if r = w.read(t); r.Hashing(1, 500) || r.PowerW != sleepingW {
		t.Fatalf("after Curtail: got %+v, want idle at %v W", r, sleepingW)
	}
	if err := w.drv.Resume(ctx, w.tgt); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	if r = w.read(t); !r.Hashing(1, 500) {
		t.Fatalf("after Resume: got %+v, want hashing", r)
	}
	if _, ok := w.tgt.Session.(*sessionV3); !ok {
		t.Errorf("Target.Session = %T, want the cached v3 salt", w.tgt.Session)
	}
	got, err := w.drv.Pools(ctx, w.tgt)
	if err != nil || len(got) != 1 || got[0] != "stratum+tcp://elsewhere.example:3333" {
		t.Errorf("Pools: got %v, %v; want err == nil, len(got) == 1, got[0] == \"stratum+tcp://elsewhere.example:3333\"", got, err)
	}
	if err := w.drv.SetPools(ctx, w.tgt, []device.Pool{{URL: "u"}}); !errors.Is(err, device.ErrUnsupported) {
		t.Errorf("SetPools on v3: got %v, want ErrUnsupported", err)
	}
}

func TestV3BadPassword(t *testing.T) {
	w := startV3(t, emu.Faults{}, emuwm.Config{})
	w.tgt.Options.Password = device.NewSecret("wrong-v3-pass")
	err := w.drv.Curtail(context.Background(), w.tgt)
	if !errors.Is(err, device.ErrAuth) || strings.Contains(err.Error(), "wrong-v3-pass") || strings.Contains(err.Error(), password) {
		t.Fatalf("got %v, want ErrAuth without a password in it", err)
	}
	if c := w.dev.Calls(); c.Curtails != 0 {
		t.Errorf("device curtailed %d times with a wrong password; want c.Curtails == 0", c.Curtails)
	}
}

func TestV3StaleSaltIsRefetched(t *testing.T) {
	w := startV3(t, emu.Faults{}, emuwm.Config{})
	w.tgt.Session = &sessionV3{salt: "oldsalt1"}
	if err := w.drv.Curtail(context.Background(), w.tgt); err != nil {
		t.Fatalf("Curtail with a stale salt: got %v, want a new salt and success", err)
	}
}

func TestV3HangTimesOut(t *testing.T) {
	w := startV3(t, emu.Faults{Hang: true}, emuwm.Config{})
	devicetest.HangTimesOut(t, w.drv, w.tgt)
}

func frame(s string) []byte {
	return append(binary.LittleEndian.AppendUint32(nil, uint32(len(s))), s...)
}

func TestReadFrameSplit(t *testing.T) {
	body := `{"code":0,"msg":{"summary":{"power-realtime":3400,"hash-realtime":112.5}}}`
	in := frame(body)
	for i := 1; i < len(in); i += 5 {
		r := io.MultiReader(bytes.NewReader(in[:i]), iotest.OneByteReader(bytes.NewReader(in[i:])))
		if got, err := readFrame(r, 1<<20); err != nil || string(got) != body {
			t.Fatalf("split at %d: got %q, %v; want err == nil, string(got) == body", i, got, err)
		}
	}
	if _, err := readFrame(bytes.NewReader(frame(body)), 10); !errors.Is(err, device.ErrProtocol) {
		t.Errorf("over the bound: got %v, want ErrProtocol", err)
	}
	if f, err := readFrame(bytes.NewReader(in[:len(in)-1]), 1<<20); err == nil {
		t.Errorf("short frame: got %q and a nil error, want an error", f)
	}
}

func TestParseV3(t *testing.T) {
	cases := []struct {
		in  string
		err error
	}{
		{`{"code":0,"msg":"ok"}`, nil},
		{`{"code":-4,"msg":"invalid token or account"}`, errToken},
		{`{"code":-2,"msg":"invalid command"}`, device.ErrRefused},
		{`{"msg":"x"}`, device.ErrProtocol},
		{`[]`, device.ErrProtocol},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			if _, err := parseV3([]byte(c.in)); !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
				t.Errorf("%s: got %v, want %v", c.in, err, c.err)
			}
		})
	}
	// Vector from Python: base64(sha256("set.miner.servicesupersalt1234"))[:8].
	if got := tokenV3("set.miner.service", "super", "salt", 1234); got != "8AmJNsv0" {
		t.Errorf("token %q, want 8AmJNsv0", got)
	}
}

func FuzzParseV3(f *testing.F) {
	f.Add(frame(`{"code":0,"msg":{"salt":"abc"}}`))
	f.Add([]byte{255, 255, 255, 255})
	f.Fuzz(func(t *testing.T, b []byte) {
		body, err := readFrame(bytes.NewReader(b), 1<<16)
		if err != nil {
			return
		}
		_, _ = parseV3(body)
	})
}
