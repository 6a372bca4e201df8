package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const gridMQTT = `[mqtt]
broker = "ssl://broker.example:8883"
client_id = "site-7"
topic = "ercot/site7/signal"
reply_topic = "ercot/site7/ack"
qos = 2
username = "hashgate"
password_file = "mqtt.pw"
tls_ca_file = "ca.pem"
tls_cert_file = "client.pem"
tls_key_file = "client.key"
tls_server_name = "broker.example"
curtail_kw = 250.5
curtail_emergency = true
max_message_bytes = 2048
queue = 32
connect_timeout = "3s"
max_reconnect_interval = "1m"
keepalive = "15s"
publish_timeout = "2s"

[modbus_server]
listen = "0.0.0.0:502"
unit_id = 3
refresh = "500ms"
max_clients = 4
idle_timeout = "30s"
`

// selfSigned writes a PEM certificate and its key into dir.
func selfSigned(t *testing.T, dir, cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hashgate test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, cert), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, filepath.Join(dir, key), string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})))
}

func TestParseGrid(t *testing.T) {
	dir := t.TempDir()
	selfSigned(t, dir, "client.pem", "client.key")
	selfSigned(t, dir, "ca.pem", "ca.key")
	writeFile(t, filepath.Join(dir, "mqtt.pw"), "s3cret-pw\n")
	c, err := Parse(filepath.Join(dir, "hashgate.toml"), []byte(gridMQTT+pool))
	if err != nil {
		t.Fatal(err)
	}
	m := c.MQTT
	if m == nil || c.ModbusServer == nil {
		t.Fatalf("grid tables: got mqtt %v modbus_server %v, want both", m, c.ModbusServer)
	}
	if m.Password.Reveal() != "s3cret-pw" {
		t.Errorf("password: got %q, want the file's trimmed contents", m.Password.Reveal())
	}
	want := MQTT{Broker: "ssl://broker.example:8883", ClientID: "site-7", Topic: "ercot/site7/signal", ReplyTopic: "ercot/site7/ack",
		QoS: 2, Username: "hashgate", PasswordFile: "mqtt.pw", PasswordFilePath: filepath.Join(dir, "mqtt.pw"), Password: m.Password,
		TLSCAFile: filepath.Join(dir, "ca.pem"), TLSCertFile: filepath.Join(dir, "client.pem"), TLSKeyFile: filepath.Join(dir, "client.key"),
		TLSServerName: "broker.example", CurtailKW: 250.5, CurtailEmergency: true, MaxMessageBytes: 2048, Queue: 32,
		ConnectTimeout: Duration{3 * time.Second}, MaxReconnectInterval: Duration{time.Minute}, KeepAlive: Duration{15 * time.Second},
		PublishTimeout: Duration{2 * time.Second}}
	if !reflect.DeepEqual(*m, want) {
		t.Errorf("mqtt:\n got  %+v\n want %+v", *m, want)
	}
	tc, err := m.TLSConfig()
	if err != nil || tc == nil || len(tc.Certificates) != 1 || tc.RootCAs == nil || tc.ServerName != "broker.example" {
		t.Errorf("TLSConfig: got %+v, %v; want a client certificate, the CA and the server name", tc, err)
	}
	wantMB := ModbusServer{Listen: "0.0.0.0:502", UnitID: 3, Refresh: Duration{500 * time.Millisecond}, MaxClients: 4, IdleTimeout: Duration{30 * time.Second}}
	if *c.ModbusServer != wantMB {
		t.Errorf("modbus_server: got %+v, want %+v", *c.ModbusServer, wantMB)
	}
	if s := fmt.Sprintf("%+v %v", *m, *m); strings.Contains(s, "s3cret-pw") {
		t.Errorf("the config printed shows the password: %s; want !strings.Contains(s, \"s3cret-pw\")", s)
	}
}

