package proxy_test

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"

	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/stratum"
	"github.com/hashgate/hashgate/stratum/proxy"
	"github.com/hashgate/hashgate/stratum/sharehash"
)

// worker is a raw miner that subscribed and authorized, holding a job.
type worker struct {
	*rawMiner
	name    string
	en1     string
	en2Size int
	job     *stratum.Notify
	diff    float64
}

// startWorker configures version rolling (mask 1fffe000), subscribes,
// authorizes and waits for its difficulty and first job.
func startWorker(t *testing.T, srv *proxy.Server, name string) *worker {
	t.Helper()
	w := &worker{rawMiner: dialRaw(t, srv), name: name}
	w.call("1", "mining.configure", `[["version-rolling"],{"version-rolling.mask":"1fffe000"}]`)
	w.en1, w.en2Size = subscribeResult(t, w.call("2", "mining.subscribe", `["test/1.0"]`))
	w.send(`{"id":3,"method":"mining.authorize","params":["` + name + `","x"]}`)
	_, notes := w.answer("3")
	for _, msg := range notes {
		w.apply(msg)
	}
	for w.job == nil || w.diff == 0 {
		w.apply(w.next())
	}
	return w
}

func (w *worker) apply(msg *stratum.Message) {
	switch msg.Method {
	case stratum.MethodSetDifficulty:
		ps, _ := stratum.SplitParams(msg.Params)
		w.diff, _ = stratum.FloatParam(ps, 0)
	case stratum.MethodNotify:
		w.job, _ = stratum.ParseNotify(msg.Params)
	}
}

// share is one candidate share and its hash.
type share struct {
	user                              string // "" = the worker's own name
	jobID, en2, ntime, nonce, version string
	diff                              float64 // the share's own difficulty
}

// mine searches nonces from start on job n and returns the first share
// for which keep(hash) is true.
func (w *worker) mine(t *testing.T, n *stratum.Notify, start uint32, rolled uint32, keep func(h *chainhash.Hash) bool) (share, uint32) {
	t.Helper()
	job, err := sharehash.JobFromHex(n.PrevHash, n.Coinb1, n.Coinb2, n.Branches, n.Version, n.NBits, n.NTime)
	if err != nil {
		t.Fatal(err)
	}
	en1, _ := hex.DecodeString(w.en1)
	en2 := make([]byte, w.en2Size)
	var h sharehash.Hasher
	version := sharehash.RollVersion(job.Version, 0x1fffe000, rolled)
	for nonce := start; nonce < start+1<<20; nonce++ {
		hash := h.Hash(job, en1, en2, job.NTime, nonce, version)
		if keep(&hash) {
			s := share{jobID: n.JobID, en2: hex.EncodeToString(en2), ntime: n.NTime, nonce: stratum.FormatUint32(nonce), diff: sharehash.DifficultyOf(&hash)}
			if rolled != 0 {
				s.version = stratum.FormatUint32(rolled)
			}
			return s, nonce + 1
		}
	}
	t.Fatalf("no share on job %s in nonces %#x..%#x, want one", n.JobID, start, start+1<<20-1)
	return share{}, 0
}

func meets(d float64) func(*chainhash.Hash) bool {
	t := sharehash.NewTarget(d)
	return func(h *chainhash.Hash) bool { return t.Met(h) }
}

func fails(d float64) func(*chainhash.Hash) bool {
	t := sharehash.NewTarget(d)
	return func(h *chainhash.Hash) bool { return !t.Met(h) }
}

func (w *worker) submit(id int, s share) *stratum.Message {
	w.t.Helper()
	user := w.name
	if s.user != "" {
		user = s.user
	}
	params := []string{user, s.jobID, s.en2, s.ntime, s.nonce}
	if s.version != "" {
		params = append(params, s.version)
	}
	w.send(fmt.Sprintf(`{"id":%d,"method":"mining.submit","params":%s}`, id, mustJSON(params)))
	a, notes := w.answer(fmt.Sprint(id))
	for _, msg := range notes {
		w.apply(msg)
	}
	return a
}

