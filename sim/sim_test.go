package sim

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

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
		t.Fatalf("pool sees %+v", ps)
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
			t.Errorf("%s: version mask %08x after set_version_mask", m.Name, m.VersionMask)
		}
		if m.Difficulty != 2e-9 {
			t.Errorf("%s: difficulty %v", m.Name, m.Difficulty)
		}
	}

	fleet.Close()
	pool.Close() // the pool may still be reading submits the fleet sent
	fs, ps := fleet.Stats(), pool.Stats()
	if fs.WrongAnswers != 0 || fs.UnknownAnswers != 0 || fs.ProtocolErrors != 0 {
		t.Fatalf("fleet: %+v", fs)
	}
	// Everything the fleet saw accepted the pool counted; the pool may
	// have accepted a few more whose answers were in flight at Close.
	if ps.Accepted < fs.Accepted || ps.Accepted > fs.Accepted+fs.Unanswered {
		t.Fatalf("pool accepted %d, fleet saw %d accepted (+%d unanswered)", ps.Accepted, fs.Accepted, fs.Unanswered)
	}
	// Rejections only from the changes in flight, all counted stale by
	// the fleet.
	if fs.Rejected != fs.Stale {
		t.Fatalf("rejected %d, stale %d", fs.Rejected, fs.Stale)
	}
	for reason, k := range ps.Rejected {
		if reason != RejectStale && reason != RejectLowDifficulty && reason != RejectBadVersion && k > 0 {
			t.Errorf("pool rejected %d shares as %s", k, reason)
		}
	}

	mu.Lock()
	defer mu.Unlock()
	if len(shares) != ps.Accepted {
		t.Fatalf("OnShare saw %d shares, pool accepted %d", len(shares), ps.Accepted)
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
			t.Fatalf("share with extranonce2 %q", s.Extranonce2)
		}
	}
	if len(workers) != n || rolled == 0 || plain == 0 {
		t.Fatalf("%d workers, %d rolled, %d plain shares", len(workers), rolled, plain)
	}
	if !workers[fmt.Sprintf(DefaultNameFormat, 0)] || !workers[fmt.Sprintf(DefaultNameFormat, n-1)] {
		t.Fatalf("worker names: %v", workers)
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
		t.Fatalf("%s: result %s error %s", what, m.Result, m.Error)
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
		t.Fatal("no share found")
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
		t.Fatalf("configure answer %s", m.Result)
	}
	const mask = 0x1fffe000

	m = c.call(stratum.MethodSubscribe, []any{"test/1.0"})
	sub, err := stratum.ParseSubscribeResult(m.Result)
	if err != nil {
		t.Fatal(err)
	}
	if len(sub.Extranonce1) != 4 || sub.Extranonce2Size != DefaultExtranonce2Size {
		t.Fatalf("subscribe %s", m.Result)
	}
	// Difficulty and a clean job follow the subscribe answer at once.
	d := c.waitNote(stratum.MethodSetDifficulty)
	if string(d.Params) != "[1e-9]" {
		t.Fatalf("set_difficulty %s", d.Params)
	}
	n := c.waitNote(stratum.MethodNotify)
	if nn, _ := stratum.ParseNotify(n.Params); !nn.Clean || len(nn.Branches) != DefaultBranchCount {
		t.Fatalf("first notify %s", n.Params)
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
		t.Fatalf("set_difficulty %s", d.Params)
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
		RejectBadVersion: 1, RejectOther: 2, RejectStale: 3, RejectLowDifficulty: 1,
	}
	for k, v := range want {
		if st.Rejected[k] != v {
			t.Errorf("rejected[%s] = %d, want %d (all: %v)", k, st.Rejected[k], v, st.Rejected)
		}
	}
	if st.Accepted != 6 || st.AcceptedByWorker["acct.w1"] != 6 {
		t.Errorf("accepted %d, by worker %v", st.Accepted, st.AcceptedByWorker)
	}
	conns := pool.Conns()
	if len(conns) != 1 || conns[0].Extranonce1 != hex.EncodeToString(sub.Extranonce1) ||
		conns[0].VersionMask != mask || conns[0].Accepted != 6 || len(conns[0].Workers) != 1 {
		t.Errorf("conns %+v", conns)
	}

	// A second connection gets another extranonce1; refused authorize.
	c2 := dialRaw(t, pool.Addr())
	sub2, err := stratum.ParseSubscribeResult(c2.call(stratum.MethodSubscribe, []any{}).Result)
	if err != nil {
		t.Fatal(err)
	}
	if string(sub2.Extranonce1) == string(sub.Extranonce1) {
		t.Fatal("two connections share an extranonce1")
	}
	pool.SetRefuseAuthorize(true)
	wantCode(t, "refused authorize", c2.call(stratum.MethodAuthorize, []any{"acct.w2", "x"}), stratum.ErrUnauthorized)
	pool.SetRefuseAuthorize(false)
	wantOK(t, "authorize", c2.call(stratum.MethodAuthorize, []any{"acct.w2", "x"}))

	// Garbage from a client closes its connection.
	c2.sendRaw("this is not json")
	Eventually(t, waitLong, func() bool { return pool.Stats().Connections == 1 }, "garbage connection dropped")
	if pool.Stats().ProtocolErrors != 1 {
		t.Errorf("protocol errors %d", pool.Stats().ProtocolErrors)
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
		t.Fatalf("got %+v while silent", m)
	}
	Eventually(t, waitLong, func() bool { return pool.Stats().IgnoredSilent == 1 }, "request ignored")
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
		t.Fatalf("pool after DropAll: %+v", ps)
	}
	// ASIC-style miners resume their session id on reconnect; the pool
	// gives a new extranonce1 anyway, and they mine with it.

	// client.reconnect: every miner leaves and comes back.
	if got := pool.SendReconnect(); got != n {
		t.Fatalf("reconnect sent to %d", got)
	}
	wait("back after client.reconnect", func(s FleetStats) bool {
		return s.ReconnectRequests == n && s.Disconnects == 2*n && s.Working == n
	})

	// Garbage is skipped; half a line and a close is a disconnect.
	acc := fleet.Stats().Accepted
	pool.SendRaw([]byte("garbage\n"))
	wait("garbage counted", func(s FleetStats) bool { return s.ProtocolErrors == n && s.Accepted >= acc+n })
	if s := fleet.Stats(); s.Disconnects != 2*n {
		t.Fatalf("garbage disconnected miners: %+v", s)
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
		t.Fatalf("after close: %+v", s)
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
		t.Fatalf("%+v", s)
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
		t.Fatalf("%+v", s)
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
		if _, err := StartFleet(FleetConfig{Addr: addr, Miners: 1}); err == nil {
			t.Errorf("%s accepted", addr)
		}
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
		t.Fatalf("%d ASIC-style miners of 10 at 0.3", asic)
	}
}
