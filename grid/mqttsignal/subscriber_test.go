package mqttsignal_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"go.uber.org/goleak"

	"github.com/hashgate/hashgate/grid/internal/gridtest"
	"github.com/hashgate/hashgate/grid/mqttsignal"
	"github.com/hashgate/hashgate/switcher"
	"github.com/hashgate/hashgate/switcher/device"
)

// noLeaks checks, after every other cleanup, that the test's goroutines
// are gone.
func noLeaks(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

func config(b *broker, sw *switcher.Switcher) mqttsignal.Config {
	return mqttsignal.Config{Broker: b.url(), ClientID: "hashgate-test", Topic: topic, ReplyTopic: replyTopic, QoS: 1,
		ConnectTimeout: 2 * time.Second, MaxReconnectInterval: time.Second, PublishTimeout: 2 * time.Second,
		Switcher: sw}
}

func start(t *testing.T, cfg mqttsignal.Config) *mqttsignal.Subscriber {
	t.Helper()
	s, err := mqttsignal.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func budget(a mqttsignal.Ack) float64 {
	if a.MiningBudgetKW == nil {
		return -1
	}
	return *a.MiningBudgetKW
}

// An allocation through MQTT changes the real switcher's budget and is
// acked with the budget and the audit event's seq.
func TestAllocationThroughMQTT(t *testing.T) {
	noLeaks(t)
	sw := gridtest.Switcher(t)
	b := startBroker(t, "127.0.0.1:0", nil)
	start(t, config(b, sw))

	at := time.Now()
	b.send(t, `{"ai_kw": 80, "reason": "ERCOT dispatch", "id": "a1"}`)
	a := b.ack(t)
	t.Logf("signal to ack: %v", time.Since(at).Round(time.Microsecond))
	if !a.OK || a.ID != "a1" || a.Kind != mqttsignal.KindAllocation || a.Error != "" {
		t.Fatalf("ack: got %+v, want ok for a1", a)
	}
	if got := budget(a); got != 20 {
		t.Errorf("ack mining_budget_kw: got %v, want 20", got)
	}
	st := sw.Status()
	if st.MiningBudgetKW != 20 || st.Allocation == nil || st.Allocation.Who != "mqtt:"+topic || st.Allocation.Reason != "ERCOT dispatch" {
		t.Errorf("switcher after the signal: budget %v allocation %+v, want 20 kW by mqtt:%s", st.MiningBudgetKW, st.Allocation, topic)
	}
	evs, err := sw.Events(a.Seq-1, 1)
	if err != nil || len(evs) != 1 || evs[0].Seq != a.Seq || evs[0].Kind != switcher.EventAllocation || evs[0].Who != "mqtt:"+topic {
		t.Errorf("audit event at the ack's seq %d: got %+v (err %v), want the allocation by mqtt:%s", a.Seq, evs, err, topic)
	}

	// The same allocation again changes nothing: ok, no new event.
	b.send(t, `{"ai_kw": 80, "reason": "ERCOT dispatch", "id": "a2"}`)
	if a := b.ack(t); !a.OK || a.Seq != 0 || a.ID != "a2" {
		t.Errorf("the same allocation again: got %+v, want ok with seq 0", a)
	}
}

// A message that is not a valid signal is acked with an error and changes
// nothing.
func TestBadMessagesChangeNothing(t *testing.T) {
	noLeaks(t)
	sw := gridtest.Switcher(t)
	b := startBroker(t, "127.0.0.1:0", nil)
	start(t, config(b, sw))
	for _, tc := range []struct{ payload, id, want string }{
		{`not json`, "", "not a signal"},
		{`{"ai_kw": "eighty", "id": "b1"}`, "b1", "ai_kw"},
		{`{"ai_kw": -5, "id": "b2"}`, "b2", "≥ 0"},
		{`{"ai_kw": 5, "cap_kw": 9, "id": "b3"}`, "b3", "one signal a message"},
		{`{"command": "explode", "id": "b4"}`, "b4", "not a command"},
		{`{"ai_kw": 5, "until": "2001-01-01T00:00:00Z", "id": "b5"}`, "b5", "future"},
		{`{"ai_kw": 5, "colour": "red", "id": "b6"}`, "b6", "colour"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			b.send(t, tc.payload)
			a := b.ack(t)
			if a.OK || a.ID != tc.id || !strings.Contains(a.Error, tc.want) {
				t.Errorf("%s: got ack %+v, want refused for id %q with an error mentioning %q", tc.payload, a, tc.id, tc.want)
			}
		})
	}
	if st := sw.Status(); st.MiningBudgetKW != 100 || st.Allocation != nil {
		t.Errorf("after bad messages: budget %v allocation %+v, want 100 and none", st.MiningBudgetKW, st.Allocation)
	}
	if evs, err := sw.LatestEvents(1, switcher.EventFilter{Who: "mqtt:" + topic}); err != nil || len(evs) != 0 {
		t.Errorf("audit log after bad messages: events by mqtt:%s: got %+v (err %v), want none", topic, evs, err)
	}
}

// A message over the size limit is refused, unread.
func TestOversizedRefused(t *testing.T) {
	noLeaks(t)
	sw := gridtest.Switcher(t)
	b := startBroker(t, "127.0.0.1:0", nil)
	cfg := config(b, sw)
	cfg.MaxMessageBytes = 256
	s := start(t, cfg)
	b.send(t, `{"ai_kw": 80, "id": "big", "reason": "`+strings.Repeat("x", 300)+`"}`)
	a := b.ack(t)
	if a.OK || !strings.Contains(a.Error, "over the limit of 256") {
		t.Errorf("oversized: got %+v, want refused over the limit of 256", a)
	}
	if got := sw.Status().MiningBudgetKW; got != 100 {
		t.Errorf("budget after an oversized message: got %v, want 100", got)
	}
	if got := s.Counters().Oversized.Load(); got != 1 {
		t.Errorf("oversized count: got %d, want 1", got)
	}
}

// After the broker restarts, the subscriber reconnects, subscribes again
// and takes signals.
func TestReconnectAfterBrokerRestart(t *testing.T) {
	noLeaks(t)
	sw := gridtest.Switcher(t)
	b := startBroker(t, "127.0.0.1:0", nil)
	s := start(t, config(b, sw))
	defer s.Close() // before the second broker's cleanup: a lost connection sends paho into its back-off sleep
	addr := b.addr
	b.close()
	at := time.Now()
	b2 := startBroker(t, addr, nil)
	gridtest.Eventually(t, 10*time.Second, "a second subscription after the broker restart", func() bool {
		return s.Counters().Subscribes.Load() >= 2
	})
	t.Logf("subscribed again %v after the restart", time.Since(at).Round(time.Millisecond))
	b2.send(t, `{"ai_kw": 50, "reason": "after restart", "id": "r1"}`)
	if a := b2.ack(t); !a.OK || budget(a) != 50 {
		t.Errorf("after reconnect: got %+v, want ok with budget 50", a)
	}
}

// A cap goes to SetCap and is acked in the same format; until the cap
// mode is built the switcher refuses it (ErrNotReady) and nothing changes.
func TestCapAck(t *testing.T) {
	noLeaks(t)
	sw := gridtest.Switcher(t)
	b := startBroker(t, "127.0.0.1:0", nil)
	start(t, config(b, sw))
	b.send(t, `{"cap_kw": 60, "reason": "substation limit", "id": "c1"}`)
	a := b.ack(t)
	if a.ID != "c1" || a.Kind != mqttsignal.KindCap || a.MiningBudgetKW == nil {
		t.Fatalf("cap ack: got %+v, want id c1, kind cap and a budget", a)
	}
	switch {
	case !a.OK && a.Error == switcher.ErrNotReady.Error():
		if st := sw.Status(); st.CapKW != 0 || st.MiningBudgetKW != 100 {
			t.Errorf("cap refused, yet cap %v budget %v, want 0 and 100", st.CapKW, st.MiningBudgetKW)
		}
	case a.OK:
		if st := sw.Status(); st.CapKW != 60 {
			t.Errorf("cap acked ok, status cap_kw: got %v, want 60", st.CapKW)
		}
	default:
		t.Errorf("cap ack: got %+v, want ok or %q", a, switcher.ErrNotReady)
	}
	b.send(t, `{"cap_kw": 60, "id": "c2", "emergency": true}`)
	if a := b.ack(t); a.OK || !strings.Contains(a.Error, "emergency") {
		t.Errorf("cap with emergency: got %+v, want refused", a)
	}
}

// Curtail leaves mining curtail_kw; release puts back the allocation in
// force before it; a release with no curtail in force is refused.
func TestCurtailAndRelease(t *testing.T) {
	noLeaks(t)
	sw := gridtest.Switcher(t)
	b := startBroker(t, "127.0.0.1:0", nil)
	cfg := config(b, sw)
	cfg.CurtailKW = 10
	start(t, cfg)
	if _, _, err := sw.Allocate(switcher.AllocationRequest{AIKW: 30, Reason: "training run"}, "desk"); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		payload    string
		ok         bool
		wantBudget float64
		wantErr    string
	}{
		{`{"command": "curtail", "reason": "EEA2", "id": "k1"}`, true, 10, ""},
		{`{"command": "curtail", "reason": "EEA3", "id": "k2"}`, true, 10, ""}, // again: keeps the first's "before"
		{`{"command": "release", "id": "k3"}`, true, 70, ""},
		{`{"command": "release", "id": "k4"}`, false, 70, "no curtail"},
	}
	for _, st := range steps {
		b.send(t, st.payload)
		a := b.ack(t)
		if a.OK != st.ok || budget(a) != st.wantBudget || !strings.Contains(a.Error, st.wantErr) {
			t.Errorf("%s: got %+v (budget %v), want ok=%v budget %v error %q", st.payload, a, budget(a), st.ok, st.wantBudget, st.wantErr)
		}
	}
	if al := sw.Status().Allocation; al == nil || al.AIKW != 30 {
		t.Errorf("allocation after release: got %+v, want 30 kW back", al)
	}
	// The desk allocates during a curtail: the release does not undo it.
	b.send(t, `{"command": "curtail", "id": "k5"}`)
	if a := b.ack(t); !a.OK || budget(a) != 10 {
		t.Fatalf("curtail: got %+v, want ok budget 10", a)
	}
	if _, _, err := sw.Allocate(switcher.AllocationRequest{AIKW: 50, Reason: "desk overrides"}, "desk"); err != nil {
		t.Fatal(err)
	}
	b.send(t, `{"command": "release", "id": "k6"}`)
	if a := b.ack(t); a.OK || !strings.Contains(a.Error, "no longer in force") || budget(a) != 50 {
		t.Errorf("release after the desk's allocation: got %+v, want refused, budget 50", a)
	}
}