// Every reject reason, through a real connection, with its code and its
// counter; the good share is answered from the proxy's own verdict.
func TestRejectReasons(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{})
	srv := startProxy(t, quickConfig(t, pool))
	w := startWorker(t, srv, "acct.v1")
	d := w.diff
	good, next := w.mine(t, w.job, 0, 0x00a4e000, meets(d))
	if c := errCode(t, w.submit(10, good)); c != 0 {
		t.Fatalf("valid share: code %d, want 0 (accepted)", c)
	}
	low, _ := w.mine(t, w.job, next, 0, fails(d))
	cases := []struct {
		name   string
		s      share
		code   stratum.ErrorCode
		reason string
		answer string // the error member exactly as sent
	}{
		{"duplicate", good, stratum.ErrDuplicate, proxy.RejectDuplicate, `[22,"duplicate share",null]`},
		{"low difficulty", low, stratum.ErrLowDifficulty, proxy.RejectLowDifficulty, `[23,"low difficulty share",null]`},
		{"ntime before the job", withNTime(good, -1), stratum.ErrOther, proxy.RejectNTime, `[20,"ntime out of range",null]`},
		{"ntime too far ahead", withNTime(good, 7001), stratum.ErrOther, proxy.RejectNTime, `[20,"ntime out of range",null]`},
		{"version bits outside the mask", withVersion(good, "00000001"), stratum.ErrOther, proxy.RejectVersion, `[20,"version bits outside the negotiated mask",null]`},
		{"short extranonce2", withEN2(good, good.en2[2:]), stratum.ErrOther, proxy.RejectExtranonce2, `[20,"extranonce2 must be 4 bytes",null]`},
		{"extranonce2 not hex", withEN2(good, "zz"+good.en2[2:]), stratum.ErrOther, proxy.RejectOther, `[20,"bad params: param 2: extranonce2 must be hex",null]`},
		{"unknown job", withJob(good, "abcdef"), stratum.ErrJobNotFound, proxy.RejectStale, `[21,"job not found",null]`},
	}
	for i, c := range cases {
		w.subtest(t, c.name, func(t *testing.T) {
			a := w.submit(20+i, c.s)
			if got := errCode(t, a); got != c.code {
				t.Errorf("%s: code %d, want %d", c.name, got, c.code)
			}
			if string(a.Error) != c.answer {
				t.Errorf("%s: error %s, want %s", c.name, a.Error, c.answer)
			}
		})
	}
	// ntime inside the window (rolled forward) is fine.
	rolledTime, _ := w.mine(t, w.job, next+5000, 0, meets(d))
	if c := errCode(t, w.submit(40, withNTimeKeepNonce(t, w, rolledTime, 6000, d))); c != 0 {
		t.Errorf("ntime rolled within 7000 s: code %d, want 0 (accepted)", c)
	}
	// Stale: the pool cleans its jobs; the old one is refused.
	old := w.job
	pool.NewJob(true)
	for w.job == old {
		w.apply(w.next())
	}
	stale, _ := w.mine(t, old, next+100000, 0, meets(d))
	if c := errCode(t, w.submit(50, stale)); c != stratum.ErrJobNotFound {
		t.Errorf("share on a job before clean_jobs: code %d, want 21", c)
	}
	if a := w.submit(51, withUser(good, "acct.stranger")); string(a.Error) != `[24,"unauthorized worker",null]` {
		t.Errorf("unknown worker: error %s, want [24,\"unauthorized worker\",null]", a.Error)
	}

	acct, ok := srv.Worker("acct.v1")
	if !ok {
		t.Fatalf("Worker(acct.v1) = %+v, %v; want its account", acct, ok)
	}
	want := map[string]uint64{proxy.RejectDuplicate: 1, proxy.RejectLowDifficulty: 1, proxy.RejectNTime: 2,
		proxy.RejectVersion: 1, proxy.RejectExtranonce2: 1, proxy.RejectStale: 2}
	for reason, n := range want {
		if acct.Rejected[reason] != n {
			t.Errorf("worker rejected[%s] = %d, want %d (%v)", reason, acct.Rejected[reason], n, acct.Rejected)
		}
	}
	if acct.Accepted != 2 || acct.Work != 2*d || acct.Hashrate1m <= 0 || acct.LastShare.IsZero() || acct.Difficulty != d || acct.Remote == "" {
		t.Errorf("account %+v, want 2 accepted, work %v, a hashrate, a last share, difficulty %v, a remote address", acct, 2*d, d)
	}
	if st := srv.Stats(); st.SharesRejected[proxy.RejectUnauthorized] != 1 || st.SharesRejected[proxy.RejectOther] != 1 {
		t.Errorf("unauthorized and bad params counted %v, want 1 each", st.SharesRejected)
	}
}

