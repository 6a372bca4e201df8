package vnish

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/hashgate/hashgate/switcher/device"
)

func unlockPayload(pw string) ([]byte, error) {
	return json.Marshal(map[string]string{"pw": pw})
}

// parseUnlock reads {"token": "..."}.
func parseUnlock(b []byte) (string, error) {
	var r struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(b, &r); err != nil || r.Token == "" {
		return "", fmt.Errorf("%w: unlock answer has no token", device.ErrProtocol)
	}
	return r.Token, nil
}

// parseCommand accepts any 2xx answer to a command except one that says
// {"success": false}; VNish answers mining/stop with little or nothing.
func parseCommand(b []byte) error {
	var r struct {
		Success *bool `json:"success"`
	}
	if json.Unmarshal(b, &r) == nil && r.Success != nil && !*r.Success {
		return fmt.Errorf("%w: success false", device.ErrRefused)
	}
	return nil
}

type summaryPool struct {
	URL string `json:"url"`
}

// summary is the part of GET /api/v1/summary the driver reads.
type summary struct {
	Miner *struct {
		MinerStatus struct {
			MinerState string `json:"miner_state"`
		} `json:"miner_status"`
		HrRealtime       *float64      `json:"hr_realtime"`
		PowerConsumption *float64      `json:"power_consumption"`
		PowerUsage       *float64      `json:"power_usage"`
		Pools            []summaryPool `json:"pools"`
	} `json:"miner"`
}

func parseSummary(b []byte) (device.Reading, error) {
	var s summary
	if err := json.Unmarshal(b, &s); err != nil || s.Miner == nil {
		return device.Reading{}, fmt.Errorf("%w: summary has no miner object", device.ErrProtocol)
	}
	m := s.Miner
	r := device.Reading{State: stateOf(m.MinerStatus.MinerState), Pools: []string{}}
	if v, ok := finite(m.HrRealtime); ok {
		r.HashrateTHs, r.HasHashrate = v/1000, true // GH/s on SHA-256 models
	}
	if v, ok := finite(m.PowerConsumption); ok {
		r.PowerW, r.HasPower = v, true
	} else if v, ok := finite(m.PowerUsage); ok {
		r.PowerW, r.HasPower = v, true
	}
	for _, p := range m.Pools {
		if p.URL != "" {
			r.Pools = append(r.Pools, p.URL)
		}
	}
	return r, nil
}

func finite(p *float64) (float64, bool) {
	if p == nil || math.IsNaN(*p) || math.IsInf(*p, 0) || *p < 0 {
		return 0, false
	}
	return *p, true
}

// stateOf maps miner_state. pyasic counts everything but "stopped",
// "shutting-down" and "failure" as mining; asic-rs only "mining" and
// "auto-tuning". We say mining for those two and the start-up states,
// sleeping for the stopped ones, and unknown otherwise (failure: the
// hashrate and power tell).
func stateOf(s string) device.State {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "mining", "auto-tuning", "auto_tuning", "tuning", "starting", "initializing", "restarting":
		return device.StateMining
	case "stopped", "paused", "idle", "shutting-down", "stopping":
		return device.StateSleeping
	}
	return device.StateUnknown
}

// poolsPayload is the settings write asic-rs sends:
// {"miner":{"pools":[{"url","user","pass","order","id"}]}}.
func poolsPayload(pools []device.Pool) ([]byte, error) {
	type entry struct {
		URL   string `json:"url"`
		User  string `json:"user"`
		Pass  string `json:"pass"`
		Order int    `json:"order"`
		ID    int    `json:"id"`
	}
	es := make([]entry, 0, len(pools))
	for i, p := range pools {
		es = append(es, entry{URL: p.URL, User: p.User, Pass: p.Password, Order: i, ID: i})
	}
	return json.Marshal(map[string]any{"miner": map[string]any{"pools": es}})
}
