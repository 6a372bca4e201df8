package proxy_test

import (
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/stratum"
	"github.com/hashgate/hashgate/stratum/proxy"
	"github.com/hashgate/hashgate/stratum/sharehash"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// subscribeResult reads en1 and en2 size from a subscribe answer.
func subscribeResult(t *testing.T, msg *stratum.Message) (string, int) {
	t.Helper()
	r, err := stratum.ParseSubscribeResult(msg.Result)
	if err != nil {
		t.Fatalf("subscribe answer %s: %v, want a subscribe result", msg.Result, err)
	}
	return hex.EncodeToString(r.Extranonce1), r.Extranonce2Size
}

// findShare returns a submit's params for a real share on job n.
func findShare(t *testing.T, worker string, n *stratum.Notify, en1Hex string, en2Size int, version uint32, diff float64) string {
	t.Helper()
	job, err := sharehash.JobFromHex(n.PrevHash, n.Coinb1, n.Coinb2, n.Branches, n.Version, n.NBits, n.NTime)
	if err != nil {
		t.Fatal(err)
	}
	en1, _ := hex.DecodeString(en1Hex)
	en2 := make([]byte, en2Size)
	var h sharehash.Hasher
	full := job.Version
	if version != 0 {
		full = job.Version | version
	}
	nonce, ok := h.Search(job, en1, en2, job.NTime, full, 0, 1<<20, sharehash.NewTarget(diff))
	if !ok {
		t.Fatalf("no share at difficulty %v in nonces 0..2^20-1 (last tried %#x), want one", diff, nonce)
	}
	params := []string{worker, n.JobID, hex.EncodeToString(en2), n.NTime, stratum.FormatUint32(nonce)}
	if version != 0 {
		params = append(params, stratum.FormatUint32(version))
	}
	return mustJSON(params)
}

// An ASIC-style miner: configure first (version rolling), subscribe,
// extranonce.subscribe, authorize, then real shares with rolled bits.
func TestASICStyleMiner(t *testing.T) {
	var mu sync.Mutex
	var shares []sim.Share
	pool := startPool(t, sim.PoolConfig{Extranonce2Size: 8, OnShare: func(s sim.Share) {
		mu.Lock()
		shares = append(shares, s)
		mu.Unlock()
	}})
	srv := startProxy(t, quickConfig(t, pool))
	m := dialRaw(t, srv)

	// The mask is the miner's request ∩ the pool's grant (0x1fffe000).
	a := m.call("1", "mining.configure", `[["version-rolling","minimum-difficulty","subscribe-extranonce"],{"version-rolling.mask":"00ffffff","version-rolling.min-bit-count":2,"minimum-difficulty.value":1e-10}]`)
	if !strings.Contains(string(a.Result), `"version-rolling.mask":"00ffe000"`) || !strings.Contains(string(a.Result), `"version-rolling":true`) {
		t.Fatalf("configure answer %s, want version-rolling true with mask 00ffe000", a.Result)
	}
	en1, en2Size := subscribeResult(t, m.call("2", "mining.subscribe", `["bmminer/2.0.0"]`))
	// N=8, min 3 => k=4: 4 bytes of pool extranonce1 + 4 of prefix, 4 left.
	if len(en1) != 16 || en2Size != 4 {
		t.Fatalf("en1 %s en2 size %d, want 8 bytes and 4", en1, en2Size)
	}
	if a := m.call("3", "mining.extranonce.subscribe", `[]`); string(a.Result) != "true" {
		t.Fatalf("extranonce.subscribe answer %s, want true", a.Result)
	}
	if a := m.call(`"auth"`, "mining.authorize", `["acct.s19-001","x"]`); string(a.Result) != "true" {
		t.Fatalf("authorize answer %s, want true", a.Result)
	}
	n := m.waitNotify()
	if !n.Clean {
		t.Fatalf("first job %s has clean_jobs false, want true", n.JobID)
	}
	rolled := uint32(0x00a4e000)
	a = m.call("4", "mining.submit", findShare(t, "acct.s19-001", n, en1, en2Size, rolled, sim.DefaultPoolDifficulty))
	if errCode(t, a) != 0 {
		t.Fatalf("valid share answered with error %s, want accepted", a.Error)
	}
	// Answered from the proxy's own verdict; the pool gets it right after.
	sim.WaitFor(t, 5*time.Second, "the share forwarded (1 share at the pool)", func() (bool, any) {
		mu.Lock()
		defer mu.Unlock()
		return len(shares) == 1, len(shares)
	})
	mu.Lock()
	defer mu.Unlock()
	// Upstream: extranonce2 = prefix ‖ miner's extranonce2, version bits carried.
	if got := shares[0].Extranonce2; got != en1[8:]+"00000000" {
		t.Fatalf("upstream extranonce2 %s, want prefix %s then the miner's", got, en1[8:])
	}
	if shares[0].Version != stratum.FormatUint32(rolled) {
		t.Fatalf("version bits upstream %q, want %q", shares[0].Version, stratum.FormatUint32(rolled))
	}
	if shares[0].Worker != "acct.proxy" {
		t.Fatalf("upstream worker %q, want acct.proxy", shares[0].Worker)
	}
}

// A cpuminer-style miner: plain subscribe without params, suggest_difficulty
// before subscribe (as Whatsminer sends it), several workers.
func TestPlainMinerAndOrderErrors(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{Extranonce2Size: 4})
	cfg := quickConfig(t, pool)
	cfg.Difficulty.Max = 1e-8 // room for the miner's suggestion
	srv := startProxy(t, cfg)
	m := dialRaw(t, srv)

	share := `["acct.a","1","000000","647025b5","00000000"]`
	if c := errCode(t, m.call("1", "mining.submit", share)); c != stratum.ErrNotSubscribed {
		t.Fatalf("submit before subscribe: code %d, want 25", c)
	}
	if a := m.call("2", "mining.suggest_difficulty", `[1e-8]`); string(a.Result) != "true" {
		t.Fatalf("suggest_difficulty before subscribe: result %s error %s, want true", a.Result, a.Error)
	}
	m.send(`{"id":null,"method":"mining.subscribe"}`) // no params at all
	sub, _ := m.answer("null")
	en1, en2Size := subscribeResult(t, sub)
	if en2Size != 3 || len(en1) != 10 { // N=4 => k=1
		t.Fatalf("en1 %s size %d, want 5 bytes and 3 (N=4, k=1)", en1, en2Size)
	}
	if c := errCode(t, m.call("3", "mining.submit", share)); c != stratum.ErrUnauthorized {
		t.Fatalf("submit before authorize: code %d, want 24", c)
	}
	var notes []*stratum.Message
	for _, id := range []string{"4", `"second"`} {
		w := map[string]string{"4": "acct.a", `"second"`: "acct.b"}[id]
		m.send(`{"id":` + id + `,"method":"mining.authorize","params":` + mustJSON([]string{w, "x"}) + `}`)
		a, seen := m.answer(id)
		if string(a.Result) != "true" {
			t.Fatalf("authorize %s: %s, want true", w, a.Result)
		}
		notes = append(notes, seen...)
	}
	// Suggested 1e-8 is above the pool's 1e-9: the miner gets 1e-8.
	var diff float64
	var n *stratum.Notify
	for i := 0; n == nil; i++ {
		var msg *stratum.Message
		if i < len(notes) {
			msg = notes[i]
		} else {
			msg = m.next()
		}
		switch msg.Method {
		case stratum.MethodSetDifficulty:
			ps, _ := stratum.SplitParams(msg.Params)
			diff, _ = stratum.FloatParam(ps, 0)
		case stratum.MethodNotify:
			n, _ = stratum.ParseNotify(msg.Params)
		}
	}
	if diff != 1e-8 {
		t.Fatalf("difficulty %v, want the suggested 1e-8", diff)
	}
	// The second worker may submit too; an unknown one may not.
	cases := []struct {
		name, params string
		code         stratum.ErrorCode
	}{
		{"unknown worker", fmt.Sprintf(`["acct.zz","%s","000000","%s","00000000"]`, n.JobID, n.NTime), stratum.ErrUnauthorized},
		{"unknown job", `["acct.b","ffffff","000000","647025b5","00000000"]`, stratum.ErrJobNotFound},
		{"short extranonce2", fmt.Sprintf(`["acct.b","%s","0000","%s","00000000"]`, n.JobID, n.NTime), stratum.ErrOther},
		{"long extranonce2", fmt.Sprintf(`["acct.b","%s","00000000","%s","00000000"]`, n.JobID, n.NTime), stratum.ErrOther},
		{"wrong types", `["acct.b",7,"000000",true,"00000000"]`, stratum.ErrOther},
		{"params not a list", `{"worker":"acct.b"}`, stratum.ErrOther},
	}
	for i, c := range cases {
		m.subtest(t, c.name, func(t *testing.T) {
			if got := errCode(t, m.call(fmt.Sprint(10+i), "mining.submit", c.params)); got != c.code {
				t.Errorf("%s: code %d, want %d", c.name, got, c.code)
			}
		})
	}
	// Unknown methods are answered with 20 at once, never a disconnect.
	for i, method := range []string{"mining.get_transactions", "mining.capabilities", "mining.multi_version"} {
		if c := errCode(t, m.call(fmt.Sprint(30+i), method, `[]`)); c != stratum.ErrOther {
			t.Fatalf("%s: code %d, want %d", method, c, stratum.ErrOther)
		}
	}
	a := m.call("40", "mining.submit", findShare(t, "acct.b", n, en1, en2Size, 0, 1e-8))
	if errCode(t, a) != 0 {
		t.Fatalf("valid share from the second worker answered with error %s, want accepted", a.Error)
	}
}

