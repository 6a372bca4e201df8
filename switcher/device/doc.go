// Package device is the contract between the switcher and the firmware
// actuators under switcher/: what a rig's management interface is asked to
// do (curtail, resume, read back), what a reading says, how a rig is
// reached and with which credentials, and the typed errors every driver
// returns. It holds no I/O of its own beyond small helpers every driver
// shares (addresses, secrets, the wire helpers below); each firmware is
// one package (antminer, braiins, luxos, whatsminer, vnish, webhook)
// implementing Driver, and the fleet package runs them at scale.
//
// A driver's word is not evidence: field firmware answers "ok" to a sleep
// command and keeps mining. Curtail and Resume only say the command was
// delivered and accepted; whether the rig stopped is judged by the
// Reading that follows (state, power, hashrate).
//
// Wire helpers the drivers share, so each protocol rule is written once:
//
//   - Exchange: one request/answer exchange on a new TCP connection, with
//     ctx's deadline on every write and read and a cancelled ctx ending
//     them at once (luxos, whatsminer). ReadToNUL reads a cgminer-style
//     answer: up to a NUL or the end of the stream, bounded, in any number
//     of pieces.
//   - HTTPClient: a driver's one shared HTTP client. No redirects, no
//     compression, and no socket held to a rig between calls: either
//     keep-alives off (vnish, webhook) or CallConn (antminer, braiins),
//     where a call's requests share one connection and its last request
//     sets Request.Close ("Connection: close"); at most CallConnIdle idle
//     connections, for CallConnIdleFor, are left by calls that fail
//     between their requests.
//   - NewRequest builds a request bound to ctx with an optional JSON body;
//     TransportError drops the *url.Error around a client error (the URL
//     may hold a token) and keeps its cause.
//   - ReadBody reads and closes an answer's body within a bound (longer is
//     ErrProtocol and ErrTooLong); DrainBody empties one to reuse its
//     connection; StatusError maps an HTTP status to the typed errors
//     (401/403 ErrAuth, other 4xx ErrRefused, 5xx retryable).
//   - Number: a JSON number the firmware may send as a string.
//
// The drivers' tests share their helpers through devicetest.
package device
