package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hashgate/hashgate/config/tomlfile"
	"github.com/hashgate/hashgate/switcher/device"
)

// Grid is the grid side of the site (issue 13): [mqtt], the grid signals
// subscription, and [modbus_server], the site's figures for its RTU or
// SCADA. Each is nil when its table is not written (off).
type Grid struct {
	MQTT         *MQTT
	ModbusServer *ModbusServer
}

// MQTT is the [mqtt] table (see grid/mqttsignal).
type MQTT struct {
	Broker     string // broker: tcp://host:1883, ssl://host:8883 (also mqtt, mqtts, tls, ws, wss); required
	ClientID   string // client_id (default "hashgate")
	Topic      string // topic: the signals; required
	ReplyTopic string // reply_topic: the acks; required
	QoS        int    // qos: 0, 1 or 2 (default 1)
	Username   string // username
	// PasswordFile is password_file as written, PasswordFilePath it
	// resolved; Password its trimmed contents.
	PasswordFile     string
	PasswordFilePath string
	Password         device.Secret
	// tls_ca_file, tls_cert_file + tls_key_file (a client certificate),
	// tls_server_name, tls_insecure_skip_verify: for an ssl://, mqtts://,
	// tls:// or wss:// broker. Paths resolved against the config's
	// directory.
	TLSCAFile             string
	TLSCertFile           string
	TLSKeyFile            string
	TLSServerName         string
	TLSInsecureSkipVerify bool

	CurtailKW            float64  // curtail_kw: the mining budget a curtail command leaves (default 0: all off)
	CurtailEmergency     bool     // curtail_emergency: a curtail is an emergency allocation
	MaxMessageBytes      int      // max_message_bytes, 64..1048576 (default 4096)
	Queue                int      // queue: signals waiting for the switcher, 1..4096 (default 16)
	ConnectTimeout       Duration // connect_timeout (default 10s)
	MaxReconnectInterval Duration // max_reconnect_interval (default 30s)
	KeepAlive            Duration // keepalive (default 30s)
	PublishTimeout       Duration // publish_timeout (default 5s)
}

// ModbusServer is the [modbus_server] table (see grid/registers).
type ModbusServer struct {
	Listen      string   // listen: host:port (required; the Modbus port is 502)
	UnitID      int      // unit_id, 1..247 (default 1)
	Refresh     Duration // refresh: at most 2s (default 1s)
	MaxClients  int      // max_clients, 1..1024 (default 8)
	IdleTimeout Duration // idle_timeout: a client silent this long is dropped (default 2m)
}

var (
	mqttKeys = []string{"broker", "client_id", "topic", "reply_topic", "qos", "username", "password", "password_file",
		"tls_ca_file", "tls_cert_file", "tls_key_file", "tls_server_name", "tls_insecure_skip_verify",
		"curtail_kw", "curtail_emergency", "max_message_bytes", "queue", "connect_timeout", "max_reconnect_interval",
		"keepalive", "publish_timeout"}
	modbusServerKeys = []string{"listen", "unit_id", "refresh", "max_clients", "idle_timeout"}

	mqttSchemes    = []string{"tcp", "mqtt", "ssl", "tls", "mqtts", "ws", "wss"}
	mqttTLSSchemes = []string{"ssl", "tls", "mqtts", "wss"}
)

// maxModbusRefresh is the bound on the figures' age.
const maxModbusRefresh = 2 * time.Second

// DefaultMQTT is [mqtt] with every default and nothing required.
func DefaultMQTT() MQTT {
	return MQTT{ClientID: "hashgate", QoS: 1, MaxMessageBytes: 4096, Queue: 16,
		ConnectTimeout: Duration{10 * time.Second}, MaxReconnectInterval: Duration{30 * time.Second},
		KeepAlive: Duration{30 * time.Second}, PublishTimeout: Duration{5 * time.Second}}
}

// DefaultModbusServer is [modbus_server] with every default.
func DefaultModbusServer() ModbusServer {
	return ModbusServer{UnitID: 1, Refresh: Duration{time.Second}, MaxClients: 8, IdleTimeout: Duration{2 * time.Minute}}
}

// grid reads [mqtt] and [modbus_server].
func (d *decoder) grid(raw map[string]any, g *Grid) {
	if m, ok := d.Table(raw, "", "mqtt"); ok {
		c := DefaultMQTT()
		d.mqtt(m, &c)
		g.MQTT = &c
	}
	if m, ok := d.Table(raw, "", "modbus_server"); ok {
		c := DefaultModbusServer()
		d.modbusServer(m, &c)
		g.ModbusServer = &c
	}
}