// Garbage from one miner drops that miner, with a reason, and nobody else.
func TestBadInputDropsOnlyThatMiner(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{})
	cfg := quickConfig(t, pool)
	cfg.MaxLineBytes = 4096
	srv := startProxy(t, cfg)
	fleet, err := sim.StartFleet(sim.FleetConfig{Addr: srv.Addr().String(), Miners: 20, ShareInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer fleet.Close()
	sim.WaitFor(t, 5*time.Second, "fleet mining (fleet.Stats().Accepted >= 40)", func() (bool, any) {
		got := fleet.Stats().Accepted
		return got >= 40, got
	})

	tlsHello := "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + strings.Repeat("\x00", 32)
	bad := map[string]string{
		"malformed json": `{"id":1,"method":"mining.subscribe","params":[}` + "\n",
		"1 MiB line":     strings.Repeat("A", 1<<20),
		"binary garbage": "\x00\xff\xfe\x01\x02garbage\n",
		"tls handshake":  tlsHello,
		"json array":     "[1,2,3]\n",
	}
	for name, payload := range bad {
		t.Run(name, func(t *testing.T) {
			m := dialRaw(t, srv)
			_ = m.conn.SetWriteDeadline(time.Now().Add(3 * time.Second))
			_, _ = m.conn.Write([]byte(payload))
			if name == "tls handshake" {
				// No newline comes: the proxy waits for the line until the
				// handshake timeout, or the line limit; send filler.
				_, _ = m.conn.Write([]byte(strings.Repeat("\x00", 5000)))
			}
			if closed, got := m.closedWithin(5 * time.Second); !closed {
				t.Fatalf("proxy kept a miner that sent garbage: %s; want it closed", got)
			}
		})
	}
	before := fleet.Stats().Accepted
	sim.WaitFor(t, 5*time.Second, "fleet still mining (fleet.Stats().Accepted > before+20)", func() (bool, any) {
		got := fleet.Stats().Accepted
		return got > before+20, got
	})
	st := fleet.Stats()
	if st.WrongAnswers != 0 || st.Disconnects != 0 {
		t.Fatalf("other miners disturbed: %+v, want no wrong answers or disconnects", st)
	}
	if got := srv.Stats().ProtocolErrors; got < uint64(len(bad)) {
		t.Fatalf("protocol errors counted %d, want >= %d", got, len(bad))
	}
}

// gate admits rigs whose name is in allowed.
type gate struct {
	mu      sync.Mutex
	allowed map[string]bool
	gone    []string
}

func (g *gate) Authorized(r proxy.Rig) proxy.Verdict {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.allowed[r.Name] {
		return proxy.Admit
	}
	return proxy.Hold
}

func (g *gate) Disconnected(r proxy.Rig) {
	g.mu.Lock()
	g.gone = append(g.gone, r.Name)
	g.mu.Unlock()
}

func TestAdmissionGate(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{})
	g := &gate{allowed: map[string]bool{}}
	cfg := quickConfig(t, pool)
	cfg.Gate = g
	cfg.ParkedKeepalive = 100 * time.Millisecond
	srv := startProxy(t, cfg)
	m := dialRaw(t, srv)
	m.call("1", "mining.subscribe", `[]`)
	m.call("2", "mining.authorize", `["acct.waiting","x"]`)
	// Waiting without work: no job, but a harmless message now and then
	// so the firmware does not give up on its pool.
	keepalives := 0
	for keepalives < 3 {
		msg := m.next()
		if msg.Method != stratum.MethodSetDifficulty {
			t.Fatalf("a rig the gate held got %q (params %s), want only %s keepalives", msg.Method, msg.Params, stratum.MethodSetDifficulty)
		}
		keepalives++
	}
	srv.SetAdmission("acct.waiting", true)
	if n := m.waitNotify(); !n.Clean {
		t.Fatalf("admitted rig's first job %s has clean_jobs false, want true", n.JobID)
	}
	// Parking closes the connection, which aborts the work it holds.
	srv.SetAdmission("acct.waiting", false)
	if closed, got := m.closedWithin(3 * time.Second); !closed {
		t.Fatalf("parked rig still connected: %s; want it closed", got)
	}
	sim.WaitFor(t, 2*time.Second, "the gate told of the disconnect (gone == [acct.waiting])", func() (bool, any) {
		g.mu.Lock()
		defer g.mu.Unlock()
		return len(g.gone) == 1 && g.gone[0] == "acct.waiting", append([]string(nil), g.gone...)
	})
}

