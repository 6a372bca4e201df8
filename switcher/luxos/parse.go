package luxos

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/hashgate/hashgate/switcher/device"
)

// codeSessionActive is LuxOS's answer to logon while another session
// is active (luxos-tooling src/luxos/asyncops.py, logon).
const codeSessionActive = 402

// status is one entry of an answer's STATUS list.
type status struct {
	Status string `json:"STATUS"` // S, I, W success; E, F failure
	Code   int    `json:"Code"`
	Msg    string `json:"Msg"`
}

// envelope is what every answer carries.
type envelope struct {
	Status []status `json:"STATUS"`
}

// num is a JSON number that firmware sometimes sends as a string.
type num = device.Number

func decode(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %v", device.ErrProtocol, err)
	}
	return nil
}

// check returns nil when the envelope says success, ErrRefused with the
// device's message otherwise. The message is the firmware's own short
// text; LuxOS answers never echo a credential (it has none).
func (e envelope) check() error {
	if len(e.Status) == 0 {
		return fmt.Errorf("%w: no STATUS", device.ErrProtocol)
	}
	s := e.Status[0]
	switch s.Status {
	case "S", "I", "W":
		return nil
	}
	return fmt.Errorf("%w: code %d %q", device.ErrRefused, s.Code, clip(s.Msg))
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// parseStatus reads the answer of a command that returns only STATUS.
func parseStatus(b []byte) error {
	var e envelope
	if err := decode(b, &e); err != nil {
		return err
	}
	return e.check()
}

// parseLogon reads logon's answer: the session id, or ErrBusy when
// another session is active.
func parseLogon(b []byte) (string, error) {
	var a struct {
		envelope
		Session []struct {
			SessionID string `json:"SessionID"`
		} `json:"SESSION"`
	}
	if err := decode(b, &a); err != nil {
		return "", err
	}
	if len(a.Status) > 0 && (a.Status[0].Code == codeSessionActive || sessionInUse(a.Status[0].Msg)) {
		return "", fmt.Errorf("%w: another session is active on the device", device.ErrBusy)
	}
	if err := a.check(); err != nil {
		return "", err
	}
	if len(a.Session) == 0 || a.Session[0].SessionID == "" {
		return "", fmt.Errorf("%w: logon gave no SessionID", device.ErrProtocol)
	}
	return a.Session[0].SessionID, nil
}

// sessionInUse matches the wordings seen for a held session.
func sessionInUse(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "another session") || strings.Contains(m, "session in use")
}

// reading is the multi-command answer of summary+power+config: each
// part is a one-element list holding that command's full answer.
type reading struct {
	Summary []struct {
		envelope
		Summary []struct {
			GHS5s num `json:"GHS 5s"`
			GHSav num `json:"GHS av"`
		} `json:"SUMMARY"`
	} `json:"summary"`
	Power []struct {
		envelope
		Power []struct {
			Watts *num `json:"Watts"`
		} `json:"POWER"`
	} `json:"power"`
	Config []struct {
		envelope
		Config []struct {
			CurtailMode *string `json:"CurtailMode"`
		} `json:"CONFIG"`
	} `json:"config"`
}

// parseReading turns the summary+power+config answer into a Reading. A
// part the firmware refused (STATUS E, as for power on models without
// a PSU reading) leaves its fields unset; no usable part is ErrProtocol.
func parseReading(b []byte) (device.Reading, error) {
	var a reading
	var r device.Reading
	if err := decode(b, &a); err != nil {
		return r, err
	}
	used := false
	if len(a.Summary) > 0 && a.Summary[0].check() == nil && len(a.Summary[0].Summary) > 0 {
		s := a.Summary[0].Summary[0]
		ghs := float64(s.GHS5s)
		if ghs == 0 {
			ghs = float64(s.GHSav)
		}
		r.HashrateTHs, r.HasHashrate, used = ghs/1000, true, true
	}
	if len(a.Power) > 0 && a.Power[0].check() == nil && len(a.Power[0].Power) > 0 && a.Power[0].Power[0].Watts != nil {
		r.PowerW, r.HasPower, used = float64(*a.Power[0].Power[0].Watts), true, true
	}
	if len(a.Config) > 0 && a.Config[0].check() == nil && len(a.Config[0].Config) > 0 {
		used = true
		if m := a.Config[0].Config[0].CurtailMode; m != nil {
			r.State = curtailState(*m)
		}
	}
	if !used {
		return r, fmt.Errorf("%w: no summary, power or config in the answer", device.ErrProtocol)
	}
	return r, nil
}

// curtailState maps config's CurtailMode: "None" while mining, "Sleep"
// after curtail sleep; "Idle" is the other curtailed mode the curtail
// documentation names.
func curtailState(mode string) device.State {
	switch strings.ToLower(mode) {
	case "none":
		return device.StateMining
	case "sleep", "idle":
		return device.StateSleeping
	}
	return device.StateUnknown
}

// pool is one entry of the pools answer.
type pool struct {
	ID       int
	URL      string
	Priority int
}

// parsePools reads the pools answer, in priority order.
func parsePools(b []byte) ([]pool, error) {
	var a struct {
		envelope
		Pools []struct {
			POOL     int    `json:"POOL"`
			URL      string `json:"URL"`
			Priority *int   `json:"Priority"`
		} `json:"POOLS"`
	}
	if err := decode(b, &a); err != nil {
		return nil, err
	}
	if err := a.check(); err != nil {
		return nil, err
	}
	out := make([]pool, 0, len(a.Pools))
	for i, p := range a.Pools {
		pr := i
		if p.Priority != nil {
			pr = *p.Priority
		}
		out = append(out, pool{ID: p.POOL, URL: p.URL, Priority: pr})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Priority < out[j].Priority })
	return out, nil
}
