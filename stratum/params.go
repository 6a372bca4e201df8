package stratum

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
)

// ParamError says which parameter of a request is wrong; it answers the
// peer with code 20 and the message.
type ParamError struct {
	Index int
	Msg   string
}

func (e *ParamError) Error() string { return fmt.Sprintf("param %d: %s", e.Index, e.Msg) }

// SplitParams splits a params member into its elements. Absent or null
// params are an empty list; anything but an array is an error.
func SplitParams(raw json.RawMessage) ([]json.RawMessage, error) {
	if isNull(raw) {
		return nil, nil
	}
	var ps []json.RawMessage
	if err := json.Unmarshal(raw, &ps); err != nil {
		return nil, &ParamError{Index: -1, Msg: "params must be an array"}
	}
	return ps, nil
}

// StringParam returns element i as a string; missing is an error.
func StringParam(ps []json.RawMessage, i int) (string, error) {
	if i >= len(ps) {
		return "", &ParamError{Index: i, Msg: "missing"}
	}
	var s string
	if err := json.Unmarshal(ps[i], &s); err != nil {
		return "", &ParamError{Index: i, Msg: "must be a string"}
	}
	return s, nil
}

// OptStringParam returns element i as a string, "" when missing or null.
func OptStringParam(ps []json.RawMessage, i int) (string, error) {
	if i >= len(ps) || isNull(ps[i]) {
		return "", nil
	}
	return StringParam(ps, i)
}

// FloatParam returns element i as a number. Some firmware sends
// difficulties as strings; those are accepted too.
func FloatParam(ps []json.RawMessage, i int) (float64, error) {
	if i >= len(ps) {
		return 0, &ParamError{Index: i, Msg: "missing"}
	}
	var f float64
	if err := json.Unmarshal(ps[i], &f); err == nil {
		return f, nil
	}
	var s string
	if err := json.Unmarshal(ps[i], &s); err == nil {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f, nil
		}
	}
	return 0, &ParamError{Index: i, Msg: "must be a number"}
}

// HexUint32 parses an 8-digit big-endian hex word (version, nbits, ntime,
// nonce as Stratum sends them).
func HexUint32(s string) (uint32, bool) {
	if len(s) != 8 {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 16, 32)
	return uint32(v), err == nil
}

// FormatUint32 is the inverse of HexUint32.
func FormatUint32(v uint32) string {
	const digits = "0123456789abcdef"
	var b [8]byte
	for i := 7; i >= 0; i-- {
		b[i] = digits[v&0xf]
		v >>= 4
	}
	return string(b[:])
}

// IsHex reports whether s is hex of exactly n bytes (n < 0: any length).
func IsHex(s string, n int) bool {
	return len(s)%2 == 0 && (n < 0 || len(s) == 2*n) && hexDigits(s)
}

// hexDigits reports whether every byte of s is a hex digit.
func hexDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// Notify is the parameter list of mining.notify, hex fields kept as sent.
type Notify struct {
	JobID    string
	PrevHash string
	Coinb1   string
	Coinb2   string
	Branches []string
	Version  string
	NBits    string
	NTime    string
	Clean    bool
}

// ParseNotify validates and splits mining.notify params.
func ParseNotify(raw json.RawMessage) (*Notify, error) {
	ps, err := SplitParams(raw)
	if err != nil {
		return nil, err
	}
	if len(ps) < 9 {
		return nil, &ParamError{Index: len(ps), Msg: "mining.notify needs 9 params"}
	}
	n := &Notify{}
	strs := []*string{&n.JobID, &n.PrevHash, &n.Coinb1, &n.Coinb2}
	for i, p := range strs {
		if *p, err = StringParam(ps, i); err != nil {
			return nil, err
		}
	}
	if err := json.Unmarshal(ps[4], &n.Branches); err != nil {
		return nil, &ParamError{Index: 4, Msg: "merkle branches must be an array of strings"}
	}
	for i, p := range []*string{&n.Version, &n.NBits, &n.NTime} {
		if *p, err = StringParam(ps, 5+i); err != nil {
			return nil, err
		}
	}
	if err := json.Unmarshal(ps[8], &n.Clean); err != nil {
		return nil, &ParamError{Index: 8, Msg: "clean_jobs must be a boolean"}
	}
	switch {
	case n.JobID == "":
		return nil, &ParamError{Index: 0, Msg: "empty job id"}
	case !IsHex(n.PrevHash, 32):
		return nil, &ParamError{Index: 1, Msg: "prevhash must be 32 bytes of hex"}
	case !IsHex(n.Coinb1, -1):
		return nil, &ParamError{Index: 2, Msg: "coinb1 must be hex"}
	case !IsHex(n.Coinb2, -1):
		return nil, &ParamError{Index: 3, Msg: "coinb2 must be hex"}
	case !IsHex(n.Version, 4):
		return nil, &ParamError{Index: 5, Msg: "version must be 4 bytes of hex"}
	case !IsHex(n.NBits, 4):
		return nil, &ParamError{Index: 6, Msg: "nbits must be 4 bytes of hex"}
	case !IsHex(n.NTime, 4):
		return nil, &ParamError{Index: 7, Msg: "ntime must be 4 bytes of hex"}
	}
	for _, b := range n.Branches {
		if !IsHex(b, 32) {
			return nil, &ParamError{Index: 4, Msg: "merkle branch must be 32 bytes of hex"}
		}
	}
	return n, nil
}

