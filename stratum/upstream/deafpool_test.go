package upstream_test

import (
	"bufio"
	"context"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashgate/hashgate/stratum"
	"github.com/hashgate/hashgate/stratum/upstream"
)

// rawPool accepts one connection on 127.0.0.1 and hands it to serve on a
// goroutine; wait returns when serve has.
func rawPool(t *testing.T, serve func(c net.Conn)) (addr string, wait func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := l.Accept()
		l.Close()
		if err != nil {
			return
		}
		defer c.Close()
		serve(c)
	}()
	return l.Addr().String(), func() { l.Close(); <-done }
}

// A pool that stops reading while it keeps talking (it pings us) must not
// make Submit wait: the answer to its ping is queued for the writer, not
// written under the lock every submitter takes. (It was: a pool that
// stopped reading held every Submit, so every miner's share, for the
// write timeout.)
func TestSubmitDoesNotWaitOnADeafPool(t *testing.T) {
	pingNow := make(chan struct{})
	addr, poolWait := rawPool(t, func(c net.Conn) {
		_ = c.(*net.TCPConn).SetReadBuffer(4096) // fills sooner once it stops reading
		r := bufio.NewReader(c)
		answers := map[string]string{
			stratum.MethodSubscribe:           `[[["mining.notify","1"]],"01020304",8]`,
			stratum.MethodAuthorize:           `true`,
			stratum.MethodExtranonceSubscribe: `true`,
			stratum.MethodConfigure:           `{"version-rolling":true,"version-rolling.mask":"1fffe000"}`,
		}
		for authorized := false; !authorized; {
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			m, err := stratum.Decode([]byte(strings.TrimSpace(line)))
			if err != nil {
				return
			}
			_, _ = c.Write(stratum.AppendRawResponse(nil, m.ID, []byte(answers[m.Method])))
			authorized = m.Method == stratum.MethodAuthorize
		}
		// Deaf from now on: it never reads again, but it pings.
		<-pingNow
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for i := range 3000 { // a ping a millisecond, 3 s at most
			select {
			case <-pingNow:
				return
			case <-tick.C:
			}
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			if _, err := c.Write([]byte(`{"id":` + strconv.Itoa(i) + `,"method":"mining.ping","params":[]}` + "\n")); err != nil {
				return
			}
		}
		<-pingNow // until the test is done
	})

	s, err := upstream.Dial(context.Background(), upstream.Config{
		Pool: "deaf", Address: addr, User: "acct.proxy", Password: "x", UserAgent: "hashgate/test",
		VersionMask: 0x1fffe000, ConnectTimeout: 2 * time.Second, SilenceTimeout: 30 * time.Second,
		SubmitTimeout: 30 * time.Second, WriteTimeout: 3 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		close(pingNow)
		s.Close()
		poolWait()
	}()
	rec := newRecorder()
	s.Run(rec)
	pingNow <- struct{}{}
	// Fill the socket towards the deaf pool, then keep submitting while its
	// pings wait for answers: no Submit may take long.
	var slowest time.Duration
	var refused atomic.Int64
	start := time.Now()
	for i := 0; i < 100000 && time.Since(start) < 2*time.Second; i++ { // 12 MB at most
		t0 := time.Now()
		s.Submit(upstream.Share{JobID: "1", Extranonce2: "0000000000000000", NTime: "00000000", Nonce: "00000000"}, func(e *stratum.Error) {
			if e != nil && strings.Contains(e.Message, "not reading") {
				refused.Add(1)
			}
		})
		slowest = max(slowest, time.Since(t0))
	}
	if slowest > 500*time.Millisecond {
		t.Fatalf("a Submit took %s while the pool did not read", slowest)
	}
	// What waits for a pool that does not read is bounded: past 4 MiB,
	// submits are refused at once instead of queued.
	if refused.Load() == 0 {
		t.Fatal("12 MB of submits to a pool that does not read, none refused: the backlog is unbounded")
	}
	// A block candidate is queued even past the bound: it is not refused
	// (it is failed later, with the connection, if the pool never reads).
	blockRefused := make(chan *stratum.Error, 1)
	s.Submit(upstream.Share{JobID: "1", Extranonce2: "0000000000000001", NTime: "00000000", Nonce: "00000000", Block: true}, func(e *stratum.Error) { blockRefused <- e })
	select {
	case e := <-blockRefused:
		if e != nil && strings.Contains(e.Message, "not reading") {
			t.Fatalf("block candidate refused for the backlog: %v", e)
		}
	default: // queued: no verdict yet
	}
}

// A pool that pings during the handshake and answers authorize only after
// our pong: the handshake completes (the pong is written at once, there is
// no writer goroutine yet).
func TestPingDuringHandshakeIsAnswered(t *testing.T) {
	addr, poolWait := rawPool(t, func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		r := bufio.NewReader(c)
		var authID []byte
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			m, err := stratum.Decode([]byte(strings.TrimSpace(line)))
			if err != nil {
				return
			}
			switch {
			case m.Method == stratum.MethodSubscribe:
				_, _ = c.Write(stratum.AppendRawResponse(nil, m.ID, []byte(`[[["mining.notify","1"]],"01020304",8]`)))
			case m.Method == stratum.MethodAuthorize:
				authID = m.ID
				_, _ = c.Write([]byte(`{"id":"p1","method":"mining.ping","params":[]}` + "\n"))
			case m.Method != "" && authID == nil:
				_, _ = c.Write(stratum.AppendRawResponse(nil, m.ID, []byte(`true`)))
			case m.Method == "" && string(m.ID) == `"p1"`: // our pong
				_, _ = c.Write(stratum.AppendRawResponse(nil, authID, []byte(`true`)))
				authID = []byte("done") // then read until the session closes
			}
		}
	})
	defer poolWait()
	s, err := upstream.Dial(context.Background(), upstream.Config{
		Pool: "pinger", Address: addr, User: "acct.proxy", Password: "x", UserAgent: "hashgate/test",
		ConnectTimeout: 2 * time.Second, SilenceTimeout: 5 * time.Second, SubmitTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatalf("handshake with a pool that pings before authorizing: %v", err)
	}
	s.Close()
}
