package site

import (
	"errors"
	"fmt"

	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/grid/mqttsignal"
	"github.com/hashgate/hashgate/grid/registers"
)

// gridParts are the grid side's pieces, each nil unless its table is in
// the config: the MQTT grid signals subscriber and the Modbus TCP server.
type gridParts struct {
	mqtt   *mqttsignal.Subscriber
	modbus *registers.Server
}

// newGrid builds the grid pieces the config asks for (nothing runs yet).
// Both need the switcher: a config with [mqtt] or [modbus_server] and no
// policy is refused.
func (s *Site) newGrid() error {
	c := s.cfg.Grid
	if c.MQTT == nil && c.ModbusServer == nil {
		return nil
	}
	if s.switcher == nil {
		return errors.New("[mqtt] and [modbus_server] act on the switcher: set switcher.policy")
	}
	if c.MQTT != nil {
		mc, err := MQTTConfig(c.MQTT)
		if err != nil {
			return err
		}
		mc.Switcher, mc.Log = s.switcher, s.log.With().Str("part", "mqtt").Logger()
		if s.grid.mqtt, err = mqttsignal.New(mc); err != nil {
			return err
		}
	}
	if c.ModbusServer != nil {
		rc := ModbusServerConfig(c.ModbusServer)
		rc.Switcher, rc.Log = s.switcher, s.log.With().Str("part", "modbus_server").Logger()
		proxy := s.proxy
		rc.Connected = func() int64 { return proxy.Stats().Connections }
		var err error
		if s.grid.modbus, err = registers.New(rc); err != nil {
			return err
		}
	}
	return nil
}

// MQTTConfig maps [mqtt] onto the subscriber's config (the switcher and
// the log are the caller's).
func MQTTConfig(c *config.MQTT) (mqttsignal.Config, error) {
	tc, err := c.TLSConfig()
	if err != nil {
		return mqttsignal.Config{}, fmt.Errorf("mqtt: %w", err)
	}
	return mqttsignal.Config{Broker: c.Broker, ClientID: c.ClientID, Topic: c.Topic, ReplyTopic: c.ReplyTopic,
		QoS: byte(c.QoS), Username: c.Username, Password: c.Password, TLS: tc,
		CurtailKW: c.CurtailKW, CurtailEmergency: c.CurtailEmergency,
		MaxMessageBytes: c.MaxMessageBytes, Queue: c.Queue, ConnectTimeout: c.ConnectTimeout.Duration,
		MaxReconnectInterval: c.MaxReconnectInterval.Duration, KeepAlive: c.KeepAlive.Duration,
		PublishTimeout: c.PublishTimeout.Duration}, nil
}

// ModbusServerConfig maps [modbus_server] onto the server's config (the
// switcher, the connected count and the log are the caller's).
func ModbusServerConfig(c *config.ModbusServer) registers.Config {
	return registers.Config{Listen: c.Listen, UnitID: uint8(c.UnitID), Refresh: c.Refresh.Duration,
		MaxClients: uint(c.MaxClients), IdleTimeout: c.IdleTimeout.Duration}
}

// startGrid starts the Modbus server, then the MQTT subscriber (which
// returns once subscribed).
func (s *Site) startGrid() error {
	if s.grid.modbus != nil {
		if err := s.grid.modbus.Start(); err != nil {
			return err
		}
	}
	if s.grid.mqtt != nil {
		if err := s.grid.mqtt.Start(); err != nil {
			return err
		}
	}
	return nil
}

// closeGrid stops them in the reverse order: no signal reaches the
// switcher after.
func (s *Site) closeGrid() error {
	if s.grid.mqtt != nil {
		s.grid.mqtt.Close()
	}
	if s.grid.modbus != nil {
		return s.grid.modbus.Close()
	}
	return nil
}

// ModbusAddr is where the Modbus TCP server listens ("" without one, or
// before Start).
func (s *Site) ModbusAddr() string {
	if s.grid.modbus == nil {
		return ""
	}
	return s.grid.modbus.Addr()
}

// GridSignals is the MQTT grid signals subscriber; nil without [mqtt].
func (s *Site) GridSignals() *mqttsignal.Subscriber { return s.grid.mqtt }
