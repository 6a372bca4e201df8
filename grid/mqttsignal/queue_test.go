package mqttsignal

import (
	"strings"
	"testing"

	"github.com/hashgate/hashgate/grid/internal/gridtest"
)

// message is a received MQTT message as paho hands it to the callback.
type message struct{ payload []byte }

func (message) Duplicate() bool   { return false }
func (message) Qos() byte         { return 1 }
func (message) Retained() bool    { return false }
func (message) Topic() string     { return "t" }
func (message) MessageID() uint16 { return 1 }
func (m message) Payload() []byte { return m.payload }
func (message) Ack()              {}

// A message that finds the queue full is refused at once, with an ack
// that says so; the callback never blocks.
func TestQueueFullRefused(t *testing.T) {
	s, err := New(Config{Broker: "tcp://127.0.0.1:1", ClientID: "c", Topic: "t", ReplyTopic: "r", QoS: 1,
		Queue: 1, Switcher: gridtest.Switcher(t)})
	if err != nil {
		t.Fatal(err)
	}
	// Not started: nothing drains the queue.
	s.onMessage(nil, message{[]byte(`{"heartbeat": true, "id": "q1"}`)})
	s.onMessage(nil, message{[]byte(`{"heartbeat": true, "id": "q2"}`)})
	if got := len(s.inbox); got != 1 {
		t.Fatalf("queue: got %d waiting, want 1", got)
	}
	select {
	case a := <-s.acks:
		if a.OK || a.ID != "q2" || !strings.Contains(a.Error, "already wait") {
			t.Errorf("refusal ack: got %+v, want q2 refused for a full queue", a)
		}
	default:
		t.Fatalf("refusal ack for the second message: got none (%d acks queued), want q2 refused", len(s.acks))
	}
	if got := s.counters.QueueFull.Load(); got != 1 {
		t.Errorf("queue_full count: got %d, want 1", got)
	}
	// The ack queue is bounded too: refusals past it are dropped, counted.
	for range 2*cap(s.acks) + 1 {
		s.onMessage(nil, message{[]byte(`{"heartbeat": true}`)})
	}
	if got, want := len(s.acks), cap(s.acks); got != want {
		t.Errorf("ack queue: got %d, want full at %d", got, want)
	}
	if got := s.counters.AcksFailed.Load(); got == 0 {
		t.Errorf("dropped acks: got %d counted, want some", got)
	}
}