func (d *decoder) mqtt(m map[string]any, c *MQTT) {
	const p = "mqtt"
	d.Unknown(p, m, mqttKeys)
	d.mqttBroker(m, c)
	for _, k := range []struct {
		key string
		dst *string
	}{{"client_id", &c.ClientID}, {"topic", &c.Topic}, {"reply_topic", &c.ReplyTopic}} {
		if _, ok := m[k.key]; !ok {
			if *k.dst == "" {
				d.Errorf(p, "mqtt: %s is required", k.key)
			}
			continue
		}
		if d.Str(m, p, k.key, k.dst) && *k.dst == "" {
			d.Errorf(p+"."+k.key, "mqtt.%s: must not be empty", k.key)
		}
	}
	if strings.ContainsAny(c.ReplyTopic, "+#") {
		d.Errorf(p+".reply_topic", "mqtt.reply_topic: %q has a wildcard; acks are published to one topic", c.ReplyTopic)
	}
	if d.Integer(m, p, "qos", &c.QoS) {
		d.between(p+".qos", c.QoS, 0, 2)
	}
	d.mqttCredentials(m, c)
	d.mqttTLS(m, c)
	if d.Float(m, p, "curtail_kw", &c.CurtailKW) && !(c.CurtailKW >= 0 && !math.IsInf(c.CurtailKW, 0)) {
		d.Errorf(p+".curtail_kw", "mqtt.curtail_kw: must be a finite number ≥ 0 (the mining budget a curtail leaves), got %s", tomlfile.FormatFloat(c.CurtailKW))
	}
	d.Bool(m, p, "curtail_emergency", &c.CurtailEmergency)
	if d.Integer(m, p, "max_message_bytes", &c.MaxMessageBytes) {
		d.between(p+".max_message_bytes", c.MaxMessageBytes, 64, 1<<20)
	}
	if d.Integer(m, p, "queue", &c.Queue) {
		d.between(p+".queue", c.Queue, 1, 4096)
	}
	d.Duration(m, p, "connect_timeout", &c.ConnectTimeout.Duration)
	d.Duration(m, p, "max_reconnect_interval", &c.MaxReconnectInterval.Duration)
	d.Duration(m, p, "keepalive", &c.KeepAlive.Duration)
	d.Duration(m, p, "publish_timeout", &c.PublishTimeout.Duration)
}

// mqttBroker reads broker: a URL of a scheme paho dials, with a host and
// no credentials.
func (d *decoder) mqttBroker(m map[string]any, c *MQTT) {
	const kp = "mqtt.broker"
	if _, ok := m["broker"]; !ok {
		d.Errorf("mqtt", `mqtt: broker is required, e.g. broker = "tcp://10.0.0.9:1883"`)
		return
	}
	if !d.Str(m, "mqtt", "broker", &c.Broker) {
		return
	}
	u, err := url.Parse(c.Broker)
	switch {
	case err != nil || u.Host == "" || !slices.Contains(mqttSchemes, u.Scheme):
		d.Errorf(kp, "%s: %q is not a broker URL; expected scheme://host:port with scheme one of %s, e.g. \"tcp://10.0.0.9:1883\"",
			kp, tomlfile.RedactURL(c.Broker), strings.Join(mqttSchemes, ", "))
	case u.User != nil:
		d.Errorf(kp, "%s: %q holds credentials; use username and password_file", kp, tomlfile.RedactURL(c.Broker))
	}
}

func (d *decoder) mqttCredentials(m map[string]any, c *MQTT) {
	const p = "mqtt"
	if _, ok := m["password"]; ok {
		d.Errorf(p+".password", "mqtt.password: not taken inline (the value is not shown); put it in a file and set password_file")
	}
	d.Str(m, p, "username", &c.Username)
	if d.Str(m, p, "password_file", &c.PasswordFile) {
		c.PasswordFilePath = d.Resolve(c.PasswordFile)
		if pw := d.readPassword(p+".password_file", c.PasswordFilePath); pw != "" {
			c.Password = device.NewSecret(pw)
		}
		if c.Username == "" {
			d.Errorf(p+".password_file", "mqtt.password_file: set without a username")
		}
	}
}

