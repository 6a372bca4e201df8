package stratum

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// Method names, both directions.
const (
	MethodSubscribe           = "mining.subscribe"
	MethodAuthorize           = "mining.authorize"
	MethodSubmit              = "mining.submit"
	MethodConfigure           = "mining.configure"
	MethodExtranonceSubscribe = "mining.extranonce.subscribe"
	MethodSuggestDifficulty   = "mining.suggest_difficulty"
	MethodSetDifficulty       = "mining.set_difficulty"
	MethodNotify              = "mining.notify"
	MethodSetExtranonce       = "mining.set_extranonce"
	MethodSetVersionMask      = "mining.set_version_mask"
	MethodReconnect           = "client.reconnect"
	MethodPing                = "mining.ping"
	MethodShowMessage         = "client.show_message"
)

// Message is one line of Stratum JSON-RPC: a request (Method and ID), a
// notification (Method, null or absent ID) or a response (Result or Error).
// ID keeps the raw JSON of the request id so it is echoed back unchanged,
// whatever its type: 1, "auth", null.
type Message struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  json.RawMessage `json:"error,omitempty"`
}

// ErrMalformed wraps every decoding failure, so callers can tell a peer
// that speaks garbage from a transport error.
var ErrMalformed = errors.New("stratum: malformed message")

// Decode parses one line. Any JSON object is accepted; what it means is the
// caller's business. The returned Message does not alias line.
func Decode(line []byte) (*Message, error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' {
		return nil, fmt.Errorf("%w: not a JSON object", ErrMalformed)
	}
	var m Message
	if err := json.Unmarshal(line, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return &m, nil
}

// IsRequest reports whether m carries a method.
func (m *Message) IsRequest() bool { return m.Method != "" }

// HasID reports whether m carries a non-null id, i.e. expects an answer
// (a request) or answers one (a response).
func (m *Message) HasID() bool { return !isNull(m.ID) }

// IDInt returns the id as an integer when it is one (our own requests to
// pools always use integer ids).
func (m *Message) IDInt() (uint64, bool) {
	if isNull(m.ID) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(m.ID), 10, 64)
	return n, err == nil
}

// nullID is the id of a notification and of an answer to a request that
// had none.
var nullID = json.RawMessage("null")

// AppendResponse appends a response line (with '\n') answering id with
// result. A nil id answers as null.
func AppendResponse(dst []byte, id json.RawMessage, result any) ([]byte, error) {
	res, err := json.Marshal(result)
	if err != nil {
		return dst, err
	}
	return AppendRawResponse(dst, id, res), nil
}

// AppendRawResponse appends a response whose result is already JSON.
func AppendRawResponse(dst []byte, id json.RawMessage, result []byte) []byte {
	if isNull(id) {
		id = nullID
	}
	dst = append(dst, `{"id":`...)
	dst = append(dst, id...)
	dst = append(dst, `,"result":`...)
	dst = append(dst, result...)
	dst = append(dst, `,"error":null}`+"\n"...)
	return dst
}

// AppendError appends an error response line answering id.
func AppendError(dst []byte, id json.RawMessage, e *Error) []byte {
	if isNull(id) {
		id = nullID
	}
	eb, _ := e.MarshalJSON() // cannot fail: a string and an int
	dst = append(dst, `{"id":`...)
	dst = append(dst, id...)
	dst = append(dst, `,"result":null,"error":`...)
	dst = append(dst, eb...)
	dst = append(dst, "}\n"...)
	return dst
}

// AppendRequest appends a request (id != nil) or a notification (id nil)
// with the given params, which must marshal to a JSON array.
func AppendRequest(dst []byte, id json.RawMessage, method string, params any) ([]byte, error) {
	p, err := json.Marshal(params)
	if err != nil {
		return dst, err
	}
	if isNull(id) {
		id = nullID
	}
	dst = append(dst, `{"id":`...)
	dst = append(dst, id...)
	dst = append(dst, `,"method":`...)
	dst = strconv.AppendQuote(dst, method)
	dst = append(dst, `,"params":`...)
	dst = append(dst, p...)
	dst = append(dst, "}\n"...)
	return dst, nil
}

// IntID is the JSON form of an integer request id.
func IntID(n uint64) json.RawMessage { return strconv.AppendUint(nil, n, 10) }

