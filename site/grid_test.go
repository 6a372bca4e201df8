package site

import (
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"
	"github.com/simonvetter/modbus"

	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/grid/registers"
	"github.com/hashgate/hashgate/internal/sim"
)

// startBroker runs an in-process MQTT broker on loopback; acks on
// "g/ack" arrive on the channel.
func startBroker(t *testing.T) (*mochi.Server, string, chan []byte) {
	t.Helper()
	srv := mochi.New(&mochi.Options{InlineClient: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		t.Fatal(err)
	}
	l := listeners.NewTCP(listeners.Config{ID: "t", Address: "127.0.0.1:0"})
	if err := srv.AddListener(l); err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	acks := make(chan []byte, 8)
	if err := srv.Subscribe("g/ack", 1, func(_ *mochi.Client, _ packets.Subscription, pk packets.Packet) { acks <- pk.Payload }); err != nil {
		t.Fatal(err)
	}
	return srv, l.Address(), acks
}

// A site with [mqtt] and [modbus_server]: a grid signal through the
// broker changes the budget, and the registers show what the API shows.
func TestSiteGrid(t *testing.T) {
	pool, err := sim.StartPool(sim.PoolConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	broker, addr, acks := startBroker(t)
	cfg := testConfig(t, pool, testPolicy)
	mq := config.DefaultMQTT()
	mq.Broker, mq.Topic, mq.ReplyTopic, mq.ConnectTimeout.Duration = "tcp://"+addr, "g/signal", "g/ack", 3*time.Second
	mb := config.DefaultModbusServer()
	mb.Listen, mb.Refresh.Duration = "127.0.0.1:0", 200*time.Millisecond
	cfg.MQTT, cfg.ModbusServer = &mq, &mb
	s, err := New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if err := broker.Publish("g/signal", []byte(`{"ai_kw": 60, "reason": "grid test", "id": "s1"}`), false, 1); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-acks:
		if !strings.Contains(string(a), `"ok":true`) || !strings.Contains(string(a), `"mining_budget_kw":40`) {
			t.Errorf("ack: got %s, want ok with budget 40", a)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("ack: got none within %v, want ok with budget 40", 5*time.Second)
	}

	c, err := modbus.NewClient(&modbus.ClientConfiguration{URL: "tcp://" + s.ModbusAddr(), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Open(); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var regs registers.Snapshot
	var st struct {
		MinersConnected int64 `json:"miners_connected"`
		Power           struct {
			CapacityKW     float64 `json:"capacity_kw"`
			AIKW           float64 `json:"ai_kw"`
			MiningBudgetKW float64 `json:"mining_budget_kw"`
			MiningLoadKW   float64 `json:"mining_load_kw"`
			Compliant      bool    `json:"compliant"`
		} `json:"power"`
		Curtailed int `json:"curtailed"`
	}
	err = sim.Poll(2*time.Second, func() bool {
		r, err := c.ReadRegisters(0, registers.NumRegisters, modbus.INPUT_REGISTER)
		if err != nil {
			return false
		}
		copy(regs[:], r)
		return regs.Float(registers.AddrMiningBudgetKW) == 40
	})
	if err != nil {
		t.Fatalf("registers: budget %v, want 40 within 2s", regs.Float(registers.AddrMiningBudgetKW))
	}
	// The grid side's counters on /metrics: the signal applied, its ack
	// sent, one subscription; the register snapshot fresh.
	mresp, err := http.Get("http://" + s.APIAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	for _, want := range []string{`hashgate_mqtt_signals_total{result="applied"} 1`, `hashgate_mqtt_signals_total{result="received"} 1`,
		`hashgate_mqtt_acks_total{result="sent"} 1`, "hashgate_mqtt_subscribes_total 1", "hashgate_modbus_server_snapshot_age_seconds "} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics has no %q; its hashgate_mqtt and modbus lines:\n%s", want, grepLines(string(metrics), "hashgate_mqtt", "hashgate_modbus"))
		}
	}
	resp, err := http.Get("http://" + s.APIAddr().String() + "/api/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("GET /api/v1/status (%s): %v", resp.Status, err)
	}
	for _, f := range []struct {
		name string
		got  float64
		want float64
	}{
		{"capacity", float64(regs.Float(registers.AddrCapacityKW)), st.Power.CapacityKW},
		{"ai allocated", float64(regs.Float(registers.AddrAIAllocatedKW)), st.Power.AIKW},
		{"mining budget", float64(regs.Float(registers.AddrMiningBudgetKW)), st.Power.MiningBudgetKW},
		{"mining load", float64(regs.Float(registers.AddrMiningLoadKW)), st.Power.MiningLoadKW},
		{"curtailed", float64(regs.Uint32(registers.AddrCurtailedRigs)), float64(st.Curtailed)},
		{"connected", float64(regs.Uint32(registers.AddrConnectedRigs)), float64(st.MinersConnected)},
	} {
		t.Run(f.name, func(t *testing.T) {
			if math.Abs(f.got-f.want) > 1e-3 {
				t.Errorf("register %s: got %v, API says %v; want math.Abs(f.got-f.want) <= 1e-3", f.name, f.got, f.want)
			}
		})
	}
	if got := regs[registers.AddrCompliant] == 1; got != st.Power.Compliant {
		t.Errorf("register compliant: got %v, API says %v; want got == st.Power.Compliant", got, st.Power.Compliant)
	}
}

// [mqtt] or [modbus_server] without a policy is refused at New.
func TestSiteGridNeedsPolicy(t *testing.T) {
	pool, err := sim.StartPool(sim.PoolConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	cfg := testConfig(t, pool, "")
	mb := config.DefaultModbusServer()
	mb.Listen = "127.0.0.1:0"
	cfg.ModbusServer = &mb
	if s, err := New(cfg, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "switcher.policy") {
		if s != nil {
			s.Close()
		}
		t.Errorf("modbus_server without a policy: got %v, want an error naming switcher.policy", err)
	}
}

// grepLines are the lines of text starting with any of prefixes.
func grepLines(text string, prefixes ...string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}
