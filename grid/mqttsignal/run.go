package mqttsignal

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Start connects, subscribes and starts the worker and the ack
// publisher. It returns once the topic is subscribed, or an error after
// ConnectTimeout (and then nothing runs).
func (s *Subscriber) Start() error {
	s.client = mqtt.NewClient(s.options())
	s.wg.Add(3)
	go s.session()
	go s.worker()
	go s.publisher()
	tok := s.client.Connect()
	deadline := time.NewTimer(s.cfg.ConnectTimeout)
	defer deadline.Stop()
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			s.Close()
			return fmt.Errorf("mqtt: connect to %s: %w", redact(s.cfg.Broker), err)
		}
	case <-deadline.C:
		s.Close()
		return fmt.Errorf("mqtt: no connection to %s within %v", redact(s.cfg.Broker), s.cfg.ConnectTimeout)
	}
	select {
	case <-s.subbed:
	case <-deadline.C:
		s.Close()
		return fmt.Errorf("mqtt: connected to %s but not subscribed to %q within %v", redact(s.cfg.Broker), s.cfg.Topic, s.cfg.ConnectTimeout)
	}
	s.cfg.Log.Info().Str("broker", redact(s.cfg.Broker)).Str("topic", s.cfg.Topic).Str("reply_topic", s.cfg.ReplyTopic).Msg("mqtt grid signals subscribed")
	return nil
}

func (s *Subscriber) options() *mqtt.ClientOptions {
	o := mqtt.NewClientOptions().AddBroker(s.cfg.Broker).SetClientID(s.cfg.ClientID).
		SetCleanSession(true).SetResumeSubs(false).SetOrderMatters(true).
		SetAutoReconnect(true).SetConnectRetry(false).SetMaxReconnectInterval(s.cfg.MaxReconnectInterval).
		SetConnectTimeout(s.cfg.ConnectTimeout).SetWriteTimeout(s.cfg.PublishTimeout).
		SetKeepAlive(s.cfg.KeepAlive).SetPingTimeout(s.cfg.ConnectTimeout).
		SetOnConnectHandler(func(mqtt.Client) {
			select { // the session subscribes; a signal already pending is enough
			case s.connected <- struct{}{}:
			default:
			}
		}).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			s.cfg.Log.Warn().Err(err).Str("broker", redact(s.cfg.Broker)).Msg("mqtt connection lost; reconnecting")
		})
	if s.cfg.TLS != nil {
		o.SetTLSConfig(s.cfg.TLS)
	}
	if s.cfg.Username != "" || !s.cfg.Password.IsZero() {
		user, pw := s.cfg.Username, s.cfg.Password
		o.SetCredentialsProvider(func() (string, string) { return user, pw.Reveal() })
	}
	return o
}

// Close disconnects and stops the goroutines; it returns once they have
// stopped. Signals still queued are dropped unacknowledged.
func (s *Subscriber) Close() {
	s.closeOnce.Do(func() {
		close(s.stop)
		s.wg.Wait()
		if s.client != nil {
			s.client.Disconnect(250)
		}
	})
}

// session subscribes each time the client (re)connects (a clean session
// forgets subscriptions), retrying a refused subscription with back-off.
func (s *Subscriber) session() {
	defer s.wg.Done()
	var retry <-chan time.Time
	backoff := time.Second
	for {
		select {
		case <-s.stop:
			return
		case <-s.connected:
		case <-retry:
		}
		retry = nil
		err := s.subscribe()
		if errors.Is(err, errSkip) {
			continue // stopping, or not connected: the next connection subscribes
		}
		if err != nil {
			s.cfg.Log.Warn().Err(err).Str("topic", s.cfg.Topic).Dur("retry_in", backoff).Msg("mqtt subscribe failed")
			retry = time.After(backoff)
			backoff = min(2*backoff, s.cfg.MaxReconnectInterval)
			continue
		}
		backoff = time.Second
		if s.counters.Subscribes.Add(1) > 1 {
			s.cfg.Log.Info().Str("topic", s.cfg.Topic).Msg("mqtt reconnected and subscribed again")
		}
		s.subOnce.Do(func() { close(s.subbed) })
	}
}