func TestParseGridDefaults(t *testing.T) {
	c, err := Parse("hashgate.toml", []byte("[mqtt]\nbroker = \"tcp://10.0.0.9:1883\"\ntopic = \"g/s\"\nreply_topic = \"g/a\"\n\n[modbus_server]\nlisten = \"0.0.0.0:502\"\n"+pool))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultMQTT()
	want.Broker, want.Topic, want.ReplyTopic = "tcp://10.0.0.9:1883", "g/s", "g/a"
	if !reflect.DeepEqual(*c.MQTT, want) {
		t.Errorf("mqtt defaults:\n got  %+v\n want %+v", *c.MQTT, want)
	}
	wantMB := DefaultModbusServer()
	wantMB.Listen = "0.0.0.0:502"
	if *c.ModbusServer != wantMB {
		t.Errorf("modbus_server defaults: got %+v, want %+v", *c.ModbusServer, wantMB)
	}
	c, err = Parse("hashgate.toml", []byte(pool))
	if err != nil || c.MQTT != nil || c.ModbusServer != nil {
		t.Errorf("no grid tables: got mqtt %v modbus_server %v (err %v), want both off", c.MQTT, c.ModbusServer, err)
	}
}

// TestParseGridErrors lists bad [mqtt] and [modbus_server] tables and the
// errors each must give, as "LINE:COL: message" ($DIR: the config's
// directory).
func TestParseGridErrors(t *testing.T) {
	const head = "[mqtt]\nbroker = \"tcp://b:1883\"\ntopic = \"s\"\nreply_topic = \"a\"\n" // lines 1-4
	tests := []struct {
		name, input string
		files       map[string]string
		want        []string
	}{
		{"mqtt: nothing required", "[mqtt]\nqos = 1\n", nil, []string{
			`1:1: mqtt: broker is required, e.g. broker = "tcp://10.0.0.9:1883"`,
			`1:1: mqtt: topic is required`,
			`1:1: mqtt: reply_topic is required`,
		}},
		{"mqtt: not a URL", "[mqtt]\nbroker = \"10.0.0.9:1883\"\ntopic = \"s\"\nreply_topic = \"a\"\n", nil, []string{
			`2:1: mqtt.broker: "10.0.0.9:1883" is not a broker URL; expected scheme://host:port with scheme one of tcp, mqtt, ssl, tls, mqtts, ws, wss, e.g. "tcp://10.0.0.9:1883"`,
		}},
		{"mqtt: credentials in the URL", "[mqtt]\nbroker = \"tcp://u:hunter2@b:1883\"\ntopic = \"s\"\nreply_topic = \"a\"\n", nil, []string{
			`2:1: mqtt.broker: "tcp://REDACTED@b:1883" holds credentials; use username and password_file`,
		}},
		{"mqtt: inline password", head + "username = \"u\"\npassword = \"hunter2\"\n", nil, []string{
			`6:1: mqtt.password: not taken inline (the value is not shown); put it in a file and set password_file`,
		}},
		{"mqtt: password file missing", head + "username = \"u\"\npassword_file = \"nope.pw\"\n", nil, []string{
			`6:1: mqtt.password_file: cannot read $DIR/nope.pw: no such file or directory`,
		}},
		{"mqtt: password file empty", head + "username = \"u\"\npassword_file = \"pw\"\n", map[string]string{"pw": " \n"}, []string{
			`6:1: mqtt.password_file: $DIR/pw is empty; it must hold the password`,
		}},
		{"mqtt: password file without username", head + "password_file = \"pw\"\n", map[string]string{"pw": "x"}, []string{
			`5:1: mqtt.password_file: set without a username`,
		}},
		{"mqtt: bad values", head + "qos = 3\ncurtail_kw = -1\nmax_message_bytes = 10\nqueue = 0\nconnect_timeout = \"0s\"\n", nil, []string{
			`5:1: mqtt.qos: must be between 0 and 2, got 3`,
			`6:1: mqtt.curtail_kw: must be a finite number ≥ 0 (the mining budget a curtail leaves), got -1`,
			`7:1: mqtt.max_message_bytes: must be between 64 and 1048576, got 10`,
			`8:1: mqtt.queue: must be between 1 and 4096, got 0`,
			`9:1: mqtt.connect_timeout: must be greater than 0, got "0s"`,
		}},
		{"mqtt: wildcard reply topic", "[mqtt]\nbroker = \"tcp://b:1883\"\ntopic = \"s\"\nreply_topic = \"a/+\"\n", nil, []string{
			`4:1: mqtt.reply_topic: "a/+" has a wildcard; acks are published to one topic`,
		}},
		{"mqtt: tls on tcp", head + "tls_server_name = \"b\"\n", nil, []string{
			`2:1: mqtt.broker: tls_* options need a TLS broker URL (ssl, tls, mqtts, wss), got "tcp://b:1883"`,
		}},
		{"mqtt: tls files", "[mqtt]\nbroker = \"ssl://b:8883\"\ntopic = \"s\"\nreply_topic = \"a\"\ntls_ca_file = \"ca.pem\"\n", map[string]string{"ca.pem": "not pem"}, []string{
			`5:1: mqtt: tls_ca_file: $DIR/ca.pem holds no PEM certificate`,
		}},
		{"mqtt: cert without key", "[mqtt]\nbroker = \"ssl://b:8883\"\ntopic = \"s\"\nreply_topic = \"a\"\ntls_cert_file = \"c.pem\"\n", nil, []string{
			`5:1: mqtt: tls_cert_file and tls_key_file go together (a client certificate and its key)`,
		}},
		{"mqtt: unknown key", head + "curtail_kv = 1\n", nil, []string{
			`5:1: unknown key "mqtt.curtail_kv" (did you mean "curtail_kw"?)`,
		}},
		{"mqtt: not a table", "mqtt = \"tcp://b:1883\"\n", nil, []string{
			`1:1: mqtt: expected a table ([mqtt]), got string "tcp://b:1883"`,
		}},
		{"modbus_server: no listen", "[modbus_server]\nunit_id = 1\n", nil, []string{
			`1:1: modbus_server: listen is required, e.g. listen = "0.0.0.0:502"`,
		}},
		{"modbus_server: bad values", "[modbus_server]\nlisten = \"502\"\nunit_id = 0\nrefresh = \"5s\"\nmax_clients = 0\nidle_timeout = \"-1s\"\n", nil, []string{
			`2:1: modbus_server.listen: "502" is not host:port (missing port in address); expected e.g. "0.0.0.0:502"`,
			`3:1: modbus_server.unit_id: must be between 1 and 247 (or 255), got 0`,
			`4:1: modbus_server.refresh: at most 2s (the registers must not be older), got 5s`,
			`5:1: modbus_server.max_clients: must be between 1 and 1024, got 0`,
			`6:1: modbus_server.idle_timeout: must be greater than 0, got "-1s"`,
		}},
		{"modbus_server: unknown key", "[modbus_server]\nlisten = \"0.0.0.0:502\"\nunitid = 2\n", nil, []string{
			`3:1: unknown key "modbus_server.unitid" (did you mean "unit_id"?)`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.files {
				writeFile(t, filepath.Join(dir, name), content)
			}
			path := filepath.Join(dir, "hashgate.toml")
			_, err := Parse(path, []byte(tt.input+pool))
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error: got %v, want Errors", err)
			}
			var got []string
			for _, e := range errs {
				got = append(got, fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg))
			}
			var want []string
			for _, w := range tt.want {
				want = append(want, strings.ReplaceAll(w, "$DIR", dir))
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("errors:\n  got  %s\n  want %s", strings.Join(got, "\n       "), strings.Join(want, "\n       "))
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("an error shows the password: %v", err)
			}
		})
	}
}