// A miner that does not read is cut as a slow consumer; the others keep
// getting jobs.
func TestSlowConsumerIsCut(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{BranchCount: 12})
	cfg := quickConfig(t, pool)
	cfg.OutboundQueue = 8
	cfg.WriteTimeout = 300 * time.Millisecond
	srv := startProxy(t, cfg)
	slow := dialRaw(t, srv)
	slow.call("1", "mining.subscribe", `[]`)
	slow.call("2", "mining.authorize", `["acct.slow","x"]`)
	fast := dialRaw(t, srv)
	fast.call("1", "mining.subscribe", `[]`)
	fast.call("2", "mining.authorize", `["acct.fast","x"]`)
	fast.waitNotify()

	// The fast miner reads as fast as it can while the pool floods jobs.
	var got atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			_ = fast.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			n, err := fast.r.Read(buf)
			got.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()
	for i := 0; i < 20000 && srv.Stats().SlowConsumers == 0; i++ {
		pool.NewJob(false)
	}
	sim.WaitFor(t, 5*time.Second, "slow consumer cut (srv.Stats().SlowConsumers >= 1)", func() (bool, any) {
		got := srv.Stats().SlowConsumers
		return got >= 1, got
	})
	if closed, got := slow.closedWithin(3 * time.Second); !closed {
		t.Fatalf("slow miner still connected: %s; want it closed", got)
	}
	fast.conn.Close()
	<-done
	if got.Load() < 1<<20 {
		t.Fatalf("fast miner got only %d bytes of jobs, want at least 1 MiB", got.Load())
	}
	if srv.Stats().SlowConsumers != 1 {
		t.Fatalf("slow consumers %d, want only the slow one", srv.Stats().SlowConsumers)
	}
}

