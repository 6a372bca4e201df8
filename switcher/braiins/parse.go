package braiins

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/hashgate/hashgate/switcher/device"
)

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// loginResponse is LoginResponse: the token and its validity in seconds.
type loginResponse struct {
	Token    string `json:"token"`
	TimeoutS int64  `json:"timeout_s"`
}

func parseLogin(data []byte) (loginResponse, error) {
	var lr loginResponse
	if err := json.Unmarshal(data, &lr); err != nil {
		return lr, fmt.Errorf("%w: %v", device.ErrProtocol, err)
	}
	if lr.Token == "" {
		return lr, fmt.Errorf("%w: no token in the login answer", device.ErrProtocol)
	}
	if lr.TimeoutS < 0 {
		lr.TimeoutS = 0
	}
	return lr, nil
}

// details is the part of GetMinerDetailsResponse we read.
type details struct {
	// Status is the deprecated MinerStatus enum: a number in the REST
	// document, its proto name in some gRPC-JSON renderings.
	Status         json.RawMessage `json:"status"`
	DetailedStatus *struct {
		// Status is a one-key object: stopped, starting, running or
		// stopping.
		Status map[string]json.RawMessage `json:"status"`
	} `json:"detailed_status"`
}

// state prefers detailed_status (current firmware) and falls back to the
// deprecated status enum.
func (d details) state() device.State {
	if d.DetailedStatus != nil {
		for k := range d.DetailedStatus.Status {
			switch k {
			case "running", "starting":
				return device.StateMining
			case "stopped", "stopping":
				return device.StateSleeping
			}
		}
	}
	return minerStatus(d.Status)
}

// minerStatus maps MinerStatus: 2 normal and 5 restricted hash, 1 not
// started, 3 paused and 4 suspended do not.
func minerStatus(raw json.RawMessage) device.State {
	raw = bytes.TrimSpace(raw)
	var name string
	if err := json.Unmarshal(raw, &name); err == nil {
		name = strings.TrimPrefix(strings.ToLower(name), "miner_status_")
	} else if n, err := strconv.Atoi(string(raw)); err == nil {
		name = map[int]string{1: "not_started", 2: "normal", 3: "paused", 4: "suspended", 5: "restricted"}[n]
	}
	switch name {
	case "normal", "restricted":
		return device.StateMining
	case "not_started", "paused", "suspended":
		return device.StateSleeping
	}
	return device.StateUnknown
}

// flexNum is a JSON number that may also arrive as a string (proto
// 64-bit integers in JSON).
type flexNum struct {
	v  float64
	ok bool
}

func (f *flexNum) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	if s == "null" || s == "" {
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return err
	}
	f.v, f.ok = v, !math.IsNaN(v) && !math.IsInf(v, 0)
	return nil
}

type gigaHashrate struct {
	GHs flexNum `json:"gigahash_per_second"`
}

// stats is the part of GetMinerStatsResponse we read.
type stats struct {
	MinerStats *struct {
		RealHashrate *struct {
			Last5s *gigaHashrate `json:"last_5s"`
			Last1m *gigaHashrate `json:"last_1m"`
		} `json:"real_hashrate"`
	} `json:"miner_stats"`
	PowerStats *struct {
		ApproximatedConsumption *struct {
			Watt flexNum `json:"watt"`
		} `json:"approximated_consumption"`
	} `json:"power_stats"`
}

// power is power_stats.approximated_consumption.watt.
func (s stats) power() (float64, bool) {
	if s.PowerStats == nil || s.PowerStats.ApproximatedConsumption == nil {
		return 0, false
	}
	w := s.PowerStats.ApproximatedConsumption.Watt
	return w.v, w.ok && w.v >= 0
}

// hashrate is miner_stats.real_hashrate.last_5s (else last_1m), GH/s
// turned into TH/s.
func (s stats) hashrate() (float64, bool) {
	if s.MinerStats == nil || s.MinerStats.RealHashrate == nil {
		return 0, false
	}
	for _, h := range []*gigaHashrate{s.MinerStats.RealHashrate.Last5s, s.MinerStats.RealHashrate.Last1m} {
		if h != nil && h.GHs.ok && h.GHs.v >= 0 {
			return h.GHs.v / 1000, true
		}
	}
	return 0, false
}

// poolGroup is PoolGroup as GET /api/v1/pools/ lists it.
type poolGroup struct {
	UID   string `json:"uid"`
	Name  string `json:"name"`
	Pools []struct {
		URL     string `json:"url"`
		User    string `json:"user"`
		Enabled *bool  `json:"enabled"`
	} `json:"pools"`
}

// poolURLs lists the enabled pools' URLs, group by group.
func poolURLs(groups []poolGroup) []string {
	urls := []string{}
	for _, g := range groups {
		for _, p := range g.Pools {
			if p.URL != "" && (p.Enabled == nil || *p.Enabled) {
				urls = append(urls, p.URL)
			}
		}
	}
	return urls
}

// groupConfig is PoolGroupConfiguration for PUT /api/v1/pools/batch.
type groupConfig struct {
	Name     string       `json:"name"`
	Pools    []poolConfig `json:"pools"`
	Strategy strategy     `json:"load_balance_strategy"`
}

type poolConfig struct {
	URL      string `json:"url"`
	User     string `json:"user"`
	Password string `json:"password"`
	Enabled  bool   `json:"enabled"`
}

type strategy struct {
	Quota struct {
		Value int `json:"value"`
	} `json:"quota"`
}

// batchFor is the batch that replaces every group with one "hashgate"
// group holding pools in order.
func batchFor(pools []device.Pool) []groupConfig {
	g := groupConfig{Name: "hashgate", Pools: make([]poolConfig, 0, len(pools))}
	g.Strategy.Quota.Value = 1
	for _, p := range pools {
		g.Pools = append(g.Pools, poolConfig{URL: p.URL, User: p.User, Password: p.Password, Enabled: true})
	}
	return []groupConfig{g}
}
