package proxy_test

import (
	"fmt"
	"net"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/stratum/proxy"
)

// Miners at work over TCP are parked in the read pollers: no goroutine
// each. Shares are still validated and answered, anything else hands the
// miner to a goroutine and back, and the proxy closes cleanly with miners
// parked (TestMain checks for leaked goroutines).
func TestWorkingMinersParkInPoller(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("read pollers are epoll")
	}
	pool := startPool(t, sim.PoolConfig{})
	srv := startProxy(t, quickConfig(t, pool))
	base := runtime.NumGoroutine()
	const n = 40
	ws := make([]*worker, n)
	for i := range ws {
		ws[i] = startWorker(t, srv, "acct.park-"+strconv.Itoa(i))
	}
	sim.WaitFor(t, 5*time.Second, "every working miner parked (polled(srv) == n)", func() (bool, any) {
		got := polled(srv)
		return got == n, got
	})
	// A miner counts as parked just before its reader goroutine returns, so
	// the goroutines go a moment after the count is reached: wait for them.
	g := 0
	if err := sim.Poll(5*time.Second, func() bool { g = runtime.NumGoroutine(); return g <= base+n/4 }); err != nil {
		t.Fatalf("%d goroutines for %d parked miners (%d before): a goroutine each is still there, want at most %d", g, n, base, base+n/4)
	}

	// A share from a parked miner: validated and answered true.
	w := ws[0]
	s, _ := w.mine(t, w.job, 0, 0, meets(w.diff))
	if a := w.submit(10, s); string(a.Result) != "true" {
		t.Fatalf("share from a parked miner answered %s %v, want true", a.Result, a.Error)
	}
	// The same share again is a duplicate: the poller keeps the state.
	if a := w.submit(11, s); a.Error == nil {
		t.Fatalf("duplicate share from a parked miner answered %s with no error, want a duplicate error", a.Result)
	}
	// Not a submit: handed to a goroutine, answered, parked again.
	w.send(`{"id":12,"method":"mining.ping","params":[]}`)
	if a, _ := w.answer("12"); string(a.Result) != `"pong"` {
		t.Fatalf("ping answered %s, want \"pong\"", a.Result)
	}
	// Several lines in one write, a submit and a ping among them.
	s2, _ := w.mine(t, w.job, 1<<16, 0, meets(w.diff))
	w.send(`{"id":13,"method":"mining.submit","params":["` + w.name + `","` + s2.jobID + `","` + s2.en2 + `","` + s2.ntime + `","` + s2.nonce + `"]}` + "\n" +
		`{"id":14,"method":"mining.ping","params":[]}` + "\n" + `{"id":15,"method":"mining.ping","params":[]}`)
	if a, _ := w.answer("13"); string(a.Result) != "true" {
		t.Fatalf("pipelined share answered %s %v, want true", a.Result, a.Error)
	}
	for _, id := range []string{"14", "15"} {
		if a, _ := w.answer(id); string(a.Result) != `"pong"` {
			t.Fatalf("pipelined ping %s answered %s, want \"pong\"", id, a.Result)
		}
	}
	sim.WaitFor(t, 5*time.Second, "parked again after the handshake-path lines (polled(srv) == n)", func() (bool, any) {
		got := polled(srv)
		return got == n, got
	})
	if got := srv.Stats().SharesAccepted; got != 2 {
		t.Fatalf("shares accepted %d, want 2", got)
	}

	// A job still reaches every parked miner.
	pool.NewJob(true)
	for _, w := range ws {
		if n := w.waitNotify(); n == nil {
			t.Fatalf("parked miner %s: waitNotify() = %v, want a job", w.name, n)
		}
	}
	// A parked miner that hangs up is gone from the poller and the server.
	ws[1].conn.Close()
	sim.WaitFor(t, 5*time.Second, "the hung-up miner dropped (n-1 polled and connected)", func() (bool, any) {
		p, c := polled(srv), srv.Stats().Connections
		return p == n-1 && c == n-1, fmt.Sprintf("%d polled, %d connections", p, c)
	})
}