// Price and heartbeat are taken and acked ok, without an audit event.
func TestPriceAndHeartbeat(t *testing.T) {
	noLeaks(t)
	sw := gridtest.Switcher(t)
	b := startBroker(t, "127.0.0.1:0", nil)
	start(t, config(b, sw))
	for _, p := range []string{`{"price_usd_per_mwh": -12.5, "id": "p1"}`, `{"heartbeat": true, "id": "h1"}`} {
		b.send(t, p)
		if a := b.ack(t); !a.OK || a.Seq != 0 || budget(a) != 100 {
			t.Errorf("%s: got %+v, want ok, seq 0, budget 100", p, a)
		}
	}
}

// Start fails with a clear error when it cannot connect or is refused; the
// password appears in no error.
func TestStartFails(t *testing.T) {
	noLeaks(t)
	sw := gridtest.Switcher(t)
	const password = "hunter2-not-in-logs"
	b := startBroker(t, "127.0.0.1:0", &auth.Ledger{
		Users: auth.Users{"hashgate": {Username: "hashgate", Password: "the-right-one"}},
		ACL:   auth.ACLRules{{}},
	})
	cfg := config(b, sw)
	cfg.Username, cfg.Password = "hashgate", device.NewSecret(password)
	s, err := mqttsignal.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Start()
	if err == nil || strings.Contains(err.Error(), password) || !strings.Contains(err.Error(), b.addr) {
		t.Errorf("wrong password: got %v, want an error naming the broker and not the password", err)
	}

	cfg.Broker = "tcp://127.0.0.1:1" // nothing listens
	cfg.ConnectTimeout = 500 * time.Millisecond
	s, err = mqttsignal.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	err = s.Start()
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") || time.Since(at) > 3*time.Second {
		t.Errorf("no broker: got %v after %v, want an error naming it within the timeout", err, time.Since(at))
	}

	cfg.Password = device.NewSecret("the-right-one")
	cfg.Broker = b.url()
	start(t, cfg) // the right password subscribes
}

