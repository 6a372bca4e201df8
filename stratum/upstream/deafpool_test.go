package upstream_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/sim"
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

// runSession dials a raw pool and runs the session until the test ends
// (then closes it and waits for the pool's goroutine); a timeout of 0 is
// the default.
func runSession(t *testing.T, addr string, poolWait func(), writeTimeout, submitTimeout time.Duration) *upstream.Session {
	t.Helper()
	if submitTimeout == 0 {
		submitTimeout = 30 * time.Second
	}
	return runSessionConfig(t, poolWait, upstream.Config{
		Pool: "raw", Address: addr, User: "acct.proxy", Password: "x", UserAgent: "hashgate/test",
		ConnectTimeout: 2 * time.Second, SilenceTimeout: 30 * time.Second,
		SubmitTimeout: submitTimeout, WriteTimeout: writeTimeout,
	})
}

// runSessionConfig dials cfg's raw pool and starts the session, closed at
// the test's end.
func runSessionConfig(t *testing.T, poolWait func(), cfg upstream.Config) *upstream.Session {
	t.Helper()
	s, err := upstream.Dial(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		poolWait()
	})
	s.Start(newRecorder())
	return s
}

// handshakeAnswers are a raw pool's answers to the session's handshake.
var handshakeAnswers = map[string]string{
	stratum.MethodSubscribe:           `[[["mining.notify","1"]],"01020304",8]`,
	stratum.MethodAuthorize:           `true`,
	stratum.MethodExtranonceSubscribe: `true`,
	stratum.MethodConfigure:           `{"version-rolling":true,"version-rolling.mask":"1fffe000"}`,
}

// readMessage is a raw pool's read of one line from the session; false
// if the connection failed or the line is not JSON-RPC.
func readMessage(r *bufio.Reader) (*stratum.Message, bool) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, false
	}
	m, err := stratum.Decode([]byte(strings.TrimSpace(line)))
	return m, err == nil
}

