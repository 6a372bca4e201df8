package mqttsignal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// Kind is what a signal asks for.
type Kind string

// The kinds of signal, one per message.
const (
	KindAllocation Kind = "allocation" // {"ai_kw": N}
	KindCap        Kind = "cap"        // {"cap_kw": N}
	KindCurtail    Kind = "curtail"    // {"command": "curtail"}
	KindRelease    Kind = "release"    // {"command": "release"}
	KindPrice      Kind = "price"      // {"price_usd_per_mwh": N}
	KindHeartbeat  Kind = "heartbeat"  // {"heartbeat": true}
)

// Bounds of a message's strings.
const (
	MaxIDBytes     = 128
	MaxReasonBytes = 1024
)

// Signal is one parsed message.
type Signal struct {
	Kind      Kind
	ID        string    // echoed in the ack ("" when the message has none)
	KW        float64   // ai_kw, cap_kw
	Price     float64   // price_usd_per_mwh
	Reason    string    // for the audit log ("" = a default naming the topic)
	Until     time.Time // zero: none
	Emergency bool      // allocation only
}

// wire is a message as sent: exactly one of the signal fields is set.
type wire struct {
	ID        *string    `json:"id"`
	AIKW      *float64   `json:"ai_kw"`
	CapKW     *float64   `json:"cap_kw"`
	Command   *string    `json:"command"`
	Price     *float64   `json:"price_usd_per_mwh"`
	Heartbeat *bool      `json:"heartbeat"`
	Reason    *string    `json:"reason"`
	Until     *time.Time `json:"until"`
	Emergency *bool      `json:"emergency"`
}

// Parse reads one message: a JSON object with exactly one of ai_kw,
// cap_kw, command, price_usd_per_mwh and heartbeat, and optional id,
// reason, until (RFC 3339) and, with ai_kw, emergency. Unknown fields,
// trailing data, non-finite or negative kW and an until not after now are
// errors. On error the signal still carries the id when one could be read.
func Parse(payload []byte, now time.Time) (Signal, error) {
	var w wire
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return Signal{ID: peekID(payload)}, fmt.Errorf("not a signal: %s", jsonError(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return Signal{ID: peekID(payload)}, errors.New("not a signal: data after the JSON object")
	}
	var sig Signal
	if w.ID != nil {
		sig.ID = *w.ID
		if len(sig.ID) > MaxIDBytes {
			return Signal{}, fmt.Errorf("id: %d bytes, at most %d", len(sig.ID), MaxIDBytes)
		}
	}
	if err := w.kind(&sig); err != nil {
		return sig, err
	}
	if err := w.extras(&sig, now); err != nil {
		return sig, err
	}
	return sig, nil
}

// kind fills the signal's kind and figure from the one field set.
func (w *wire) kind(sig *Signal) error {
	var set []string
	if w.AIKW != nil {
		set = append(set, "ai_kw")
		sig.Kind, sig.KW = KindAllocation, *w.AIKW
	}
	if w.CapKW != nil {
		set = append(set, "cap_kw")
		sig.Kind, sig.KW = KindCap, *w.CapKW
	}
	if w.Command != nil {
		set = append(set, "command")
		switch *w.Command {
		case "curtail":
			sig.Kind = KindCurtail
		case "release":
			sig.Kind = KindRelease
		default:
			return fmt.Errorf("command: %q is not a command; expected \"curtail\" or \"release\"", clip(*w.Command))
		}
	}
	if w.Price != nil {
		set = append(set, "price_usd_per_mwh")
		sig.Kind, sig.Price = KindPrice, *w.Price
		if math.IsNaN(sig.Price) || math.IsInf(sig.Price, 0) || math.Abs(sig.Price) > 1e6 {
			return errors.New("price_usd_per_mwh: must be a finite number within ±1,000,000")
		}
	}
	if w.Heartbeat != nil {
		set = append(set, "heartbeat")
		sig.Kind = KindHeartbeat
		if !*w.Heartbeat {
			return errors.New("heartbeat: must be true")
		}
	}
	switch len(set) {
	case 0:
		return errors.New("no signal: expected one of ai_kw, cap_kw, command, price_usd_per_mwh, heartbeat")
	case 1:
	default:
		return fmt.Errorf("one signal a message: got %s", strings.Join(set, ", "))
	}
	if (sig.Kind == KindAllocation || sig.Kind == KindCap) && !(sig.KW >= 0 && sig.KW <= 1e9) {
		return fmt.Errorf("%s: must be a number ≥ 0", set[0])
	}
	return nil
}

// extras checks reason, until and emergency against the kind.
func (w *wire) extras(sig *Signal, now time.Time) error {
	if w.Reason != nil {
		sig.Reason = *w.Reason
		if len(sig.Reason) > MaxReasonBytes {
			return fmt.Errorf("reason: %d bytes, at most %d", len(sig.Reason), MaxReasonBytes)
		}
	}
	if w.Until != nil {
		switch sig.Kind {
		case KindAllocation, KindCap, KindCurtail:
		default:
			return fmt.Errorf("until: not taken by a %s signal", sig.Kind)
		}
		sig.Until = *w.Until
		if !sig.Until.After(now) {
			return errors.New("until: must be in the future")
		}
	}
	if w.Emergency != nil {
		if sig.Kind != KindAllocation {
			return fmt.Errorf("emergency: not taken by a %s signal", sig.Kind)
		}
		sig.Emergency = *w.Emergency
	}
	return nil
}

// peekID reads the id of a message that is not a valid signal, for its
// ack ("" when there is none to read).
func peekID(payload []byte) string {
	var p struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(payload, &p) != nil || len(p.ID) > MaxIDBytes {
		return ""
	}
	return p.ID
}

// jsonError says what is wrong without echoing the payload at length.
func jsonError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%s: expected a %s, got a JSON %s", te.Field, te.Type, te.Value)
	}
	return clip(err.Error())
}

// clip bounds a string echoed in an ack.
func clip(s string) string {
	const n = 120
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
