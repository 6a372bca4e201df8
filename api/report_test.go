package api_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/internal/apitest"
	"github.com/hashgate/hashgate/switcher"
	"github.com/hashgate/hashgate/switcher/evidence"
)

// startEvidence runs the test site with samples every 50 ms, a 2 s
// baseline and short windows after.
func startEvidence(t *testing.T) *env {
	t.Helper()
	s := apitest.Start(t, apitest.Options{Policy: testPolicy, Miners: fleetSize, Log: testLog(t),
		Tokens: []config.Token{{Name: "power-desk", Token: writeToken, Role: config.RoleWrite}},
		Switcher: func(c *switcher.Config) {
			c.Evidence = evidence.Options{Interval: 50 * time.Millisecond, Before: 2 * time.Second, Margin: 500 * time.Millisecond, MaxAfter: 5 * time.Second}
		},
	})
	e := &env{t: t, pool: s.Pool, srv: s.Proxy, sw: s.Switcher, fleet: s.Fleet, ts: s.API}
	e.steady()
	return e
}

// latest is the seq of the newest event of kind.
func (e *env) latest(kind string) uint64 {
	e.t.Helper()
	evs, _ := e.events("?limit=1&kind=" + kind)
	if len(evs) != 1 {
		e.t.Fatalf("?limit=1&kind=%s: got %d events, want 1", kind, len(evs))
	}
	return evs[0].Seq
}

// reportOf polls the report of seq until done says it is what the test
// waits for.
func (e *env) reportOf(seq uint64, what string, done func(*evidence.Report) bool) evidence.Report {
	e.t.Helper()
	var rep evidence.Report
	e.eventually(what, func() (bool, any) {
		rep = evidence.Report{}
		e.want("GET", fmt.Sprintf("/api/v1/events/%d/report", seq), "", nil, 200, &rep)
		return done(&rep), fmt.Sprintf("report of %d samples, %d rigs", len(rep.Samples), len(rep.Rigs))
	})
	return rep
}

// Stratum rigs curtailed by an allocation and resumed by the next: the
// report of each carries samples before and after, the time to the
// target, and every rig's Stratum evidence (the connection closed; the
// first share after the resume); the CSV agrees with the JSON; an
// unknown seq is a 404 and a per-rig event a 400 naming its decision.
func TestEventReport(t *testing.T) {
	e := startEvidence(t)
	e.reportOf(e.latest("start"), "the start event's window over", func(r *evidence.Report) bool { return r.Window.Complete })
	e.want("PUT", "/api/v1/allocation", writeToken, map[string]any{"ai_kw": 68, "reason": "training ramp"}, 200, nil)
	seq := e.latest("allocation")
	rep := e.reportOf(seq, "10 curtails confirmed, the window over", func(r *evidence.Report) bool {
		return r.Window.Complete && r.RigCounts.Confirmed == 10
	})
	if rep.Event.Who != "power-desk" || rep.Event.Reason != "training ramp" || rep.TargetKW == nil || *rep.TargetKW != 32 {
		t.Errorf("event %+v target %v; want power-desk's \"training ramp\", 32 kW", rep.Event, rep.TargetKW)
	}
	// The baseline began while the miners connected: its last sample is
	// the settled 60 kW.
	var last evidence.ReportSample
	for _, s := range rep.Samples {
		if s.OffsetSeconds < 0 {
			last = s
		}
	}
	if !rep.Reached || *rep.TimeToTargetSeconds > 5 || rep.Baseline.Samples < 5 || *rep.Baseline.LoadKW > 60 || last.LoadKW != 60 {
		t.Errorf("reached %v in %v s, baseline of %d samples, %v kW, the last %v kW; want reached, 5 samples, ≤ 60 kW, the last 60 kW",
			rep.Reached, *rep.TimeToTargetSeconds, rep.Baseline.Samples, *rep.Baseline.LoadKW, last.LoadKW)
	}
	for _, r := range rep.Rigs {
		if r.Action != "curtail" || r.Status != "confirmed" || r.Stratum == nil || !strings.HasPrefix(r.Stratum.Detail, "connection closed") {
			t.Errorf("rig %s: %s %s stratum %+v; want a curtail confirmed by its connection closing", r.Rig, r.Action, r.Status, r.Stratum)
		}
	}
	checkReportCSV(t, e, seq, &rep)

	e.want("PUT", "/api/v1/allocation", writeToken, map[string]any{"ai_kw": 0, "reason": "ramp over"}, 200, nil)
	back := e.latest("allocation")
	rep = e.reportOf(back, "10 resumes confirmed by a share", func(r *evidence.Report) bool { return r.RigCounts.Confirmed == 10 })
	for _, r := range rep.Rigs {
		if r.Action != "resume" || r.Stratum == nil || r.Stratum.Detail != "share accepted after the resume" || r.Stratum.SecondsAfter < 0 {
			t.Errorf("rig %s: %s stratum %+v; want a resume confirmed by a share after it", r.Rig, r.Action, r.Stratum)
		}
	}

	e.wantError("GET", "/api/v1/events/999999/report", "", nil, 404, "no event 999999")
	e.wantError("GET", "/api/v1/events/0/report", "", nil, 400, "seq")
	e.wantError("GET", fmt.Sprintf("/api/v1/events/%d/report?format=xml", seq), "", nil, 400, "format")
	e.wantError("GET", fmt.Sprintf("/api/v1/events/%d/report?limit=1", seq), "", nil, 400, "unknown query parameter")
	per, _ := e.events(fmt.Sprintf("?since=0&cause=%d&limit=1", seq))
	if len(per) != 1 {
		t.Fatalf("per-rig events of %d: got %+v, want 1", seq, per)
	}
	e.wantError("GET", fmt.Sprintf("/api/v1/events/%d/report", per[0].Seq), "", nil, 400, fmt.Sprintf("ask for the report of %d", seq))
}