// answerHandshake answers requests until authorize; false if the
// connection failed first.
func answerHandshake(c net.Conn, r *bufio.Reader) bool {
	for {
		m, ok := readMessage(r)
		if !ok {
			return false
		}
		_, _ = c.Write(stratum.AppendRawResponse(nil, m.ID, []byte(handshakeAnswers[m.Method])))
		if m.Method == stratum.MethodAuthorize {
			return true
		}
	}
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
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if !answerHandshake(c, bufio.NewReader(c)) {
			return
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
	s.Start(rec)
	pingNow <- struct{}{}
	// Fill the socket towards the deaf pool, then keep submitting while its
	// pings wait for answers: no Submit may take long.
	var slowest time.Duration
	var refused atomic.Int64
	start := time.Now()
	sent := 0
	for ; sent < 100000 && time.Since(start) < 2*time.Second; sent++ { // 12 MB at most
		t0 := time.Now()
		s.Submit(upstream.Share{JobID: "1", Extranonce2: "0000000000000000", NTime: "00000000", Nonce: "00000000"}, func(e *stratum.Error) {
			if e != nil && strings.Contains(e.Message, "not reading") {
				refused.Add(1)
			}
		})
		slowest = max(slowest, time.Since(t0))
	}
	if slowest > 500*time.Millisecond {
		t.Fatalf("the slowest Submit took %s while the pool did not read, want at most 500ms", slowest)
	}
	// What waits for a pool that does not read is bounded: past 4 MiB,
	// submits are refused at once instead of queued.
	if n := refused.Load(); n == 0 {
		t.Fatalf("%d submits to a pool that does not read, %d refused: the backlog is unbounded, want refusals past 4 MiB", sent, n)
	}
	// A block candidate is queued even past the bound: it is not refused
	// (it is failed later, with the connection, if the pool never reads).
	blockRefused := make(chan *stratum.Error, 1)
	s.Submit(upstream.Share{JobID: "1", Extranonce2: "0000000000000001", NTime: "00000000", Nonce: "00000000", Block: true}, func(e *stratum.Error) { blockRefused <- e })
	select {
	case e := <-blockRefused:
		if e != nil && strings.Contains(e.Message, "not reading") {
			t.Fatalf("block candidate answered %v, want it queued past the backlog bound", e)
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
			m, ok := readMessage(r)
			if !ok {
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

// A pool whose last handshake bytes end with an empty line, then says
// nothing: the session still notices the silence (the empty line is not
// a buffered line, so the first read has its deadline).
func TestSilentPoolAfterTrailingEmptyLine(t *testing.T) {
	addr, poolWait := rawPool(t, func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return // the session gave up on us
			}
			m, err := stratum.Decode([]byte(strings.TrimSpace(line)))
			if err != nil || m.Method == stratum.MethodPing || m.Method == "" {
				continue // silent: pings get no answer
			}
			out := stratum.AppendRawResponse(nil, m.ID, []byte(handshakeAnswers[m.Method]))
			if m.Method == stratum.MethodAuthorize {
				out = append(out, '\n') // the empty line
			}
			_, _ = c.Write(out)
		}
	})
	defer poolWait()
	s, err := upstream.Dial(context.Background(), upstream.Config{
		Pool: "quiet", Address: addr, User: "acct.proxy", Password: "x", UserAgent: "hashgate/test",
		ConnectTimeout: 2 * time.Second, SilenceTimeout: 200 * time.Millisecond, SubmitTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Start(newRecorder())
	select {
	case <-s.Done():
		if !errors.Is(s.Err(), upstream.ErrSilent) {
			t.Fatalf("session ended with %v, want ErrSilent", s.Err())
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("session still open (err %v) after 5 s, 25 silence timeouts, of a silent pool; want ended with ErrSilent", s.Err())
	}
}

// A block candidate does not wait behind the submits queued for a pool
// that reads slowly: it goes out ahead of shares submitted before it.
func TestBlockCandidateGoesAheadOfQueuedSubmits(t *testing.T) {
	const blockEN2 = "00000000000000ff"
	release := make(chan struct{})
	after := make(chan int, 1) // ordinary shares the pool read after the block
	addr, poolWait := rawPool(t, func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		r := bufio.NewReader(c)
		if !answerHandshake(c, r) {
			return
		}
		<-release // slow: nothing is read until the test says so
		seen, n := false, 0
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				after <- -1
				return
			}
			switch {
			case strings.Contains(line, blockEN2):
				seen = true
			case strings.Contains(line, `"last"`):
				after <- n
				return
			case seen && strings.Contains(line, "mining.submit"):
				n++
			}
		}
	})
	s := runSession(t, addr, poolWait, 15*time.Second, 0)
	share := upstream.Share{JobID: "1", Extranonce2: "0000000000000000", NTime: "00000000", Nonce: "00000000"}
	var refused atomic.Int64
	start := time.Now()
	sent := 0
	for ; sent < 300000 && refused.Load() == 0 && time.Since(start) < 5*time.Second; sent++ { // 40 MB at most
		s.Submit(share, func(e *stratum.Error) {
			if e != nil && strings.Contains(e.Message, "not reading") {
				refused.Add(1)
			}
		})
	}
	if n := refused.Load(); n == 0 {
		t.Fatalf("%d submits in %v to a pool that does not read, %d refused; want the backlog full (a refusal)", sent, time.Since(start).Round(time.Millisecond), n)
	}
	block := share
	block.Extranonce2, block.Block = blockEN2, true
	s.Submit(block, func(*stratum.Error) {})
	last := share
	last.JobID = "last" // behind everything else, shares or block alike
	release <- struct{}{}
	// Once the writer drains below the bound, the last share is queued.
	tries := 0
	if err := sim.Poll(10*time.Second, func() bool {
		tries++
		queued := true
		s.Submit(last, func(e *stratum.Error) {
			if e != nil && strings.Contains(e.Message, "not reading") {
				queued = false // refusals are answered at once, in Submit
			}
		})
		return queued
	}); err != nil {
		t.Fatalf("the last share refused for the backlog in all %d tries (%v), want it queued once the writer drains", tries, err)
	}
	select {
	case n := <-after:
		if n <= 0 {
			t.Fatalf("%d queued shares went out after the block candidate (-1: the pool's read failed), want some: it goes ahead of them", n)
		}
		t.Logf("%d queued shares went out after the block candidate", n)
	case <-time.After(15 * time.Second):
		t.Fatalf("no word from the pool after %v, want it to have read the block candidate and the last share", 15*time.Second)
	}
}

// The writer pauses between writes, but not for a block candidate: with a
// pause of a minute, a block submitted right after a share still reaches
// the pool at once.
func TestBlockCandidateCutsTheWritersPause(t *testing.T) {
	lines := make(chan string, 16)
	addr, poolWait := rawPool(t, func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		r := bufio.NewReader(c)
		if !answerHandshake(c, r) {
			return
		}
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if strings.Contains(line, "mining.submit") {
				lines <- line
			}
		}
	})
	s := runSessionConfig(t, poolWait, upstream.Config{
		Pool: "raw", Address: addr, User: "acct.proxy", Password: "x", UserAgent: "hashgate/test",
		ConnectTimeout: 2 * time.Second, WritePace: time.Minute,
	})
	arrives := func(what, en2 string) {
		t.Helper()
		select {
		case l := <-lines:
			if !strings.Contains(l, en2) {
				t.Fatalf("%s: the pool got %s, want extranonce2 %s", what, l, en2)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s did not reach the pool within 5 s (the writer's pause is a minute), want it at once", what)
		}
	}
	share := upstream.Share{JobID: "1", Extranonce2: "0000000000000001", NTime: "00000000", Nonce: "00000000"}
	s.Submit(share, func(*stratum.Error) {})
	arrives("the first share (an idle writer writes at once)", "0000000000000001")
	block := share
	block.Extranonce2, block.Block = "00000000000000bb", true
	s.Submit(block, func(*stratum.Error) {})
	arrives("the block candidate", "00000000000000bb")
}

// A pool answers submits out of order, refuses two and never answers
// one: every callback hears its own verdict once, and the unanswered
// submit fails with a timeout after one to one and a half submit
// timeouts, never before.
func TestSubmitVerdictsOutOfOrderAndTimeout(t *testing.T) {
	const submitTimeout = 400 * time.Millisecond
	addr, poolWait := rawPool(t, func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(c)
		if !answerHandshake(c, r) {
			return
		}
		var ids []json.RawMessage
		for len(ids) < 5 {
			m, ok := readMessage(r)
			if !ok {
				return
			}
			if m.Method != stratum.MethodSubmit {
				continue // pings
			}
			ids = append(ids, m.ID)
		}
		var out []byte
		out = stratum.AppendRawResponse(out, ids[2], []byte("true"))
		out = stratum.AppendRawResponse(out, ids[0], []byte("true"))
		out = stratum.AppendError(out, ids[3], stratum.NewError(stratum.ErrLowDifficulty, "low difficulty share"))
		out = stratum.AppendRawResponse(out, ids[1], []byte("false"))
		out = stratum.AppendRawResponse(out, ids[2], []byte("false")) // twice: ignored
		if _, err := c.Write(out); err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, r) // ids[4] never answered
	})
	s := runSession(t, addr, poolWait, 0, submitTimeout)

	type verdict struct {
		share int
		err   *stratum.Error
		after time.Duration
	}
	verdicts := make(chan verdict, 10)
	start := time.Now()
	for i := range 5 {
		s.Submit(upstream.Share{JobID: "j", Extranonce2Prefix: "00", Extranonce2: "0000000" + strconv.Itoa(i), NTime: "6553f100", Nonce: "00000000"},
			func(e *stratum.Error) { verdicts <- verdict{i, e, time.Since(start)} })
	}
	got := map[int]verdict{}
	deadline := time.After(5 * time.Second)
	for len(got) < 5 {
		select {
		case v := <-verdicts:
			if _, twice := got[v.share]; twice {
				t.Fatalf("share %d heard twice (%v, then %v), want once", v.share, got[v.share].err, v.err)
			}
			got[v.share] = v
		case <-deadline:
			t.Fatalf("after 5 s, verdicts for %d of 5 shares: %v; want all 5", len(got), got)
		}
	}
	for share, want := range map[int]stratum.ErrorCode{0: 0, 1: stratum.ErrOther, 2: 0, 3: stratum.ErrLowDifficulty, 4: stratum.ErrOther} {
		v := got[share]
		switch {
		case want == 0 && v.err != nil:
			t.Errorf("share %d: %v, want accepted", share, v.err)
		case want != 0 && (v.err == nil || v.err.Code != want):
			t.Errorf("share %d: %v, want code %d", share, v.err, want)
		}
	}
	latest := submitTimeout*3/2 + time.Second // slack for a slow machine (-race, CI)
	if e, after := got[4].err, got[4].after; e == nil || !strings.Contains(e.Message, "in time") || after < submitTimeout || after > latest {
		t.Fatalf("the unanswered share: %v after %v, want a timeout between %v and %v", e, after, submitTimeout, latest)
	}
	select {
	case v := <-verdicts:
		t.Fatalf("a sixth verdict: %+v, want none", v)
	case <-time.After(2 * submitTimeout / 4):
	}
}

