package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hashgate/hashgate/config/tomlfile"
	"github.com/hashgate/hashgate/stratum/proxy"
	"github.com/hashgate/hashgate/switcher"
)

// Status is GET /api/v1/status.
type Status struct {
	Time            time.Time `json:"time"`
	Healthy         bool      `json:"healthy"` // a live pool session
	MinersConnected int64     `json:"miners_connected"`
	HashrateTHs     float64   `json:"hashrate_ths"` // last minute, every worker
	Pools           []Pool    `json:"pools"`
	Power           *Power    `json:"power"` // null without a switcher
	// Curtailed: rigs the switcher holds parked by a plan, connected or
	// not (left_while_parked ones included); Parked is the same count under
	// its own name. Pending: connected rigs held without work while they
	// wait for admission. The workers' "curtailed" state is both: parked
	// and pending.
	Curtailed     int            `json:"curtailed"`
	Parked        int            `json:"parked"`
	Pending       int            `json:"pending"`
	Workers       map[string]int `json:"workers"` // workers by state (mining, idle, curtailed = parked + pending, offline)
	Shares        Shares         `json:"shares"`
	UptimeSeconds float64        `json:"uptime_seconds"`
	Version       string         `json:"version"` // of the hashgate binary (hashgate_build_info's)
}

// Pool is one configured pool.
type Pool struct {
	Name      string `json:"name"`
	URL       string `json:"url"`
	State     string `json:"state"` // active | standby | probing | failed
	Sessions  int    `json:"sessions"`
	Miners    int    `json:"miners"`
	Failures  int    `json:"failures"`
	LastError string `json:"last_error,omitempty"`
	// Rejecting: the pool refused at least reject_ratio of the shares it
	// answered over reject_window; RejectRatio is the share refused over
	// it (0 until reject_min_shares were answered).
	Rejecting   bool    `json:"rejecting"`
	RejectRatio float64 `json:"reject_ratio"`
}

// Shares are the proxy's share counters since it started.
type Shares struct {
	Accepted  uint64 `json:"accepted"`
	Rejected  uint64 `json:"rejected"`
	Stale     uint64 `json:"stale"`
	Forwarded uint64 `json:"forwarded"`
}

