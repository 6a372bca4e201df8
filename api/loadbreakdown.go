package api

import (
	"fmt"
	"strings"

	"github.com/hashgate/hashgate/switcher"
)

// LoadBreakdown splits mining_load_kw by what draws it; the *_kw parts
// sum to mining_load_kw (offline and released rigs count 0 kW).
type LoadBreakdown struct {
	// MiningKW: rigs given work, at rig_kw or their measured draw, less
	// those pinned on.
	MiningKW float64 `json:"mining_kw"`
	// PinnedOnKW: rigs pinned on, mining whatever the budget.
	PinnedOnKW float64 `json:"pinned_on_kw"`
	// ParkedIdleKW: parked or pending rigs at idle_kw (pools_bound group,
	// or a device readback shows them asleep).
	ParkedIdleKW float64 `json:"parked_idle_kw"`
	// ParkedUnverifiedKW: parked or pending rigs at rig_kw, for want of
	// evidence the park holds, or still submitting (curtail_failed).
	ParkedUnverifiedKW float64 `json:"parked_unverified_kw"`
	// LeftWhileParkedKW: parked rigs that disconnected and are not back,
	// at rig_kw until release_vanished_after.
	LeftWhileParkedKW float64 `json:"left_while_parked_kw"`
	// DeviceHashingKW: rigs held without work whose device still hashes.
	DeviceHashingKW float64 `json:"device_hashing_kw"`
	// ResumeFailedKW: rigs resumed whose device did not wake.
	ResumeFailedKW float64 `json:"resume_failed_kw"`

	pinnedRigs int // pinned on, in PinnedOnKW
}

// loadBreakdown builds the breakdown from the switcher's counted load
// and the workers pinned on (their counted draw, from the same rule).
func loadBreakdown(p *Power, ws []Worker) *LoadBreakdown {
	b := breakdownOf(func(as switcher.CountedAs) float64 { return p.Counted[as.String()].KW })
	for i := range ws {
		w := &ws[i]
		if w.Pin == string(switcher.PinOn) && w.CountedAs == switcher.CountedMining.String() {
			b.PinnedOnKW += w.CountedKW
			b.pinnedRigs++
		}
	}
	// The workers are read after the plan the counts come from: never
	// more pinned on than mining.
	b.PinnedOnKW = min(b.PinnedOnKW, b.MiningKW)
	b.MiningKW -= b.PinnedOnKW
	return b
}

// planBreakdown is the breakdown of a plan's load once it is applied
// (the mining load after in an allocation, cap, pin or plan answer).
func planBreakdown(p *switcher.Plan) *LoadBreakdown {
	b := breakdownOf(func(as switcher.CountedAs) float64 { return p.Counted[as].KW })
	b.PinnedOnKW = min(p.PinnedOnKW, b.MiningKW)
	b.MiningKW -= b.PinnedOnKW
	return b
}

// breakdownOf sums the counted load by part, pinned on still in mining.
func breakdownOf(c func(switcher.CountedAs) float64) *LoadBreakdown {
	return &LoadBreakdown{
		MiningKW:           c(switcher.CountedMining),
		ParkedIdleKW:       c(switcher.CountedParkedBound) + c(switcher.CountedParkedVerified),
		ParkedUnverifiedKW: c(switcher.CountedParkedUnverified) + c(switcher.CountedCurtailFailed),
		LeftWhileParkedKW:  c(switcher.CountedLeftWhileParked),
		DeviceHashingKW:    c(switcher.CountedDeviceHashing),
		ResumeFailedKW:     c(switcher.CountedResumeFailed),
	}
}

// heldCounts counts the rigs the switcher holds without work by why:
// parked (by a plan; the status's curtailed) is given; pending (waiting
// for admission) is counted from the workers' power state.
func heldCounts(ws []Worker) (pending int) {
	for i := range ws {
		if ws[i].PowerState == "pending" {
			pending++
		}
	}
	return pending
}

// detail says what the load over the budget is made of, from the
// breakdown: every part that is not mining, with its rigs, and what
// each is counted at.
func (b *LoadBreakdown) detail(p *Power) string {
	rigs := func(as ...switcher.CountedAs) int {
		n := 0
		for _, a := range as {
			n += p.Counted[a.String()].Rigs
		}
		return n
	}
	parts := []struct {
		kw   float64
		n    int
		what string
	}{
		{b.MiningKW, rigs(switcher.CountedMining) - b.pinnedRigs, "mining"},
		{b.PinnedOnKW, b.pinnedRigs, "pinned on (never curtailed)"},
		{b.LeftWhileParkedKW, rigs(switcher.CountedLeftWhileParked), "that left while parked, counted at rig_kw until they return or release_vanished_after"},
		{b.ParkedUnverifiedKW, rigs(switcher.CountedParkedUnverified, switcher.CountedCurtailFailed), "parked without evidence the park holds, counted at rig_kw"},
		{b.ParkedIdleKW, rigs(switcher.CountedParkedBound, switcher.CountedParkedVerified), "parked at idle_kw"},
		{b.DeviceHashingKW, rigs(switcher.CountedDeviceHashing), "held without work whose device hashes"},
		{b.ResumeFailedKW, rigs(switcher.CountedResumeFailed), "resumed whose device did not wake"},
	}
	var out []string
	for _, x := range parts {
		if x.kw <= 0 {
			continue
		}
		out = append(out, fmt.Sprintf("%.1f kW from %d rigs %s", x.kw, max(x.n, 0), x.what))
	}
	if len(out) == 0 {
		return fmt.Sprintf("load %.1f kW, budget %.1f kW", p.MiningLoadKW, p.MiningBudgetKW)
	}
	return fmt.Sprintf("load %.1f kW over the budget %.1f kW: %s", p.MiningLoadKW, p.MiningBudgetKW, strings.Join(out, "; "))
}