func withNTime(s share, delta int64) share {
	v, _ := stratum.HexUint32(s.ntime)
	s.ntime = stratum.FormatUint32(uint32(int64(v) + delta))
	return s
}

// withNTimeKeepNonce finds a valid share with ntime rolled by delta.
func withNTimeKeepNonce(t *testing.T, w *worker, s share, delta uint32, d float64) share {
	t.Helper()
	n := *w.job
	v, _ := stratum.HexUint32(n.NTime)
	n.NTime = stratum.FormatUint32(v + delta)
	rolled, _ := w.mine(t, &n, 0, 0, meets(d))
	rolled.jobID = s.jobID
	return rolled
}

func withVersion(s share, v string) share { s.version = v; return s }
func withEN2(s share, en2 string) share   { s.en2 = en2; return s }
func withJob(s share, id string) share    { s.jobID = id; return s }
func withUser(s share, u string) share    { s.user = u; return s }

// Only shares that meet the pool's difficulty go to the pool; the rest are
// accepted locally. The pool gets exactly those.
func TestForwardsOnlyWhatThePoolWants(t *testing.T) {
	const poolDiff = 8e-9
	pool := startPool(t, sim.PoolConfig{Difficulty: poolDiff})
	srv := startProxy(t, quickConfig(t, pool)) // miners at 1e-9
	w := startWorker(t, srv, "acct.f1")
	if w.diff != sim.DefaultPoolDifficulty {
		t.Fatalf("miner difficulty %v, want the pool's %v", w.diff, sim.DefaultPoolDifficulty)
	}
	want, next := 0, uint32(0)
	for i := range 60 {
		var s share
		s, next = w.mine(t, w.job, next, 0, meets(w.diff))
		if s.diff >= poolDiff {
			want++
		}
		if c := errCode(t, w.submit(100+i, s)); c != 0 {
			t.Fatalf("share %d: code %d, want 0 (accepted)", i, c)
		}
	}
	if want == 0 || want == 60 {
		t.Fatalf("%d of 60 shares meet the pool's difficulty: the test proves nothing", want)
	}
	sim.WaitFor(t, 5*time.Second, "pool accepted (pool.Stats().Accepted == want)", func() (bool, any) {
		got := pool.Stats().Accepted
		return got == want, got
	})
	st := srv.Stats()
	if st.SharesAccepted != 60 || st.SharesForwarded != uint64(want) || pool.Stats().RejectedTotal() != 0 {
		t.Fatalf("accepted %d forwarded %d (want %d), pool rejected %v", st.SharesAccepted, st.SharesForwarded, want, pool.Stats().Rejected)
	}
	sim.WaitFor(t, 5*time.Second, "pool verdicts counted (srv.Stats().PoolAccepted == uint64(want))", func() (bool, any) {
		got := srv.Stats().PoolAccepted
		return got == uint64(want), got
	})
}

// A miner whose shares are all rejected for the abuse window is dropped,
// and so is one flooding invalid submits; valid shares at a high rate are
// never abuse.
func TestAbuseDisconnects(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{})
	cfg := quickConfig(t, pool)
	cfg.Abuse = proxy.AbuseConfig{RejectWindow: 100 * time.Millisecond, RejectMinShares: 5, InvalidPerSecond: 1, InvalidBurst: 20}
	srv := startProxy(t, cfg)

	stale := startWorker(t, srv, "acct.stale")
	s, _ := stale.mine(t, stale.job, 0, 0, meets(stale.diff))
	s.jobID = "dead"
	// Keep submitting until the window has passed and the proxy gives up.
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; ; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("a miner with every share rejected still connected after %d submits in 5 s, want it cut", i)
		}
		stale.send(fmt.Sprintf(`{"id":%d,"method":"mining.submit","params":%s}`, i, mustJSON([]string{"acct.stale", s.jobID, s.en2, s.ntime, s.nonce})))
		if _, err := stale.tryNext(time.Second); err != nil {
			break // closed
		}
	}

	flood := startWorker(t, srv, "acct.flood")
	bad := `{"id":1,"method":"mining.submit","params":["acct.flood","` + flood.job.JobID + `","00","00000000","00000000"]}` + "\n"
	payload := ""
	for range 40 {
		payload += bad
	}
	_, _ = flood.conn.Write([]byte(payload))
	if closed, got := flood.closedWithin(3 * time.Second); !closed {
		t.Fatalf("a miner flooding invalid submits was kept: %s; want it closed", got)
	}
	if got := srv.Stats().AbuseDisconnects; got != 2 {
		t.Fatalf("abuse disconnects %d, want 2", got)
	}

	good := startWorker(t, srv, "acct.fast")
	next := uint32(0)
	for i := range 200 {
		var sh share
		sh, next = good.mine(t, good.job, next, 0, meets(good.diff))
		if c := errCode(t, good.submit(1000+i, sh)); c != 0 {
			t.Fatalf("valid share %d: code %d, want 0 (accepted)", i, c)
		}
	}
	if got := srv.Stats().AbuseDisconnects; got != 2 {
		t.Fatalf("abuse disconnects %d, want 2 (valid shares at a high rate are not abuse)", got)
	}
}