// readPassword reads a password file, trimmed; "" when it cannot (the
// error, which never holds the contents, is recorded at path).
func (d *decoder) readPassword(path, file string) string {
	if file == "" {
		d.Errorf(path, "%s: must not be empty; expected the path of a file holding the password", path)
		return ""
	}
	data, err := os.ReadFile(file)
	if err != nil {
		d.Errorf(path, "%s: %v", path, unwrapPath(err))
		return ""
	}
	pw := strings.TrimSpace(string(data))
	if pw == "" {
		d.Errorf(path, "%s: %s is empty; it must hold the password", path, file)
	}
	return pw
}

func (d *decoder) mqttTLS(m map[string]any, c *MQTT) {
	const p = "mqtt"
	set := false
	for _, k := range []struct {
		key string
		dst *string
		res bool
	}{{"tls_ca_file", &c.TLSCAFile, true}, {"tls_cert_file", &c.TLSCertFile, true}, {"tls_key_file", &c.TLSKeyFile, true},
		{"tls_server_name", &c.TLSServerName, false}} {
		if d.Str(m, p, k.key, k.dst) {
			set = true
			if k.res {
				*k.dst = d.Resolve(*k.dst)
			}
		}
	}
	if d.Bool(m, p, "tls_insecure_skip_verify", &c.TLSInsecureSkipVerify) {
		set = true
	}
	if !set {
		return
	}
	if u, err := url.Parse(c.Broker); err == nil && c.Broker != "" && !slices.Contains(mqttTLSSchemes, u.Scheme) {
		d.Errorf(p+".broker", "mqtt.broker: tls_* options need a TLS broker URL (%s), got %q", strings.Join(mqttTLSSchemes, ", "), tomlfile.RedactURL(c.Broker))
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		d.Errorf(p+".tls_cert_file", "mqtt: tls_cert_file and tls_key_file go together (a client certificate and its key)")
		return
	}
	if _, err := c.TLSConfig(); err != nil {
		d.Errorf(p+".tls_ca_file", "mqtt: %v", err)
	}
}

// TLSConfig builds the client's TLS settings from the tls_* keys; nil
// when none is set (an ssl:// broker then uses the system's roots).
func (c *MQTT) TLSConfig() (*tls.Config, error) {
	if c.TLSCAFile == "" && c.TLSCertFile == "" && c.TLSServerName == "" && !c.TLSInsecureSkipVerify {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.TLSServerName, InsecureSkipVerify: c.TLSInsecureSkipVerify} //nolint:gosec // the operator's explicit choice
	if c.TLSCAFile != "" {
		pem, err := os.ReadFile(c.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("tls_ca_file: %w", unwrapPath(err))
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls_ca_file: %s holds no PEM certificate", c.TLSCAFile)
		}
	}
	if c.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls_cert_file, tls_key_file: %w", unwrapPath(err))
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// unwrapPath keeps "open FILE: no such file or directory" short and free
// of Go's error wrapping.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("cannot read %s: %w", pe.Path, pe.Err)
	}
	return err
}

func (d *decoder) modbusServer(m map[string]any, c *ModbusServer) {
	const p = "modbus_server"
	d.Unknown(p, m, modbusServerKeys)
	if _, ok := m["listen"]; !ok {
		d.Errorf(p, `modbus_server: listen is required, e.g. listen = "0.0.0.0:502"`)
	} else if d.Str(m, p, "listen", &c.Listen) {
		d.listen(p+".listen", c.Listen, "0.0.0.0:502")
	}
	if d.Integer(m, p, "unit_id", &c.UnitID) && !(c.UnitID >= 1 && c.UnitID <= 247 || c.UnitID == 255) {
		d.Errorf(p+".unit_id", "modbus_server.unit_id: must be between 1 and 247 (or 255), got %d", c.UnitID)
	}
	if d.Duration(m, p, "refresh", &c.Refresh.Duration) && c.Refresh.Duration > maxModbusRefresh {
		d.Errorf(p+".refresh", "modbus_server.refresh: at most %v (the registers must not be older), got %v", maxModbusRefresh, c.Refresh.Duration)
	}
	if d.Integer(m, p, "max_clients", &c.MaxClients) {
		d.between(p+".max_clients", c.MaxClients, 1, 1024)
	}
	d.Duration(m, p, "idle_timeout", &c.IdleTimeout.Duration)
}
