package antminer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashgate/hashgate/switcher/device"
)

// Miner modes as set_miner_conf.cgi and get_miner_conf.cgi write them.
const (
	modeNormal = 0
	modeSleep  = 1
)

// poolSlots is how many pools stock firmware keeps; a write leaves slots
// it was not sent untouched, so unused slots are sent blank.
const poolSlots = 3

type confPool struct {
	URL  string `json:"url"`
	User string `json:"user"`
	Pass string `json:"pass"`
}

// minerConf is get_miner_conf.cgi's answer: the keys the driver needs,
// and the whole object to carry the rest of the configuration over.
type minerConf struct {
	raw   map[string]json.RawMessage
	pools []confPool
}

func parseConf(b []byte) (minerConf, error) {
	var c minerConf
	if err := json.Unmarshal(b, &c.raw); err != nil || c.raw == nil {
		return c, fmt.Errorf("%w: miner conf is not a JSON object", device.ErrProtocol)
	}
	if p, ok := c.raw["pools"]; ok {
		if err := json.Unmarshal(p, &c.pools); err != nil {
			return c, fmt.Errorf("%w: miner conf pools", device.ErrProtocol)
		}
	}
	return c, nil
}

// mode is the configured miner mode: "miner-mode" where the firmware
// has it, else "bitmain-work-mode" (a string on S19-era firmware).
func (c minerConf) mode() (int, bool) {
	for _, k := range []string{"miner-mode", "bitmain-work-mode"} {
		if v, ok := c.raw[k]; ok {
			if m, ok := jsonInt(v); ok {
				return m, true
			}
		}
	}
	return 0, false
}

func (c minerConf) poolURLs() []string {
	out := []string{}
	for _, p := range c.pools {
		if p.URL != "" {
			out = append(out, p.URL)
		}
	}
	return out
}

// jsonInt reads 1, "1" or 1.0.
func jsonInt(v json.RawMessage) (int, bool) {
	var n json.Number
	d := json.NewDecoder(bytes.NewReader(v))
	d.UseNumber()
	var x any
	if d.Decode(&x) != nil {
		return 0, false
	}
	switch t := x.(type) {
	case json.Number:
		n = t
	case string:
		n = json.Number(strings.TrimSpace(t))
	default:
		return 0, false
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || f != float64(int(f)) {
		return 0, false
	}
	return int(f), true
}

// writePayload is the body for set_miner_conf.cgi: the configuration the
// web UI itself sends (fan control, frequency level, mode, all three pool
// slots) built from what get_miner_conf.cgi returned, with mode set in
// both mode keys, and pools replaced when pools is not nil.
func (c minerConf) writePayload(mode int, pools []confPool) ([]byte, error) {
	out := map[string]any{
		"bitmain-fan-ctrl":  rawOr(c.raw, false, "bitmain-fan-ctrl"),
		"bitmain-fan-pwm":   rawOr(c.raw, "100", "bitmain-fan-pwm"),
		"freq-level":        rawOr(c.raw, "100", "freq-level", "bitmain-freq-level"),
		"miner-mode":        mode,
		"bitmain-work-mode": mode,
	}
	if pools == nil {
		pools = c.pools
	}
	slots := make([]confPool, poolSlots)
	copy(slots, pools)
	out["pools"] = slots
	return json.Marshal(out)
}

func rawOr(raw map[string]json.RawMessage, def any, keys ...string) any {
	for _, k := range keys {
		if v, ok := raw[k]; ok {
			return v
		}
	}
	return def
}

// setResult is set_miner_conf.cgi's answer: {"stats":"success",
// "code":"M000","msg":"OK!"} when accepted.
type setResult struct {
	Stats string `json:"stats"`
	Code  string `json:"code"`
	Msg   string `json:"msg"`
}

func parseSetResult(b []byte) error {
	var r setResult
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("%w: set_miner_conf answer is not JSON", device.ErrProtocol)
	}
	if r.Stats != "success" {
		return fmt.Errorf("%w: set_miner_conf: stats %.32q code %.16q", device.ErrRefused, r.Stats, r.Code)
	}
	return nil
}

// stats is the part of stats.cgi's answer the driver reads: the running
// miner's mode and hashrate, and its power where the model reports it.
type stats struct {
	mode     int
	hasMode  bool
	hashTHs  float64
	hasHash  bool
	powerW   float64
	hasPower bool
}

func parseStats(b []byte) (stats, error) {
	var doc struct {
		STATS []map[string]json.RawMessage `json:"STATS"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return stats{}, fmt.Errorf("%w: stats is not JSON", device.ErrProtocol)
	}
	var s stats
	for _, row := range doc.STATS {
		if v, ok := row["miner-mode"]; ok && !s.hasMode {
			s.mode, s.hasMode = jsonInt(v)
		}
		if v, ok := row["rate_5s"]; ok && !s.hasHash {
			s.hashTHs, s.hasHash = rateTHs(v, row["rate_unit"])
		}
		if !s.hasPower {
			s.powerW, s.hasPower = power(row)
		}
	}
	return s, nil
}

func jsonFloat(v json.RawMessage) (float64, bool) {
	var x any
	if json.Unmarshal(v, &x) != nil {
		return 0, false
	}
	var f float64
	var err error
	switch t := x.(type) {
	case float64:
		f = t
	case string:
		f, err = strconv.ParseFloat(strings.TrimSpace(t), 64)
	default:
		return 0, false
	}
	if err != nil || f < 0 || f != f || f > 1e15 {
		return 0, false
	}
	return f, true
}

// rateTHs converts a rate in rate_unit (GH when absent) to TH/s.
func rateTHs(v, unit json.RawMessage) (float64, bool) {
	f, ok := jsonFloat(v)
	if !ok {
		return 0, false
	}
	u := "GH"
	if unit != nil {
		_ = json.Unmarshal(unit, &u)
	}
	switch strings.ToUpper(strings.TrimSuffix(strings.TrimSpace(u), "/s")) {
	case "H":
		return f / 1e12, true
	case "KH":
		return f / 1e9, true
	case "MH":
		return f / 1e6, true
	case "GH":
		return f / 1e3, true
	case "TH":
		return f, true
	case "PH":
		return f * 1e3, true
	}
	return 0, false
}

// power reads the draw where a model reports one: "power", "Power",
// "watt" (W) or "chain_power" ("3250 W").
func power(row map[string]json.RawMessage) (float64, bool) {
	for _, k := range []string{"power", "Power", "watt"} {
		if v, ok := row[k]; ok {
			if f, ok := jsonFloat(v); ok {
				return f, true
			}
		}
	}
	if v, ok := row["chain_power"]; ok {
		var s string
		if json.Unmarshal(v, &s) == nil {
			s = strings.TrimSpace(strings.TrimRight(strings.TrimSpace(s), "Ww"))
			if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 {
				return f, true
			}
		}
	}
	return 0, false
}
