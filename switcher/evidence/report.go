package evidence

import (
	"time"
)

// Event is the audit event a report is about (the switcher's Event,
// without the types this package does not know).
type Event struct {
	Seq    uint64         `json:"seq"`
	Time   time.Time      `json:"time"`
	Kind   string         `json:"kind"`
	Who    string         `json:"who,omitempty"`
	Reason string         `json:"reason,omitempty"`
	Rig    string         `json:"rig,omitempty"`
	Fields map[string]any `json:"fields,omitempty"`
}

// Report is the evidence of one decision: GET /api/v1/events/{seq}/report.
type Report struct {
	Event Event `json:"event"`
	// TargetKW is the mining budget the decision set (its event's
	// mining_budget_kw; else the budget of the first sample after it;
	// nil: neither). Each sample is judged by its own budget_kw (the
	// target in force then, which a later decision or the cap loop may
	// move).
	TargetKW        *float64 `json:"target_kw"`
	IntervalSeconds float64  `json:"interval_seconds"`
	// LoadSource says what load_kw is: "mining_meter" (the meters that
	// measure mining) or "counted" (the switcher's counted load: device
	// measurements where fresh, else the policy's figures).
	LoadSource string  `json:"load_source"`
	Window     Window  `json:"window"`
	Baseline   Figures `json:"baseline"`
	// Reached: a sample at or after the event had load_kw ≤ budget_kw;
	// TimeToTargetSeconds is from the event to the first such sample.
	Reached             bool       `json:"reached"`
	ReachedAt           *time.Time `json:"reached_at,omitempty"`
	TimeToTargetSeconds *float64   `json:"time_to_target_seconds,omitempty"`
	// Deviation is load_kw − budget_kw over the samples after the event;
	// DeviationAfterReached over those from the time reached on.
	Deviation             Deviation      `json:"deviation"`
	DeviationAfterReached *Deviation     `json:"deviation_after_reached,omitempty"`
	Samples               []ReportSample `json:"samples"`
	Rigs                  []ReportRig    `json:"rigs"`
	RigCounts             RigCounts      `json:"rig_counts"`
}

// Window is the span of the report's samples: BaselineFrom to the event
// (the baseline), the event to To (after). Complete: To is past, no
// sample will be added.
type Window struct {
	BaselineFrom time.Time `json:"baseline_from"`
	From         time.Time `json:"from"`
	To           time.Time `json:"to"`
	Complete     bool      `json:"complete"`
}

// Figures are averages over the baseline's samples (nil: no sample has
// the figure).
type Figures struct {
	Samples      int      `json:"samples"`
	LoadKW       *float64 `json:"load_kw"`
	BudgetKW     *float64 `json:"budget_kw"`
	SiteLoadKW   *float64 `json:"site_load_kw"`
	AIKWMeasured *float64 `json:"ai_kw_measured"`
}

// Deviation is load_kw − budget_kw over samples: its average and its
// maximum (positive: over the target), and how many samples were over.
type Deviation struct {
	Samples int     `json:"samples"`
	AvgKW   float64 `json:"avg_kw"`
	MaxKW   float64 `json:"max_kw"`
	Over    int     `json:"over"`
}

// ReportSample is one sample, OffsetSeconds from the event (negative
// before it).
type ReportSample struct {
	Time          time.Time          `json:"time"`
	OffsetSeconds float64            `json:"offset_seconds"`
	LoadKW        float64            `json:"load_kw"`
	CountedKW     float64            `json:"counted_kw"`
	MeasuredKW    float64            `json:"measured_kw"`
	MeasuredRigs  int                `json:"measured_rigs"`
	MiningMeterKW *float64           `json:"mining_meter_kw"`
	BudgetKW      float64            `json:"budget_kw"`
	CapKW         float64            `json:"cap_kw"`
	AIKW          float64            `json:"ai_kw"`
	AIKWMeasured  *float64           `json:"ai_kw_measured"`
	SiteLoadKW    *float64           `json:"site_load_kw"`
	Failsafe      bool               `json:"failsafe"`
	Meters        map[string]float64 `json:"meters,omitempty"`
}

// ReportRig is one rig the decision acted upon. Status: "confirmed",
// "failed" (the newest evidence is a failure), "unconfirmed".
type ReportRig struct {
	Rig     string         `json:"rig"`
	Group   string         `json:"group,omitempty"`
	Action  string         `json:"action"`
	Status  string         `json:"status"`
	Device  *ReportConfirm `json:"device,omitempty"`
	Stratum *ReportConfirm `json:"stratum,omitempty"`
	Failure *ReportConfirm `json:"failure,omitempty"`
}

// ReportConfirm is one piece of evidence, SecondsAfter the event.
type ReportConfirm struct {
	At           time.Time `json:"at"`
	SecondsAfter float64   `json:"seconds_after"`
	Source       string    `json:"source"`
	State        string    `json:"state,omitempty"`
	PowerW       *float64  `json:"power_w,omitempty"`
	HashrateTHs  *float64  `json:"hashrate_ths,omitempty"`
	Detail       string    `json:"detail,omitempty"`
}

// RigCounts count the rigs by status.
type RigCounts struct {
	Total       int `json:"total"`
	Confirmed   int `json:"confirmed"`
	Failed      int `json:"failed"`
	Unconfirmed int `json:"unconfirmed"`
}

// Report builds the report of ev from the logs, as of now.
func (l *Log) Report(ev Event, now time.Time) (Report, error) {
	o := l.opts
	from, hardEnd := ev.Time.Add(-o.Before), ev.Time.Add(o.MaxAfter)
	samples, err := l.Samples(from, minTime(hardEnd, now))
	if err != nil {
		return Report{}, err
	}
	rigs, err := l.Rigs(ev.Seq)
	if err != nil {
		return Report{}, err
	}
	return Build(ev, samples, rigs, o, now), nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
