package proxy

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"
)

// tcpPair is a connected loopback TCP pair: the proxy's end and the
// miner's.
func tcpPair(t *testing.T) (proxySide, minerSide net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	minerSide, err = net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	proxySide = <-accepted
	if proxySide == nil {
		t.Fatalf("Accept gave %v, want the dialled connection", proxySide)
	}
	t.Cleanup(func() { proxySide.Close(); minerSide.Close() })
	return proxySide, minerSide
}

// A miner closed on purpose (parked, or the proxy shutting down) while
// answers wait in its queue for the read poller's end-of-wake-up write
// gets them before the close, and not the jobs queued with them (the
// close aborts its work). Closed for another reason (here a slow
// consumer), nothing is written. A write deadline a flusher left, long
// passed, must not fail that last write.
func TestCloseWritesQueuedAnswersFirst(t *testing.T) {
	answers := `{"id":7,"result":true,"error":null}` + "\n" + `{"id":8,"result":true,"error":null}` + "\n"
	for _, tt := range []struct {
		name        string
		reason      closeReason
		oldDeadline bool
		want        string
	}{
		{"parked", reasonParked, false, answers},
		{"parked, after a flusher's deadline passed", reasonParked, true, answers},
		{"shutdown", reasonShutdown, false, answers},
		{"slow consumer", reasonSlowConsumer, false, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ps, ms := tcpPair(t)
			m := &minerConn{srv: &Server{}, conn: ps, tw: tryWriterOf(ps)}
			if tt.oldDeadline {
				past := time.Now().Add(-time.Minute)
				_ = ps.SetWriteDeadline(past)
				m.writeArmed.Store(past.UnixNano())
			}
			m.queue = []outMsg{
				{b: []byte(`{"id":7,"result":true,"error":null}` + "\n")},
				{b: []byte(`{"params":["job"],"id":null,"method":"mining.notify"}` + "\n"), notify: true},
				{b: []byte(`{"id":8,"result":true,"error":null}` + "\n")},
			}
			if !m.closeConn(tt.reason) {
				t.Fatalf("closeConn(%v) = false (already closed), want true", tt.reason)
			}
			_ = ms.SetReadDeadline(time.Now().Add(5 * time.Second))
			got, err := io.ReadAll(bufio.NewReader(ms))
			if err != nil {
				t.Fatalf("read until the close: %v, want the bytes then EOF", err)
			}
			if string(got) != tt.want {
				t.Fatalf("the miner read %q before the close, want %q", got, tt.want)
			}
		})
	}
}
