package proxy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/sim"
)

// dribble writes chunk to m every period, as a line that never ends, until
// the proxy closes the connection (a write fails) or the test ends. It
// returns how many bytes went out, read when the returned channel closes.
func dribble(t *testing.T, m *rawMiner, chunk string, period time.Duration) (sent *int, done <-chan struct{}) {
	t.Helper()
	n, ch := new(int), make(chan struct{})
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop); m.conn.Close(); <-ch })
	go func() {
		defer close(ch)
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			_ = m.conn.SetWriteDeadline(time.Now().Add(time.Second))
			k, err := m.conn.Write([]byte(chunk))
			*n += k
			if err != nil {
				return
			}
			select {
			case <-tick.C:
			case <-stop:
				return
			}
		}
	}()
	return n, ch
}

// Slowloris: a client that dribbles a line that never ends holds no slot
// and no memory for long. Before it has authorized, the handshake deadline
// cuts it (the read deadline is armed before a line is read and not moved
// by the bytes of that line, so this holds whether handshake_timeout
// counts per line or from accept); once authorized, the line bound does.
// Nobody else is disturbed.
func TestSlowloris(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{})
	cfg := quickConfig(t, pool)
	cfg.HandshakeTimeout = time.Second
	cfg.ReadTimeout = time.Minute // not what cuts them here
	cfg.MaxLineBytes = 256
	srv := startProxy(t, cfg)
	fleet, err := sim.StartFleet(sim.FleetConfig{Addr: srv.Addr().String(), Miners: 5, ShareInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer fleet.Close()
	sim.WaitFor(t, 5*time.Second, "fleet mining (fleet.Stats().Accepted >= 10)", func() (bool, any) {
		got := fleet.Stats().Accepted
		return got >= 10, got
	})

	t.Run("before authorize: the handshake deadline", func(t *testing.T) {
		m := dialRaw(t, srv)
		began := time.Now()
		// 2 bytes every 100 ms: the 256-byte bound would take 12.8 s.
		sent, done := dribble(t, m, `{"id":1,"method":"mining.subscribe","params":["`[:2], 100*time.Millisecond)
		if closed, got := m.closedWithin(5 * time.Second); !closed {
			t.Fatalf("a client dribbling a line before authorizing was kept past 5 s (handshake_timeout 1 s): %s; want it closed", got)
		}
		took := time.Since(began)
		m.conn.Close()
		<-done
		if *sent >= cfg.MaxLineBytes {
			t.Fatalf("cut after %d bytes in %v: by the line bound, want by the handshake deadline (under %d bytes)", *sent, took, cfg.MaxLineBytes)
		}
	})

	t.Run("authorized: the line bound", func(t *testing.T) {
		w := startWorker(t, srv, "acct.slowloris")
		// 16 bytes every 20 ms of one line: 256 bytes in about 0.3 s.
		sent, done := dribble(t, w.rawMiner, strings.Repeat("A", 16), 20*time.Millisecond)
		if closed, got := w.closedWithin(5 * time.Second); !closed {
			t.Fatalf("an authorized miner dribbling a line longer than max_line_bytes (256) was kept past 5 s: %s; want it closed", got)
		}
		w.conn.Close()
		<-done
		if *sent > 64<<10 {
			t.Fatalf("%d bytes taken before the cut, want at most 64 KiB", *sent)
		}
	})

	before := fleet.Stats().Accepted
	sim.WaitFor(t, 5*time.Second, "fleet still mining (fleet.Stats().Accepted > before+10)", func() (bool, any) {
		got := fleet.Stats().Accepted
		return got > before+10, got
	})
	if st := fleet.Stats(); st.Disconnects != 0 || st.WrongAnswers != 0 {
		t.Fatalf("other miners disturbed: %+v, want no disconnects or wrong answers", st)
	}
}
