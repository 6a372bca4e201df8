package upstream_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/stratum/upstream"
)

// poolHandshake answer configure (1), subscribe (2), extranonce.subscribe
// (3) and authorize (4) as a real pool does.
const poolHandshake = `{"id":1,"result":{"version-rolling":true,"version-rolling.mask":"1fffe000"},"error":null}` + "\n" +
	`{"id":2,"result":[[["mining.set_difficulty","1"],["mining.notify","1"]],"08000002",8],"error":null}` + "\n" +
	`{"id":3,"result":true,"error":null}` + "\n" +
	`{"id":4,"result":true,"error":null}` + "\n"

// FuzzPoolSession: a pool that sends anything, during the handshake or
// after it, then hangs up: the session never panics, ends once (Closed is
// called exactly once, within a bound), and hands the proxy only what the
// decoders accepted.
func FuzzPoolSession(f *testing.F) {
	notify := `{"id":null,"method":"mining.notify","params":["1a2f","` + zeros64 + `","01","02",[],"20000000","1705c739","6613a7e0",true]}`
	for _, s := range []struct {
		handshake bool
		lines     string
	}{
		{true, `{"id":null,"method":"mining.set_difficulty","params":[512]}` + "\n" + notify},
		{true, `{"id":null,"method":"mining.set_extranonce","params":["f8002c90",4]}` + "\n" + `{"id":null,"method":"mining.set_version_mask","params":["1fffe000"]}`},
		{true, `{"id":null,"method":"client.reconnect","params":[]}`},
		{true, `{"id":99,"result":true,"error":null}` + "\n" + `{"id":5,"result":null,"error":[23,"Low difficulty share",null]}`},
		{false, `{"id":2,"result":[[],"08000002",17],"error":null}` + "\n" + `{"id":4,"result":true,"error":null}`},
		{false, `{"id":2,"result":null,"error":[20,"go away",null]}`},
		{true, "garbage\n\x00\xff"},
	} {
		f.Add(s.handshake, []byte(s.lines))
	}
	f.Fuzz(func(t *testing.T, handshake bool, data []byte) {
		client, pool := net.Pipe()
		defer pool.Close()
		go func() { _, _ = io.Copy(io.Discard, pool) }() // what the session sends
		go func() {
			defer pool.Close()
			if handshake {
				if _, err := pool.Write([]byte(poolHandshake)); err != nil {
					return
				}
			}
			if _, err := pool.Write(append(data, '\n')); err != nil {
				return
			}
		}()
		cfg := upstream.Config{Pool: "fuzz", Address: "pool.fuzz:3333", User: "acct.proxy", Password: "x", VersionMask: 0x1fffe000,
			ConnectTimeout: 2 * time.Second, SilenceTimeout: 2 * time.Second, MaxLineBytes: 4096, Log: zerolog.Nop(),
			Dial: func(context.Context, string) (net.Conn, error) { return client, nil }}
		s, err := upstream.Dial(context.Background(), cfg)
		if err != nil {
			client.Close()
			return
		}
		if n := s.Extranonce2Size(); n < 0 || n > 32 {
			t.Fatalf("a session with extranonce2_size %d, want 0..32 or no session", n)
		}
		rec := newRecorder()
		s.Start(rec)
		select {
		case <-rec.closed:
		case <-time.After(5 * time.Second):
			s.Close()
			t.Fatalf("the session still open 5 s after the pool hung up (having sent %q), want it ended", data)
		}
		s.Close()
		select {
		case err := <-rec.closed:
			t.Fatalf("Closed called a second time (with %v), want once", err)
		default:
		}
		for _, n := range rec.jobs {
			if n.JobID == "" || len(n.PrevHash) != 64 {
				t.Fatalf("a job reached the handler: %+v, want it refused by the decoder (empty job id or prevhash not 64 digits)", n)
			}
		}
	})
}

const zeros64 = "0000000000000000000000000000000000000000000000000000000000000000"
