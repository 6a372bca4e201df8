package api

import (
	"net/http"
	"time"

	"github.com/hashgate/hashgate/switcher"
)

// Cap mode and the fail-safe: PUT /api/v1/cap and POST /api/v1/heartbeat
// (write token), and their part of the status's power section.

// capBody is PUT /api/v1/cap. cap_kw is required: a body without it
// must not end a cap by accident (0 ends the API's cap on purpose).
type capBody struct {
	CapKW  *float64 `json:"cap_kw"`
	Reason string   `json:"reason"`
	Until  string   `json:"until"`
}

// CapResponse is the answer of PUT /api/v1/cap: the plan, as an
// allocation's, and the cap in force after it.
type CapResponse struct {
	PlanResponse
	CapKW      float64 `json:"cap_kw"`      // in force (0: none)
	BudgetRule string  `json:"budget_rule"` // allocation | cap | failsafe
}

func (h *Handler) setCap(w http.ResponseWriter, r *http.Request) {
	if h.noSwitcher(w) {
		return
	}
	var body capBody
	if !readBody(w, r, &body) {
		return
	}
	if body.CapKW == nil {
		writeError(w, http.StatusBadRequest, "cap_kw is required: the site's limit at the meter in kW (0 ends the cap set here), e.g. {\"cap_kw\": 15000, \"reason\": \"...\"}")
		return
	}
	req := switcher.CapRequest{CapKW: *body.CapKW, Reason: body.Reason}
	var ok bool
	if req.Until, ok = readUntil(w, body.Until); !ok {
		return
	}
	by := who(r)
	plan, changed, err := h.sw.SetCap(req, by)
	dur, applied := durability(err)
	if !applied {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	h.log.Info().Str("who", by).Float64("cap_kw", req.CapKW).Str("reason", req.Reason).Time("until", req.Until).
		Bool("changed", changed).Int("curtail", len(plan.Curtail)).Int("resume", len(plan.Resume)).Msg("api: cap")
	out := CapResponse{PlanResponse: planResponse(plan), CapKW: plan.CapKW, BudgetRule: plan.BudgetRule}
	out.Changed, out.Who, out.Durability = &changed, by, dur
	writeJSON(w, http.StatusOK, out)
}

// HeartbeatResponse is the answer of POST /api/v1/heartbeat.
type HeartbeatResponse struct {
	Who            string     `json:"who"`
	At             time.Time  `json:"at"`
	Failsafe       bool       `json:"failsafe"`
	FailsafeReason string     `json:"failsafe_reason,omitempty"`
	FailsafeSince  *time.Time `json:"failsafe_since"`
}

// heartbeat serves POST /api/v1/heartbeat: the power desk is alive. It
// takes no body (an empty JSON object is accepted too). The fail-safe,
// if the heartbeat's absence caused it, ends after failsafe_hold.
func (h *Handler) heartbeat(w http.ResponseWriter, r *http.Request) {
	if h.noSwitcher(w) {
		return
	}
	if r.ContentLength != 0 {
		var body struct{}
		if !readBody(w, r, &body) {
			return
		}
	}
	by := who(r)
	h.sw.Heartbeat(by)
	st := h.sw.Status()
	writeJSON(w, http.StatusOK, HeartbeatResponse{Who: by, At: h.cfg.Now().UTC(), Failsafe: st.Failsafe,
		FailsafeReason: st.FailsafeReason, FailsafeSince: timePtr(st.FailsafeSince)})
}

// CapSetting is the cap set through the API that is in force.
type CapSetting struct {
	CapKW  float64    `json:"cap_kw"`
	Reason string     `json:"reason"`
	Who    string     `json:"who"`
	At     time.Time  `json:"at"`
	Until  *time.Time `json:"until"`
}

// Meter is one configured meter in the status.
type Meter = switcher.MeterStatus

// capPower fills the power section's cap mode, fail-safe and meters.
func capPower(p *Power, st *switcher.Status) {
	p.CapKW, p.AIKWMeasured, p.SiteLoadKW = st.CapKW, st.AIKWMeasured, st.SiteLoadKW
	p.Failsafe, p.FailsafeReason, p.FailsafeSince = st.Failsafe, st.FailsafeReason, timePtr(st.FailsafeSince)
	p.BudgetRule, p.Meters = st.BudgetRule, st.MeterStatus
	if p.Meters == nil {
		p.Meters = []Meter{}
	}
	if c := st.Cap; c != nil {
		p.Cap = &CapSetting{CapKW: c.CapKW, Reason: c.Reason, Who: c.Who, At: c.At, Until: timePtr(c.Until)}
	}
}
