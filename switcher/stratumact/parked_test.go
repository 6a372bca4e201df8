package stratumact_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/switcher"
)

// rawMiner is a bare Stratum client, to behave as cpuminer does after a
// park: it reconnects and keeps submitting work on the job it held.
type rawMiner struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
	id   int
}

type rawMsg struct {
	ID     *int            `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
}

func dialRaw(t *testing.T, addr string) *rawMiner {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return &rawMiner{t: t, conn: c, r: bufio.NewReader(c)}
}

func (m *rawMiner) send(method string, params ...any) int {
	m.t.Helper()
	m.id++
	line, err := json.Marshal(map[string]any{"id": m.id, "method": method, "params": params})
	if err != nil {
		m.t.Fatal(err)
	}
	_ = m.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := m.conn.Write(append(line, '\n')); err != nil {
		m.t.Fatalf("%s: %v", method, err)
	}
	return m.id
}

// read returns the next message, or an error (the connection closed, or
// nothing within d).
func (m *rawMiner) read(d time.Duration) (rawMsg, error) {
	_ = m.conn.SetReadDeadline(time.Now().Add(d))
	line, err := m.r.ReadBytes('\n')
	if err != nil {
		return rawMsg{}, err
	}
	var msg rawMsg
	if err := json.Unmarshal(line, &msg); err != nil {
		return rawMsg{}, fmt.Errorf("bad line %q: %w", line, err)
	}
	return msg, nil
}

// handshake subscribes and authorizes as name and returns the answer to
// the subscribe (extranonce1, extranonce2 size).
func (m *rawMiner) handshake(name string) (en2Size int) {
	m.t.Helper()
	sub := m.send("mining.subscribe", "cpuminer/2.5.1")
	auth := m.send("mining.authorize", name, "x")
	for authorized := false; !authorized; {
		msg, err := m.read(5 * time.Second)
		if err != nil {
			m.t.Fatalf("handshake: %v", err)
		}
		switch {
		case msg.ID != nil && *msg.ID == sub:
			var res []json.RawMessage
			if err := json.Unmarshal(msg.Result, &res); err != nil || len(res) < 3 {
				m.t.Fatalf("subscribe result %s (%v)", msg.Result, err)
			}
			if err := json.Unmarshal(res[2], &en2Size); err != nil {
				m.t.Fatal(err)
			}
		case msg.ID != nil && *msg.ID == auth:
			if string(msg.Result) != "true" {
				m.t.Fatalf("authorize answered %s %s", msg.Result, msg.Error)
			}
			authorized = true
		}
	}
	return en2Size
}

// A parked rig that keeps submitting, every share rejected (work on the
// job it held before the park, as cpuminer does for 120 s after each
// reconnect), is flagged curtail_failed: a rejected submit is evidence of
// hashing as much as an accepted one.
func TestParkedRigSubmittingStaleWorkIsFlagged(t *testing.T) {
	policy := "site_capacity_kw = 100.0\nramp_up_kw_per_min = 1000.0\nmin_off = \"0s\"\nmin_on = \"0s\"\n\n" +
		"[[group]]\nname = \"cpu\"\nworkers = [\"acct.*\"]\nrig_kw = 3.0\nidle_kw = 0.1\nefficiency_j_th = 30.0\nactuator = \"stratum\"\n"
	// A job an hour: the held one stays unknown after the park.
	s := newSite(t, policy, time.Hour, &clock{}, func(c *switcher.Config) { c.CurtailGrace = 300 * time.Millisecond })
	defer s.close()
	addr := s.proxy.Addr().String()
	const name = "acct.cpu-1"

	// Admitted: it gets a job.
	m := dialRaw(t, addr)
	en2Size := m.handshake(name)
	var jobID string
	for jobID == "" {
		msg, err := m.read(10 * time.Second)
		if err != nil {
			t.Fatalf("waiting for a job: %v", err)
		}
		if msg.Method == "mining.notify" {
			var p []json.RawMessage
			if err := json.Unmarshal(msg.Params, &p); err != nil || len(p) < 9 {
				t.Fatalf("notify %s; want err == nil, len(p) >= 9", msg.Params)
			}
			_ = json.Unmarshal(p[0], &jobID)
		}
	}

	// Parked: the proxy closes the connection; the rig comes back, is
	// held without work, and submits on the job it held.
	plan, _, err := s.sw.Allocate(switcher.AllocationRequest{AIKW: 99, Reason: "test"}, "desk")
	if err != nil || !slices.Equal(switcher.Names(plan.Curtail), []string{name}) {
		t.Fatalf("curtail %v (%v); want err == nil, slices.Equal(switcher.Names(plan.Curtail), []string{name})", switcher.Names(plan.Curtail), err)
	}
	curtailedAt := time.Now()
	for {
		if _, err := m.read(10 * time.Second); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("parked connection: got %v (still open after %v), want it closed by the park", err, 10*time.Second)
			}
			break
		}
	}
	m.conn.Close()
	m = dialRaw(t, addr)
	defer m.conn.Close()
	m.handshake(name)
	en2 := strings.Repeat("00", en2Size)
	rejected, accepted := 0, 0
	flagged := func() bool {
		for _, r := range s.sw.Rigs() {
			if r.Name == name && slices.Contains(r.Flags, switcher.FlagCurtailFailed) {
				return true
			}
		}
		return false
	}
	// One submit every 20 ms, as a slow CPU miner sends them (a flood of
	// rejected shares is cut as abuse, which is not what is tested here).
	pace := time.NewTicker(20 * time.Millisecond)
	defer pace.Stop()
	for i := 0; !flagged(); i++ {
		<-pace.C
		if time.Since(curtailedAt) > 20*time.Second {
			t.Fatalf("not flagged curtail_failed after %d rejected submits (%d accepted) over %v; want time.Since(curtailedAt) <= 20*time.Second", rejected, accepted, time.Since(curtailedAt))
		}
		id := m.send("mining.submit", name, jobID, en2, "00000000", fmt.Sprintf("%08x", i))
		for {
			msg, err := m.read(5 * time.Second)
			if err != nil {
				if flagged() {
					break // parked again: the connection was closed
				}
				t.Fatalf("connection lost (%v) after %d rejected submits, and the rig is not flagged curtail_failed", err, rejected)
			}
			if msg.ID != nil && *msg.ID == id {
				if string(msg.Result) == "true" {
					accepted++
				} else {
					rejected++
				}
				break
			}
		}
	}
	if accepted != 0 || rejected == 0 {
		t.Fatalf("submits: %d accepted, %d rejected; want all rejected", accepted, rejected)
	}
	if last, _, _ := s.proxy.WorkerActivity(name); last.After(curtailedAt) {
		t.Fatalf("an accepted share at %v after the park: the test must catch rejected ones only; want !last.After(curtailedAt)", last)
	}
	if n := s.sw.Counters().CurtailFailed.Load(); n != 1 {
		t.Fatalf("curtail_failed counted %d times, want 1", n)
	}
	// It is counted at rig_kw: the site (budget 1 kW) is not compliant.
	sim.WaitFor(t, 5*time.Second, "a curtail_failed rig counted at rig_kw (3 kW, not compliant)", func() (bool, any) {
		st := s.sw.Status()
		return !st.Compliant && st.MiningLoadKW == 3 && st.Counted["curtail_failed"].Rigs == 1, st
	})
}