// A parked miner silent past read_timeout is dropped (it has no read
// deadline of its own there).
func TestParkedMinerReadTimeout(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("read pollers are epoll")
	}
	pool := startPool(t, sim.PoolConfig{})
	cfg := quickConfig(t, pool)
	cfg.ReadTimeout = 400 * time.Millisecond
	cfg.Difficulty.TargetShareSeconds = 0.2 // the idle loop's period
	srv := startProxy(t, cfg)
	w := startWorker(t, srv, "acct.silent")
	sim.WaitFor(t, 5*time.Second, "parked (polled(srv) == 1)", func() (bool, any) {
		got := polled(srv)
		return got == 1, got
	})
	if closed, got := w.closedWithin(5 * time.Second); !closed {
		t.Fatalf("a silent parked miner was not dropped: %s; want it closed", got)
	}
	if n := polled(srv); n != 0 {
		t.Fatalf("%d miners in the poller after the drop, want 0", n)
	}
}

// With read_pollers off every miner keeps its goroutine, and works.
func TestReadPollersOff(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{})
	cfg := quickConfig(t, pool)
	cfg.ReadPollers = -1
	srv := startProxy(t, cfg)
	w := startWorker(t, srv, "acct.goroutine")
	s, _ := w.mine(t, w.job, 0, 0, meets(w.diff))
	if a := w.submit(10, s); string(a.Result) != "true" {
		t.Fatalf("share answered %s %v, want true", a.Result, a.Error)
	}
	if n := polled(srv); n != 0 {
		t.Fatalf("%d miners parked with read_pollers off, want 0", n)
	}
}

// More submits in one write than a poller handles per wake-up: every one
// is answered, though lines already read into the buffer raise no new
// event on the socket. (The batch is cut to one line per wake-up here, so
// two submits in one write leave the second buffered, the socket empty.)
func TestParkedMinerLongBatchAllAnswered(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{})
	cfg := quickConfig(t, pool)
	cfg.ReadPollerBatch = 1
	srv := startProxy(t, cfg)
	w := startWorker(t, srv, "a.b")
	next, id := uint32(0), 100
	for _, n := range []int{2, 3, 5} {
		sim.WaitFor(t, 5*time.Second, "parked (polled == 1 on Linux)", func() (bool, any) {
			got := polled(srv)
			return got == 1 || runtime.GOOS != "linux", got
		})
		var lines strings.Builder
		first := id
		for range n {
			var s share
			s, next = w.mine(t, w.job, next, 0, meets(w.diff))
			fmt.Fprintf(&lines, `{"id":%d,"method":"mining.submit","params":["%s","%s","%s","%s","%s"]}`+"\n", id, w.name, s.jobID, s.en2, s.ntime, s.nonce)
			id++
		}
		w.send(strings.TrimSuffix(lines.String(), "\n"))
		for i := first; i < id; i++ {
			msg, err := w.tryNext(2 * time.Second)
			for err == nil && msg.IsRequest() {
				msg, err = w.tryNext(2 * time.Second)
			}
			if err != nil {
				t.Fatalf("%d submits in one write: submit %d unanswered (%v), want an answer to each", n, i-first+1, err)
			}
			if string(msg.Result) != "true" {
				t.Fatalf("%d submits in one write: submit %d answered %s %v, want true", n, i-first+1, msg.Result, msg.Error)
			}
		}
	}
}

