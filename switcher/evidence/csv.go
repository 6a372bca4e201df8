package evidence

import (
	"encoding/csv"
	"io"
	"maps"
	"slices"
	"strconv"
	"time"
)

// WriteCSV writes r as CSV in three sections, each led by a header row
// whose first field is "section": the summary (key, value rows), the
// samples (one row each, a column per meter: meter:NAME) and the rigs
// (one row each). The first field of every other row names its section:
// summary, sample, rig. Text that a spreadsheet would take for a formula
// (=, +, -, @ first) is prefixed with a quote.
func WriteCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"section", "key", "value"})
	for _, kv := range summaryRows(r) {
		_ = cw.Write([]string{"summary", kv[0], kv[1]})
	}
	meters := meterNames(r.Samples)
	head := []string{"section", "time", "offset_seconds", "load_kw", "counted_kw", "measured_kw", "measured_rigs",
		"mining_meter_kw", "budget_kw", "cap_kw", "ai_kw", "ai_kw_measured", "site_load_kw", "failsafe"}
	for _, m := range meters {
		head = append(head, "meter:"+text(m))
	}
	_ = cw.Write(head)
	for i := range r.Samples {
		_ = cw.Write(sampleRow(&r.Samples[i], meters))
	}
	_ = cw.Write([]string{"section", "rig", "group", "action", "status",
		"device_at", "device_seconds_after", "device_state", "device_power_w", "device_hashrate_ths",
		"stratum_at", "stratum_seconds_after", "stratum_detail",
		"failure_at", "failure_seconds_after", "failure_source", "failure_detail"})
	for i := range r.Rigs {
		_ = cw.Write(rigRow(&r.Rigs[i]))
	}
	cw.Flush()
	return cw.Error()
}

func summaryRows(r *Report) [][2]string {
	e := &r.Event
	rows := [][2]string{
		{"seq", strconv.FormatUint(e.Seq, 10)}, {"time", ts(e.Time)}, {"kind", text(e.Kind)},
		{"who", text(e.Who)}, {"reason", text(e.Reason)}, {"rig", text(e.Rig)},
		{"target_kw", numPtr(r.TargetKW)}, {"interval_seconds", num(r.IntervalSeconds)}, {"load_source", r.LoadSource},
		{"baseline_from", ts(r.Window.BaselineFrom)}, {"from", ts(r.Window.From)}, {"to", ts(r.Window.To)},
		{"complete", strconv.FormatBool(r.Window.Complete)},
		{"baseline_samples", strconv.Itoa(r.Baseline.Samples)}, {"baseline_load_kw", numPtr(r.Baseline.LoadKW)},
		{"baseline_budget_kw", numPtr(r.Baseline.BudgetKW)}, {"baseline_site_load_kw", numPtr(r.Baseline.SiteLoadKW)},
		{"baseline_ai_kw_measured", numPtr(r.Baseline.AIKWMeasured)},
		{"reached", strconv.FormatBool(r.Reached)}, {"reached_at", tsPtr(r.ReachedAt)},
		{"time_to_target_seconds", numPtr(r.TimeToTargetSeconds)},
	}
	rows = append(rows, deviationRows("deviation", &r.Deviation)...)
	if d := r.DeviationAfterReached; d != nil {
		rows = append(rows, deviationRows("deviation_after_reached", d)...)
	}
	c := r.RigCounts
	return append(rows, [2]string{"rigs_total", strconv.Itoa(c.Total)}, [2]string{"rigs_confirmed", strconv.Itoa(c.Confirmed)},
		[2]string{"rigs_failed", strconv.Itoa(c.Failed)}, [2]string{"rigs_unconfirmed", strconv.Itoa(c.Unconfirmed)})
}

func deviationRows(p string, d *Deviation) [][2]string {
	return [][2]string{{p + "_samples", strconv.Itoa(d.Samples)}, {p + "_avg_kw", num(d.AvgKW)},
		{p + "_max_kw", num(d.MaxKW)}, {p + "_over", strconv.Itoa(d.Over)}}
}

func meterNames(ss []ReportSample) []string {
	set := map[string]bool{}
	for i := range ss {
		for k := range ss[i].Meters {
			set[k] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

func sampleRow(s *ReportSample, meters []string) []string {
	row := []string{"sample", ts(s.Time), num(s.OffsetSeconds), num(s.LoadKW), num(s.CountedKW), num(s.MeasuredKW),
		strconv.Itoa(s.MeasuredRigs), numPtr(s.MiningMeterKW), num(s.BudgetKW), num(s.CapKW), num(s.AIKW),
		numPtr(s.AIKWMeasured), numPtr(s.SiteLoadKW), strconv.FormatBool(s.Failsafe)}
	for _, m := range meters {
		v, ok := s.Meters[m]
		if ok {
			row = append(row, num(v))
		} else {
			row = append(row, "")
		}
	}
	return row
}

func rigRow(r *ReportRig) []string {
	row := []string{"rig", text(r.Rig), text(r.Group), r.Action, r.Status}
	if d := r.Device; d != nil {
		row = append(row, ts(d.At), num(d.SecondsAfter), text(d.State), numPtr(d.PowerW), numPtr(d.HashrateTHs))
	} else {
		row = append(row, "", "", "", "", "")
	}
	if s := r.Stratum; s != nil {
		row = append(row, ts(s.At), num(s.SecondsAfter), text(s.Detail))
	} else {
		row = append(row, "", "", "")
	}
	if f := r.Failure; f != nil {
		return append(row, ts(f.At), num(f.SecondsAfter), f.Source, text(f.Detail))
	}
	return append(row, "", "", "", "")
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func numPtr(p *float64) string {
	if p == nil {
		return ""
	}
	return num(*p)
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func tsPtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return ts(*t)
}

// text guards a free text against spreadsheet formulas.
func text(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') {
		return "'" + s
	}
	return s
}
