package mqttsignal

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/switcher"
	"github.com/hashgate/hashgate/switcher/device"
)

// Defaults of Config.
const (
	DefaultMaxMessageBytes      = 4096
	DefaultQueue                = 16
	DefaultConnectTimeout       = 10 * time.Second
	DefaultMaxReconnectInterval = 30 * time.Second
	DefaultKeepAlive            = 30 * time.Second
	DefaultPublishTimeout       = 5 * time.Second
)

// Config says which broker and topics, and how the subscriber is bounded.
type Config struct {
	Broker     string // tcp://host:1883, ssl://host:8883 (or tls://, ws://, wss://)
	ClientID   string // required; unique at the broker
	Topic      string // the signals (an MQTT topic filter)
	ReplyTopic string // the acks
	QoS        byte   // 0, 1 or 2, for the subscription and the acks (as written: [mqtt] qos defaults to 1)
	Username   string
	Password   device.Secret
	TLS        *tls.Config // nil: as the broker URL's scheme says, default settings

	// CurtailKW is the mining budget a curtail command leaves (0: all
	// mining off); CurtailEmergency makes the curtail an emergency
	// allocation (min_on ignored, resumes held until a non-emergency one).
	CurtailKW        float64
	CurtailEmergency bool

	MaxMessageBytes      int           // larger messages are refused (default 4096)
	Queue                int           // signals waiting for the switcher; more are refused (default 16)
	ConnectTimeout       time.Duration // Start's bound, and each connection attempt's (default 10s)
	MaxReconnectInterval time.Duration // the reconnect back-off's ceiling (from 1s, doubling; default 30s)
	KeepAlive            time.Duration // default 30s
	PublishTimeout       time.Duration // an ack not sent by then is dropped (default 5s)

	Switcher *switcher.Switcher
	Log      zerolog.Logger
	Now      func() time.Time // tests; default time.Now
}

// Counters count what became of the messages.
type Counters struct {
	Received   atomic.Uint64 // messages on the topic
	Applied    atomic.Uint64 // handed to the switcher and acked ok
	Failed     atomic.Uint64 // refused: not a signal, or the switcher said no
	Oversized  atomic.Uint64 // refused: over MaxMessageBytes
	QueueFull  atomic.Uint64 // refused: the queue was full
	AcksSent   atomic.Uint64
	AcksFailed atomic.Uint64 // not published in time, or the ack queue was full
	Subscribes atomic.Uint64 // subscriptions made (the first and one per reconnect)
}

type inbound struct{ payload []byte }

// Subscriber takes grid signals from an MQTT topic to the switcher. Start
// returns once subscribed, Close once stopped.
type Subscriber struct {
	cfg       Config
	who       string
	client    mqtt.Client
	apply     applier
	inbox     chan inbound
	acks      chan Ack
	connected chan struct{} // the client (re)connected: subscribe
	subbed    chan struct{} // closed at the first subscription
	subOnce   sync.Once
	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	counters  Counters
}

// New checks cfg and fills its defaults; nothing runs until Start.
func New(cfg Config) (*Subscriber, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	cfg.defaults()
	s := &Subscriber{cfg: cfg, who: "mqtt:" + cfg.Topic,
		inbox: make(chan inbound, cfg.Queue), acks: make(chan Ack, 2*cfg.Queue),
		connected: make(chan struct{}, 1), subbed: make(chan struct{}), stop: make(chan struct{})}
	s.apply = applier{sw: cfg.Switcher, who: s.who, topic: cfg.Topic, curtailKW: cfg.CurtailKW,
		emergency: cfg.CurtailEmergency, now: cfg.Now}
	return s, nil
}

func (c *Config) check() error {
	u, err := url.Parse(c.Broker)
	switch {
	case c.Switcher == nil:
		return errors.New("mqtt: no switcher")
	case err != nil || u.Host == "":
		return fmt.Errorf("mqtt: broker %q is not a URL such as tcp://host:1883", redact(c.Broker))
	case u.User != nil:
		return errors.New("mqtt: broker URL must not hold credentials; use username and password_file")
	case c.ClientID == "" || c.Topic == "" || c.ReplyTopic == "":
		return errors.New("mqtt: client_id, topic and reply_topic are required")
	case c.QoS > 2:
		return fmt.Errorf("mqtt: qos %d; expected 0, 1 or 2", c.QoS)
	}
	return nil
}

func (c *Config) defaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	set(&c.ConnectTimeout, DefaultConnectTimeout)
	set(&c.MaxReconnectInterval, DefaultMaxReconnectInterval)
	set(&c.KeepAlive, DefaultKeepAlive)
	set(&c.PublishTimeout, DefaultPublishTimeout)
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.Queue <= 0 {
		c.Queue = DefaultQueue
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// redact drops a URL's user info for logs and errors.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "<unparsable URL>"
	}
	u.User = nil
	return u.String()
}

// Counters are the subscriber's counts so far.
func (s *Subscriber) Counters() *Counters { return &s.counters }

// Who is the name signals are applied under ("mqtt:TOPIC").
func (s *Subscriber) Who() string { return s.who }