// Submits from many goroutines at once (the read pollers and the miners'
// goroutines all forward shares): the pool answers each in the order it
// reads them, and every share hears "accepted", none a timeout. The
// pending submits are kept in id order; an id taken outside the lock
// that queues its submit would break that order and lose answers.
func TestConcurrentSubmitsAllSettle(t *testing.T) {
	const goroutines, each = 8, 500
	addr, poolWait := rawPool(t, func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		r := bufio.NewReader(c)
		if !answerHandshake(c, r) {
			return
		}
		for range goroutines * each * 2 { // pings too, and at most this many
			m, ok := readMessage(r)
			if !ok {
				return
			}
			if _, err := c.Write(stratum.AppendRawResponse(nil, m.ID, []byte("true"))); err != nil {
				return
			}
		}
	})
	s := runSession(t, addr, poolWait, 0, 2*time.Second)
	var accepted, failed atomic.Int64
	done := make(chan struct{}, goroutines*each)
	for g := range goroutines {
		go func() {
			for i := range each {
				en2 := strconv.FormatUint(uint64(g*each+i), 16)
				s.Submit(upstream.Share{JobID: "j", Extranonce2Prefix: "00", Extranonce2: strings.Repeat("0", 8-len(en2)) + en2, NTime: "6553f100", Nonce: "00000000"},
					func(e *stratum.Error) {
						if e == nil {
							accepted.Add(1)
						} else {
							failed.Add(1)
						}
						done <- struct{}{}
					})
			}
		}()
	}
	deadline := time.After(10 * time.Second)
	for range goroutines * each {
		select {
		case <-done:
		case <-deadline:
			t.Fatalf("after 10 s: %d accepted, %d failed of %d; want all %d settled", accepted.Load(), failed.Load(), goroutines*each, goroutines*each)
		}
	}
	if failed.Load() != 0 {
		t.Fatalf("%d of %d shares failed (a timeout: the pool's answer did not find its submit), want 0", failed.Load(), goroutines*each)
	}
}