// A job is written straight to an idle miner's socket even after the write
// deadline its handshake answers armed has passed: a stale deadline must
// not push every later job to a flusher goroutine (which made the slowest
// miners of a big fan-out the ones that had connected first).
func TestDirectWriteAfterWriteTimeout(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{})
	cfg := quickConfig(t, pool)
	cfg.WriteTimeout = 150 * time.Millisecond
	srv := startProxy(t, cfg)
	m := dialRaw(t, srv)
	m.call("1", "mining.subscribe", `[]`)
	m.call("2", "mining.authorize", `["acct.direct","x"]`)
	m.waitNotify()
	// Let the deadline armed by the handshake's answers pass: this waits
	// for time itself, not for a condition.
	<-time.After(3 * cfg.WriteTimeout)
	before := srv.Stats().JobsDirect
	pool.NewJob(false)
	n := m.waitNotify()
	if n == nil {
		t.Fatalf("waitNotify() = %v after the write deadline passed, want a job", n)
	}
	if got := srv.Stats().JobsDirect - before; got != 1 {
		t.Fatalf("jobs written directly after the deadline passed: %d, want 1", got)
	}
	// And the miner is still served: a second job arrives too.
	pool.NewJob(false)
	if n := m.waitNotify(); n == nil {
		t.Fatalf("second waitNotify() = %v, want a job", n)
	}
}
