package proxy_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/stratum"
	"github.com/hashgate/hashgate/stratum/proxy"
	"github.com/hashgate/hashgate/stratum/vardiff"
)

// testLog shows proxy logs when a test fails (go test -v shows them all).
func testLog(t testing.TB) zerolog.Logger {
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)
}

func startPool(t testing.TB, cfg sim.PoolConfig) *sim.Pool {
	t.Helper()
	p, err := sim.StartPool(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// quickConfig is a proxy on 127.0.0.1:0 with test-sized timeouts.
func quickConfig(t testing.TB, pools ...*sim.Pool) proxy.Config {
	cfg := proxy.Config{
		Listen:           "127.0.0.1:0",
		HandshakeTimeout: 5 * time.Second,
		ReconnectGrace:   500 * time.Millisecond,
		BackoffMin:       50 * time.Millisecond,
		BackoffMax:       500 * time.Millisecond,
		// Fixed at the sim pool's difficulty unless a test says otherwise:
		// every share found is one the pool wants.
		Difficulty: vardiff.Config{Initial: sim.DefaultPoolDifficulty, Min: sim.DefaultPoolDifficulty, Max: sim.DefaultPoolDifficulty, TargetShareSeconds: 10},
		Log:        testLog(t),
	}
	for i, p := range pools {
		cfg.Pools = append(cfg.Pools, proxy.PoolSpec{
			Name: []string{"primary", "secondary", "third"}[i], Address: p.Addr(), User: "acct.proxy", Password: "x",
			ConnectTimeout: 5 * time.Second, FailoverTimeout: 10 * time.Second, FailbackAfter: time.Second,
		})
	}
	return cfg
}

func startProxy(t testing.TB, cfg proxy.Config) *proxy.Server {
	t.Helper()
	srv, err := proxy.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	sim.WaitFor(t, 5*time.Second, "a pool session (Healthy)", func() (bool, any) {
		return srv.Healthy(), srv.Pools()
	})
	return srv
}

// rawMiner is a hand-driven miner for protocol tests: it sends exactly the
// bytes a test wants and reads exactly what comes back.
type rawMiner struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialRaw(t *testing.T, srv *proxy.Server) *rawMiner {
	t.Helper()
	c, err := net.DialTimeout("tcp", srv.Addr().String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawMiner{t: t, conn: c, r: bufio.NewReaderSize(c, 1<<16)}
}

func (m *rawMiner) send(line string) {
	m.t.Helper()
	_ = m.conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
	if _, err := m.conn.Write([]byte(line + "\n")); err != nil {
		m.t.Fatalf("send: %v", err)
	}
}

// next reads one message, failing the test after 3 s.
func (m *rawMiner) next() *stratum.Message {
	m.t.Helper()
	msg, err := m.tryNext(3 * time.Second)
	if err != nil {
		m.t.Fatalf("read: %v", err)
	}
	return msg
}

func (m *rawMiner) tryNext(d time.Duration) (*stratum.Message, error) {
	_ = m.conn.SetReadDeadline(time.Now().Add(d))
	line, err := m.r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	msg, err := stratum.Decode([]byte(strings.TrimSpace(line)))
	if err != nil {
		m.t.Fatalf("proxy sent %q (%v), want a Stratum message", line, err)
	}
	return msg, nil
}

// answer reads until the response to id, returning it and the
// notifications seen on the way.
func (m *rawMiner) answer(id string) (*stratum.Message, []*stratum.Message) {
	m.t.Helper()
	var notes []*stratum.Message
	for range 100 {
		msg := m.next()
		if msg.IsRequest() {
			notes = append(notes, msg)
			continue
		}
		if string(msg.ID) != id {
			m.t.Fatalf("answer with id %s, want %s", msg.ID, id)
		}
		return msg, notes
	}
	m.t.Fatalf("no answer to id %s in 100 messages (the last %s %s), want one", id, notes[len(notes)-1].Method, notes[len(notes)-1].Params)
	return nil, nil
}

// subtest runs f as the subtest name for a table row that drives m: the
// rows share the connection, and m fails the row's test while it runs.
func (m *rawMiner) subtest(t *testing.T, name string, f func(t *testing.T)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		outer := m.t
		m.t = t
		defer func() { m.t = outer }()
		f(t)
	})
}

// call sends a request and returns its answer.
func (m *rawMiner) call(id, method, params string) *stratum.Message {
	m.t.Helper()
	m.send(`{"id":` + id + `,"method":"` + method + `","params":` + params + `}`)
	a, _ := m.answer(id)
	return a
}

// errCode is the error code of an answer, 0 for success.
func errCode(t *testing.T, msg *stratum.Message) stratum.ErrorCode {
	t.Helper()
	if e := stratum.ParseError(msg.Error); e != nil {
		return e.Code
	}
	return 0
}

// waitNotify reads until a mining.notify arrives and returns its params.
func (m *rawMiner) waitNotify() *stratum.Notify {
	m.t.Helper()
	var msg *stratum.Message
	for range 100 {
		msg = m.next()
		if msg.Method == stratum.MethodNotify {
			n, err := stratum.ParseNotify(msg.Params)
			if err != nil {
				m.t.Fatal(err)
			}
			return n
		}
	}
	m.t.Fatalf("no mining.notify in 100 messages (the last %q, result %s), want one", msg.Method, msg.Result)
	return nil
}

// closedWithin reports whether the proxy closes the connection in time
// (draining whatever it sends before), and what the reads saw, for a
// failure message: how many bytes, the last of them, how reading ended.
func (m *rawMiner) closedWithin(d time.Duration) (closed bool, got string) {
	deadline := time.Now().Add(d)
	buf := make([]byte, 4096)
	n := 0
	var last []byte
	for time.Now().Before(deadline) {
		_ = m.conn.SetReadDeadline(deadline)
		k, err := m.r.Read(buf)
		if k > 0 {
			n += k
			last = append(last[:0], buf[max(0, k-120):k]...)
		}
		if err != nil {
			ne, ok := err.(net.Error)
			return !(ok && ne.Timeout()), fmt.Sprintf("%d bytes read (ending %q), then %v", n, last, err)
		}
	}
	return false, fmt.Sprintf("%d bytes read (ending %q) in %v, still open", n, last, d)
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