// Power is the power section of the status.
type Power struct {
	CapacityKW      float64     `json:"capacity_kw"`
	ReserveKW       float64     `json:"reserve_kw"`
	AIKW            float64     `json:"ai_kw"`
	MiningBudgetKW  float64     `json:"mining_budget_kw"`
	MiningLoadKW    float64     `json:"mining_load_kw"` // parks without evidence at rig_kw (see Counted)
	MiningLoadEstKW float64     `json:"mining_load_est_kw"`
	Compliant       bool        `json:"compliant"`       // load ≤ budget
	CompliantSince  *time.Time  `json:"compliant_since"` // null when not compliant (or no plan yet)
	ETASeconds      float64     `json:"eta_seconds"`     // until the plan is fully applied
	Emergency       bool        `json:"emergency"`       // resumes held by an emergency allocation
	Allocation      *Allocation `json:"allocation"`      // in force; null: none (AI gets 0 kW)
	// Policy is the file the policy in force came from (the last good copy
	// after a start on a broken policy file); PolicyError says why the
	// policy file as it is now is not in force, absent when it is.
	Policy      string `json:"policy"`
	PolicyError string `json:"policy_error,omitempty"`

	// How parks are counted. A rig held without work through Stratum
	// counts at rig_kw in mining_load_kw unless its group is pools_bound
	// or a device readback shows it idle; the plan is made with idle_kw
	// (mining_load_planned_kw), so such parks make the site not compliant
	// (not_compliant_reason says so) rather than curtail more.
	MiningLoadPlannedKW float64                `json:"mining_load_planned_kw"`
	PlannedCompliant    bool                   `json:"planned_compliant"`
	NotCompliantReason  string                 `json:"not_compliant_reason,omitempty"`
	ParksUnverified     int                    `json:"parks_unverified"`
	ParksBound          int                    `json:"parks_bound"`
	ParksVerified       int                    `json:"parks_verified"`
	Counted             map[string]CountedLoad `json:"counted"` // by counted_as: rigs and kW
	// LoadBreakdown splits mining_load_kw by what draws it (its parts
	// sum to it); NotCompliantDetail names the parts that are not mining
	// when not compliant (absent otherwise).
	LoadBreakdown      *LoadBreakdown `json:"load_breakdown"`
	NotCompliantDetail string         `json:"not_compliant_detail,omitempty"`

	// StateError and AuditError say what is applied but not on disk:
	// "state not persisted since T: ERR" until a retry succeeds; absent
	// when all is persisted.
	StateError string `json:"state_error,omitempty"`
	AuditError string `json:"audit_error,omitempty"`

	// Measured power: MiningLoadMeasuredKW is the sum of the power the
	// rigs' devices report (fresh readings), MeasuredRigs how many report
	// one. mining_load_kw uses that measured draw for each of them and
	// the policy's figures for the others. Devices counts the rigs read
	// through a firmware API by their device's state (mining, sleeping,
	// unreachable, unknown; every key present).
	MiningLoadMeasuredKW float64        `json:"mining_load_measured_kw"`
	MeasuredRigs         int            `json:"measured_rigs"`
	Devices              map[string]int `json:"devices"`

	// Cap mode and the fail-safe (cap.go): CapKW is the site cap in force
	// (0: none), Cap the API's setting when it is the one in force;
	// AIKWMeasured the measured non-mining load and SiteLoadKW the
	// measured site load (null where no meter gives them); BudgetRule the
	// rule mining_budget_kw comes from (allocation, cap, failsafe);
	// Failsafe true while the budget is safe_budget_kw because an input
	// the loop needs is stale (FailsafeReason says which); Meters each
	// configured meter's last figure.
	CapKW          float64     `json:"cap_kw"`
	Cap            *CapSetting `json:"cap"`
	AIKWMeasured   *float64    `json:"ai_kw_measured"`
	SiteLoadKW     *float64    `json:"site_load_kw"`
	BudgetRule     string      `json:"budget_rule"`
	Failsafe       bool        `json:"failsafe"`
	FailsafeReason string      `json:"failsafe_reason,omitempty"`
	FailsafeSince  *time.Time  `json:"failsafe_since"`
	Meters         []Meter     `json:"meters"`

	// Economic curtailment (the policy's [economic]): the power price in
	// force (null: none, stale, or economic curtailment off), the groups
	// curtailed for it, and the detail (each group's break-even and
	// hysteresis band, the price's age and source, why it is not acting;
	// null when [economic] is off).
	PriceUSDPerMWh *float64                 `json:"price_usd_per_mwh"`
	EconomicGroups []string                 `json:"economic_curtailed_groups"`
	Economic       *switcher.EconomicStatus `json:"economic"`
}

// CountedLoad is the rigs counted one way (a worker's counted_as) and
// their counted draw.
type CountedLoad = switcher.CountedLoad

