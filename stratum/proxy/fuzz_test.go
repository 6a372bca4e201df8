package proxy_test

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/stratum"
)

// FuzzMinerSession sends any lines to a running proxy as a miner, after a
// real handshake or without one: the proxy never panics, answers only
// whole JSON lines, ends the session (the client has half-closed) within
// a bound, and still serves the next miner. Seeds are what cgminer,
// BFGMiner, NerdMiner and a hostile probe send.
func FuzzMinerSession(f *testing.F) {
	for _, s := range []struct {
		handshake bool
		lines     string
	}{
		{false, `{"id":1,"method":"mining.subscribe","params":["cgminer/4.13.6"]}` + "\n" + `{"id":2,"method":"mining.authorize","params":["acct.rig1","x"]}`},
		{false, `{"id":1,"method":"mining.configure","params":[["version-rolling","minimum-difficulty"],{"version-rolling.mask":"1fffe000","minimum-difficulty.value":2048}]}`},
		{true, `{"id":4,"method":"mining.submit","params":["acct.fuzz","1","00000000","647025b5","1f3a9c02"]}`},
		{true, `{"id":5,"method":"mining.suggest_difficulty","params":["NaN"]}` + "\n" + `{"id":6,"method":"mining.extranonce.subscribe","params":[]}`},
		{true, `{"id":7,"method":"mining.authorize","params":["acct.second\u001b[2J","x"]}` + "\n" + `{"id":8,"method":"client.get_version"}`},
		{true, `{"id":9,"method":"mining.submit","params":["acct.fuzz","1","0000","647025b5","a"]}`},
		{false, "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\n[1,2,3]\n{}"},
	} {
		f.Add(s.handshake, []byte(s.lines))
	}
	pool, err := sim.StartPool(sim.PoolConfig{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(pool.Close)
	cfg := quickConfig(f, pool)
	cfg.Log = zerolog.Nop() // every input is an error worth a line; thousands a second
	cfg.MaxLineBytes = 4096
	srv := startProxy(f, cfg)
	f.Fuzz(func(t *testing.T, handshake bool, data []byte) {
		c, err := net.DialTimeout("tcp", srv.Addr().String(), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		var in bytes.Buffer
		if handshake {
			in.WriteString(`{"id":1,"method":"mining.subscribe","params":["fuzz/1.0"]}` + "\n")
			in.WriteString(`{"id":2,"method":"mining.authorize","params":["acct.fuzz","x"]}` + "\n")
		}
		in.Write(data)
		in.WriteByte('\n')
		if _, err := c.Write(in.Bytes()); err != nil {
			return // the proxy closed first (a bad line early on)
		}
		_ = c.(*net.TCPConn).CloseWrite()
		out, err := io.ReadAll(c)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("the proxy kept a half-closed session open 5 s after %q, want it closed; it sent:\n%s", data, out)
		}
		if len(out) > 0 && out[len(out)-1] != '\n' {
			t.Fatalf("answers end mid-line after %q, want whole lines:\n%s", data, out)
		}
		for _, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
			if line == "" {
				continue
			}
			if _, err := stratum.Decode([]byte(line)); err != nil {
				t.Fatalf("the proxy answered %q with %q (%v), want Stratum JSON", data, line, err)
			}
		}
		if !srv.Healthy() {
			t.Fatalf("the proxy lost its pool session after %q (pools %+v), want it healthy", data, srv.Pools())
		}
	})
}
