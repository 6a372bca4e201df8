package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/switcher/evidence"
)

// report prints an allocation's evidence: target, reached, each
// curtailed rig confirmed by its Stratum connection closing; --csv the
// API's CSV; an unknown seq, a per-rig event and a bad SEQ are refused.
func TestReportCommand(t *testing.T) {
	url := startAPI(t)
	env := map[string]string{"HASHGATE_API": url}
	writer := map[string]string{"HASHGATE_API": url, "HASHGATE_TOKEN": writeToken}
	ctl(t, writer, "allocate", "--ai-kw", "68", "--reason", "training").want(t, 0, nil, nil)
	var evs []struct {
		Seq uint64 `json:"seq"`
	}
	r := ctl(t, env, "events", "--kind", "allocation", "--limit", "1", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &evs); err != nil || len(evs) != 1 {
		t.Fatalf("events --json: %v %q; want err == nil, len(evs) == 1", err, r.stdout)
	}
	seq := strconv.FormatUint(evs[0].Seq, 10)
	sim.WaitFor(t, 10*time.Second, "the report with 10 rigs confirmed and the target reached", func() (bool, any) {
		r = ctl(t, env, "report", seq)
		return r.code == 0 && strings.Contains(r.stdout, "10: 10 confirmed") && strings.Contains(r.stdout, "reached    after"),
			fmt.Sprintf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	})
	r.want(t, 0, []string{"allocation at", "by power-desk: training", "32.0 kW (mining budget)", "acct.rig-00010",
		"stratum after", "connection closed", "RIG"}, nil)

	r = ctl(t, env, "report", seq, "--csv")
	cr := csv.NewReader(strings.NewReader(r.stdout))
	cr.FieldsPerRecord = -1
	rows, err := cr.ReadAll()
	if err != nil || r.code != 0 {
		t.Fatalf("report --csv: exit %d, %v; want err == nil, r.code == 0:\n%s", r.code, err, r.stdout)
	}
	rigs, gotSeq := 0, ""
	for _, row := range rows {
		switch {
		case row[0] == "rig":
			rigs++
		case row[0] == "summary" && row[1] == "seq":
			gotSeq = row[2]
		}
	}
	if rigs != 10 || gotSeq != seq {
		t.Errorf("report --csv: %d rig rows, seq %q; want 10 and %s", rigs, gotSeq, seq)
	}

	ctl(t, env, "report", "999999").want(t, 1, nil, []string{"404", "no event 999999"})
	ctl(t, env, "report", "x").want(t, 2, nil, []string{"SEQ is an event's seq"})
	ctl(t, env, "report").want(t, 2, nil, []string{"report needs one event seq"})
	r = ctl(t, env, "events", "--cause", seq, "--limit", "1", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &evs); err != nil || len(evs) != 1 {
		t.Fatalf("events --cause --json: %v %q; want err == nil, len(evs) == 1", err, r.stdout)
	}
	ctl(t, env, "report", strconv.FormatUint(evs[0].Seq, 10)).want(t, 1, nil, []string{"400", "ask for the report of " + seq})
}

// The rig table lists failed rigs first and at most maxReportRigs; a
// rig's name is printed escaped.
func TestReportTableBound(t *testing.T) {
	var rep evidence.Report
	for i := range 60 {
		rg := evidence.ReportRig{Rig: fmt.Sprintf("r%02d", i), Action: "curtail", Status: "confirmed",
			Stratum: &evidence.ReportConfirm{Source: "stratum", Detail: "connection closed", SecondsAfter: 0.004}}
		if i == 59 {
			rg.Rig, rg.Status, rg.Failure = "r59\x1b[2J", "failed", &evidence.ReportConfirm{Source: "stratum", Detail: "curtail_failed: still hashing", SecondsAfter: 31}
		}
		rep.Rigs = append(rep.Rigs, rg)
	}
	rep.RigCounts = evidence.RigCounts{Total: 60, Confirmed: 59, Failed: 1}
	var out bytes.Buffer
	c := &cli{out: &out}
	if err := c.printReport(&rep); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out.String(), "\n")
	var table []string
	for i, l := range lines {
		if strings.HasPrefix(l, "RIG") {
			table = lines[i+1:]
			break
		}
	}
	if len(table) < 1 || !strings.HasPrefix(table[0], `r59\x1b[2J`) || !strings.Contains(table[0], "FAILED after 31s: curtail_failed") {
		t.Fatalf("first row %q; want the failed rig, its name escaped", table[0])
	}
	if !strings.Contains(out.String(), "… and 10 more (--csv or --json for every rig)") || strings.Count(out.String(), "connection closed") != 50 {
		t.Errorf("table of 60 rigs:\n%s\nwant 50 rows (the failed one first, closed too, and 49 confirmed) and a note of 10 more", out.String())
	}
}