// errSkip: no subscription made, and none to retry.
var errSkip = errors.New("skip")

func (s *Subscriber) subscribe() error {
	if !s.client.IsConnectionOpen() {
		return errSkip
	}
	tok := s.client.Subscribe(s.cfg.Topic, s.cfg.QoS, s.onMessage)
	t := time.NewTimer(s.cfg.ConnectTimeout)
	defer t.Stop()
	select {
	case <-tok.Done():
	case <-t.C:
		return fmt.Errorf("no answer within %v", s.cfg.ConnectTimeout)
	case <-s.stop:
		return errSkip
	}
	if err := tok.Error(); err != nil {
		return err
	}
	if st, ok := tok.(*mqtt.SubscribeToken); ok {
		if code := st.Result()[s.cfg.Topic]; code == 0x80 {
			return fmt.Errorf("the broker refused the subscription")
		}
	}
	return nil
}

// onMessage runs on paho's goroutine: it never blocks. A message too
// large, or one that finds the queue full, is refused at once.
func (s *Subscriber) onMessage(_ mqtt.Client, m mqtt.Message) {
	s.counters.Received.Add(1)
	p := m.Payload()
	if len(p) > s.cfg.MaxMessageBytes {
		s.counters.Oversized.Add(1)
		s.queueAck(Ack{Error: fmt.Sprintf("refused: message of %d bytes is over the limit of %d", len(p), s.cfg.MaxMessageBytes)})
		return
	}
	select {
	case s.inbox <- inbound{payload: append([]byte(nil), p...)}:
	default:
		s.counters.QueueFull.Add(1)
		s.queueAck(Ack{ID: peekID(p), Error: fmt.Sprintf("refused: %d signals already wait for the switcher; send it again", s.cfg.Queue)})
	}
}

// queueAck queues an ack without blocking; a full ack queue drops it.
func (s *Subscriber) queueAck(a Ack) {
	select {
	case s.acks <- a:
	default:
		s.counters.AcksFailed.Add(1)
	}
}

// worker hands the queued signals to the switcher, one at a time.
func (s *Subscriber) worker() {
	defer s.wg.Done()
	for {
		select {
		case <-s.stop:
			return
		case in := <-s.inbox:
			a := s.handle(in.payload)
			select {
			case s.acks <- a:
			case <-s.stop:
				return
			}
		}
	}
}

func (s *Subscriber) handle(payload []byte) Ack {
	sig, err := Parse(payload, s.cfg.Now())
	var a Ack
	if err != nil {
		a = Ack{ID: sig.ID, Error: err.Error()}
	} else {
		a = s.apply.apply(sig)
	}
	if a.OK {
		s.counters.Applied.Add(1)
	} else {
		s.counters.Failed.Add(1)
	}
	if !a.OK {
		s.cfg.Log.Debug().Str("id", a.ID).Str("kind", string(a.Kind)).Str("error", a.Error).Msg("mqtt signal refused")
	}
	return a
}

// publisher sends the acks on the reply topic, each within PublishTimeout.
func (s *Subscriber) publisher() {
	defer s.wg.Done()
	for {
		select {
		case <-s.stop:
			return
		case a := <-s.acks:
			s.publish(a)
		}
	}
}

func (s *Subscriber) publish(a Ack) {
	body, _ := json.Marshal(a) // an Ack always marshals
	tok := s.client.Publish(s.cfg.ReplyTopic, s.cfg.QoS, false, body)
	t := time.NewTimer(s.cfg.PublishTimeout)
	defer t.Stop()
	select {
	case <-tok.Done():
	case <-t.C:
		s.counters.AcksFailed.Add(1)
		s.cfg.Log.Warn().Str("id", a.ID).Dur("timeout", s.cfg.PublishTimeout).Msg("mqtt ack not published in time; dropped")
		return
	case <-s.stop:
		return
	}
	if err := tok.Error(); err != nil {
		s.counters.AcksFailed.Add(1)
		s.cfg.Log.Warn().Err(err).Str("id", a.ID).Msg("mqtt ack not published")
		return
	}
	s.counters.AcksSent.Add(1)
}