// The messages the proxy sends miners, one constructor each: the params
// are written straight from typed values, so, unlike AppendRequest with
// params of any type, none can fail. Each writes the bytes
// AppendRequest(dst, nil, method, params) writes for the same params
// (tests compare them): notifications, with a null id.

// AppendSetDifficulty appends mining.set_difficulty [d]. d comes from
// vardiff or a pool's FloatParam, finite both; a non-finite d, which JSON
// cannot carry, appends nothing (as AppendRequest's error did).
func AppendSetDifficulty(dst []byte, d float64) []byte {
	if math.IsNaN(d) || math.IsInf(d, 0) {
		return dst
	}
	dst = appendNotification(dst, MethodSetDifficulty, len("-0.0000012345678901234567")) // the longest float64 written
	dst = appendJSONFloat(dst, d)
	return append(dst, "]}\n"...)
}

// AppendSetExtranonce appends mining.set_extranonce [en1, en2Size]: en1
// in hex, as the miner's subscribe result gave it.
func AppendSetExtranonce(dst []byte, en1 string, en2Size int) []byte {
	dst = appendNotification(dst, MethodSetExtranonce, len(en1)+8)
	dst = appendJSONString(dst, en1)
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, int64(en2Size), 10)
	return append(dst, "]}\n"...)
}

// AppendSetVersionMask appends mining.set_version_mask ["1fffe000"]: the
// mask in 8 lowercase hex digits.
func AppendSetVersionMask(dst []byte, mask uint32) []byte {
	dst = appendNotification(dst, MethodSetVersionMask, 10)
	dst = append(dst, '"')
	dst = append(dst, FormatUint32(mask)...)
	return append(dst, "\"]}\n"...)
}

// AppendReconnect appends client.reconnect with empty params: reconnect
// to the same host and port.
func AppendReconnect(dst []byte) []byte {
	dst = appendNotification(dst, MethodReconnect, 0)
	return append(dst, "]}\n"...)
}

// AppendNotify appends mining.notify for n's job under jobID (the id the
// miner is to submit it with, in place of n.JobID): the params of
// n.Params(jobID).
func AppendNotify(dst []byte, n *Notify, jobID string) []byte {
	size := len(jobID) + len(n.PrevHash) + len(n.Coinb1) + len(n.Coinb2) + len(n.Version) + len(n.NBits) + len(n.NTime) + 40
	for _, b := range n.Branches {
		size += len(b) + 3
	}
	dst = appendNotification(dst, MethodNotify, size)
	for _, s := range [...]string{jobID, n.PrevHash, n.Coinb1, n.Coinb2} {
		dst = appendJSONString(dst, s)
		dst = append(dst, ',')
	}
	dst = append(dst, '[')
	for i, b := range n.Branches {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, b)
	}
	dst = append(dst, ']')
	for _, s := range [...]string{n.Version, n.NBits, n.NTime} {
		dst = append(dst, ',')
		dst = appendJSONString(dst, s)
	}
	dst = append(dst, ',')
	dst = strconv.AppendBool(dst, n.Clean)
	return append(dst, "]}\n"...)
}

// appendNotification appends a notification's start, up to and with the
// params' opening bracket, with room for params of about paramsLen bytes
// after it: the line in one allocation.
func appendNotification(dst []byte, method string, paramsLen int) []byte {
	dst = slices.Grow(dst, len(`{"id":null,"method":"","params":[]}`)+len(method)+paramsLen+1)
	dst = append(dst, `{"id":null,"method":"`...)
	dst = append(dst, method...) // our own constants: nothing to escape
	return append(dst, `","params":[`...)
}

// appendJSONFloat appends f as encoding/json writes a float64: the
// shortest decimal that reads back as f, in exponent form below 1e-6
// and from 1e21 on, with the exponent unpadded (1e-7, not 1e-07).
func appendJSONFloat(dst []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if n := len(dst); format == 'e' && n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
		dst[n-2] = dst[n-1]
		dst = dst[:n-1]
	}
	return dst
}

// appendJSONString appends s as encoding/json writes a string. The hex
// and ids the proxy sends have nothing to escape and are copied; any
// other string goes through encoding/json, for its exact escapes
// (HTML characters, invalid UTF-8, U+2028).
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s) // a string always marshals
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
