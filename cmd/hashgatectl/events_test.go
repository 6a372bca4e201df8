package main

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/sim"
)

// events filters by kind, rig and who and names each per-rig event's
// cause; --follow prints what is new, once, until it is stopped.
func TestEventsFiltersAndFollow(t *testing.T) {
	url := startAPI(t)
	env := map[string]string{"HASHGATE_API": url}
	writer := map[string]string{"HASHGATE_API": url, "HASHGATE_TOKEN": writeToken}

	// Follow from now on, as JSON lines, until cancelled.
	var out sim.LogBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"events", "--follow", "--every", "100ms", "--json", "--kind", "allocation,curtail,resume"},
			func(k string) string { return env[k] }, &out, &out)
	}()
	// The 20 admissions are there before: the first poll prints them.
	sim.WaitFor(t, 5*time.Second, `the first poll ("kind":"resume")`, func() (bool, any) { o := out.String(); return strings.Contains(o, `"kind":"resume"`), o })

	ctl(t, writer, "allocate", "--ai-kw", "68", "--reason", "training").want(t, 0, nil, nil)
	sim.WaitFor(t, 5*time.Second, `the allocation followed ("reason":"training")`, func() (bool, any) {
		o := out.String()
		return strings.Contains(o, `"reason":"training"`), o
	})
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("events --follow stopped with exit %d, want 0:\n%s", code, out.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("events --follow: still running %v after its context ended, want stopped; output:\n%s", 5*time.Second, out.String())
	}
	seen := map[float64]bool{}
	curtails := 0
	var alloc map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("--follow --json line %q: %v", line, err)
		}
		seq, _ := e["seq"].(float64)
		if seen[seq] {
			t.Fatalf("event %v printed twice; want !seen[seq]:\n%s", seq, out.String())
		}
		seen[seq] = true
		switch e["kind"] {
		case "curtail":
			curtails++
		case "allocation":
			alloc = e
		case "resume":
		default:
			t.Fatalf("--kind allocation,curtail,resume printed %v", e["kind"])
		}
	}
	if alloc == nil || curtails < 10 {
		t.Fatalf("followed %d curtails and allocation %v, want 10 curtails and the allocation:\n%s", curtails, alloc, out.String())
	}

	// The allocation lists its groups; its curtails name it as cause.
	seq := int(alloc["seq"].(float64))
	r := ctl(t, env, "events", "--kind", "allocation", "--limit", "1")
	r.want(t, 0, []string{"allocation", "power-desk", "training", "groups=map[default:map[curtail:10"}, nil)
	r = ctl(t, env, "events", "--cause", itoa(seq))
	if n := strings.Count(r.stdout, "\n"); n != 11 || !strings.Contains(r.stdout, "CAUSE") || strings.Count(r.stdout, " "+itoa(seq)+" ") != 10 {
		t.Fatalf("events --cause %d: want a header and 10 curtails naming it, got\n%s", seq, r.stdout)
	}
	r = ctl(t, env, "events", "--rig", "acct.rig-00015", "--who", "power-desk")
	r.want(t, 0, []string{"curtail", "acct.rig-00015"}, nil)
	if strings.Contains(r.stdout, "acct.rig-00014") {
		t.Fatalf("--rig acct.rig-00015 printed another rig; want !strings.Contains(r.stdout, \"acct.rig-00014\"):\n%s", r.stdout)
	}
	// A mistyped kind is the API's 400; bad flags are usage errors.
	ctl(t, env, "events", "--kind", "alocation").want(t, 1, nil, []string{"API error 400", `kind "alocation"`})
	ctl(t, env, "events", "--cause", "0").want(t, 2, nil, []string{"--cause must be"})
	ctl(t, env, "events", "--follow", "--every", "1ms").want(t, 2, nil, []string{"--every 1ms"})
	// An API that cannot be reached ends --follow at once (exit 1).
	ctl(t, map[string]string{"HASHGATE_API": "http://127.0.0.1:1"}, "events", "--follow").
		want(t, 1, nil, []string{"cannot reach the hashgate API"})
}

func itoa(n int) string { return strconv.Itoa(n) }
