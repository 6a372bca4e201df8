package upstream_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/stratum"
	"github.com/hashgate/hashgate/stratum/sharehash"
	"github.com/hashgate/hashgate/stratum/upstream"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder is a Handler that remembers what the pool said.
type recorder struct {
	mu      sync.Mutex
	diffs   []float64
	jobs    []*stratum.Notify
	masks   []uint32
	en1s    []string
	closed  chan error
	onceErr sync.Once
}

func newRecorder() *recorder { return &recorder{closed: make(chan error, 1)} }

func (r *recorder) SetExtranonce(_ *upstream.Session, en1 []byte, _ int) {
	r.mu.Lock()
	r.en1s = append(r.en1s, hex.EncodeToString(en1))
	r.mu.Unlock()
}
func (r *recorder) SetDifficulty(_ *upstream.Session, d float64) {
	r.mu.Lock()
	r.diffs = append(r.diffs, d)
	r.mu.Unlock()
}
func (r *recorder) Notify(_ *upstream.Session, n *stratum.Notify) {
	r.mu.Lock()
	r.jobs = append(r.jobs, n)
	r.mu.Unlock()
}
func (r *recorder) SetVersionMask(_ *upstream.Session, m uint32) {
	r.mu.Lock()
	r.masks = append(r.masks, m)
	r.mu.Unlock()
}
func (r *recorder) Closed(_ *upstream.Session, err error) { r.closed <- err }

// heard is what the handler was told so far, for failure messages.
func (r *recorder) heard() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprintf("%d jobs, difficulties %v, masks %08x, extranonce1s %v", len(r.jobs), r.diffs, r.masks, r.en1s)
}

// waitHeard waits until cond holds on the recorder (called with its lock
// held), failing with what the handler was told by then.
func (r *recorder) waitHeard(t *testing.T, what string, cond func(r *recorder) bool) {
	t.Helper()
	sim.WaitFor(t, 2*time.Second, what, func() (bool, any) {
		r.mu.Lock()
		ok := cond(r)
		r.mu.Unlock()
		return ok, r.heard()
	})
}

func (r *recorder) lastJob() *stratum.Notify {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.jobs) == 0 {
		return nil
	}
	return r.jobs[len(r.jobs)-1]
}

