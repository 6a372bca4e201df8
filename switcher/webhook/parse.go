package webhook

import (
	"encoding/json"
	"math"

	"github.com/hashgate/hashgate/switcher/device"
)

// reading is what a receiver may answer to a read.
type reading struct {
	State       string   `json:"state"`
	PowerW      *float64 `json:"power_w"`
	HashrateTHs *float64 `json:"hashrate_ths"`
}

// parseReading reads a receiver's answer to a read: JSON with "state"
// ("mining" | "sleeping"), "power_w" and "hashrate_ths", each optional.
// Anything else is state unknown with nothing measured.
func parseReading(body []byte) device.Reading {
	var r device.Reading
	var in reading
	if len(body) == 0 || json.Unmarshal(body, &in) != nil {
		return r
	}
	switch in.State {
	case "mining":
		r.State = device.StateMining
	case "sleeping":
		r.State = device.StateSleeping
	}
	if v, ok := measured(in.PowerW); ok {
		r.PowerW, r.HasPower = v, true
	}
	if v, ok := measured(in.HashrateTHs); ok {
		r.HashrateTHs, r.HasHashrate = v, true
	}
	return r
}

func measured(p *float64) (float64, bool) {
	if p == nil || *p < 0 || math.IsNaN(*p) || math.IsInf(*p, 0) {
		return 0, false
	}
	return *p, true
}
