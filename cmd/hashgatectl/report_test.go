package main

import (
	"encoding/csv"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/sim"
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
		t.Fatalf("events --json: %v %q", err, r.stdout)
	}
	seq := strconv.FormatUint(evs[0].Seq, 10)
	sim.Eventually(t, 10*time.Second, func() bool {
		r = ctl(t, env, "report", seq)
		return r.code == 0 && strings.Contains(r.stdout, "10: 10 confirmed") && strings.Contains(r.stdout, "reached    after")
	}, "the report with 10 rigs confirmed and the target reached")
	r.want(t, 0, []string{"allocation at", "by power-desk: training", "32.0 kW (mining budget)", "acct.rig-00010",
		"stratum after", "connection closed", "RIG"}, nil)

	r = ctl(t, env, "report", seq, "--csv")
	cr := csv.NewReader(strings.NewReader(r.stdout))
	cr.FieldsPerRecord = -1
	rows, err := cr.ReadAll()
	if err != nil || r.code != 0 {
		t.Fatalf("report --csv: exit %d, %v:\n%s", r.code, err, r.stdout)
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
		t.Fatalf("events --cause --json: %v %q", err, r.stdout)
	}
	ctl(t, env, "report", strconv.FormatUint(evs[0].Seq, 10)).want(t, 1, nil, []string{"400", "ask for the report of " + seq})
}
