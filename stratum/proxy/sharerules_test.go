package proxy_test

import (
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"

	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/stratum"
	"github.com/hashgate/hashgate/stratum/proxy"
	"github.com/hashgate/hashgate/stratum/vardiff"
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
		b.subtest(t, c.name, func(t *testing.T) {
			low, next := b.mine(t, c.job, 0, 0, fails(b.diff))
			good, _ := b.mine(t, c.job, next, 0, meets(b.diff))
			for _, s := range []share{low, good} {
				id++
				if r := b.submit(id, s); errCode(t, r) != stratum.ErrJobNotFound {
					t.Errorf("share (difficulty %.3g) on %s: %s %s, want error 21", s.diff, c.name, r.Result, r.Error)
				}
			}
		})
	}
	// What each was sent is judged as usual.
	s, _ := b.mine(t, current, 0, 0, meets(b.diff))
	if r := b.submit(30, s); errCode(t, r) != 0 {
		t.Fatalf("share on the job it was sent: %s %s, want accepted", r.Result, r.Error)
	}
	s, _ = a.mine(t, whileWaiting, 0, 0, meets(a.diff))
	if r := a.submit(31, s); errCode(t, r) != 0 {
		t.Fatalf("share of the other rig on a job it was sent: %s %s, want accepted", r.Result, r.Error)
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
	// One good share first: an account with none goes when its
	// connection closes, and the count below is read after the cut.
	good, _ := flood.mine(t, flood.job, 0, 0, meets(flood.diff))
	if r := flood.submit(1, good); string(r.Result) != "true" {
		t.Fatalf("the flooding client's first share: %s %v, want true", r.Result, r.Error)
	}
	// Read the answers as they come (a client that does not read is cut
	// as a slow consumer, which would prove nothing here).
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		_ = flood.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		_, _ = io.Copy(io.Discard, flood.conn)
	}()
	var b strings.Builder
	const lines = 5000
	for i := range lines {
		fmt.Fprintf(&b, `{"id":%d,"method":"mining.submit","params":["acct.flood","%x","%0*x","%s","%08x"]}`+"\n",
			i, 0xdead0000+i, 2*flood.en2Size, 0, flood.job.NTime, i)
	}
	_ = flood.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, werr := io.WriteString(flood.conn, b.String())
	select {
	case <-ended:
	case <-time.After(25 * time.Second):
		t.Fatalf("the flooding client still connected 25 s after its %d submits (write error %v), want it cut", lines, werr)
	}
	// Counted by the proxy: answers the client had not read are lost to
	// the reset its later writes provoke.
	if acct, _ := srv.Worker("acct.flood"); acct.Stale < 1000 || acct.Stale > 1200 {
		t.Fatalf("flooding client had %d of %d unknown-job submits answered (write: %v), want it cut just after the burst of 1000", acct.Stale, lines, werr)
	}
	st := srv.Stats()
	if st.AbuseDisconnects != 1 || st.SlowConsumers != 0 {
		t.Fatalf("abuse disconnects %d, slow consumers %d; want 1 and 0", st.AbuseDisconnects, st.SlowConsumers)
	}
	// The normal miner is still here and mining.
	s, _ := normal.mine(t, normal.job, 0, 0, meets(normal.diff))
	if c := errCode(t, normal.submit(500, s)); c != 0 {
		t.Fatalf("normal miner after its stale burst: code %d, want 0 (accepted)", c)
	}
}

// A difficulty change never makes a miner redo work: miners that restart
// extranonce2 at 0 on every notify (cgminer family, ESP-Miner, NerdMiner;
// sim.FleetConfig.RestartExtranonce2) are sent set_difficulty alone, not
// the current job again, so vardiff moving their difficulty, up or down,
// costs no duplicate share (re-sending the job under a new id made them
// search the same headers again). Nor is any share judged at a difficulty
// the miner was not working at: no low-difficulty rejection either.
func TestDifficultyChangesCauseNoDuplicates(t *testing.T) {
	const interval = 5 * time.Millisecond
	for _, c := range []struct {
		name                 string
		initial, lo, hi, tss float64
	}{
		// Shares ten times faster than the target: vardiff raises.
		{"rising", 1e-9, 1e-9, 1e-6, 10 * interval.Seconds()},
		// Ten times slower: vardiff lowers.
		{"falling", 1e-6, 1e-9, 1e-6, interval.Seconds() / 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			pool := startPool(t, sim.PoolConfig{}) // no new job unless asked
			cfg := quickConfig(t, pool)
			cfg.Difficulty = vardiff.Config{Initial: c.initial, Min: c.lo, Max: c.hi, TargetShareSeconds: c.tss}
			srv := startProxy(t, cfg)
			fleet := startFleet(t, sim.FleetConfig{
				Addr: srv.Addr().String(), Miners: 4, ASICFraction: -1, // no suggest_difficulty or minimum-difficulty
				ShareInterval: interval, RestartExtranonce2: true,
			})
			var st sim.FleetStats
			if err := sim.Poll(30*time.Second, func() bool {
				st = fleet.Stats()
				return st.DifficultyReceived >= 4*3 && st.Accepted >= 400
			}); err != nil {
				t.Fatalf("want 400 shares accepted and vardiff moving every miner's difficulty at least twice: %+v", st)
			}
			fleet.Close()
			st, ps := fleet.Stats(), srv.Stats()
			if st.WrongByCode[22] != 0 || ps.SharesRejected[proxy.RejectDuplicate] != 0 {
				t.Errorf("duplicates after difficulty changes: miners saw %d, proxy counted %d (of %d accepted, %d set_difficulty); want 0",
					st.WrongByCode[22], ps.SharesRejected[proxy.RejectDuplicate], st.Accepted, st.DifficultyReceived)
			}
			if st.WrongAnswers != 0 || ps.SharesRejected[proxy.RejectLowDifficulty] != 0 {
				t.Errorf("wrong answers %v, low-difficulty rejections %d: want none", st.WrongByCode, ps.SharesRejected[proxy.RejectLowDifficulty])
			}
			if st.JobsReceived > 4+st.Reconnects {
				t.Errorf("%d jobs received by 4 miners (%d reconnects) with one pool job (a difficulty change sent a job), want at most %d", st.JobsReceived, st.Reconnects, 4+st.Reconnects)
			}
			t.Logf("%d shares accepted, %d set_difficulty, %d jobs", st.Accepted, st.DifficultyReceived, st.JobsReceived)
		})
	}
}