// The merkle root kept for a miner's last (job, extranonce2) is used only
// for that pair: shares alternating between two jobs with the same
// extranonce2 are each judged on their own job's root, and a low share
// after a good one on the same extranonce2 is still rejected.
func TestKeptRootIsPerJob(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{})
	srv := startProxy(t, quickConfig(t, pool))
	w := startWorker(t, srv, "acct.root")
	jobA := w.job
	a1, next := w.mine(t, jobA, 0, 0, meets(w.diff))
	if r := w.submit(1, a1); string(r.Result) != "true" {
		t.Fatalf("first share on job A: %s %v, want true", r.Result, r.Error)
	}
	pool.NewJob(false)
	for w.job == jobA {
		w.apply(w.next())
	}
	jobB := w.job
	b1, _ := w.mine(t, jobB, 0, 0, meets(w.diff))
	if b1.en2 != a1.en2 {
		t.Fatalf("extranonce2 %s on job B, %s on job A; the test needs them the same", b1.en2, a1.en2)
	}
	if r := w.submit(2, b1); string(r.Result) != "true" {
		t.Fatalf("share on job B, same extranonce2: %s %v, want true", r.Result, r.Error)
	}
	a2, next := w.mine(t, jobA, next, 0, meets(w.diff))
	if r := w.submit(3, a2); string(r.Result) != "true" {
		t.Fatalf("back on job A, same extranonce2: %s %v, want true", r.Result, r.Error)
	}
	low, _ := w.mine(t, jobA, next, 0, fails(w.diff))
	if r := w.submit(4, low); errCode(t, r) != stratum.ErrLowDifficulty {
		t.Fatalf("low share on a kept root answered %s %v, want code %d", r.Result, r.Error, stratum.ErrLowDifficulty)
	}
}

// NerdMiner (V1.8.3) sends the nonce without leading zeros: 1 to 8 hex
// digits. Such shares are validated on the padded nonce and reach the
// pool (which, like some real pools, wants all 8 digits) padded.
func TestShortNonceAcceptedAndForwardedPadded(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{})
	srv := startProxy(t, quickConfig(t, pool)) // every share is forwarded
	w := startWorker(t, srv, "acct.nerd")
	want, next := 0, uint32(0)
	for i := range 8 {
		s, n := w.mine(t, w.job, next, 0, meets(w.diff))
		next = n
		full := s.nonce
		s.nonce = strings.TrimLeft(full, "0")
		if s.nonce == "" {
			s.nonce = "0"
		}
		if len(s.nonce) == 8 {
			t.Fatalf("nonce %s has no leading zero (the test proves nothing), want one", full)
		}
		if r := w.submit(10+i, s); errCode(t, r) != 0 {
			t.Fatalf("share with nonce %q (%s): %s %s, want true", s.nonce, full, r.Result, r.Error)
		}
		want++
		s.nonce = full // the same share with 8 digits is a duplicate
		if c := errCode(t, w.submit(100+i, s)); c != stratum.ErrDuplicate {
			t.Fatalf("the same share with nonce %s: code %d, want 22", full, c)
		}
	}
	sim.WaitFor(t, 5*time.Second, "the pool accepted every share (== want)", func() (bool, any) {
		ps := pool.Stats()
		return ps.Accepted == want, fmt.Sprintf("%d of %d accepted, rejected %v", ps.Accepted, want, ps.Rejected)
	})
	if r := pool.Stats().RejectedTotal(); r != 0 {
		t.Fatalf("pool rejected %d forwarded shares: %v, want 0", r, pool.Stats().Rejected)
	}
}
