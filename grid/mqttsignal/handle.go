package mqttsignal

import (
	"errors"
	"fmt"
	"time"

	"github.com/hashgate/hashgate/switcher"
)

// Ack answers one message on the reply topic.
type Ack struct {
	ID    string `json:"id"`
	Kind  Kind   `json:"kind,omitempty"` // "" when the message could not be read
	OK    bool   `json:"ok"`
	Error string `json:"error"`
	// MiningBudgetKW is the mining budget after the signal (null when
	// the message was refused before it reached the switcher).
	MiningBudgetKW *float64 `json:"mining_budget_kw"`
	// Seq is the audit event the signal made (0: none, e.g. the same
	// allocation again, a price or a heartbeat).
	Seq uint64 `json:"seq"`
}

// curtailed remembers a curtail this subscriber made, for its release.
type curtailed struct {
	made switcher.Allocation  // the curtail's allocation as in force
	prev *switcher.Allocation // what was in force before it (nil: none)
}

// applier hands signals to the switcher, one at a time (the worker's
// goroutine owns it).
type applier struct {
	sw        *switcher.Switcher
	who       string
	topic     string
	curtailKW float64
	emergency bool
	now       func() time.Time
	curtail   *curtailed
}

// apply hands one parsed signal to the switcher and says how it went.
func (a *applier) apply(sig Signal) Ack {
	ack := Ack{ID: sig.ID, Kind: sig.Kind}
	before := a.sw.LastEventSeq()
	var err error
	var changed bool
	switch sig.Kind {
	case KindAllocation:
		_, changed, err = a.sw.Allocate(switcher.AllocationRequest{AIKW: sig.KW, Reason: a.reason(sig),
			Until: sig.Until, Emergency: sig.Emergency}, a.who)
	case KindCap:
		_, changed, err = a.sw.SetCap(switcher.CapRequest{CapKW: sig.KW, Reason: a.reason(sig), Until: sig.Until}, a.who)
	case KindCurtail:
		changed, err = a.curtailNow(sig)
	case KindRelease:
		changed, err = a.release(sig)
	case KindPrice:
		a.sw.SetPrice(switcher.PriceReading{USDPerMWh: sig.Price, At: a.now(), Source: a.who})
	case KindHeartbeat:
		a.sw.Heartbeat(a.who)
	}
	st := a.sw.Status()
	ack.MiningBudgetKW = &st.MiningBudgetKW
	if err != nil {
		ack.Error = err.Error()
		return ack
	}
	ack.OK = true
	if changed {
		ack.Seq = a.seqSince(before)
	}
	return ack
}

// seqSince is the newest audit event this subscriber wrote after before
// (0: none).
func (a *applier) seqSince(before uint64) uint64 {
	evs, err := a.sw.LatestEvents(1, switcher.EventFilter{Who: a.who})
	if err != nil || len(evs) == 0 || evs[0].Seq <= before {
		return 0
	}
	return evs[0].Seq
}

func (a *applier) reason(sig Signal) string {
	if sig.Reason != "" {
		return sig.Reason
	}
	r := "grid signal on " + a.topic
	if sig.ID != "" {
		r += " (id " + sig.ID + ")"
	}
	return r
}

// curtailNow sets the AI allocation that leaves mining curtailKW (never
// less than the allocation in force: a curtail does not raise the mining
// budget), remembering what was in force for the release.
func (a *applier) curtailNow(sig Signal) (bool, error) {
	st := a.sw.Status()
	ai := max(st.CapacityKW-st.ReserveKW-a.curtailKW, st.AIKW, 0)
	var prev *switcher.Allocation
	if a.inForce(st) {
		prev = a.curtail.prev // a second curtail keeps the first one's "before"
	} else if st.Allocation != nil {
		p := *st.Allocation
		prev = &p
	}
	plan, changed, err := a.sw.Allocate(switcher.AllocationRequest{AIKW: ai, Reason: "grid curtail: " + a.reason(sig),
		Until: sig.Until, Emergency: a.emergency}, a.who)
	if err != nil {
		return false, err
	}
	a.curtail = &curtailed{made: plan.Allocation, prev: prev}
	return changed, nil
}

// inForce: this subscriber's curtail is the allocation in force.
func (a *applier) inForce(st switcher.Status) bool {
	return a.curtail != nil && st.Allocation != nil && st.Allocation.Who == a.who &&
		st.Allocation.At.Equal(a.curtail.made.At)
}

// release puts back the allocation in force before the curtail, if the
// curtail is still the allocation in force.
func (a *applier) release(sig Signal) (bool, error) {
	st := a.sw.Status()
	if a.curtail == nil {
		return false, errors.New("no curtail from this subscriber to release (none made since hashgate started)")
	}
	if !a.inForce(st) {
		a.curtail = nil
		return false, errors.New(notInForce(st))
	}
	req := switcher.AllocationRequest{AIKW: 0, Reason: "grid release: " + a.reason(sig) + "; no allocation in force before the curtail is still due"}
	if p := a.curtail.prev; p != nil && p.InForce(a.now()) {
		req = switcher.AllocationRequest{AIKW: p.AIKW, Emergency: p.Emergency,
			Reason: fmt.Sprintf("grid release: %s; back to %g kW (%s, by %s)", a.reason(sig), p.AIKW, p.Reason, p.Who)}
		if !p.Until.IsZero() {
			req.Reason += fmt.Sprintf("; its end %s is not restored", p.Until.UTC().Format(time.RFC3339))
		}
	}
	_, changed, err := a.sw.Allocate(req, a.who)
	if err == nil {
		a.curtail = nil
	}
	return changed, err
}

func notInForce(st switcher.Status) string {
	if st.Allocation == nil {
		return "the curtail is no longer in force (it ended); nothing released"
	}
	al := st.Allocation
	return fmt.Sprintf("the curtail is no longer in force (%g kW by %s since %s is); nothing released",
		al.AIKW, al.Who, al.At.UTC().Format(time.RFC3339))
}