func startPool(t *testing.T, cfg sim.PoolConfig) *sim.Pool {
	t.Helper()
	p, err := sim.StartPool(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func cfgFor(p *sim.Pool) upstream.Config {
	return upstream.Config{
		Pool: "test", Address: p.Addr(), User: "acct.proxy", Password: "x",
		UserAgent: "hashgate/test", VersionMask: 0xffffffff,
		ConnectTimeout: 2 * time.Second, SilenceTimeout: 2 * time.Second, SubmitTimeout: 2 * time.Second,
	}
}

func TestHandshakeJobsAndSubmit(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{Extranonce2Size: 8})
	s, err := upstream.Dial(context.Background(), cfgFor(pool))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.VersionMask(); got != sim.DefaultVersionMask {
		t.Fatalf("granted mask %08x, want the pool's %08x", got, sim.DefaultVersionMask)
	}
	if len(s.Extranonce1()) != 4 || s.Extranonce2Size() != 8 {
		t.Fatalf("extranonce1 %x size %d, want 4 bytes, size 8", s.Extranonce1(), s.Extranonce2Size())
	}
	rec := newRecorder()
	s.Start(rec)
	rec.waitHeard(t, "a first job", func(r *recorder) bool { return len(r.jobs) > 0 })
	rec.mu.Lock()
	if len(rec.diffs) == 0 || rec.diffs[0] != sim.DefaultPoolDifficulty {
		t.Fatalf("difficulties heard %v, want %v first", rec.diffs, sim.DefaultPoolDifficulty)
	}
	rec.mu.Unlock()

	// A real share, found at the pool's difficulty, is accepted.
	n := rec.lastJob()
	job, err := sharehash.JobFromHex(n.PrevHash, n.Coinb1, n.Coinb2, n.Branches, n.Version, n.NBits, n.NTime)
	if err != nil {
		t.Fatal(err)
	}
	en2 := make([]byte, 8)
	var h sharehash.Hasher
	nonce, found := h.Search(job, s.Extranonce1(), en2, job.NTime, job.Version, 0, 1<<20, sharehash.NewTarget(sim.DefaultPoolDifficulty))
	if !found {
		t.Fatalf("no share at difficulty %v in nonces 0..2^20-1 (last tried %#x), want one", sim.DefaultPoolDifficulty, nonce)
	}
	res := make(chan *stratum.Error, 2)
	s.Submit(upstream.Share{JobID: n.JobID, Extranonce2: hex.EncodeToString(en2), NTime: n.NTime, Nonce: stratum.FormatUint32(nonce)}, func(e *stratum.Error) { res <- e })
	if e := <-res; e != nil {
		t.Fatalf("valid share answered %v, want accepted (nil)", e)
	}
	// The same share again is a duplicate, relayed with the pool's code.
	s.Submit(upstream.Share{JobID: n.JobID, Extranonce2: hex.EncodeToString(en2), NTime: n.NTime, Nonce: stratum.FormatUint32(nonce)}, func(e *stratum.Error) { res <- e })
	if e := <-res; e == nil || e.Code != stratum.ErrDuplicate {
		t.Fatalf("duplicate answered %v, want code %d", e, stratum.ErrDuplicate)
	}
	// Pool-side changes reach the handler.
	pool.SetVersionMask(0x00ffe000)
	rec.waitHeard(t, "a version mask", func(r *recorder) bool { return len(r.masks) > 0 })
	if s.VersionMask() != 0x00ffe000 {
		t.Fatalf("mask %08x once the handler heard it, want 00ffe000 effective at once", s.VersionMask())
	}
	pool.SendSetExtranonce()
	rec.waitHeard(t, "a set_extranonce", func(r *recorder) bool { return len(r.en1s) > 0 })
}

func TestPoolThatIsSilentIsDead(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{})
	cfg := cfgFor(pool)
	cfg.SilenceTimeout = 200 * time.Millisecond
	s, err := upstream.Dial(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec := newRecorder()
	s.Start(rec)
	pool.SetSilent(true)
	select {
	case err := <-rec.closed:
		if !errors.Is(err, upstream.ErrSilent) {
			t.Fatalf("closed with %v, want ErrSilent", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("session still open 5 s after the pool fell silent (silence timeout %v), want closed with ErrSilent", cfg.SilenceTimeout)
	}
}

func TestPoolGarbageAndMidLineClose(t *testing.T) {
	for name, raw := range map[string]string{
		"garbage":       "\x00\x01binary garbage\n",
		"bad notify":    `{"id":null,"method":"mining.notify","params":["j",1,2]}` + "\n",
		"closes midway": `{"id":null,"method":"mining.set_diff`,
	} {
		t.Run(name, func(t *testing.T) {
			pool := startPool(t, sim.PoolConfig{})
			s, err := upstream.Dial(context.Background(), cfgFor(pool))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			rec := newRecorder()
			s.Start(rec)
			pending := make(chan *stratum.Error, 1)
			pool.SetSilent(true) // the submit below stays unanswered
			s.Submit(upstream.Share{JobID: "1", Extranonce2: "0000000000000000", NTime: "00000000", Nonce: "00000000"}, func(e *stratum.Error) { pending <- e })
			pool.SetSilent(false)
			pool.SendRaw([]byte(raw))
			if name == "closes midway" {
				pool.DropAll()
			}
			select {
			case err := <-rec.closed:
				if err == nil {
					t.Fatalf("closed with error %v, want the reason", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("session still open 5 s after the pool sent %q, want it closed", raw)
			}
			// The pending submit is answered, not lost.
			select {
			case e := <-pending:
				if e == nil {
					t.Fatalf("pending submit answered %v (accepted), want an error", e)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("pending submit unanswered %v after the session closed, want an error answer", 5*time.Second)
			}
		})
	}
}

func TestDialFailures(t *testing.T) {
	// A pool that accepts and never answers subscribe.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := l.Accept()
		if err == nil {
			buf := make([]byte, 4096)
			for {
				if _, err := c.Read(buf); err != nil {
					break
				}
			}
			c.Close()
		}
	}()
	cfg := upstream.Config{Pool: "mute", Address: l.Addr().String(), User: "u", ConnectTimeout: 300 * time.Millisecond}
	start := time.Now()
	_, err = upstream.Dial(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "mining.subscribe") {
		t.Fatalf("err = %v, want no answer to subscribe", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("Dial to a mute pool took %v, want at most 3 s (connect timeout %v)", took, cfg.ConnectTimeout)
	}

	// A pool that refuses the proxy's user.
	pool := startPool(t, sim.PoolConfig{})
	pool.SetRefuseAuthorize(true)
	if _, err := upstream.Dial(context.Background(), cfgFor(pool)); !errors.Is(err, upstream.ErrRefused) {
		t.Fatalf("err = %v, want ErrRefused", err)
	}

	// Nobody listening.
	l2, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l2.Addr().String()
	l2.Close()
	if s, err := upstream.Dial(context.Background(), upstream.Config{Address: addr, ConnectTimeout: time.Second}); err == nil {
		en1 := s.Extranonce1()
		s.Close()
		t.Fatalf("Dial to closed port %s gave a session (extranonce1 %x), want an error", addr, en1)
	}
}