// Allocation is the allocation in force.
type Allocation struct {
	AIKW      float64    `json:"ai_kw"`
	Reason    string     `json:"reason"`
	Who       string     `json:"who"`
	At        time.Time  `json:"at"`
	Until     *time.Time `json:"until"`
	Emergency bool       `json:"emergency"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// poolURL shows a pool's address as the config wrote it, never with
// credentials (config refuses them in a URL; a proxy built otherwise
// might have them).
func poolURL(addr string) string {
	if !strings.Contains(addr, "://") {
		addr = "stratum+tcp://" + addr
	}
	return tomlfile.RedactURL(addr)
}

func (h *Handler) pools() []Pool {
	ps := h.proxy.Pools()
	out := make([]Pool, len(ps))
	for i, p := range ps {
		out[i] = Pool{Name: p.Name, URL: poolURL(p.Address), State: p.State, Sessions: p.Sessions,
			Miners: p.Miners, Failures: p.Failures, LastError: p.LastError, Rejecting: p.Rejecting, RejectRatio: p.RejectRatio}
	}
	return out
}

// power reads the switcher's status (nil, 0 without a switcher): the
// power section and the count of curtailed rigs.
func (h *Handler) power() (*Power, int) {
	if h.sw == nil {
		return nil, 0
	}
	st := h.sw.Status()
	p := &Power{
		CapacityKW: st.CapacityKW, ReserveKW: st.ReserveKW, AIKW: st.AIKW, MiningBudgetKW: st.MiningBudgetKW,
		MiningLoadKW: st.MiningLoadKW, MiningLoadEstKW: st.MiningLoadEst, Compliant: st.Compliant,
		CompliantSince: timePtr(st.CompliantSince), ETASeconds: st.ETASeconds, Emergency: st.Emergency,
		MiningLoadPlannedKW: st.MiningLoadPlannedKW, PlannedCompliant: st.PlannedCompliant,
		NotCompliantReason: st.NotCompliantReason, ParksUnverified: st.ParksUnverified,
		ParksBound: st.ParksBound, ParksVerified: st.ParksVerified, Counted: st.Counted,
		Policy: st.Policy, PolicyError: st.PolicyError, StateError: st.StateError, AuditError: st.AuditError,
		MiningLoadMeasuredKW: st.MiningLoadMeasuredKW, MeasuredRigs: st.MeasuredRigs, Devices: st.Devices,
		PriceUSDPerMWh: st.PriceUSDPerMWh, EconomicGroups: st.EconomicGroups,
	}
	if p.EconomicGroups == nil {
		p.EconomicGroups = []string{}
	}
	if ec := h.sw.Economic(); ec.Enabled {
		p.Economic = &ec
	}
	if !st.Compliant {
		p.CompliantSince = nil
	}
	if a := st.Allocation; a != nil {
		p.Allocation = &Allocation{AIKW: a.AIKW, Reason: a.Reason, Who: a.Who, At: a.At, Until: timePtr(a.Until), Emergency: a.Emergency}
	}
	capPower(p, &st)
	return p, st.Curtailed
}

// version is the binary's version as hashgate_build_info shows it.
func (h *Handler) version() string {
	if h.cfg.Version != "" {
		return h.cfg.Version
	}
	return buildLabels()[0]
}

// buildStatus reads everything the status shows; the workers are read
// once for the counts by state and the total hashrate.
func (h *Handler) buildStatus() (Status, []Worker) {
	now := h.cfg.Now()
	stats := h.proxy.Stats()
	ws := h.snapshotWorkers()
	power, curtailed := h.power()
	if power != nil {
		power.LoadBreakdown = loadBreakdown(power, ws)
		if !power.Compliant {
			power.NotCompliantDetail = power.LoadBreakdown.detail(power)
		}
	}
	st := Status{
		Time: now.UTC(), Healthy: h.proxy.Healthy(), MinersConnected: stats.Connections,
		Pools: h.pools(), Power: power, Curtailed: curtailed, Parked: curtailed, Pending: heldCounts(ws),
		Workers:       countStates(ws),
		UptimeSeconds: now.Sub(h.started).Seconds(),
		Shares:        Shares{Accepted: stats.SharesAccepted, Stale: stats.SharesRejected[proxy.RejectStale], Forwarded: stats.SharesForwarded},
	}
	st.Version = h.version()
	for _, n := range stats.SharesRejected {
		st.Shares.Rejected += n
	}
	for i := range ws {
		st.HashrateTHs += ws[i].HashrateTHs
	}
	return st, ws
}

func (h *Handler) status(w http.ResponseWriter, r *http.Request) {
	st, _ := h.buildStatus()
	writeJSON(w, http.StatusOK, st)
}

// healthz is 200 while the proxy has a live pool session, 503 otherwise.
// A state or audit log that cannot be written makes it "degraded" with
// state_error / audit_error, still 200: restarting hashgate (what a 503
// invites an orchestrator to do) would lose exactly the decisions that are
// only in memory.
func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	body := map[string]string{"status": "ok"}
	if h.sw != nil {
		st := h.sw.Status()
		if st.StateError != "" {
			body["status"], body["state_error"] = "degraded", st.StateError
		}
		if st.AuditError != "" {
			body["status"], body["audit_error"] = "degraded", st.AuditError
		}
	}
	if h.proxy.Healthy() {
		writeJSON(w, http.StatusOK, body)
		return
	}
	body["status"], body["error"] = "unavailable", "no live pool session"
	writeJSON(w, http.StatusServiceUnavailable, body)
}

// PlanResponse is the answer of PUT /api/v1/allocation, POST
// /api/v1/plan and PUT /api/v1/rigs/{name}/pin.
type PlanResponse struct {
	MiningBudgetKW float64    `json:"mining_budget_kw"`
	Curtail        []string   `json:"curtail"`
	Resume         []string   `json:"resume"`
	Deferred       []Deferred `json:"deferred"`
	// Park lists rigs held without work at admission (they were pending).
	Park []string `json:"park"`
	// StaysParked counts the parked rigs the plan leaves parked (pinned
	// off, or no room in the budget): no action, so not in Deferred, which
	// lists the resumes that must wait (ramp limit, min_off, emergency).
	StaysParked int `json:"stays_parked"`

	AIKW        float64 `json:"ai_kw"`
	CapacityKW  float64 `json:"capacity_kw"`
	ReserveKW   float64 `json:"reserve_kw"`
	LoadKW      float64 `json:"mining_load_kw"`       // before the plan
	LoadAfterKW float64 `json:"mining_load_after_kw"` // once it is applied
	LoadEstKW   float64 `json:"mining_load_est_kw"`
	Compliant   bool    `json:"compliant"` // load after ≤ budget
	ETASeconds  float64 `json:"eta_seconds"`
	Emergency   bool    `json:"emergency"`
	Changed     *bool   `json:"changed,omitempty"` // allocation: false for a repeat of the one in force
	DryRun      bool    `json:"dry_run,omitempty"` // POST /api/v1/plan: nothing was applied
	Rig         string  `json:"rig,omitempty"`     // pin
	Mode        string  `json:"mode,omitempty"`    // pin
	PinReason   string  `json:"reason,omitempty"`  // pin
	Who         string  `json:"who,omitempty"`     // the token that made the change
	// WaitingForRig: the pinned rig is not connected; the pin takes effect
	// when it connects (one that never has may be a mistyped name).
	WaitingForRig bool `json:"waiting_for_rig,omitempty"`
	// RigAction is what the plan does with the pinned rig: curtail,
	// resume, park (held at admission), deferred (its resume waits),
	// stays_parked, or none; RigActionReason the plan's reason (absent
	// for none).
	RigAction       string `json:"rig_action,omitempty"`
	RigActionReason string `json:"rig_action_reason,omitempty"`

	// The loads above count parks without evidence at rig_kw, as the
	// status does; the plan is made with idle_kw for them (planned).
	PlannedLoadAfterKW float64 `json:"mining_load_planned_after_kw"`
	// LoadBreakdown splits mining_load_after_kw by what will draw it, as
	// the status's power.load_breakdown does for the load now.
	LoadBreakdown      *LoadBreakdown `json:"load_breakdown"`
	PlannedCompliant   bool           `json:"planned_compliant"`
	ParksUnverified    int            `json:"parks_unverified"`
	NotCompliantReason string         `json:"not_compliant_reason,omitempty"`
	Durability
}

// Durability is in every write's answer: Persisted false says the change
// is applied (in force now) but not on disk yet, and PersistError why; it
// is retried, and the status and /healthz say so until it is saved.
type Durability struct {
	Persisted    *bool  `json:"persisted,omitempty"`
	PersistError string `json:"persist_error,omitempty"`
}

// durability reads a write's error: nil or a NotPersistedError (the
// change was applied) give a Durability and true; any other error false.
func durability(err error) (Durability, bool) {
	ok := true
	var np *switcher.NotPersistedError
	switch {
	case err == nil:
	case errors.As(err, &np):
		ok = false
	default:
		return Durability{}, false
	}
	d := Durability{Persisted: &ok}
	if !ok {
		d.PersistError = err.Error() + " (applied; retrying)"
	}
	return d, true
}

// Deferred is a rig the plan wants to act on but may not yet.
type Deferred struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

func planResponse(p switcher.Plan) PlanResponse {
	out := PlanResponse{
		MiningBudgetKW: p.MiningBudgetKW, Curtail: switcher.Names(p.Curtail), Resume: switcher.Names(p.Resume),
		Park: switcher.Names(p.Park), Deferred: []Deferred{},
		AIKW: p.AIKW, CapacityKW: p.CapacityKW, ReserveKW: p.ReserveKW, LoadKW: p.CountedLoadKW, LoadAfterKW: p.CountedLoadAfterKW,
		LoadEstKW: p.LoadEstKW, Compliant: p.CountedCompliant, ETASeconds: p.ETASeconds, Emergency: p.Emergency,
		PlannedLoadAfterKW: p.LoadAfterKW, PlannedCompliant: p.Compliant, ParksUnverified: p.ParksUnverified(),
		NotCompliantReason: p.NotCompliantReason(), LoadBreakdown: planBreakdown(&p),
	}
	for _, a := range p.Deferred {
		if staysParked(a.Reason) {
			out.StaysParked++
			continue
		}
		out.Deferred = append(out.Deferred, Deferred{Name: a.Name, Reason: a.Reason})
	}
	return out
}

// staysParked: a deferred action of the switcher's plan that leaves a
// parked rig as it is (no action wanted), not a resume that waits.
func staysParked(reason string) bool {
	return reason == switcher.ReasonPinnedOff || reason == switcher.ReasonNoFit
}

// allocationBody is PUT /api/v1/allocation. ai_kw is required: a body
// without it must not hand the whole site back to mining.
type allocationBody struct {
	AIKW      *float64 `json:"ai_kw"`
	Reason    string   `json:"reason"`
	Until     string   `json:"until"`
	Emergency bool     `json:"emergency"`
}

func (h *Handler) allocate(w http.ResponseWriter, r *http.Request) {
	if h.noSwitcher(w) {
		return
	}
	var body allocationBody
	if !readBody(w, r, &body) {
		return
	}
	if body.AIKW == nil {
		writeError(w, http.StatusBadRequest, "ai_kw is required: the kW the AI racks take, e.g. {\"ai_kw\": 5000, \"reason\": \"...\"}")
		return
	}
	req := switcher.AllocationRequest{AIKW: *body.AIKW, Reason: body.Reason, Emergency: body.Emergency}
	var ok bool
	if req.Until, ok = readUntil(w, body.Until); !ok {
		return
	}
	by := who(r)
	plan, changed, err := h.sw.Allocate(req, by)
	dur, applied := durability(err)
	if !applied {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	h.log.Info().Str("who", by).Float64("ai_kw", req.AIKW).Str("reason", req.Reason).Bool("emergency", req.Emergency).
		Time("until", req.Until).Bool("changed", changed).Int("curtail", len(plan.Curtail)).Int("resume", len(plan.Resume)).
		Int("deferred", len(plan.Deferred)).Msg("api: allocation")
	out := planResponse(plan)
	out.Changed, out.Who, out.Durability = &changed, by, dur
	writeJSON(w, http.StatusOK, out)
}

type planBody struct {
	AIKW *float64 `json:"ai_kw"`
}

func (h *Handler) plan(w http.ResponseWriter, r *http.Request) {
	if h.noSwitcher(w) {
		return
	}
	var body planBody
	if !readBody(w, r, &body) {
		return
	}
	if body.AIKW == nil {
		writeError(w, http.StatusBadRequest, "ai_kw is required, e.g. {\"ai_kw\": 5000}")
		return
	}
	plan, err := h.sw.DryRun(*body.AIKW)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	out := planResponse(plan)
	out.DryRun = true
	writeJSON(w, http.StatusOK, out)
}

type pinBody struct {
	Mode   string `json:"mode"`
	Reason string `json:"reason"`
}

func (h *Handler) pin(w http.ResponseWriter, r *http.Request) {
	if h.noSwitcher(w) {
		return
	}
	name := r.PathValue("name")
	var body pinBody
	if !readBody(w, r, &body) {
		return
	}
	switch body.Mode {
	case "on", "off", "auto":
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("mode %q: must be on, off or auto", body.Mode))
		return
	}
	by := who(r)
	plan, waiting, err := h.sw.SetPin(name, body.Mode, body.Reason, by)
	dur, applied := durability(err)
	switch {
	case applied:
	case errors.Is(err, switcher.ErrUnknownRig):
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown rig %q: it has never connected and has no pin to take back (a rig is named by the first worker it authorizes with)", name))
		return
	default:
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	h.log.Info().Str("who", by).Str("rig", name).Str("mode", body.Mode).Str("reason", body.Reason).Bool("waiting_for_rig", waiting).Msg("api: pin")
	out := planResponse(plan)
	out.Rig, out.Mode, out.PinReason, out.Who = name, body.Mode, body.Reason, by
	out.WaitingForRig, out.Durability = waiting, dur
	out.RigAction, out.RigActionReason = rigAction(plan, name)
	writeJSON(w, http.StatusOK, out)
}

// ForgetResponse is the answer of DELETE /api/v1/rigs/{name}.
type ForgetResponse struct {
	Rig       string   `json:"rig"`
	Forgotten bool     `json:"forgotten"`
	Who       string   `json:"who"`
	WasState  string   `json:"was_state"` // mining | parked | pending | offline
	WasFlags  []string `json:"was_flags"`
	WasPin    string   `json:"was_pin,omitempty"`
	Durability
}

// forget serves DELETE /api/v1/rigs/{name}: the switcher drops the record
// of a rig that is not connected (404 unknown, 409 connected), whatever it
// held; a rig that connects later is a new one.
func (h *Handler) forget(w http.ResponseWriter, r *http.Request) {
	if h.noSwitcher(w) {
		return
	}
	name, by := r.PathValue("name"), who(r)
	was, err := h.sw.Forget(name, by)
	dur, applied := durability(err)
	switch {
	case applied:
	case errors.Is(err, switcher.ErrUnknownRig):
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown rig %q: nothing to forget", name))
		return
	case errors.Is(err, switcher.ErrRigConnected), errors.Is(err, switcher.ErrRigListed):
		writeError(w, http.StatusConflict, err.Error())
		return
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	h.log.Info().Str("who", by).Str("rig", name).Str("was", was.State).Msg("api: forget")
	writeJSON(w, http.StatusOK, ForgetResponse{Rig: name, Forgotten: true, Who: by, WasState: was.State,
		WasFlags: was.Flags, WasPin: was.Pin, Durability: dur})
}

// readUntil reads a body's optional until (RFC 3339; "" is none),
// answering 400 when it is not a time.
func readUntil(w http.ResponseWriter, s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, true
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("until %q: not an RFC 3339 time such as 2025-06-01T18:00:00Z", s))
		return time.Time{}, false
	}
	return t, true
}
