package sim

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/hashgate/hashgate/stratum"
	"github.com/hashgate/hashgate/stratum/sharehash"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const waitLong = 20 * time.Second

func startPool(t *testing.T, cfg PoolConfig) *Pool {
	t.Helper()
	p, err := StartPool(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// waitFleet waits for cond on the fleet's stats, failing with the last
// stats seen.
func waitFleet(t *testing.T, f *Fleet, timeout time.Duration, what string, cond func(FleetStats) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := f.WaitFor(ctx, cond); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func startFleet(t *testing.T, cfg FleetConfig) *Fleet {
	t.Helper()
	f, err := StartFleet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

// TestFleetDirect runs both miner styles straight against the pool and
// stirs the work (clean jobs, difficulty, extranonce and version-mask
// changes) while they submit: every share is accepted or stale, none is
// wrongly rejected.
func TestFleetDirect(t *testing.T) {
	var mu sync.Mutex
	var shares []Share
	pool := startPool(t, PoolConfig{Name: "direct", OnShare: func(s Share) {
		mu.Lock()
		shares = append(shares, s)
		mu.Unlock()
	}})
	const n = 50
	fleet := startFleet(t, FleetConfig{Addr: pool.Addr(), Miners: n, ShareInterval: 10 * time.Millisecond,
		Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)})

	waitFleet(t, fleet, waitLong, "fleet working", func(st FleetStats) bool {
		return st.Authorized == n && st.Working == n && st.Accepted >= 3*n
	})
	if ps := pool.Stats(); ps.Authorized != n || ps.Subscribed != n || ps.Connections != n {
		t.Fatalf("pool sees %+v, want %d authorized, subscribed and connected", ps, n)
	}

	// Stir the work while shares flow.
	base := fleet.Stats()
	pool.NewJob(false)
	pool.NewJob(true)
	pool.SetDifficulty(2e-9)
	if got := pool.SendSetExtranonce(); got != n/2 {
		t.Errorf("set_extranonce sent to %d connections, want the %d ASIC-style ones", got, n/2)
	}
	if got := pool.SetVersionMask(0x0fffe000); got != n/2 {
		t.Errorf("set_version_mask sent to %d connections, want %d", got, n/2)
	}
	pool.NewJob(true)
	waitFleet(t, fleet, waitLong, "fleet after changes", func(st FleetStats) bool {
		return st.JobsReceived >= base.JobsReceived+3*n && st.SetExtranonceReceived == n/2 &&
			st.SetVersionMaskReceived == n/2 && st.Accepted >= base.Accepted+3*n
	})

	for _, m := range fleet.Miners() {
		if m.ASIC && m.VersionMask != 0x0fffe000 {
			t.Errorf("%s: version mask %08x after set_version_mask, want 0fffe000", m.Name, m.VersionMask)
		}
		if m.Difficulty != 2e-9 {
			t.Errorf("%s: difficulty %v, want 2e-9", m.Name, m.Difficulty)
		}
	}

	fleet.Close()
	pool.Close() // the pool may still be reading submits the fleet sent
	fs, ps := fleet.Stats(), pool.Stats()
	if fs.WrongAnswers != 0 || fs.UnknownAnswers != 0 || fs.ProtocolErrors != 0 {
		t.Fatalf("fleet: %+v, want no wrong or unknown answers and no protocol errors", fs)
	}
	// Everything the fleet saw accepted the pool counted; the pool may
	// have accepted a few more whose answers were in flight at Close.
	if ps.Accepted < fs.Accepted || ps.Accepted > fs.Accepted+fs.Unanswered {
		t.Fatalf("pool accepted %d, fleet saw %d accepted (+%d unanswered): want the pool's count in between", ps.Accepted, fs.Accepted, fs.Unanswered)
	}
	// Rejections only from the changes in flight, all counted stale by
	// the fleet.
	if fs.Rejected != fs.Stale {
		t.Fatalf("rejected %d, stale %d: want every rejection stale", fs.Rejected, fs.Stale)
	}
	for reason, k := range ps.Rejected {
		if reason != RejectStale && reason != RejectLowDifficulty && reason != RejectBadVersion && k > 0 {
			t.Errorf("pool rejected %d shares as %s, want 0 (only stale, low difficulty or bad version)", k, reason)
		}
	}

	mu.Lock()
	defer mu.Unlock()
	if len(shares) != ps.Accepted {
		t.Fatalf("OnShare saw %d shares, want the %d the pool accepted", len(shares), ps.Accepted)
	}
	workers := map[string]bool{}
	rolled, plain := 0, 0
	for _, s := range shares {
		workers[s.Worker] = true
		if s.Version != "" {
			rolled++
		} else {
			plain++
		}
		if len(s.Extranonce2) != 2*DefaultExtranonce2Size {
			t.Fatalf("share with extranonce2 %q, want %d hex digits", s.Extranonce2, 2*DefaultExtranonce2Size)
		}
	}
	if len(workers) != n || rolled == 0 || plain == 0 {
		t.Fatalf("%d workers, %d rolled, %d plain shares: want %d workers and some of each", len(workers), rolled, plain, n)
	}
	if !workers[fmt.Sprintf(DefaultNameFormat, 0)] || !workers[fmt.Sprintf(DefaultNameFormat, n-1)] {
		t.Fatalf("worker names: %v, want %q and %q among them", workers, fmt.Sprintf(DefaultNameFormat, 0), fmt.Sprintf(DefaultNameFormat, n-1))
	}
}

// rawClient is a bare Stratum client for driving the pool by hand.
type rawClient struct {
	t      *testing.T
	conn   net.Conn
	lr     *stratum.LineReader
	nextID int
	notes  []*stratum.Message // notifications received, in order
}

func dialRaw(t *testing.T, addr string) *rawClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawClient{t: t, conn: conn, lr: stratum.NewLineReader(conn, maxLine)}
}

func (c *rawClient) sendRaw(line string) {
	c.t.Helper()
	_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.conn.Write([]byte(line + "\n")); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawClient) read() *stratum.Message {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := c.lr.ReadLine()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	m, err := stratum.Decode(line)
	if err != nil {
		c.t.Fatalf("decode %q: %v", line, err)
	}
	return m
}

// callID sends a request with the given raw id and returns its answer,
// keeping the notifications that come first.
func (c *rawClient) callID(id, method string, params any) *stratum.Message {
	c.t.Helper()
	b, err := stratum.AppendRequest(nil, json.RawMessage(id), method, params)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(strings.TrimSuffix(string(b), "\n"))
	for {
		m := c.read()
		if m.IsRequest() {
			c.notes = append(c.notes, m)
			continue
		}
		if string(m.ID) != id {
			c.t.Fatalf("answer id %s, want %s", m.ID, id)
		}
		return m
	}
}

func (c *rawClient) call(method string, params any) *stratum.Message {
	c.t.Helper()
	c.nextID++
	return c.callID(fmt.Sprint(c.nextID), method, params)
}

// waitNote reads until a notification with the method arrives (or takes
// the first one already received).
func (c *rawClient) waitNote(method string) *stratum.Message {
	c.t.Helper()
	for i, m := range c.notes {
		if m.Method == method {
			c.notes = append(c.notes[:i], c.notes[i+1:]...)
			return m
		}
	}
	for {
		m := c.read()
		if m.Method == method {
			return m
		}
		if m.IsRequest() {
			c.notes = append(c.notes, m)
		}
	}
}

func wantOK(t *testing.T, what string, m *stratum.Message) {
	t.Helper()
	if e := stratum.ParseError(m.Error); e != nil || string(m.Result) != "true" {
		t.Fatalf("%s: got result %s error %s, want result true and no error", what, m.Result, m.Error)
	}
}

func wantCode(t *testing.T, what string, m *stratum.Message, code stratum.ErrorCode) {
	t.Helper()
	e := stratum.ParseError(m.Error)
	if e == nil || e.Code != code {
		t.Fatalf("%s: got result %s error %s, want code %d", what, m.Result, m.Error, code)
	}
}

// work is a job as the raw client holds it.
type work struct {
	id  string
	job *sharehash.Job
}

func parseWork(t *testing.T, m *stratum.Message) work {
	t.Helper()
	n, err := stratum.ParseNotify(m.Params)
	if err != nil {
		t.Fatal(err)
	}
	j, err := sharehash.JobFromHex(n.PrevHash, n.Coinb1, n.Coinb2, n.Branches, n.Version, n.NBits, n.NTime)
	if err != nil {
		t.Fatal(err)
	}
	return work{id: n.JobID, job: j}
}

// findShare returns submit params of a valid share at diff.
func findShare(t *testing.T, worker string, w work, en1 []byte, en2 uint64, diff float64, mask, bits uint32) []any {
	t.Helper()
	var e2 [8]byte
	binary.BigEndian.PutUint64(e2[:], en2)
	var h sharehash.Hasher
	version := sharehash.RollVersion(w.job.Version, mask, bits)
	nonce, ok := h.Search(w.job, en1, e2[:], w.job.NTime, version, 0, 1<<16, sharehash.NewTarget(diff))
	if !ok {
		t.Fatalf("no share at difficulty %v in nonces 0..65535 (extranonce2 %x), want one", diff, e2)
	}
	p := []any{worker, w.id, hex.EncodeToString(e2[:]), stratum.FormatUint32(w.job.NTime), stratum.FormatUint32(nonce)}
	if mask != 0 {
		p = append(p, stratum.FormatUint32(bits))
	}
	return p
}

func TestPoolValidation(t *testing.T) {
	pool := startPool(t, PoolConfig{Name: "strict"})
	c := dialRaw(t, pool.Addr())

	// Submitting before subscribing.
	wantCode(t, "submit before subscribe", c.call(stratum.MethodSubmit, []any{"w", "1", "00", "00000000", "00000000"}), stratum.ErrNotSubscribed)
	// Unknown method.
	wantCode(t, "unknown method", c.call("mining.frobnicate", []any{}), stratum.ErrOther)

	// configure: request ∩ pool mask.
	m := c.call(stratum.MethodConfigure, []any{
		[]string{"version-rolling", "minimum-difficulty", "foo"},
		map[string]any{"version-rolling.mask": "ffffffff", "version-rolling.min-bit-count": 2},
	})
	var cfgRes map[string]any
	if err := json.Unmarshal(m.Result, &cfgRes); err != nil {
		t.Fatal(err)
	}
	if cfgRes["version-rolling"] != true || cfgRes["version-rolling.mask"] != "1fffe000" || cfgRes["foo"] != false {
		t.Fatalf("configure answer %s, want version-rolling true, mask 1fffe000, foo false", m.Result)
	}
	const mask = 0x1fffe000

	m = c.call(stratum.MethodSubscribe, []any{"test/1.0"})
	sub, err := stratum.ParseSubscribeResult(m.Result)
	if err != nil {
		t.Fatal(err)
	}
	if len(sub.Extranonce1) != 4 || sub.Extranonce2Size != DefaultExtranonce2Size {
		t.Fatalf("subscribe answer %s, want a 4-byte extranonce1 and extranonce2 size %d", m.Result, DefaultExtranonce2Size)
	}
	// Difficulty and a clean job follow the subscribe answer at once.
	d := c.waitNote(stratum.MethodSetDifficulty)
	if string(d.Params) != "[1e-9]" {
		t.Fatalf("set_difficulty params %s, want [1e-9]", d.Params)
	}
	n := c.waitNote(stratum.MethodNotify)
	if nn, _ := stratum.ParseNotify(n.Params); !nn.Clean || len(nn.Branches) != DefaultBranchCount {
		t.Fatalf("first notify %s, want clean with %d branches", n.Params, DefaultBranchCount)
	}
	w1 := parseWork(t, n)

	// The id is echoed whatever its type.
	m = c.callID(`"auth"`, stratum.MethodAuthorize, []any{"acct.w1", "x"})
	wantOK(t, "authorize", m)

	share := findShare(t, "acct.w1", w1, sub.Extranonce1, 1, 1e-9, mask, 0x00a04000)
	wantOK(t, "valid share", c.call(stratum.MethodSubmit, share))
	wantCode(t, "duplicate", c.call(stratum.MethodSubmit, share), stratum.ErrDuplicate)
	// The same nonce with another extranonce2 is another share (a miss
	// at 1e-9 would be a 1-in-4 chance, so find a fresh one).
	wantOK(t, "other share", c.call(stratum.MethodSubmit, findShare(t, "acct.w1", w1, sub.Extranonce1, 2, 1e-9, mask, 0)))

	// Without the 6th param: the job's version.
	wantOK(t, "plain share", c.call(stratum.MethodSubmit, findShare(t, "acct.w1", w1, sub.Extranonce1, 3, 1e-9, 0, 0)))

	// Worker not authorized on this connection.
	bad := findShare(t, "acct.other", w1, sub.Extranonce1, 4, 1e-9, 0, 0)
	wantCode(t, "unauthorized worker", c.call(stratum.MethodSubmit, bad), stratum.ErrUnauthorized)

	// Extranonce2 of the wrong size.
	bad = findShare(t, "acct.w1", w1, sub.Extranonce1, 5, 1e-9, 0, 0)
	bad[2] = "000000000005"
	wantCode(t, "short extranonce2", c.call(stratum.MethodSubmit, bad), stratum.ErrOther)

	// Version bits outside the mask.
	bad = findShare(t, "acct.w1", w1, sub.Extranonce1, 6, 1e-9, 0, 0)
	bad = append(bad, "20000000")
	wantCode(t, "version outside mask", c.call(stratum.MethodSubmit, bad), stratum.ErrOther)

	// Malformed params.
	wantCode(t, "bad nonce", c.call(stratum.MethodSubmit, []any{"acct.w1", w1.id, "0000000000000007", "00000000", "xyz"}), stratum.ErrOther)
	// A nonce without its leading zeros: this pool, like some real ones,
	// wants all 8 digits (a proxy must pad it).
	bad = findShare(t, "acct.w1", w1, sub.Extranonce1, 15, 1e-9, 0, 0)
	bad[4] = "1234567"
	wantCode(t, "7-digit nonce", c.call(stratum.MethodSubmit, bad), stratum.ErrOther)

	// Unknown job.
	bad = findShare(t, "acct.w1", w1, sub.Extranonce1, 7, 1e-9, 0, 0)
	bad[1] = "nosuchjob"
	wantCode(t, "unknown job", c.call(stratum.MethodSubmit, bad), stratum.ErrJobNotFound)

	// A non-clean job keeps the old one valid; a clean one makes it stale.
	pool.NewJob(false)
	w2 := parseWork(t, c.waitNote(stratum.MethodNotify))
	wantOK(t, "share on previous job", c.call(stratum.MethodSubmit, findShare(t, "acct.w1", w1, sub.Extranonce1, 8, 1e-9, 0, 0)))
	pool.NewJob(true)
	w3 := parseWork(t, c.waitNote(stratum.MethodNotify))
	wantCode(t, "stale w1", c.call(stratum.MethodSubmit, findShare(t, "acct.w1", w1, sub.Extranonce1, 9, 1e-9, 0, 0)), stratum.ErrJobNotFound)
	wantCode(t, "stale w2", c.call(stratum.MethodSubmit, findShare(t, "acct.w1", w2, sub.Extranonce1, 10, 1e-9, 0, 0)), stratum.ErrJobNotFound)
	wantOK(t, "share on clean job", c.call(stratum.MethodSubmit, findShare(t, "acct.w1", w3, sub.Extranonce1, 11, 1e-9, 0, 0)))

	// High difficulty: a job made after it demands it.
	pool.SetDifficulty(1e6)
	if d := c.waitNote(stratum.MethodSetDifficulty); string(d.Params) != "[1000000]" {
		t.Fatalf("set_difficulty params %s, want [1000000]", d.Params)
	}
	// The current job was sent at 1e-9 and still takes such shares.
	wantOK(t, "old job's difficulty", c.call(stratum.MethodSubmit, findShare(t, "acct.w1", w3, sub.Extranonce1, 12, 1e-9, 0, 0)))
	pool.NewJob(true)
	w4 := parseWork(t, c.waitNote(stratum.MethodNotify))
	low := []any{"acct.w1", w4.id, "000000000000000d", stratum.FormatUint32(w4.job.NTime), "12345678"}
	wantCode(t, "low difficulty", c.call(stratum.MethodSubmit, low), stratum.ErrLowDifficulty)

	// ntime before the job's.
	pool.SetDifficulty(1e-9)
	c.waitNote(stratum.MethodSetDifficulty)
	early := findShare(t, "acct.w1", w4, sub.Extranonce1, 14, 1e-9, 0, 0)
	early[3] = stratum.FormatUint32(w4.job.NTime - 1)
	wantCode(t, "early ntime", c.call(stratum.MethodSubmit, early), stratum.ErrOther)

	st := pool.Stats()
	want := map[string]int{
		RejectNotSubscribed: 1, RejectDuplicate: 1, RejectUnauthorized: 1, RejectBadExtranonce2: 1,
		RejectBadVersion: 1, RejectOther: 3, RejectStale: 3, RejectLowDifficulty: 1,
	}
	for k, v := range want {
		if st.Rejected[k] != v {
			t.Errorf("rejected[%s] = %d, want %d (all: %v)", k, st.Rejected[k], v, st.Rejected)
		}
	}
	if st.Accepted != 6 || st.AcceptedByWorker["acct.w1"] != 6 {
		t.Errorf("accepted %d, by worker %v; want 6, all by acct.w1", st.Accepted, st.AcceptedByWorker)
	}
	conns := pool.Conns()
	if len(conns) != 1 || conns[0].Extranonce1 != hex.EncodeToString(sub.Extranonce1) ||
		conns[0].VersionMask != mask || conns[0].Accepted != 6 || len(conns[0].Workers) != 1 {
		t.Errorf("conns %+v, want one with extranonce1 %x, mask %08x, 6 accepted, 1 worker", conns, sub.Extranonce1, mask)
	}

	// A second connection gets another extranonce1; refused authorize.
	c2 := dialRaw(t, pool.Addr())
	sub2, err := stratum.ParseSubscribeResult(c2.call(stratum.MethodSubscribe, []any{}).Result)
	if err != nil {
		t.Fatal(err)
	}
	if string(sub2.Extranonce1) == string(sub.Extranonce1) {
		t.Fatalf("second connection's extranonce1 %x, want other than the first's %x", sub2.Extranonce1, sub.Extranonce1)
	}
	pool.SetRefuseAuthorize(true)
	wantCode(t, "refused authorize", c2.call(stratum.MethodAuthorize, []any{"acct.w2", "x"}), stratum.ErrUnauthorized)
	pool.SetRefuseAuthorize(false)
	wantOK(t, "authorize", c2.call(stratum.MethodAuthorize, []any{"acct.w2", "x"}))

	// Garbage from a client closes its connection.
	c2.sendRaw("this is not json")
	WaitFor(t, waitLong, "the garbage connection dropped (pool connections == 1)", func() (bool, any) {
		n := pool.Stats().Connections
		return n == 1, n
	})
	if n := pool.Stats().ProtocolErrors; n != 1 {
		t.Errorf("protocol errors %d, want 1", n)
	}
}

// TestPoolSilentAndRaw: a silent pool answers nothing; SendRaw reaches
// clients anyway.
func TestPoolSilentAndRaw(t *testing.T) {
	pool := startPool(t, PoolConfig{})
	c := dialRaw(t, pool.Addr())
	c.call(stratum.MethodSubscribe, []any{})
	pool.SetSilent(true)
	b, _ := stratum.AppendRequest(nil, json.RawMessage("7"), stratum.MethodAuthorize, []any{"w", "x"})
	c.sendRaw(strings.TrimSpace(string(b)))
	pool.NewJob(true)
	pool.SendRaw([]byte("{\"id\":null,\"method\":\"client.show_message\",\"params\":[\"hello\"]}\n"))
	// The first thing after the difficulty and job of the subscribe is
	// the raw line: neither the authorize answer nor the new job came.
	c.waitNote(stratum.MethodNotify)
	if m := c.read(); m.Method != stratum.MethodShowMessage {
		t.Fatalf("got %+v while silent, want the raw %s line", m, stratum.MethodShowMessage)
	}
	WaitFor(t, waitLong, "the request ignored (IgnoredSilent == 1)", func() (bool, any) {
		n := pool.Stats().IgnoredSilent
		return n == 1, n
	})
	pool.SetSilent(false)
	wantOK(t, "authorize after silence", c.call(stratum.MethodAuthorize, []any{"w", "x"}))
}

// TestFleetFaults: a dropped, reconnect-requested, garbage-fed and finally
// killed pool, seen from the fleet.
func TestFleetFaults(t *testing.T) {
	pool := startPool(t, PoolConfig{})
	const n = 10
	fleet := startFleet(t, FleetConfig{
		Addr: pool.Addr(), Miners: n, ShareInterval: 20 * time.Millisecond,
		ReconnectDelay: 10 * time.Millisecond,
	})
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	wait := func(what string, cond func(FleetStats) bool) {
		t.Helper()
		if err := fleet.WaitFor(ctx, cond); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	wait("all working", func(s FleetStats) bool { return s.Working == n && s.Accepted >= n })

	// Dropped connections come back.
	pool.DropAll()
	wait("back after DropAll", func(s FleetStats) bool {
		return s.Disconnects == n && s.Reconnects >= n && s.Working == n
	})
	if ps := pool.Stats(); ps.TotalConnections != 2*n || ps.Authorized != n {
		t.Fatalf("pool after DropAll: %+v, want %d connections in all and %d authorized", ps, 2*n, n)
	}
	// ASIC-style miners resume their session id on reconnect; the pool
	// gives a new extranonce1 anyway, and they mine with it.

	// client.reconnect: every miner leaves and comes back.
	if got := pool.SendReconnect(); got != n {
		t.Fatalf("client.reconnect sent to %d connections, want %d", got, n)
	}
	wait("back after client.reconnect", func(s FleetStats) bool {
		return s.ReconnectRequests == n && s.Disconnects == 2*n && s.Working == n
	})

	// Garbage is skipped; half a line and a close is a disconnect.
	acc := fleet.Stats().Accepted
	pool.SendRaw([]byte("garbage\n"))
	wait("garbage counted", func(s FleetStats) bool { return s.ProtocolErrors == n && s.Accepted >= acc+n })
	if s := fleet.Stats(); s.Disconnects != 2*n {
		t.Fatalf("garbage disconnected miners: %+v, want disconnects still %d", s, 2*n)
	}
	pool.SendRaw([]byte(`{"id":null,"method":"mining.noti`))
	pool.DropAll()
	wait("back after a torn line", func(s FleetStats) bool { return s.Disconnects == 3*n && s.Working == n })

	// Kill the pool: every miner disconnects and keeps trying.
	before := fleet.Stats()
	pool.Close()
	wait("miners retrying a dead pool", func(s FleetStats) bool {
		return s.Connected == 0 && s.Disconnects == before.Disconnects+n &&
			s.Reconnects >= before.Reconnects+2*n && s.DialFailures >= n
	})
	fleet.Close()
	if s := fleet.Stats(); s.WrongAnswers != 0 || s.Connected != 0 || s.Working != 0 {
		t.Fatalf("after close: %+v, want no wrong answers, none connected or working", s)
	}
}

// TestFleetSilenceTimeout: miners drop a pool that says nothing and come
// back once it talks again.
func TestFleetSilenceTimeout(t *testing.T) {
	pool := startPool(t, PoolConfig{})
	const n = 4
	fleet := startFleet(t, FleetConfig{
		Addr: pool.Addr(), Miners: n, ReconnectDelay: 10 * time.Millisecond,
		SilenceTimeout: 150 * time.Millisecond, HandshakeTimeout: 150 * time.Millisecond,
	})
	waitFleet(t, fleet, waitLong, "authorized", func(s FleetStats) bool { return s.Authorized == n })
	pool.SetSilent(true)
	waitFleet(t, fleet, waitLong, "silent pool dropped", func(s FleetStats) bool { return s.Disconnects >= 2*n })
	pool.SetSilent(false)
	// With no job traffic a miner still times out after 150ms; the pool
	// keeps it busy with jobs.
	waitFleet(t, fleet, waitLong, "working again", func(s FleetStats) bool {
		pool.NewJob(false)
		return s.Working == n
	})
}

// TestFleetIgnoreReconnect: firmware that ignores client.reconnect stays.
func TestFleetIgnoreReconnect(t *testing.T) {
	pool := startPool(t, PoolConfig{})
	fleet := startFleet(t, FleetConfig{Addr: pool.Addr(), Miners: 3, IgnoreReconnect: true})
	waitFleet(t, fleet, waitLong, "working", func(s FleetStats) bool { return s.Working == 3 })
	pool.SendReconnect()
	waitFleet(t, fleet, waitLong, "requests", func(s FleetStats) bool { return s.ReconnectRequests == 3 })
	pool.NewJob(true) // a message after the reconnect, so it surely was processed
	waitFleet(t, fleet, waitLong, "jobs", func(s FleetStats) bool { return s.CleanJobsReceived >= 6 })
	if s := fleet.Stats(); s.Disconnects != 0 || s.Connected != 3 {
		t.Fatalf("fleet %+v, want no disconnects and 3 connected", s)
	}
}

// TestFleetPipe drives the pool through in-memory connections, the way the
// load harness uses FleetConfig.Dial.
func TestFleetPipe(t *testing.T) {
	pool := startPool(t, PoolConfig{})
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	dial := func(ctx context.Context) (net.Conn, error) {
		a, b := net.Pipe()
		up, err := (&net.Dialer{}).DialContext(ctx, "tcp", pool.Addr())
		if err != nil {
			return nil, err
		}
		// Splice the pipe to a real pool connection.
		wg.Add(2)
		go func() { defer wg.Done(); defer up.Close(); defer b.Close(); copyConn(up, b) }()
		go func() { defer wg.Done(); defer up.Close(); defer b.Close(); copyConn(b, up) }()
		return a, nil
	}
	fleet := startFleet(t, FleetConfig{Dial: dial, Miners: 6, ShareInterval: 10 * time.Millisecond})
	waitFleet(t, fleet, waitLong, "shares over pipes", func(s FleetStats) bool { return s.Accepted >= 12 })
	fleet.Close()
	if s := fleet.Stats(); s.WrongAnswers != 0 {
		t.Fatalf("fleet %+v, want no wrong answers", s)
	}
}

func copyConn(dst, src net.Conn) {
	buf := make([]byte, 4096)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func TestFleetRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"10.0.0.1:3333", "example.com:3333", "0.0.0.0:3333", "nohost"} {
		t.Run(addr, func(t *testing.T) {
			f, err := StartFleet(FleetConfig{Addr: addr, Miners: 1})
			if err == nil {
				f.Close()
				t.Errorf("StartFleet(%s) started a fleet, want an error (not loopback)", addr)
			}
		})
	}
}

func TestFleetStyles(t *testing.T) {
	f, err := StartFleet(FleetConfig{Addr: "127.0.0.1:1", Miners: 10, ASICFraction: 0.3, NoReconnect: true})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	asic := 0
	for _, m := range f.Miners() {
		if m.ASIC {
			asic++
		}
	}
	if asic != 3 {
		t.Fatalf("%d ASIC-style miners of 10 at 0.3, want 3", asic)
	}
}

// sniffConn counts the miner's writes (one request line each) that name
// the made-up job "deadbeef".
type sniffConn struct {
	net.Conn
	deadbeef *atomic.Int64
}

func (c sniffConn) Write(b []byte) (int, error) {
	if bytes.Contains(b, []byte(`"deadbeef"`)) {
		c.deadbeef.Add(1)
	}
	return c.Conn.Write(b)
}

// TestFleetBadSubmits runs misbehaving miners straight against the pool,
// with clean jobs coming now and then: every bad submit gets the answer
// its kind expects, and the pool's reject reasons agree with the kinds.
func TestFleetBadSubmits(t *testing.T) {
	pool := startPool(t, PoolConfig{Name: "bad", Difficulty: 1e-9})
	var deadbeef atomic.Int64
	dial := func(ctx context.Context) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", pool.Addr())
		if err != nil {
			return nil, err
		}
		return sniffConn{Conn: c, deadbeef: &deadbeef}, nil
	}
	const n = 20
	fleet := startFleet(t, FleetConfig{Dial: dial, Miners: n, ShareInterval: 5 * time.Millisecond, BadFraction: 0.5,
		Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)})

	bad, badASIC, badCPU := 0, 0, 0
	for _, m := range fleet.Miners() {
		if m.Bad {
			bad++
			if m.ASIC {
				badASIC++
			} else {
				badCPU++
			}
		}
	}
	if bad != n/2 || badASIC == 0 || badCPU == 0 {
		t.Fatalf("%d bad miners (%d ASIC-style, %d cpuminer-style) of %d at 0.5, want %d with both styles", bad, badASIC, badCPU, n, n/2)
	}

	// Before any clean job after subscribing, a stale submit can only use
	// the made-up job id.
	waitFleet(t, fleet, waitLong, "stale submits on a made-up job", func(st FleetStats) bool {
		return st.BadByKind[BadStale] >= 3 && deadbeef.Load() >= 3
	})
	if got, fs := deadbeef.Load(), fleet.Stats(); int(got) < fs.BadByKind[BadStale] {
		t.Fatalf("%d stale submits answered before a clean job, only %d on job deadbeef: want all of them on it", fs.BadByKind[BadStale], got)
	}

	// Now with clean jobs every 50ms or so, and once new extranonce1s and
	// a narrower version mask: stale submits use real old jobs, and some
	// duplicates replay shares whose job went stale.
	polls := 0
	waitFleet(t, fleet, waitLong, "every kind of bad submit", func(st FleetStats) bool {
		if polls++; polls%10 == 0 {
			pool.NewJob(true)
		}
		if polls == 25 {
			pool.SendSetExtranonce()
			pool.SetVersionMask(0x0fffe000)
		}
		for _, k := range BadKinds {
			if st.BadByKind[k] < 10 {
				return false
			}
		}
		return st.BadByKind[BadStale] >= int(deadbeef.Load())+10 && st.Accepted >= 10*n
	})

	fleet.Close()
	pool.Close()
	fs, ps := fleet.Stats(), pool.Stats()
	t.Logf("fleet: %+v", fs)
	t.Logf("pool: %+v", ps)
	if fs.WrongAnswers != 0 || fs.BadWrongAnswers != 0 || fs.UnknownAnswers != 0 || fs.ProtocolErrors != 0 {
		t.Fatalf("fleet %+v, want no wrong, bad-wrong or unknown answers and no protocol errors", fs)
	}
	if len(fs.BadByKind) != len(BadKinds) {
		t.Fatalf("kinds answered as expected: %v, want all %d of %v", fs.BadByKind, len(BadKinds), BadKinds)
	}
	// Every submit is accounted for once, good and bad apart.
	if fs.Submitted != fs.Accepted+fs.Rejected+fs.Unanswered {
		t.Fatalf("valid shares: %d submitted, %d accepted, %d rejected, %d unanswered: want submitted = the sum", fs.Submitted, fs.Accepted, fs.Rejected, fs.Unanswered)
	}
	if fs.Rejected != fs.Stale {
		t.Fatalf("valid shares rejected %d, stale %d: want every rejection stale", fs.Rejected, fs.Stale)
	}
	if fs.BadSubmitted != fs.BadRejectedAsExpected+fs.BadStale+fs.BadWrongAnswers+fs.BadUnanswered {
		t.Fatalf("fleet %+v: want BadSubmitted = BadRejectedAsExpected+BadStale+BadWrongAnswers+BadUnanswered", fs)
	}
	sum := 0
	for _, v := range fs.BadByKind {
		sum += v
	}
	if sum != fs.BadRejectedAsExpected {
		t.Fatalf("BadByKind %v sums to %d, want BadRejectedAsExpected %d", fs.BadByKind, sum, fs.BadRejectedAsExpected)
	}
	perMiner := 0
	for _, m := range fleet.Miners() {
		if !m.Bad && m.BadSubmitted != 0 {
			t.Errorf("%s is not bad and sent %d bad submits, want 0", m.Name, m.BadSubmitted)
		}
		if m.Bad && m.BadRejectedAsExpected == 0 {
			t.Errorf("%s: bad, with 0 bad submits answered as expected, want some", m.Name)
		}
		perMiner += m.BadRejectedAsExpected
	}
	if perMiner != fs.BadRejectedAsExpected {
		t.Errorf("miners' BadRejectedAsExpected sum to %d, want the fleet's %d", perMiner, fs.BadRejectedAsExpected)
	}

	// The pool's reasons agree with the kinds. A bad submit the pool
	// answered after its connection closed is unanswered for the fleet;
	// a duplicate gone stale is the pool's stale.
	answeredAll := fs.Accepted + fs.Rejected + fs.BadRejectedAsExpected + fs.BadStale
	if ps.Submitted < answeredAll || ps.Submitted > fs.Submitted+fs.BadSubmitted {
		t.Fatalf("pool saw %d submits; fleet sent %d+%d, %d answered: want the pool's count in between", ps.Submitted, fs.Submitted, fs.BadSubmitted, answeredAll)
	}
	for kind, reason := range map[string]string{
		BadDuplicate: RejectDuplicate, BadLowDifficulty: RejectLowDifficulty, BadNTime: RejectOther,
		BadUnauthorized: RejectUnauthorized, BadExtranonce2: RejectBadExtranonce2, BadVersion: RejectBadVersion,
	} {
		slack := fs.BadUnanswered
		if kind == BadVersion { // valid shares in flight when the mask narrowed
			slack += fs.Stale
		}
		if got, want := ps.Rejected[reason], fs.BadByKind[kind]; got < want || got > want+slack {
			t.Errorf("pool rejected %d as %s, fleet saw %d %s submits answered as expected: want the pool's count in [%[3]d, %[3]d+%[5]d]",
				got, reason, want, kind, slack)
		}
	}
	if fs.SetExtranonceReceived != n/2 || fs.SetVersionMaskReceived != n/2 {
		t.Errorf("set_extranonce %d, set_version_mask %d received, want %d each", fs.SetExtranonceReceived, fs.SetVersionMaskReceived, n/2)
	}
	if got, want := ps.Rejected[RejectStale], fs.BadByKind[BadStale]+fs.Stale; got < want {
		t.Errorf("pool rejected %d as stale, fleet saw %d stale submits and %d stale valid shares: want at least %d", got, fs.BadByKind[BadStale], fs.Stale, want)
	}
	if ps.Rejected[RejectNotSubscribed] != 0 {
		t.Errorf("pool rejected %v, want none as %s", ps.Rejected, RejectNotSubscribed)
	}
	if ps.Accepted < fs.Accepted || ps.Accepted > fs.Accepted+fs.Unanswered {
		t.Fatalf("pool accepted %d, fleet saw %d accepted (+%d unanswered): want the pool's count in between", ps.Accepted, fs.Accepted, fs.Unanswered)
	}
}

