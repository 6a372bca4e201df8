package stratum

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// ErrorCode is a Stratum V1 error code as cgminer, bmminer and the pools
// agree on them.
type ErrorCode int

// The error codes Stratum V1 pools and proxies answer with.
const (
	ErrOther         ErrorCode = 20 // anything else
	ErrJobNotFound   ErrorCode = 21 // unknown or stale job
	ErrDuplicate     ErrorCode = 22 // duplicate share
	ErrLowDifficulty ErrorCode = 23 // share above target
	ErrUnauthorized  ErrorCode = 24 // worker not authorized
	ErrNotSubscribed ErrorCode = 25 // mining.subscribe not done
)

// String names the code the way logs and metrics label it.
func (c ErrorCode) String() string {
	switch c {
	case ErrOther:
		return "other"
	case ErrJobNotFound:
		return "job_not_found"
	case ErrDuplicate:
		return "duplicate"
	case ErrLowDifficulty:
		return "low_difficulty"
	case ErrUnauthorized:
		return "unauthorized"
	case ErrNotSubscribed:
		return "not_subscribed"
	}
	return "code_" + strconv.Itoa(int(c))
}

// Error is a Stratum error answer: on the wire [code, "message", null].
type Error struct {
	Code    ErrorCode
	Message string
}

// NewError returns an Error with the given code and message.
func NewError(code ErrorCode, msg string) *Error { return &Error{Code: code, Message: msg} }

func (e *Error) Error() string { return fmt.Sprintf("stratum error %d: %s", int(e.Code), e.Message) }

// MarshalJSON writes the array form every Stratum V1 client understands.
func (e *Error) MarshalJSON() ([]byte, error) {
	msg, err := json.Marshal(e.Message)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(msg)+16)
	b = append(b, '[')
	b = strconv.AppendInt(b, int64(e.Code), 10)
	b = append(b, ',')
	b = append(b, msg...)
	b = append(b, ",null]"...)
	return b, nil
}

// ParseError reads an error member as pools send it: null (no error), the
// array form [code, "message", traceback], or the object form
// {"code": n, "message": "..."} some pools use.
func ParseError(raw json.RawMessage) *Error {
	// Some old pools send "error": false for no error.
	if isNull(raw) || string(raw) == "false" {
		return nil
	}
	var arr []json.RawMessage
	if json.Unmarshal(raw, &arr) == nil {
		e := &Error{Code: ErrOther}
		if len(arr) > 0 {
			var c float64
			if json.Unmarshal(arr[0], &c) == nil {
				e.Code = ErrorCode(int(c))
			}
		}
		if len(arr) > 1 {
			_ = json.Unmarshal(arr[1], &e.Message)
		}
		return e
	}
	var obj struct {
		Code    float64 `json:"code"`
		Message string  `json:"message"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		return &Error{Code: ErrorCode(int(obj.Code)), Message: obj.Message}
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return &Error{Code: ErrOther, Message: s}
	}
	return &Error{Code: ErrOther, Message: string(raw)}
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}