// A miner that sends submits and never reads its answers fills its
// outbound queue: it is read by a goroutine that waits for room (then cut
// as a slow consumer), not bounced between the poller and a goroutine
// without reading anything.
func TestParkedMinerThatDoesNotReadIsNotBounced(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("read pollers are epoll")
	}
	if raceEnabled {
		t.Skip("fills the loopback socket buffers with ~70,000 answers: ~2 s, ~40 s under -race; the pollers' races are covered by the other tests")
	}
	pool := startPool(t, sim.PoolConfig{})
	cfg := quickConfig(t, pool)
	cfg.OutboundQueue = 8
	cfg.WriteTimeout = 500 * time.Millisecond
	cfg.Abuse.StaleBurst = 1e9 // its unknown-job flood is the tool here, not the abuse
	srv := startProxy(t, cfg)
	w := startWorker(t, srv, "acct.deaf")
	sim.WaitFor(t, 5*time.Second, "parked (polled(srv) == 1)", func() (bool, any) {
		got := polled(srv)
		return got == 1, got
	})
	// Submits on an unknown job: answered with an error, fast. The
	// answers fill the socket and then the queue.
	// 128 bytes a line: a 256-byte read buffer holds two whole lines, so
	// the queue fills at a line boundary with nothing buffered.
	line := []byte(`{"id":1,"method":"mining.submit","params":["acct.deaf","nope","00000000","00000000","00000000"]}`)
	line = append(line, strings.Repeat(" ", 127-len(line))+"\n"...)
	var burst []byte
	for range 2000 {
		burst = append(burst, line...)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 400 { // ~80 MB at most, until the proxy stops reading
			_ = w.conn.SetWriteDeadline(time.Now().Add(3 * time.Second))
			if _, err := w.conn.Write(burst); err != nil {
				return
			}
		}
	}()
	sim.WaitFor(t, 60*time.Second, "the deaf miner cut as a slow consumer (once)", func() (bool, any) { // ~2 s
		got := srv.Stats().SlowConsumers
		return got == 1, got
	})
	w.conn.Close()
	<-done
	// Each hand-off must come with progress: lines read and answered.
	// (Measured here: ~18,000 hand-offs for ~74,000 lines while the
	// socket buffers fill; the queue swings around the hand-off mark.)
	var lines uint64
	for _, n := range srv.Stats().SharesRejected {
		lines += n
	}
	if h := srv.Stats().PollerHandOffs; h > lines/2 {
		t.Fatalf("%d hand-offs between the poller and a goroutine for %d lines read (bounced without progress), want at most %d", h, lines, lines/2)
	}
}

// A miner dropped for abuse in the middle of a read still gets the
// answers to the shares before: on a poller they wait for the end of the
// read, and on either path a flusher may hold them when the close comes.
func TestParkedMinerAbuseCloseWritesEarlierAnswers(t *testing.T) {
	t.Run("poller", func(t *testing.T) { testAbuseCloseWritesEarlierAnswers(t, 0) })
	t.Run("goroutine", func(t *testing.T) { testAbuseCloseWritesEarlierAnswers(t, -1) })
}

func testAbuseCloseWritesEarlierAnswers(t *testing.T, pollers int) {
	pool := startPool(t, sim.PoolConfig{})
	cfg := quickConfig(t, pool)
	cfg.Abuse.InvalidBurst = 2
	cfg.Abuse.InvalidPerSecond = 0.001
	cfg.ReadPollers = pollers
	srv := startProxy(t, cfg)
	w := startWorker(t, srv, "a.c")
	if pollers == 0 {
		sim.WaitFor(t, 5*time.Second, "parked (polled == 1 on Linux)", func() (bool, any) {
			got := polled(srv)
			return got == 1 || runtime.GOOS != "linux", got
		})
	}
	var lines strings.Builder
	next := uint32(0)
	for i := range 3 {
		var s share
		s, next = w.mine(t, w.job, next, 0, meets(w.diff))
		fmt.Fprintf(&lines, `{"id":%d,"method":"mining.submit","params":["%s","%s","%s","%s","%s"]}`+"\n", 10+i, w.name, s.jobID, s.en2, s.ntime, s.nonce)
	}
	for i := range 3 { // an unknown worker: invalid, the third trips the limit
		fmt.Fprintf(&lines, `{"id":%d,"method":"mining.submit","params":["nobody","%s","00000000","%s","00000000"]}`+"\n", 20+i, w.job.JobID, w.job.NTime)
	}
	w.send(strings.TrimSuffix(lines.String(), "\n"))
	for i := range 3 {
		a, _ := w.answer(strconv.Itoa(10 + i))
		if string(a.Result) != "true" {
			t.Fatalf("share %d before the abuse answered %s %v, want true", i, a.Result, a.Error)
		}
	}
	if closed, got := w.closedWithin(3 * time.Second); !closed {
		t.Fatalf("abusive miner not dropped: %s; want it closed", got)
	}
	if got := srv.Stats().AbuseDisconnects; got != 1 {
		t.Fatalf("abuse disconnects %d, want 1", got)
	}
}