// Params returns the notify's params with jobID in place of its own id,
// ready to marshal.
func (n *Notify) Params(jobID string) []any {
	br := n.Branches
	if br == nil {
		br = []string{}
	}
	return []any{jobID, n.PrevHash, n.Coinb1, n.Coinb2, br, n.Version, n.NBits, n.NTime, n.Clean}
}

// Submit is the parameter list of mining.submit.
type Submit struct {
	Worker      string
	JobID       string
	Extranonce2 string
	NTime       string
	Nonce       string // 8 hex digits: a shorter nonce as sent is left-padded
	Version     string // rolled version bits (BIP310), "" when absent
}

// ParseSubmit validates the shape of mining.submit params; whether the
// share is any good is for the caller.
func ParseSubmit(raw json.RawMessage) (*Submit, error) {
	ps, err := SplitParams(raw)
	if err != nil {
		return nil, err
	}
	if len(ps) < 5 {
		return nil, &ParamError{Index: len(ps), Msg: "mining.submit needs 5 or 6 params"}
	}
	s := &Submit{}
	for i, p := range []*string{&s.Worker, &s.JobID, &s.Extranonce2, &s.NTime, &s.Nonce} {
		if *p, err = StringParam(ps, i); err != nil {
			return nil, err
		}
	}
	if s.Version, err = OptStringParam(ps, 5); err != nil {
		return nil, err
	}
	switch {
	case !IsHex(s.Extranonce2, -1):
		return nil, &ParamError{Index: 2, Msg: "extranonce2 must be hex"}
	case !IsHex(s.NTime, 4):
		return nil, &ParamError{Index: 3, Msg: "ntime must be 4 bytes of hex"}
	case !isNonce(s.Nonce):
		return nil, &ParamError{Index: 4, Msg: "nonce must be 1 to 8 hex digits"}
	case s.Version != "" && !IsHex(s.Version, 4):
		return nil, &ParamError{Index: 5, Msg: "version bits must be 4 bytes of hex"}
	}
	s.Nonce = padNonce(s.Nonce)
	return s, nil
}

// isNonce reports whether s is a nonce as miners send it: 1 to 8 hex
// digits. NerdMiner (V1.8.3) formats it with String(nonce, HEX), which
// drops leading zeros; ckpool and public-pool accept that.
func isNonce(s string) bool { return len(s) >= 1 && len(s) <= 8 && hexDigits(s) }

// padNonce left-pads a nonce isNonce accepted to the 8 digits the header
// word and pools want. The common 8-digit nonce is returned as is.
func padNonce(s string) string {
	if len(s) == 8 {
		return s
	}
	return "00000000"[:8-len(s)] + s
}

// SubscribeResult is what a pool answers to mining.subscribe.
type SubscribeResult struct {
	Extranonce1     []byte
	Extranonce2Size int
}

// ParseSubscribeResult reads [[subscriptions...], "extranonce1", size].
func ParseSubscribeResult(raw json.RawMessage) (*SubscribeResult, error) {
	ps, err := SplitParams(raw)
	if err != nil || len(ps) < 3 {
		return nil, fmt.Errorf("%w: subscribe result must be [subscriptions, extranonce1, extranonce2_size]", ErrMalformed)
	}
	en1, err := StringParam(ps, 1)
	if err != nil || !IsHex(en1, -1) {
		return nil, fmt.Errorf("%w: extranonce1 must be hex", ErrMalformed)
	}
	size, err := FloatParam(ps, 2)
	if err != nil || size < 0 || size > 32 || size != float64(int(size)) {
		return nil, fmt.Errorf("%w: extranonce2_size must be an integer 0..32", ErrMalformed)
	}
	b, _ := hex.DecodeString(en1)
	return &SubscribeResult{Extranonce1: b, Extranonce2Size: int(size)}, nil
}

