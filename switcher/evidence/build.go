package evidence

import (
	"math"
	"time"
)

// tolKW: a load within a watt of its target has reached it (the logs
// round to the watt).
const tolKW = 0.0005

// Build makes the report of ev from its samples (the baseline window
// and after) and rigs, as of now, with o's windows.
func Build(ev Event, samples []Sample, rigs []RigEvidence, o Options, now time.Time) Report {
	o.fill()
	rep := Report{Event: ev, IntervalSeconds: o.Interval.Seconds(), LoadSource: "counted",
		Samples: []ReportSample{}, Rigs: []ReportRig{}}
	hardEnd := ev.Time.Add(o.MaxAfter)
	end := hardEnd
	for i := range samples {
		s := &samples[i]
		if s.At.Before(ev.Time) {
			continue
		}
		if s.MiningMeterKW != nil {
			rep.LoadSource = "mining_meter"
		}
		if !rep.Reached && s.LoadKW() <= s.BudgetKW+tolKW {
			at := s.At
			d := at.Sub(ev.Time).Seconds()
			rep.Reached, rep.ReachedAt, rep.TimeToTargetSeconds = true, &at, &d
			end = minTime(at.Add(o.Margin), hardEnd)
		}
	}
	rep.Window = Window{BaselineFrom: ev.Time.Add(-o.Before), From: ev.Time, To: end, Complete: !now.Before(end)}
	if !rep.Window.Complete {
		rep.Window.To = now
	}
	var before, after, reached []Sample
	for _, s := range samples {
		switch {
		case s.At.After(end):
		case s.At.Before(ev.Time):
			before = append(before, s)
		default:
			after = append(after, s)
			if rep.Reached && !s.At.Before(*rep.ReachedAt) {
				reached = append(reached, s)
			}
		}
		if !s.At.After(end) {
			rep.Samples = append(rep.Samples, reportSample(&s, ev.Time))
		}
	}
	rep.Baseline = baseline(before)
	rep.Deviation = deviation(after)
	if rep.Reached {
		d := deviation(reached)
		rep.DeviationAfterReached = &d
	}
	if v, ok := ev.Fields["mining_budget_kw"].(float64); ok {
		rep.TargetKW = &v
	} else if len(after) > 0 {
		v := after[0].BudgetKW
		rep.TargetKW = &v
	}
	for i := range rigs {
		rr := reportRig(&rigs[i], ev.Time)
		rep.Rigs = append(rep.Rigs, rr)
		rep.RigCounts.Total++
		switch rr.Status {
		case "confirmed":
			rep.RigCounts.Confirmed++
		case "failed":
			rep.RigCounts.Failed++
		default:
			rep.RigCounts.Unconfirmed++
		}
	}
	return rep
}

func reportSample(s *Sample, t0 time.Time) ReportSample {
	return ReportSample{Time: s.At, OffsetSeconds: round3(s.At.Sub(t0).Seconds()), LoadKW: s.LoadKW(),
		CountedKW: s.MiningKW, MeasuredKW: s.MeasuredKW, MeasuredRigs: s.MeasuredRigs, MiningMeterKW: s.MiningMeterKW,
		BudgetKW: s.BudgetKW, CapKW: s.CapKW, AIKW: s.AIKW, AIKWMeasured: s.AIKWMeasured, SiteLoadKW: s.SiteLoadKW,
		Failsafe: s.Failsafe, Meters: s.Meters}
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// avg is a running average of a figure some samples lack.
type avg struct {
	sum float64
	n   int
}

func (a *avg) add(p *float64) {
	if p != nil {
		a.sum += *p
		a.n++
	}
}

func (a *avg) value() *float64 {
	if a.n == 0 {
		return nil
	}
	v := round3(a.sum / float64(a.n))
	return &v
}

func baseline(ss []Sample) Figures {
	var load, budget, site, ai avg
	for i := range ss {
		s := &ss[i]
		l, b := s.LoadKW(), s.BudgetKW
		load.add(&l)
		budget.add(&b)
		site.add(s.SiteLoadKW)
		ai.add(s.AIKWMeasured)
	}
	return Figures{Samples: len(ss), LoadKW: load.value(), BudgetKW: budget.value(), SiteLoadKW: site.value(), AIKWMeasured: ai.value()}
}

func deviation(ss []Sample) Deviation {
	d := Deviation{Samples: len(ss)}
	if len(ss) == 0 {
		return d
	}
	sum, maxD := 0.0, math.Inf(-1)
	for i := range ss {
		v := ss[i].LoadKW() - ss[i].BudgetKW
		sum += v
		maxD = max(maxD, v)
		if v > tolKW {
			d.Over++
		}
	}
	d.AvgKW, d.MaxKW = round3(sum/float64(len(ss))), round3(maxD)
	return d
}

func reportRig(r *RigEvidence, t0 time.Time) ReportRig {
	conf := func(c *Confirmation) *ReportConfirm {
		if c == nil {
			return nil
		}
		return &ReportConfirm{At: c.At, SecondsAfter: round3(c.At.Sub(t0).Seconds()), Source: c.Source, State: c.State,
			PowerW: c.PowerW, HashrateTHs: c.HashrateTHs, Detail: c.Detail}
	}
	return ReportRig{Rig: r.Rig, Group: r.Group, Action: r.Action, Status: r.Status(),
		Device: conf(r.Device), Stratum: conf(r.Stratum), Failure: conf(r.Failure)}
}
