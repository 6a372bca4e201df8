package mqttsignal_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/hashgate/hashgate/grid/mqttsignal"
)

const (
	topic      = "site/grid/signal"
	replyTopic = "site/grid/ack"
)

// broker is an in-process MQTT broker on loopback whose inline client
// publishes signals and collects the acks.
type broker struct {
	srv   *mochi.Server
	addr  string
	close func()
	acks  chan mqttsignal.Ack
}

// startBroker listens on addr ("127.0.0.1:0" for any port); ledger nil
// allows everyone.
func startBroker(t *testing.T, addr string, ledger *auth.Ledger) *broker {
	t.Helper()
	srv := mochi.New(&mochi.Options{InlineClient: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	var err error
	if ledger == nil {
		err = srv.AddHook(new(auth.AllowHook), nil)
	} else {
		err = srv.AddHook(new(auth.Hook), &auth.Options{Ledger: ledger})
	}
	if err != nil {
		t.Fatal(err)
	}
	l := listeners.NewTCP(listeners.Config{ID: "t", Address: addr})
	if err := srv.AddListener(l); err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatal(err)
	}
	b := &broker{srv: srv, addr: l.Address(), acks: make(chan mqttsignal.Ack, 64)}
	err = srv.Subscribe(replyTopic, 1, func(_ *mochi.Client, _ packets.Subscription, pk packets.Packet) {
		var a mqttsignal.Ack
		if err := json.Unmarshal(pk.Payload, &a); err != nil {
			t.Errorf("ack %q: %v; want a JSON ack", pk.Payload, err)
			return
		}
		b.acks <- a
	})
	if err != nil {
		t.Fatal(err)
	}
	b.close = sync.OnceFunc(func() { _ = srv.Close() })
	t.Cleanup(b.close)
	return b
}

func (b *broker) url() string { return "tcp://" + b.addr }

// send publishes one signal at QoS 1.
func (b *broker) send(t *testing.T, payload string) {
	t.Helper()
	if err := b.srv.Publish(topic, []byte(payload), false, 1); err != nil {
		t.Fatal(err)
	}
}

// ack waits for the next ack.
func (b *broker) ack(t *testing.T) mqttsignal.Ack {
	t.Helper()
	select {
	case a := <-b.acks:
		return a
	case <-time.After(5 * time.Second):
		t.Fatalf("ack on the reply topic: got none within %v, want one", 5*time.Second)
		return mqttsignal.Ack{}
	}
}
