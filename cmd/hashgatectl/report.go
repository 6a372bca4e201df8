package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashgate/hashgate/switcher/evidence"
)

// report is `hashgatectl report SEQ [--csv]`: the evidence of one event
// (GET /api/v1/events/SEQ/report) as a summary and a table of rigs; --csv
// prints the API's CSV (samples included), --json its JSON.
func (c *cli) report(fs *flag.FlagSet) func(context.Context, []string) error {
	var asCSV bool
	fs.BoolVar(&asCSV, "csv", false, "print the report as CSV (summary, samples, rigs)")
	return func(ctx context.Context, pos []string) error {
		if len(pos) != 1 {
			return usagef("report needs one event seq: report SEQ")
		}
		seq, err := strconv.ParseUint(pos[0], 10, 64)
		if err != nil || seq == 0 {
			return usagef("report %q: SEQ is an event's seq (an integer ≥ 1; see hashgatectl events)", pos[0])
		}
		path := fmt.Sprintf("/api/v1/events/%d/report", seq)
		if asCSV {
			_, data, err := c.call(ctx, http.MethodGet, path+"?format=csv", nil, "an API token")
			if err != nil {
				return err
			}
			_, err = c.out.Write(data)
			return err
		}
		var rep evidence.Report
		if _, done, err := c.fetch(ctx, http.MethodGet, path, nil, "an API token", &rep); done || err != nil {
			return err
		}
		return c.printReport(&rep)
	}
}

func (c *cli) printReport(r *evidence.Report) error {
	e := &r.Event
	tw := newTable(c.out)
	what := fmt.Sprintf("%d %s at %s", e.Seq, safe(e.Kind), when(e.Time))
	if e.Who != "" {
		what += " by " + safe(e.Who)
	}
	if e.Reason != "" {
		what += ": " + safe(e.Reason)
	}
	fmt.Fprintf(tw, "event\t%s\n", what)
	target := "-"
	if r.TargetKW != nil {
		target = kw(*r.TargetKW) + " (mining budget)"
	}
	fmt.Fprintf(tw, "target\t%s\n", target)
	fmt.Fprintf(tw, "load\t%s, sampled every %s\n", safe(r.LoadSource), seconds(r.IntervalSeconds))
	fmt.Fprintf(tw, "baseline\t%s\n", baselineText(r))
	fmt.Fprintf(tw, "reached\t%s\n", reachedText(r))
	fmt.Fprintf(tw, "deviation\t%s\n", deviationText(&r.Deviation, r.DeviationAfterReached))
	open := "complete"
	if !r.Window.Complete {
		open = "still open"
	}
	fmt.Fprintf(tw, "window\t%s to %s, %s; %d samples (--csv or --json for them)\n", when(r.Window.BaselineFrom), when(r.Window.To), open, len(r.Samples))
	n := r.RigCounts
	fmt.Fprintf(tw, "rigs\t%d: %d confirmed, %d failed, %d unconfirmed\n", n.Total, n.Confirmed, n.Failed, n.Unconfirmed)
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Rigs) == 0 {
		return nil
	}
	fmt.Fprintln(c.out)
	tw = newTable(c.out)
	fmt.Fprintf(tw, "RIG\tGROUP\tACTION\tSTATUS\tEVIDENCE\n")
	rigs := slices.Clone(r.Rigs)
	// Failed first, then unconfirmed, then confirmed; by name within.
	rank := map[string]int{"failed": 0, "unconfirmed": 1, "confirmed": 2}
	slices.SortStableFunc(rigs, func(a, b evidence.ReportRig) int { return rank[a.Status] - rank[b.Status] })
	for _, rg := range rigs[:min(len(rigs), maxReportRigs)] {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", safe(rg.Rig), dash(rg.Group), safe(rg.Action), safe(rg.Status), rigEvidence(&rg))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if n := len(rigs) - maxReportRigs; n > 0 {
		fmt.Fprintf(c.out, "… and %d more (--csv or --json for every rig)\n", n)
	}
	return nil
}

// maxReportRigs bounds the rigs the table lists (failed ones first).
const maxReportRigs = 50

func baselineText(r *evidence.Report) string {
	b := r.Baseline
	if b.Samples == 0 || b.LoadKW == nil {
		return "no samples before the event"
	}
	s := fmt.Sprintf("%s over %d samples before the event", kw(*b.LoadKW), b.Samples)
	if b.BudgetKW != nil {
		s += "; budget " + kw(*b.BudgetKW)
	}
	if b.SiteLoadKW != nil {
		s += "; site " + kw(*b.SiteLoadKW)
	}
	if b.AIKWMeasured != nil {
		s += "; AI measured " + kw(*b.AIKWMeasured)
	}
	return s
}

func reachedText(r *evidence.Report) string {
	if !r.Reached || r.TimeToTargetSeconds == nil || r.ReachedAt == nil {
		return "not reached"
	}
	return fmt.Sprintf("after %s (at %s)", secondsExact(*r.TimeToTargetSeconds), when(*r.ReachedAt))
}

func deviationText(d, after *evidence.Deviation) string {
	one := func(d *evidence.Deviation) string {
		if d.Samples == 0 {
			return "no samples"
		}
		return fmt.Sprintf("avg %+.1f kW, max %+.1f kW, %d of %d samples over", d.AvgKW, d.MaxKW, d.Over, d.Samples)
	}
	s := one(d) + " after the event"
	if after != nil {
		s += "; " + one(after) + " once reached"
	}
	return s
}

// secondsExact is a time in seconds to the millisecond.
func secondsExact(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond).String()
}

// rigEvidence says what confirms a rig (or says it failed).
func rigEvidence(r *evidence.ReportRig) string {
	var parts []string
	if d := r.Device; d != nil {
		p := fmt.Sprintf("device %s after %s", safe(d.State), secondsExact(d.SecondsAfter))
		if d.PowerW != nil {
			p += fmt.Sprintf(", %.0f W", *d.PowerW)
		}
		if d.HashrateTHs != nil {
			p += ", " + hashrate(*d.HashrateTHs)
		}
		parts = append(parts, p)
	}
	if s := r.Stratum; s != nil {
		parts = append(parts, fmt.Sprintf("stratum after %s: %s", secondsExact(s.SecondsAfter), safe(s.Detail)))
	}
	if f := r.Failure; f != nil {
		parts = append(parts, fmt.Sprintf("FAILED after %s: %s", secondsExact(f.SecondsAfter), safe(f.Detail)))
	}
	if len(parts) == 0 {
		return "none yet"
	}
	return strings.Join(parts, "; ")
}