// TestBadKindCode: the expected answer of every kind.
func TestBadKindCode(t *testing.T) {
	want := map[string]int{BadDuplicate: 22, BadStale: 21, BadLowDifficulty: 23, BadNTime: 20, BadUnauthorized: 24,
		BadExtranonce2: 20, BadVersion: 20, "nonsense": 0}
	for k, code := range want {
		t.Run(k, func(t *testing.T) {
			if got := BadKindCode(k); got != code {
				t.Errorf("BadKindCode(%q) = %d, want %d", k, got, code)
			}
		})
	}
	if len(BadKinds) != badKindCount || len(badCodes) != badKindCount {
		t.Fatalf("%d kinds, %d codes, want badKindCount %d of each", len(BadKinds), len(badCodes), badKindCount)
	}
}

// TestFleetOnAcceptedRegtest: with regtest nbits every accepted share is
// a block candidate; OnAccepted sees each accepted share once, with a
// hash that meets the miner's difficulty.
func TestFleetOnAcceptedRegtest(t *testing.T) {
	pool := startPool(t, PoolConfig{Name: "regtest", NBits: RegtestNBits})

	// The job carries the nbits; a default pool's carries mainnet's.
	c := dialRaw(t, pool.Addr())
	c.call(stratum.MethodSubscribe, []any{})
	if nn, err := stratum.ParseNotify(c.waitNote(stratum.MethodNotify).Params); err != nil || nn.NBits != "207fffff" {
		t.Fatalf("regtest notify: nbits %q (err %v), want 207fffff", nn.NBits, err)
	}
	mainnet := startPool(t, PoolConfig{})
	c2 := dialRaw(t, mainnet.Addr())
	c2.call(stratum.MethodSubscribe, []any{})
	if nn, err := stratum.ParseNotify(c2.waitNote(stratum.MethodNotify).Params); err != nil || nn.NBits != "1705ae3a" {
		t.Fatalf("default notify: nbits %q (err %v), want 1705ae3a", nn.NBits, err)
	}

	type accepted struct {
		miner string
		hash  chainhash.Hash
		diff  float64
	}
	var mu sync.Mutex
	var got []accepted
	const n = 8
	fleet := startFleet(t, FleetConfig{Addr: pool.Addr(), Miners: n, ShareInterval: 5 * time.Millisecond, BadFraction: 0.5,
		OnAccepted: func(miner string, hash chainhash.Hash, diff float64) {
			mu.Lock()
			got = append(got, accepted{miner, hash, diff})
			mu.Unlock()
		}})
	waitFleet(t, fleet, waitLong, "shares", func(st FleetStats) bool {
		return st.Accepted >= 10*n && st.BadByKind[BadDuplicate] >= n
	})
	fleet.Close()
	fs := fleet.Stats()
	if fs.WrongAnswers != 0 {
		t.Fatalf("fleet %+v, want no wrong answers", fs)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(got) != fs.Accepted {
		t.Fatalf("OnAccepted called %d times, want once for each of the %d shares accepted", len(got), fs.Accepted)
	}
	network := sharehash.NetworkTarget(RegtestNBits)
	seen := map[chainhash.Hash]bool{}
	byMiner := map[string]int{}
	for _, a := range got {
		if a.diff != DefaultPoolDifficulty {
			t.Fatalf("%s: difficulty %v, want %v", a.miner, a.diff, DefaultPoolDifficulty)
		}
		if !sharehash.NewTarget(a.diff).Met(&a.hash) || sharehash.DifficultyOf(&a.hash) < a.diff {
			t.Fatalf("%s: hash %s of difficulty %v, want it to meet %v", a.miner, a.hash, sharehash.DifficultyOf(&a.hash), a.diff)
		}
		if !network.Met(&a.hash) {
			t.Fatalf("%s: hash %s above the regtest target %s, want it to meet it", a.miner, a.hash, network)
		}
		if seen[a.hash] {
			t.Fatalf("hash %s reported twice, want once", a.hash)
		}
		seen[a.hash] = true
		byMiner[a.miner]++
	}
	for _, m := range fleet.Miners() {
		if byMiner[m.Name] != m.Accepted {
			t.Errorf("%s: OnAccepted %d times, want its %d accepted", m.Name, byMiner[m.Name], m.Accepted)
		}
	}
}

// TestPoolNTimeRange: a share's ntime must lie in [job ntime, job ntime+7000].
func TestPoolNTimeRange(t *testing.T) {
	pool := startPool(t, PoolConfig{})
	c := dialRaw(t, pool.Addr())
	sub, err := stratum.ParseSubscribeResult(c.call(stratum.MethodSubscribe, []any{}).Result)
	if err != nil {
		t.Fatal(err)
	}
	w := parseWork(t, c.waitNote(stratum.MethodNotify))
	wantOK(t, "authorize", c.call(stratum.MethodAuthorize, []any{"w", "x"}))
	var h sharehash.Hasher
	submit := func(en2 uint64, ntime uint32) *stratum.Message {
		t.Helper()
		var e2 [8]byte
		binary.BigEndian.PutUint64(e2[:], en2)
		nonce, ok := h.Search(w.job, sub.Extranonce1, e2[:], ntime, w.job.Version, 0, 1<<16, sharehash.NewTarget(1e-9))
		if !ok {
			t.Fatalf("no share at difficulty 1e-9 in nonces 0..65535 (ntime %08x), want one", ntime)
		}
		return c.call(stratum.MethodSubmit, []any{"w", w.id, hex.EncodeToString(e2[:]), stratum.FormatUint32(ntime), stratum.FormatUint32(nonce)})
	}
	wantOK(t, "ntime = job's", submit(1, w.job.NTime))
	wantOK(t, "ntime = job's + 7000", submit(2, w.job.NTime+7000))
	wantCode(t, "ntime = job's + 7001", submit(3, w.job.NTime+7001), stratum.ErrOther)
	wantCode(t, "ntime = job's - 1", submit(4, w.job.NTime-1), stratum.ErrOther)
	if st := pool.Stats(); st.Rejected[RejectOther] != 2 || st.Accepted != 2 {
		t.Fatalf("pool %+v, want 2 accepted and 2 rejected as %s", st, RejectOther)
	}
}

// startYesPool serves a pool that accepts every submit, the way a proxy
// that did not validate shares would: misbehaving miners must notice.
func startYesPool(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	n := &stratum.Notify{JobID: "1", PrevHash: randHex(32), Coinb1: randHex(50), Coinb2: randHex(70),
		Branches: []string{randHex(32)}, Version: "20000000", NBits: "1705ae3a", NTime: "66000000", Clean: true}
	notify, _ := stratum.AppendRequest(nil, nil, stratum.MethodNotify, n.Params(n.JobID))
	diff, _ := stratum.AppendRequest(nil, nil, stratum.MethodSetDifficulty, []any{1e-9})
	serve := func(c net.Conn) {
		defer wg.Done()
		defer c.Close()
		lr := stratum.NewLineReader(c, maxLine)
		for {
			line, err := lr.ReadLine()
			if err != nil {
				return
			}
			m, err := stratum.Decode(line)
			if err != nil || !m.IsRequest() {
				continue
			}
			var b []byte
			switch m.Method {
			case stratum.MethodConfigure:
				b, _ = stratum.AppendResponse(nil, m.ID, map[string]any{"version-rolling": true, "version-rolling.mask": "1fffe000"})
			case stratum.MethodSubscribe:
				b, _ = stratum.AppendResponse(nil, m.ID, []any{[]any{}, "01020304", 8})
				b = append(append(b, diff...), notify...)
			default:
				b, _ = stratum.AppendResponse(nil, m.ID, true)
			}
			_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Write(b); err != nil {
				return
			}
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go serve(c)
		}
	}()
	return ln.Addr().String()
}

// TestFleetBadSubmitsAccepted: bad submits answered true are wrong
// answers, by kind, and leave the valid-share counters alone.
func TestFleetBadSubmitsAccepted(t *testing.T) {
	addr := startYesPool(t)
	var onAccepted atomic.Int64
	fleet := startFleet(t, FleetConfig{Addr: addr, Miners: 4, ShareInterval: 2 * time.Millisecond, BadFraction: 1, BadEvery: 1,
		OnAccepted: func(string, chainhash.Hash, float64) { onAccepted.Add(1) }})
	waitFleet(t, fleet, waitLong, "wrong answers of every kind but stale", func(st FleetStats) bool {
		for _, k := range BadKinds {
			if k != BadStale && st.BadWrongByKind[k] < 3 {
				return false
			}
		}
		return true
	})
	fleet.Close()
	fs := fleet.Stats()
	if fs.BadRejectedAsExpected != 0 || fs.BadStale != 0 || fs.BadWrongAnswers == 0 || len(fs.BadByKind) != 0 {
		t.Fatalf("fleet %+v, want every bad submit a wrong answer (none rejected as expected or stale)", fs)
	}
	// Nothing was ever stale here: stale submits used job deadbeef.
	if fs.BadWrongByKind[BadStale] == 0 {
		t.Errorf("wrong answers by kind %v, want some %s", fs.BadWrongByKind, BadStale)
	}
	if fs.WrongAnswers != fs.BadWrongAnswers || fs.WrongByCode[0] != fs.WrongAnswers {
		t.Fatalf("wrong answers %d, bad ones %d, by code %v: want all three equal (all code 0)", fs.WrongAnswers, fs.BadWrongAnswers, fs.WrongByCode)
	}
	if fs.BadSubmitted != fs.BadWrongAnswers+fs.BadUnanswered {
		t.Fatalf("fleet %+v, want BadSubmitted = BadWrongAnswers+BadUnanswered", fs)
	}
	if fs.Rejected != 0 || fs.Submitted != fs.Accepted+fs.Unanswered || int(onAccepted.Load()) != fs.Accepted {
		t.Fatalf("valid shares disturbed: %+v, OnAccepted %d; want none rejected, submitted = accepted+unanswered = OnAccepted calls", fs, onAccepted.Load())
	}
	for _, m := range fleet.Miners() {
		if !m.Bad || m.WrongAnswers == 0 || m.BadSubmitted == 0 {
			t.Errorf("miner %+v, want bad, with bad submits and wrong answers", m)
		}
	}
}