func TestConfigRefused(t *testing.T) {
	sw := gridtest.Switcher(t)
	good := mqttsignal.Config{Broker: "tcp://127.0.0.1:1883", ClientID: "c", Topic: "t", ReplyTopic: "r", QoS: 1, Switcher: sw}
	for _, tc := range []struct {
		name string
		edit func(*mqttsignal.Config)
		want string
	}{
		{"no switcher", func(c *mqttsignal.Config) { c.Switcher = nil }, "no switcher"},
		{"not a URL", func(c *mqttsignal.Config) { c.Broker = "localhost" }, "not a URL"},
		{"credentials in URL", func(c *mqttsignal.Config) { c.Broker = "tcp://u:secretpw@h:1883" }, "credentials"},
		{"no topic", func(c *mqttsignal.Config) { c.Topic = "" }, "required"},
		{"qos 3", func(c *mqttsignal.Config) { c.QoS = 3 }, "qos"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.edit(&c)
			_, err := mqttsignal.New(c)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "secretpw") {
				t.Errorf("%s: got %v, want an error mentioning %q (and no password)", tc.name, err, tc.want)
			}
		})
	}
}

// With no allocation before it, a release leaves none (0 kW for AI); a
// curtail with an end gives way by itself.
func TestReleaseToNothingAndCurtailUntil(t *testing.T) {
	noLeaks(t)
	sw := gridtest.Switcher(t)
	b := startBroker(t, "127.0.0.1:0", nil)
	start(t, config(b, sw))
	b.send(t, `{"command": "curtail", "id": "n1"}`)
	if a := b.ack(t); !a.OK || budget(a) != 0 || a.Seq == 0 {
		t.Fatalf("curtail to 0: got %+v, want ok, budget 0 and an audit seq", a)
	}
	b.send(t, `{"command": "release", "id": "n2"}`)
	if a := b.ack(t); !a.OK || budget(a) != 100 {
		t.Errorf("release: got %+v, want ok, budget 100", a)
	}
	if al := sw.Status().Allocation; al == nil || al.AIKW != 0 {
		t.Errorf("allocation after release: got %+v, want 0 kW", al)
	}
	until := time.Now().Add(300 * time.Millisecond).UTC().Format(time.RFC3339Nano)
	b.send(t, `{"command": "curtail", "id": "n3", "until": "`+until+`"}`)
	if a := b.ack(t); !a.OK || budget(a) != 0 {
		t.Fatalf("curtail until: got %+v, want ok, budget 0", a)
	}
	gridtest.Eventually(t, 3*time.Second, "the curtail to end at its until", func() bool {
		return sw.Status().MiningBudgetKW == 100
	})
	b.send(t, `{"command": "release", "id": "n4"}`)
	if a := b.ack(t); a.OK || !strings.Contains(a.Error, "no longer in force") {
		t.Errorf("release after the curtail ended: got %+v, want refused", a)
	}
}
