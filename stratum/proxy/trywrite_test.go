package proxy_test

import (
	"net"
	"testing"

	"github.com/hashgate/hashgate/stratum/proxy"
)

// A non-blocking write to a TCP miner runs for every answer and every job
// sent: it must not allocate.
func TestTCPTryWriteDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	peer, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	tw := proxy.TryWriterOf(c)
	if tw == nil {
		t.Fatalf("TryWriterOf(%T) = %v, want a non-blocking writer for a TCP connection", c, tw)
	}
	line := []byte(`{"id":1,"result":true,"error":null}` + "\n")
	// 200 writes of 36 bytes fit the socket buffers: every one is taken.
	allocs := testing.AllocsPerRun(200, func() {
		if n, err := tw.TryWrite(line); err != nil || n != len(line) {
			t.Fatalf("TryWrite = %d, %v; want %d, nil", n, err, len(line))
		}
	})
	if allocs != 0 {
		t.Fatalf("TryWrite allocates %.1f times per write, want 0", allocs)
	}
}
