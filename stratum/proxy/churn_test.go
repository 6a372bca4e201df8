package proxy_test

import (
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/sim"
)

// Churn: hundreds of clients that connect and leave at every step of the
// handshake (at once, after subscribe, after authorize and a job, with a
// reset instead of a close) leave nothing behind (the connection count
// and the goroutines are back where they were) and do not disturb the
// miners at work.
func TestChurn(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{})
	cfg := quickConfig(t, pool)
	srv := startProxy(t, cfg)
	const steady = 10
	fleet, err := sim.StartFleet(sim.FleetConfig{Addr: srv.Addr().String(), Miners: steady, ShareInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer fleet.Close()
	sim.WaitFor(t, 5*time.Second, "fleet mining (fleet.Stats().Accepted >= 2*steady)", func() (bool, any) {
		got := fleet.Stats().Accepted
		return got >= 2*steady, got
	})
	baseline := runtime.NumGoroutine()

	const rounds = 300
	for i := range rounds {
		m := dialRaw(t, srv)
		switch i % 4 {
		case 0: // connect and leave
		case 1:
			m.call("1", "mining.subscribe", `["churn/1.0"]`)
		case 2:
			m.call("1", "mining.subscribe", `["churn/1.0"]`)
			m.send(fmt.Sprintf(`{"id":2,"method":"mining.authorize","params":["acct.churn-%d","x"]}`, i))
			m.answer("2")
		case 3: // half a line, then a reset (RST, not FIN)
			m.call("1", "mining.subscribe", `["churn/1.0"]`)
			_, _ = m.conn.Write([]byte(`{"id":2,"method":"mining.auth`))
			if tc, ok := m.conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
		}
		m.conn.Close()
	}
	sim.WaitFor(t, 10*time.Second, "after the churn, the steady fleet's connections only (== steady)", func() (bool, any) {
		n := srv.Stats().Connections
		return n == steady, n
	})
	sim.WaitFor(t, 10*time.Second, "after the churn, goroutines back to the baseline (<= baseline+2)", func() (bool, any) {
		n := runtime.NumGoroutine()
		return n <= baseline+2, fmt.Sprintf("%d goroutines, baseline %d", n, baseline)
	})
	before := fleet.Stats().Accepted
	sim.WaitFor(t, 5*time.Second, "fleet still mining (fleet.Stats().Accepted > before+steady)", func() (bool, any) {
		got := fleet.Stats().Accepted
		return got > before+steady, got
	})
	if st := fleet.Stats(); st.Disconnects != 0 || st.WrongAnswers != 0 {
		t.Fatalf("the steady miners were disturbed by the churn: %+v, want no disconnects or wrong answers", st)
	}
}