// checkReportCSV: ?format=csv and Accept: text/csv answer the same CSV,
// whose summary, samples and rigs say what the JSON says.
func checkReportCSV(t *testing.T, e *env, seq uint64, rep *evidence.Report) {
	t.Helper()
	resp, data := e.do("GET", fmt.Sprintf("/api/v1/events/%d/report?format=csv", seq), "", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("CSV: %d %s; want 200 text/csv", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/events/%d/report", e.ts.URL, seq), nil)
	req.Header.Set("Accept", "text/csv")
	resp2, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if ct := resp2.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Accept: text/csv answered %q; want text/csv", ct)
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	rows, err := cr.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	summary := map[string]string{}
	samples, rigs := 0, map[string][]string{}
	for _, r := range rows {
		switch r[0] {
		case "summary":
			summary[r[1]] = r[2]
		case "sample":
			samples++
		case "rig":
			rigs[r[1]] = r
		}
	}
	if summary["target_kw"] != "32" || summary["reached"] != "true" || summary["rigs_confirmed"] != "10" ||
		summary["baseline_load_kw"] != strconv.FormatFloat(*rep.Baseline.LoadKW, 'f', -1, 64) {
		t.Errorf("CSV summary %v; want target 32, reached, 10 confirmed, baseline %v", summary, *rep.Baseline.LoadKW)
	}
	// The window was complete: both answers hold the same samples.
	if samples != len(rep.Samples) || len(rigs) != len(rep.Rigs) {
		t.Errorf("CSV: %d samples and %d rigs; JSON %d and %d; want samples == len(rep.Samples), len(rigs) == len(rep.Rigs)", samples, len(rigs), len(rep.Samples), len(rep.Rigs))
	}
	for _, r := range rep.Rigs {
		if row := rigs[r.Rig]; row == nil || row[4] != r.Status || row[12] != r.Stratum.Detail {
			t.Errorf("CSV row of %s: %v; want status %s, stratum %q", r.Rig, row, r.Status, r.Stratum.Detail)
		}
	}
}
