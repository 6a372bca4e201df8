package site

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hashgate/hashgate/grid/registers"
)

// gridCollector exports the grid side's counters on the API's /metrics
// (the api package reads the switcher and the proxy, not grid): the MQTT
// subscriber's signals and acks, and the age of the register snapshot
// SCADA reads. Nothing is exported for a part the config does not have.
type gridCollector struct{ s *Site }

var (
	descMQTTSignals = prometheus.NewDesc("hashgate_mqtt_signals_total",
		"Grid signals on the [mqtt] topic by result: received (every message), applied (handed to the switcher and acked ok), failed (not a signal, or the switcher refused it), oversized (over max_message_bytes), queue_full.",
		[]string{"result"}, nil)
	descMQTTAcks = prometheus.NewDesc("hashgate_mqtt_acks_total",
		"Acks on the reply topic: sent, failed (not published in time, or the ack queue was full).", []string{"result"}, nil)
	descMQTTSubscribes = prometheus.NewDesc("hashgate_mqtt_subscribes_total",
		"Subscriptions to the [mqtt] topic: the first and one per reconnect to the broker.", nil, nil)
	descRegistersAge = prometheus.NewDesc("hashgate_modbus_server_snapshot_age_seconds",
		"Age of the register snapshot the [modbus_server] serves (refreshed every refresh, at most 2 s): stuck above it, SCADA reads stale figures.", nil, nil)
)

func (c gridCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descMQTTSignals, descMQTTAcks, descMQTTSubscribes, descRegistersAge} {
		ch <- d
	}
}

func (c gridCollector) Collect(ch chan<- prometheus.Metric) {
	if m := c.s.grid.mqtt; m != nil {
		n := m.Counters()
		for _, r := range []struct {
			result string
			v      uint64
		}{{"received", n.Received.Load()}, {"applied", n.Applied.Load()}, {"failed", n.Failed.Load()},
			{"oversized", n.Oversized.Load()}, {"queue_full", n.QueueFull.Load()}} {
			ch <- prometheus.MustNewConstMetric(descMQTTSignals, prometheus.CounterValue, float64(r.v), r.result)
		}
		ch <- prometheus.MustNewConstMetric(descMQTTAcks, prometheus.CounterValue, float64(n.AcksSent.Load()), "sent")
		ch <- prometheus.MustNewConstMetric(descMQTTAcks, prometheus.CounterValue, float64(n.AcksFailed.Load()), "failed")
		ch <- prometheus.MustNewConstMetric(descMQTTSubscribes, prometheus.CounterValue, float64(n.Subscribes.Load()))
	}
	if srv := c.s.grid.modbus; srv != nil {
		if snap := srv.Snapshot(); snap != nil {
			at := int64(snap[registers.AddrTimestamp])<<16 | int64(snap[registers.AddrTimestamp+1])
			ch <- prometheus.MustNewConstMetric(descRegistersAge, prometheus.GaugeValue, time.Since(time.Unix(at, 0)).Seconds())
		}
	}
}