// ParseSetExtranonce reads mining.set_extranonce params ["en1", size].
func ParseSetExtranonce(raw json.RawMessage) (*SubscribeResult, error) {
	ps, err := SplitParams(raw)
	if err != nil || len(ps) < 2 {
		return nil, fmt.Errorf("%w: set_extranonce needs [extranonce1, extranonce2_size]", ErrMalformed)
	}
	// Same two fields as the tail of a subscribe result.
	b, _ := json.Marshal(append([]json.RawMessage{nullID}, ps...))
	return ParseSubscribeResult(b)
}

// Configure is a parsed mining.configure request (BIP310).
type Configure struct {
	Extensions []string
	// VersionRollingMask is the mask the peer asks for (0 if not asked).
	VersionRolling      bool
	VersionRollingMask  uint32
	MinimumDifficulty   float64 // 0 if not asked
	SubscribeExtranonce bool
}

// ParseConfigure reads [[extensions...], {"name.param": value, ...}].
func ParseConfigure(raw json.RawMessage) (*Configure, error) {
	ps, err := SplitParams(raw)
	if err != nil {
		return nil, err
	}
	if len(ps) < 1 {
		return nil, &ParamError{Index: 0, Msg: "mining.configure needs a list of extensions"}
	}
	c := &Configure{}
	if err := json.Unmarshal(ps[0], &c.Extensions); err != nil {
		return nil, &ParamError{Index: 0, Msg: "extensions must be an array of strings"}
	}
	opts := map[string]json.RawMessage{}
	if len(ps) > 1 && !isNull(ps[1]) {
		if err := json.Unmarshal(ps[1], &opts); err != nil {
			return nil, &ParamError{Index: 1, Msg: "extension parameters must be an object"}
		}
	}
	for _, ext := range c.Extensions {
		switch ext {
		case "version-rolling":
			c.VersionRolling = true
			c.VersionRollingMask = 0xffffffff
			var m string
			if raw, ok := opts["version-rolling.mask"]; ok {
				if json.Unmarshal(raw, &m) != nil {
					return nil, &ParamError{Index: 1, Msg: "version-rolling.mask must be a hex string"}
				}
				v, err := strconv.ParseUint(m, 16, 32)
				if err != nil {
					return nil, &ParamError{Index: 1, Msg: "version-rolling.mask must be a hex string"}
				}
				c.VersionRollingMask = uint32(v)
			}
		case "minimum-difficulty":
			if raw, ok := opts["minimum-difficulty.value"]; ok {
				if f, err := FloatParam([]json.RawMessage{raw}, 0); err == nil && f > 0 {
					c.MinimumDifficulty = f
				}
			}
		case "subscribe-extranonce":
			c.SubscribeExtranonce = true
		}
	}
	return c, nil
}

// parseMask reads a hex version mask; pools may drop leading zeros.
func parseMask(s string) (uint32, bool) {
	if s == "" || len(s) > 8 {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 16, 32)
	return uint32(v), err == nil
}

// ParseVersionMask reads mining.set_version_mask params ["1fffe000"].
func ParseVersionMask(raw json.RawMessage) (uint32, error) {
	ps, err := SplitParams(raw)
	if err != nil {
		return 0, err
	}
	s, err := StringParam(ps, 0)
	if err != nil {
		return 0, err
	}
	m, ok := parseMask(s)
	if !ok {
		return 0, &ParamError{Index: 0, Msg: "version mask must be hex of at most 4 bytes"}
	}
	return m, nil
}

// ParseConfigureResult reads the answer to mining.configure: whether
// version rolling was granted, and the mask granted
// ({"version-rolling": true, "version-rolling.mask": "1fffe000"}).
func ParseConfigureResult(raw json.RawMessage) (rolling bool, mask uint32) {
	var r map[string]json.RawMessage
	if json.Unmarshal(raw, &r) != nil || string(r["version-rolling"]) != "true" {
		return false, 0
	}
	var s string
	if json.Unmarshal(r["version-rolling.mask"], &s) != nil {
		return false, 0
	}
	m, ok := parseMask(s)
	return ok, m
}
