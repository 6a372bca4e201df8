// Package webhook is the actuator for anything hashgate has no firmware
// driver for (a PDU, a site controller, a building management system): it
// owns the signed JSON request hashgate sends to a group's URL to curtail,
// resume or read one rig, and the reading of the receiver's answer. The
// protocol is hashgate's own; this comment is its specification.
//
// # Request
//
// Every call is one HTTP POST to the group's url (actuator_options url,
// http or https) with Content-Type application/json and the body
//
//	{"rig":"<name>","address":"<inventory address>","action":"curtail"|"resume"|"read","time":"<RFC 3339>"}
//
// in that field order, time in UTC with nanoseconds
// ("2026-12-07T01:02:03.000004Z"). The URL's host is the receiver; the
// rig's address is only passed in the body. Two headers:
//
//	X-Hashgate-Signature: sha256=<lower-case hex HMAC-SHA256 of the exact body bytes, keyed with the group's secret>
//	X-Hashgate-Timestamp: <the body's time in Unix seconds>
//
// # How a receiver verifies a request and rejects replays
//
//  1. Read the raw body (bound its size) before parsing it.
//  2. Compute HMAC-SHA256 over those exact bytes with the shared secret
//     and compare it with the header's hex in constant time
//     (hmac.Equal / hmac.compare_digest). Mismatch: answer 401.
//  3. Parse the body. Its time is signed, the header is not: reject (401)
//     when X-Hashgate-Timestamp differs from the body's time in Unix
//     seconds, or when the body's time is more than a few minutes (we
//     suggest 5) from the receiver's clock. This bounds a replay to that
//     window.
//  4. Within the window, remember the signatures already accepted (or the
//     (rig, time) pairs) and answer a repeat with 409: hashgate never
//     sends the same body twice, since each request, retries included,
//     carries a new nanosecond time.
//
// Secrets: the secret comes from secret_file and never appears in logs or
// errors; errors name the URL's host only, never its path or query, which
// may hold a token.
//
// # Answers
//
// 2xx: accepted (for curtail and resume, the command was taken, not that
// the load dropped). 401 or 403: the signature or secret was refused
// (device.ErrAuth, not retried until the policy changes). Any other 4xx:
// refused (device.ErrRefused). 5xx, a timeout or no connection: a
// retryable error. Redirects are not followed (a signed command is not
// resent elsewhere); a 3xx is device.ErrProtocol. The driver sends each
// request once: retries with back-off and jitter are the fleet's.
//
// A receiver that measures something answers a read with JSON:
//
//	{"state":"mining"|"sleeping","power_w":<number>,"hashrate_ths":<number>}
//
// each field optional. Any other answer (an empty 204, text, another
// state) reads as state unknown, with no power or hashrate.
package webhook
