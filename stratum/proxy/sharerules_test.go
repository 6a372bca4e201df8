package proxy_test

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/sim"
	"github.com/hashgate/hashgate/stratum"
	"github.com/hashgate/hashgate/stratum/proxy"
)

// waitingWorker subscribes and authorizes a raw miner the gate may hold
// without work; it holds no job until admitted.
func waitingWorker(t *testing.T, srv *proxy.Server, name string) *worker {
	t.Helper()
	w := &worker{rawMiner: dialRaw(t, srv), name: name}
	w.en1, w.en2Size = subscribeResult(t, w.call("1", "mining.subscribe", `["test/1.0"]`))
	w.send(`{"id":2,"method":"mining.authorize","params":["` + name + `","x"]}`)
	_, notes := w.answer("2")
	for _, msg := range notes {
		w.apply(msg)
	}
	return w
}

// newJobSeen makes the pool send a job (not clean) and waits until w has it.
func newJobSeen(t *testing.T, pool *sim.Pool, w *worker) *stratum.Notify {
	t.Helper()
	old := w.job
	pool.NewJob(false)
	for w.job == old {
		w.apply(w.next())
	}
	return w.job
}

// A share on a job of the session that this connection was never sent
// (minted before it connected, or while it waited parked) is stale (21):
// the miner hashes work it kept from before (cpuminer keeps its last job
// across a reconnect), not work of too low a difficulty (23). The jobs it
// was sent are judged as usual.
func TestShareOnJobNeverSentIsStale(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{})
	g := &gate{allowed: map[string]bool{"acct.always": true}}
	cfg := quickConfig(t, pool)
	cfg.Gate = g
	srv := startProxy(t, cfg)
	a := startWorker(t, srv, "acct.always") // gets every job
	beforeConnect := a.job
	b := waitingWorker(t, srv, "acct.parked")
	whileWaiting := newJobSeen(t, pool, a)
	current := newJobSeen(t, pool, a)
	g.mu.Lock()
	g.allowed["acct.parked"] = true
	g.mu.Unlock()
	srv.SetAdmission("acct.parked", true)
	for b.job == nil || b.diff == 0 {
		b.apply(b.next())
	}
	if b.job.JobID != current.JobID {
		t.Fatalf("admitted rig got job %s, want the current %s", b.job.JobID, current.JobID)
	}
	id := 10
	for _, c := range []struct {
		name string
		job  *stratum.Notify
	}{{"a job minted before it connected", beforeConnect}, {"a job minted while it waited", whileWaiting}} {
		low, next := b.mine(t, c.job, 0, 0, fails(b.diff))
		good, _ := b.mine(t, c.job, next, 0, meets(b.diff))
		for _, s := range []share{low, good} {
			id++
			if r := b.submit(id, s); errCode(t, r) != stratum.ErrJobNotFound {
				t.Errorf("share (difficulty %.3g) on %s: %s %s, want error 21", s.diff, c.name, r.Result, r.Error)
			}
		}
	}
	// What each was sent is judged as usual.
	s, _ := b.mine(t, current, 0, 0, meets(b.diff))
	if r := b.submit(30, s); errCode(t, r) != 0 {
		t.Fatalf("share on the job it was sent: %s %s", r.Result, r.Error)
	}
	s, _ = a.mine(t, whileWaiting, 0, 0, meets(a.diff))
	if r := a.submit(31, s); errCode(t, r) != 0 {
		t.Fatalf("share of the other rig on a job it was sent: %s %s", r.Result, r.Error)
	}
	if acct, _ := srv.Worker("acct.parked"); acct.Rejected[proxy.RejectLowDifficulty] != 0 || acct.Stale != 4 {
		t.Fatalf("account of the parked rig: rejected %v, want 4 stale and no low_difficulty", acct.Rejected)
	}
}

// A client flooding unknown-job submits is cut (stale submits have a
// bucket of their own: burst stale_burst, then stale_per_second), with a
// logged reason; a real miner's burst of stale shares after a clean job
// (a few dozen) is not.
func TestUnknownJobFloodIsCut(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{})
	srv := startProxy(t, quickConfig(t, pool)) // default abuse bounds
	normal := startWorker(t, srv, "acct.normal")
	old := normal.job
	pool.NewJob(true)
	for normal.job == old {
		normal.apply(normal.next())
	}
	next := uint32(0)
	for i := range 60 {
		var s share
		s, next = normal.mine(t, old, next, 0, meets(normal.diff))
		if c := errCode(t, normal.submit(100+i, s)); c != stratum.ErrJobNotFound {
			t.Fatalf("stale share %d after a clean job: code %d, want 21", i, c)
		}
	}

	flood := startWorker(t, srv, "acct.flood")
	// Read the answers as they come (a client that does not read is cut
	// as a slow consumer, which would prove nothing here).
	answers := make(chan int, 1)
	go func() {
		n := 0
		r := bufio.NewReader(flood.conn)
		_ = flood.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				answers <- n
				return
			}
			if strings.Contains(line, `"error":[21`) {
				n++
			}
		}
	}()
	var b strings.Builder
	const lines = 5000
	for i := range lines {
		fmt.Fprintf(&b, `{"id":%d,"method":"mining.submit","params":["acct.flood","%x","%0*x","%s","%08x"]}`+"\n",
			i, 0xdead0000+i, 2*flood.en2Size, 0, flood.job.NTime, i)
	}
	_ = flood.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, werr := io.WriteString(flood.conn, b.String())
	var stale int
	select {
	case stale = <-answers:
	case <-time.After(25 * time.Second):
		t.Fatal("the flooding client was never cut")
	}
	if stale >= lines || stale < 1000 {
		t.Fatalf("flooding client got %d stale answers of %d before the cut (write: %v), want it cut after the burst of 1000", stale, lines, werr)
	}
	st := srv.Stats()
	if st.AbuseDisconnects != 1 || st.SlowConsumers != 0 {
		t.Fatalf("abuse disconnects %d, slow consumers %d; want 1 and 0", st.AbuseDisconnects, st.SlowConsumers)
	}
	// The normal miner is still here and mining.
	s, _ := normal.mine(t, normal.job, 0, 0, meets(normal.diff))
	if c := errCode(t, normal.submit(500, s)); c != 0 {
		t.Fatalf("normal miner after its stale burst: code %d", c)
	}
}
