package whatsminer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashgate/hashgate/switcher/device"
	"github.com/hashgate/hashgate/switcher/whatsminer/wmcrypt"
)

// Message codes of the v2 API (MicroBT "WhatsMiner API V2.0.x", see
// doc.go).
const (
	codeInvalidCmd  = 14
	codeInvalidJSON = 23
	codeDenied      = 45
	codeOK          = 131
	codeCmdError    = 132
	codeTokenOK     = 134
	codeTokenCheck  = 135
	codeTokenMax    = 136
	codeBase64      = 137
)

// errToken: the device did not accept the token (code 135): expired, or
// signed with the wrong password.
var errToken = errors.New("token refused")

// errGarbled: the device could not read the encrypted command (codes 23,
// 137 on an encrypted request): the key, so the password, is wrong.
var errGarbled = errors.New("encrypted command unreadable")

// statusField is STATUS as either form the API uses: a string ("S") in
// btminer's own replies, a cgminer-style list in summary and pools.
type statusField struct {
	St   string
	Code int
	Msg  string
}

func (s *statusField) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &s.St)
	}
	var list []struct {
		St   string `json:"STATUS"`
		Code int    `json:"Code"`
		Msg  any    `json:"Msg"`
	}
	if err := json.Unmarshal(b, &list); err != nil {
		return err
	}
	if len(list) > 0 {
		s.St, s.Code = list[0].St, list[0].Code
		s.Msg, _ = list[0].Msg.(string)
	}
	return nil
}

// reply is what every answer carries.
type reply struct {
	Status statusField     `json:"STATUS"`
	Code   *int            `json:"Code"`
	Msg    json.RawMessage `json:"Msg"`
}

func (r reply) code() int {
	if r.Code != nil {
		return *r.Code
	}
	return r.Status.Code
}

func (r reply) text() string {
	var s string
	if json.Unmarshal(r.Msg, &s) == nil {
		return s
	}
	return r.Status.Msg
}

// check maps a reply to nil or a typed error. The device's own text is
// short and never holds a credential; it is clipped all the same.
func (r reply) check() error {
	switch r.Status.St {
	case "S", "I", "W":
		return nil
	case "":
		return fmt.Errorf("%w: no STATUS", device.ErrProtocol)
	}
	code, msg := r.code(), r.text()
	switch {
	case code == codeTokenMax || strings.Contains(msg, "over max"):
		return fmt.Errorf("%w: token limit reached (code %d)", device.ErrBusy, code)
	case code == codeTokenCheck:
		return fmt.Errorf("%w (code %d)", errToken, code)
	case code == codeInvalidJSON || code == codeBase64:
		return fmt.Errorf("%w (code %d)", errGarbled, code)
	case code == codeDenied:
		return fmt.Errorf("%w: permission denied (code 45): the write API may be disabled on the miner", device.ErrRefused)
	}
	return fmt.Errorf("%w: code %d %q", device.ErrRefused, code, clip(msg))
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func decode(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %v", device.ErrProtocol, err)
	}
	return nil
}

// str is a JSON string the firmware may send as a number.
type str string

func (s *str) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, (*string)(s))
	}
	if _, err := strconv.ParseFloat(string(b), 64); err != nil {
		return fmt.Errorf("not a string or number: %.20q", b)
	}
	*s = str(b)
	return nil
}

// num is a JSON number that firmware sometimes sends as a string.
type num = device.Number

// tokenInfo is get_token's Msg.
type tokenInfo struct {
	Time    str `json:"time"`
	Salt    str `json:"salt"`
	NewSalt str `json:"newsalt"`
}

// parseToken reads get_token's answer.
func parseToken(b []byte) (tokenInfo, error) {
	var r reply
	var ti tokenInfo
	if err := decode(b, &r); err != nil {
		return ti, err
	}
	if err := r.check(); err != nil {
		return ti, err
	}
	if err := json.Unmarshal(r.Msg, &ti); err != nil || ti.Time == "" || ti.Salt == "" || ti.NewSalt == "" {
		return tokenInfo{}, fmt.Errorf("%w: get_token gave no time, salt and newsalt", device.ErrProtocol)
	}
	return ti, nil
}

// parsePrivileged reads the answer to an encrypted command: {"enc":
// base64} sealed with key, or a plain reply (errors often come plain).
func parsePrivileged(key string, b []byte) error {
	var e struct {
		Enc *string `json:"enc"`
	}
	if err := decode(b, &e); err != nil {
		return err
	}
	if e.Enc != nil {
		plain, err := wmcrypt.Open(key, *e.Enc)
		if err != nil {
			return fmt.Errorf("%w: %v", device.ErrProtocol, err)
		}
		b = plain
	}
	var r reply
	if err := decode(b, &r); err != nil {
		return err
	}
	return r.check()
}

// summary is what Read takes from the summary answer.
type summary struct {
	PowerW, HashTHs     float64
	HasPower, HasHashes bool
}

// parseSummary reads SUMMARY[0]: Power in W (-1: not reported) and
// hashrate "MHS 1m", else "MHS av", in MH/s.
func parseSummary(b []byte) (summary, error) {
	var a struct {
		reply
		Summary []map[string]num `json:"SUMMARY"`
	}
	var s summary
	if err := decode(b, &a); err != nil {
		return s, err
	}
	if err := a.check(); err != nil {
		return s, err
	}
	if len(a.Summary) == 0 {
		return s, fmt.Errorf("%w: no SUMMARY", device.ErrProtocol)
	}
	m := a.Summary[0]
	if p, ok := m["Power"]; ok && p >= 0 {
		s.PowerW, s.HasPower = float64(p), true
	}
	for _, k := range []string{"MHS 1m", "MHS av"} {
		if h, ok := m[k]; ok {
			s.HashTHs, s.HasHashes = float64(h)/1e6, true
			break
		}
	}
	return s, nil
}

// parseStatus reads the status answer's Msg.mineroff ("true" / "false";
// btmineroff on older firmware).
func parseStatus(b []byte) (device.State, error) {
	var r reply
	if err := decode(b, &r); err != nil {
		return device.StateUnknown, err
	}
	if err := r.check(); err != nil {
		return device.StateUnknown, err
	}
	var m struct {
		MinerOff   *str `json:"mineroff"`
		BtMinerOff *str `json:"btmineroff"`
	}
	if json.Unmarshal(r.Msg, &m) != nil {
		return device.StateUnknown, nil
	}
	off := m.MinerOff
	if off == nil {
		off = m.BtMinerOff
	}
	switch {
	case off == nil:
		return device.StateUnknown, nil
	case strings.EqualFold(string(*off), "true"):
		return device.StateSleeping, nil
	case strings.EqualFold(string(*off), "false"):
		return device.StateMining, nil
	}
	return device.StateUnknown, nil
}

// parsePools reads POOLS[].URL in order.
func parsePools(b []byte) ([]string, error) {
	var a struct {
		reply
		Pools []struct {
			URL string `json:"URL"`
		} `json:"POOLS"`
	}
	if err := decode(b, &a); err != nil {
		return nil, err
	}
	if err := a.check(); err != nil {
		return nil, err
	}
	out := make([]string, len(a.Pools))
	for i, p := range a.Pools {
		out[i] = p.URL
	}
	return out, nil
}
