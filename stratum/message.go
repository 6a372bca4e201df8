package stratum

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
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
