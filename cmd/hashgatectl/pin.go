package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/hashgate/hashgate/api"
)

// printPinOutcome prints what a pin did to its own rig: its state now
// (read back from GET /api/v1/rigs/NAME), what the plan does with it, the
// site's load, and only a count of what the plan did to other rigs.
func (c *cli) printPinOutcome(ctx context.Context, name string, p api.PlanResponse) error {
	tw := newTable(c.out)
	fmt.Fprintf(tw, "action\t%s\n", pinAction(p))
	if state := c.rigState(ctx, name); state != "" {
		fmt.Fprintf(tw, "state\t%s\n", state)
	}
	comp := "compliant"
	if !p.Compliant {
		comp = "NOT compliant"
		if p.NotCompliantReason != "" {
			comp += ": " + safe(strings.TrimPrefix(p.NotCompliantReason, "not compliant: "))
		}
	}
	fmt.Fprintf(tw, "site\tmining load %s now, %s after the plan (budget %s): %s\n", kw(p.LoadKW), kw(p.LoadAfterKW), kw(p.MiningBudgetKW), comp)
	printBreakdown(tw, p.LoadBreakdown)
	fmt.Fprintf(tw, "other rigs\t%s\n", otherRigs(p, name))
	return tw.Flush()
}

// pinAction says in words what the plan does with the pinned rig.
func pinAction(p api.PlanResponse) string {
	why := ""
	if p.RigActionReason != "" {
		why = " (" + safe(p.RigActionReason) + ")"
	}
	switch {
	case p.WaitingForRig:
		return "none until it connects"
	case p.RigAction == "curtail":
		return "curtailed now" + why
	case p.RigAction == "resume":
		return "resumed now" + why
	case p.RigAction == "park":
		return "held without work at admission" + why
	case p.RigAction == "deferred":
		return "its resume waits" + why
	case p.RigAction == "stays_parked":
		return "none: already parked, stays parked" + why
	case p.RigAction == "none":
		return "none: the plan leaves it as it is"
	}
	return "unknown (a hashgate that does not report it: --json for the whole plan)"
}

// rigState is the rig's state after the pin, "" when it cannot be read
// (a rig pinned back to auto before it ever came is forgotten).
func (c *cli) rigState(ctx context.Context, name string) string {
	_, data, err := c.call(ctx, http.MethodGet, rigPath(name), nil, "an API token")
	if err != nil {
		return ""
	}
	var w api.Worker
	if json.Unmarshal(data, &w) != nil {
		return ""
	}
	s := safe(w.State)
	if w.PowerState != "" && w.PowerState != w.State {
		s += " (" + safe(w.PowerState) + ")"
	}
	if w.CountedAs != "" {
		s += ", counted as " + safe(w.CountedAs) + ": " + kw(w.CountedKW)
	}
	return s
}

// otherRigs counts what the plan does to the rigs other than name.
func otherRigs(p api.PlanResponse, name string) string {
	others := func(l []string) int { return len(l) - count(l, name) }
	var names []string
	for _, d := range p.Deferred {
		names = append(names, d.Name)
	}
	cur, res, park, wait := others(p.Curtail), others(p.Resume), others(p.Park), others(names)
	if cur+res+park+wait == 0 {
		return "no change"
	}
	var parts []string
	for _, x := range []struct {
		n    int
		what string
	}{{cur, "curtailed"}, {res, "resumed"}, {park, "held at admission"}, {wait, "resumes waiting"}} {
		if x.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", x.n, x.what))
		}
	}
	return strings.Join(parts, ", ") + " (--json for the whole plan)"
}

func count(l []string, s string) int {
	n := 0
	for i := slices.Index(l, s); i >= 0; i = slices.Index(l, s) {
		n++
		l = l[i+1:]
	}
	return n
}