// The rule for judging shares across a difficulty change: a rise applies
// to jobs sent after it (shares on older jobs are judged at the old, lower
// difficulty), a fall at once, on older jobs too. Neither sends a job.
func TestDifficultyChangeRule(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{})
	cfg := quickConfig(t, pool)
	cfg.Difficulty.Max = 1e-7
	srv := startProxy(t, cfg)
	w := startWorker(t, srv, "acct.rule")
	job1, d1 := w.job, w.diff
	// suggest changes the difficulty; nothing but set_difficulty may come
	// before the answer to the ping behind it.
	change := func(id int, d float64) {
		t.Helper()
		w.send(fmt.Sprintf(`{"id":%d,"method":"mining.suggest_difficulty","params":[%g]}`, id, d))
		w.send(fmt.Sprintf(`{"id":%d,"method":"mining.ping","params":[]}`, id+1))
		for _, wantID := range []int{id, id + 1} {
			_, notes := w.answer(fmt.Sprint(wantID))
			for _, msg := range notes {
				if msg.Method != stratum.MethodSetDifficulty {
					t.Fatalf("a difficulty change to %g sent %s, want only %s", d, msg.Method, stratum.MethodSetDifficulty)
				}
				w.apply(msg)
			}
		}
		if w.diff != d {
			t.Fatalf("difficulty %g after a change to %g, want %g", w.diff, d, d)
		}
	}
	between := func(lo, hi float64) func(*chainhash.Hash) bool {
		return func(h *chainhash.Hash) bool { return meets(lo)(h) && fails(hi)(h) }
	}
	id := 100
	expect := func(what string, n *stratum.Notify, keep func(*chainhash.Hash) bool, want stratum.ErrorCode) {
		t.Helper()
		id++
		s, _ := w.mine(t, n, uint32(id)<<20, 0, keep)
		if c := errCode(t, w.submit(id, s)); c != want {
			t.Fatalf("%s: code %d, want %d", what, c, want)
		}
	}

	const d2 = 4e-9 // a rise
	change(10, d2)
	expect("share between the difficulties on the job sent before the rise", job1, between(d1, d2), 0)
	job2 := newJobSeen(t, pool, w)
	expect("share between the difficulties on a job sent after the rise", job2, between(d1, d2), stratum.ErrLowDifficulty)
	expect("share at the new difficulty on a job sent after the rise", job2, meets(d2), 0)
	expect("the job before the rise still at the old difficulty", job1, between(d1, d2), 0)
	expect("share at the new difficulty on the job before the rise", job1, meets(d2), 0)

	const d3 = 2e-9 // a fall
	change(20, d3)
	expect("share at the fallen difficulty on a job sent before the fall", job2, between(d3, d2), 0)
	expect("share below the fallen difficulty on that job", job2, between(d1, d3), stratum.ErrLowDifficulty)
	expect("the job sent before both, at the lowest of the three", job1, between(d1, d3), 0)
	// Credit: the difficulty judged, or the current one when the share
	// meets it (cgminer works at a new difficulty at once, on the job it
	// holds): d1 three times, d2 twice, d3 once.
	acct, _ := srv.Worker("acct.rule")
	if want := 3*d1 + 2*d2 + d3; acct.Difficulty != d3 || math.Abs(acct.Work-want) > want*1e-9 {
		t.Fatalf("account difficulty %g work %g, want %g and %g", acct.Difficulty, acct.Work, d3, want)
	}
}

