// Package mqttsignal owns hashgate's MQTT grid-signal subscription: it
// subscribes to one topic (github.com/eclipse/paho.mqtt.golang v1.5.1),
// hands each signal to the switcher under the name "mqtt:TOPIC" (in the
// audit log as the allocation's who), and acknowledges every message on a
// reply topic.
//
// # Messages
//
// A message is one JSON object carrying exactly one signal, with an
// optional "id" (≤ 128 bytes, echoed in the ack) and "reason" (≤ 1024
// bytes, for the audit log; default "grid signal on TOPIC (id ID)").
// Unknown fields are refused (a typo must not pass as a no-op).
//
//	{"ai_kw": 800, "reason": "...", "until": "2026-12-07T18:00:00Z", "emergency": false, "id": "..."}
//	    An allocation, as PUT /api/v1/allocation: the AI racks take
//	    ai_kw; the mining budget follows. until (RFC 3339, optional) ends
//	    it and the allocation before it returns.
//	{"cap_kw": 4500, "reason": "...", "until": "...", "id": "..."}
//	    A site cap at the meter, as PUT /api/v1/cap (switcher.SetCap);
//	    0 ends cap mode.
//	{"command": "curtail", "reason": "...", "until": "...", "id": "..."}
//	    Curtail: an allocation that leaves mining the configured
//	    curtail_kw (default 0: all mining off), i.e. ai_kw = capacity −
//	    reserve − curtail_kw, never below the AI allocation in force (a
//	    curtail never raises the mining budget). With curtail_emergency it
//	    is an emergency allocation (min_on ignored). The allocation in force
//	    before it is remembered (a second curtail keeps the first's).
//	{"command": "release", "id": "..."}
//	    Release: back to the allocation in force before the curtail (its
//	    kW, emergency flag and, in the reason, who made it; an end time it
//	    had is not restored, because what lay under it is not known here),
//	    or to no AI allocation (0 kW) when there was none. Refused when
//	    this subscriber made no curtail since hashgate started, or when
//	    the curtail is no longer the allocation in force (it ended, or
//	    the power desk allocated since): a release never undoes someone
//	    else's allocation.
//	{"price_usd_per_mwh": 42.5, "id": "..."}
//	    The power price for economic curtailment (switcher.SetPrice);
//	    negative prices are taken.
//	{"heartbeat": true, "id": "..."}
//	    The power desk is alive (switcher.Heartbeat).
//
// # Acks
//
// Every message is answered on the reply topic, at the same QoS:
//
//	{"id": "...", "kind": "allocation", "ok": true, "error": "", "mining_budget_kw": 20, "seq": 1234}
//
// id is the message's (or "" when it has none or could not be read); kind
// the signal's ("" when unreadable); error says why ok is false;
// mining_budget_kw is the budget after the signal (null when the message
// was refused before reaching the switcher); seq is the audit event the
// signal made (0 when none: the same allocation again, a price, a
// heartbeat, a refusal). Refusals: not JSON or not a signal, over the
// size limit (max_message_bytes, default 4096; the payload is not read),
// the queue full, or the switcher's own refusal (e.g. "not implemented
// yet" from SetCap until cap mode is built).
//
// # Bounds and lifecycle
//
// paho's callback never blocks: it checks the size and puts the message in
// a bounded queue (queue, default 16) for one worker that calls the
// switcher; a message that finds the queue full is refused and acked as
// such. Acks go through a bounded queue (twice queue) to one publisher,
// each published within publish_timeout or dropped (counted). The QoS 1
// PUBACK is sent once the message is queued: a signal queued when
// hashgate stops is lost unacknowledged (the sender sees no ack and
// retries). The session is clean; the subscriber subscribes again on
// every reconnect. paho reconnects with back-off (1 s doubling up to
// max_reconnect_interval).
//
// Start returns once the topic is subscribed, or an error naming the
// broker after connect_timeout. Close stops the worker, the publisher and
// the session goroutine, then disconnects; it returns once ours have
// stopped. paho itself may leave its reconnect goroutine sleeping out its
// back-off if Close comes while it is reconnecting (paho's Disconnect
// documents that it can return before its goroutines end); it ends
// after that sleep.
//
// A retained message is applied like any other, on every subscription
// (each reconnect): publish commands unretained. Signals are idempotent
// where they can be (the same allocation or cap again is a no-op; a
// second curtail keeps the first's "before"), so a QoS 1 redelivery does
// no harm.
//
// The password (password_file) goes to paho through a credentials
// provider and appears in no log or error; a broker URL with user info
// is refused.
package mqttsignal