// A miner that sends its last submits and half-closes (shuts its write
// side) still reads their answers, with or without read pollers.
func TestHalfClosedMinerGetsItsAnswers(t *testing.T) {
	for _, pollers := range []int{0, -1} {
		t.Run(fmt.Sprintf("read_pollers=%d", pollers), func(t *testing.T) {
			pool := startPool(t, sim.PoolConfig{})
			cfg := quickConfig(t, pool)
			cfg.ReadPollers = pollers
			srv := startProxy(t, cfg)
			w := startWorker(t, srv, "a.h")
			var lines strings.Builder
			next := uint32(0)
			const n = 100 // more than a poller's batch: the tail is read by a goroutine
			for i := range n {
				var s share
				s, next = w.mine(t, w.job, next, 0, meets(w.diff))
				fmt.Fprintf(&lines, `{"id":%d,"method":"mining.submit","params":["%s","%s","%s","%s","%s"]}`+"\n", 10+i, w.name, s.jobID, s.en2, s.ntime, s.nonce)
			}
			_ = w.conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
			if _, err := w.conn.Write([]byte(lines.String())); err != nil {
				t.Fatal(err)
			}
			if err := w.conn.(*net.TCPConn).CloseWrite(); err != nil {
				t.Fatal(err)
			}
			for i := range n {
				a, _ := w.answer(strconv.Itoa(10 + i))
				if string(a.Result) != "true" {
					t.Fatalf("share %d answered %s %v, want true", i, a.Result, a.Error)
				}
			}
			if closed, got := w.closedWithin(3 * time.Second); !closed {
				t.Fatalf("half-closed miner not closed after its answers: %s; want it closed", got)
			}
		})
	}
}

// polled is the proxy's own count of the miners its pollers hold (the
// hashgate_miners_polled gauge).
func polled(srv *proxy.Server) int { return int(srv.Stats().MinersPolled) }

// A parked miner whose submits arrive a byte at a time: every piece is a
// short read that leaves a partial line, and the next piece must wake the
// poller again (no read may be skipped across wake-ups).
func TestParkedMinerByteAtATime(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{})
	srv := startProxy(t, quickConfig(t, pool))
	w := startWorker(t, srv, "acct.bytes")
	if runtime.GOOS == "linux" {
		sim.WaitFor(t, 5*time.Second, "parked (polled(srv) == 1)", func() (bool, any) {
			got := polled(srv)
			return got == 1, got
		})
	}
	var start uint32
	for i := range 3 {
		s, next := w.mine(t, w.job, start, 0, meets(w.diff))
		start = next
		id := 20 + i
		line := `{"id":` + strconv.Itoa(id) + `,"method":"mining.submit","params":["` + w.name + `","` + s.jobID + `","` + s.en2 + `","` + s.ntime + `","` + s.nonce + `"]}` + "\n"
		_ = w.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		for j := 0; j < len(line); j++ {
			if _, err := w.conn.Write([]byte{line[j]}); err != nil {
				t.Fatal(err)
			}
			runtime.Gosched() // let the poller see the pieces apart
		}
		if a, _ := w.answer(strconv.Itoa(id)); string(a.Result) != "true" {
			t.Fatalf("share %d sent a byte at a time answered %s %v, want true", i, a.Result, a.Error)
		}
	}
	if got := srv.Stats().SharesAccepted; got != 3 {
		t.Fatalf("accepted %d, want 3", got)
	}
}