// At the resume after a park the rig gets the difficulty it worked at
// before: the park closed its connection, the new one waited without
// work (sent that difficulty as its keepalive, never a decayed one), and
// the first idle check after the resume does not read the wait as a
// silence (it lowered the difficulty by up to 16× at once, then the rig
// flooded shares).
func TestResumeKeepsPreParkDifficulty(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{})
	g := &gate{allowed: map[string]bool{"acct.rig": true}}
	cfg := quickConfig(t, pool)
	cfg.Gate = g
	cfg.ParkedKeepalive = 100 * time.Millisecond
	// Idle after 10 × 0.1 s without a share; checked every 0.1 s.
	cfg.Difficulty = vardiff.Config{Initial: 1e-9, Min: 1e-10, Max: 1e-6, TargetShareSeconds: 0.1}
	srv := startProxy(t, cfg)

	w := startWorker(t, srv, "acct.rig")
	const worked = 4e-9
	w.send(`{"id":5,"method":"mining.suggest_difficulty","params":[4e-9]}`)
	_, notes := w.answer("5")
	for _, msg := range notes {
		w.apply(msg)
	}
	for w.diff != worked {
		w.apply(w.next())
	}
	next := uint32(0)
	for i := range 2 {
		var s share
		s, next = w.mine(t, w.job, next, 0, meets(worked))
		if c := errCode(t, w.submit(10+i, s)); c != 0 {
			t.Fatalf("share at %g: code %d, want 0 (accepted)", worked, c)
		}
	}

	// Park: the connection is closed; the rig comes back and waits.
	g.mu.Lock()
	g.allowed["acct.rig"] = false
	g.mu.Unlock()
	srv.SetAdmission("acct.rig", false)
	if closed, got := w.closedWithin(3 * time.Second); !closed {
		t.Fatalf("parked rig still connected: %s; want it closed", got)
	}
	back := waitingWorker(t, srv, "acct.rig")
	// Parked for 20 keepalives (~2 s: twice the idle time).
	for keepalives := 0; keepalives < 20; {
		msg := back.next()
		if msg.Method != stratum.MethodSetDifficulty {
			t.Fatalf("a parked rig got %q, want only %s keepalives", msg.Method, stratum.MethodSetDifficulty)
		}
		back.apply(msg)
		if back.diff != worked {
			t.Fatalf("keepalive %d to the parked rig says difficulty %g, want %g (from before the park)", keepalives, back.diff, worked)
		}
		keepalives++
	}

	g.mu.Lock()
	g.allowed["acct.rig"] = true
	g.mu.Unlock()
	srv.SetAdmission("acct.rig", true)
	back.job = nil
	for back.job == nil {
		back.apply(back.next())
	}
	if back.diff != worked {
		t.Fatalf("resumed at difficulty %g, want %g (from before the park)", back.diff, worked)
	}
	// Not lowered by the first idle checks either (the idle time is 1 s).
	for {
		msg, err := back.tryNext(400 * time.Millisecond)
		if err != nil {
			break // quiet: good
		}
		if msg.Method == stratum.MethodSetDifficulty {
			back.apply(msg)
			t.Fatalf("difficulty changed to %g right after the resume, want %g kept", back.diff, worked)
		}
	}
	if acct, _ := srv.Worker("acct.rig"); acct.Difficulty != worked {
		t.Fatalf("account difficulty %g, want %g", acct.Difficulty, worked)
	}
}

// A connection held without work (parked, or waiting its turn) was never
// sent any job: a share from it on a job of its session is stale (21),
// whatever its hash, never low difficulty (23) and never accepted. Before,
// a held connection counted every job of the session as sent: cpuminer's
// leftover work got 23, and a good share was answered true, credited and
// forwarded.
func TestHeldConnectionSharesAreStale(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{})
	g := &gate{allowed: map[string]bool{"acct.always": true}}
	cfg := quickConfig(t, pool)
	cfg.Gate = g
	srv := startProxy(t, cfg)
	a := startWorker(t, srv, "acct.always")
	b := waitingWorker(t, srv, "acct.parked")
	job := newJobSeen(t, pool, a) // a job of b's session, never sent to b
	b.diff = a.diff
	low, next := b.mine(t, job, 0, 0, fails(a.diff))
	if r := b.submit(10, low); errCode(t, r) != stratum.ErrJobNotFound {
		t.Errorf("held rig, low share on a session job it was never sent: %s %s, want error 21", r.Result, r.Error)
	}
	good, _ := b.mine(t, job, next, 0, meets(a.diff))
	if r := b.submit(11, good); errCode(t, r) != stratum.ErrJobNotFound {
		t.Errorf("held rig, good share on a session job it was never sent: %s %s, want error 21", r.Result, r.Error)
	}
	acct, _ := srv.Worker("acct.parked")
	if acct.Accepted != 0 || acct.Forwarded != 0 || acct.Stale != 2 {
		t.Errorf("held rig's account: accepted %d forwarded %d stale %d, want 0, 0, 2", acct.Accepted, acct.Forwarded, acct.Stale)
	}
}
