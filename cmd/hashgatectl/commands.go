package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hashgate/hashgate/api"
	"github.com/hashgate/hashgate/internal/termsafe"
)

func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

func kw(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) + " kW" }

// hashrate prints a rate given in TH/s with automatic units (see
// api.FormatHashrate, which the dashboard uses too).
func hashrate(ths float64) string { return api.FormatHashrate(ths) }

func when(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }

// safe is every string the API sent (a name a miner chose, a pool's
// error) as it is printed: control characters escaped (termsafe).
var safe = termsafe.String

// dash is an API string, safe, or "-" for none.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return safe(s)
}

func seconds(s float64) string {
	return (time.Duration(s * float64(time.Second))).Round(time.Second).String()
}

// ago is a short age, "12s ago".
func (c *cli) ago(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "never"
	}
	d := c.now().Sub(*t)
	switch {
	case d < 0:
		return "now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return when(*t)
}

func (c *cli) status(ctx context.Context, pos []string) error {
	if err := noArgs("status", pos); err != nil {
		return err
	}
	_, data, err := c.call(ctx, http.MethodGet, "/api/v1/status", nil, "an API token")
	if err != nil {
		return err
	}
	var st api.Status
	if err := decode(data, &st); err != nil {
		return err
	}
	if c.json {
		err = c.printJSON(data)
	} else {
		err = c.printStatus(st)
	}
	if err != nil {
		return err
	}
	return statusExit(st)
}

// statusExit is the exit status of hashgatectl status (see its help):
// not compliant, then unhealthy, then not persisted.
func statusExit(st api.Status) error {
	p := st.Power
	switch {
	case p != nil && !p.Compliant:
		why := "load over budget"
		if p.NotCompliantReason != "" {
			why = strings.TrimPrefix(p.NotCompliantReason, "not compliant: ")
		}
		return &exitStatus{exitNotCompliant, "not compliant: " + why}
	case !st.Healthy:
		return &exitStatus{exitUnhealthy, "unhealthy: no live pool session"}
	case p != nil && (p.StateError != "" || p.AuditError != ""):
		return &exitStatus{exitNotPersisted, "not persisted: " + strings.TrimSpace(p.StateError+" "+p.AuditError)}
	}
	return nil
}

func (c *cli) printStatus(st api.Status) error {
	tw := newTable(c.out)
	up := "healthy"
	if !st.Healthy {
		up = "NO LIVE POOL"
	}
	fmt.Fprintf(tw, "upstream\t%s\n", up)
	fmt.Fprintf(tw, "miners\t%d connected\n", st.MinersConnected)
	fmt.Fprintf(tw, "hashrate\t%s\n", hashrate(st.HashrateTHs))
	var counts []string
	for _, s := range api.States {
		label := s
		if s == api.StateCurtailed {
			label = "curtailed (parked + pending)"
		}
		counts = append(counts, fmt.Sprintf("%s %d", label, st.Workers[s]))
	}
	fmt.Fprintf(tw, "workers\t%s\n", strings.Join(counts, ", "))
	fmt.Fprintf(tw, "shares\t%d accepted, %d rejected (%d stale)\n", st.Shares.Accepted, st.Shares.Rejected, st.Shares.Stale)
	if p := st.Power; p != nil {
		fmt.Fprintf(tw, "capacity\t%s (reserve %s)\n", kw(p.CapacityKW), kw(p.ReserveKW))
		fmt.Fprintf(tw, "AI\t%s\n", kw(p.AIKW))
		fmt.Fprintf(tw, "mining budget\t%s\n", kw(p.MiningBudgetKW))
		fmt.Fprintf(tw, "mining load\t%s (from hashrate: %s)\n", kw(p.MiningLoadKW), kw(p.MiningLoadEstKW))
		switch {
		case p.Compliant && p.CompliantSince != nil:
			fmt.Fprintf(tw, "compliant\tyes, since %s\n", when(*p.CompliantSince))
		case p.Compliant:
			fmt.Fprintf(tw, "compliant\tyes\n")
		case p.NotCompliantReason != "":
			fmt.Fprintf(tw, "compliant\tNO: %s\n", safe(strings.TrimPrefix(p.NotCompliantReason, "not compliant: ")))
		default:
			fmt.Fprintf(tw, "compliant\tNO: load over budget\n")
		}
		if !p.Compliant && p.NotCompliantDetail != "" {
			fmt.Fprintf(tw, "because\t%s\n", safe(p.NotCompliantDetail))
		}
		printBreakdown(tw, p.LoadBreakdown)
		printParks(tw, p)
		if p.ETASeconds > 0 {
			fmt.Fprintf(tw, "plan done in\t%s\n", seconds(p.ETASeconds))
		}
		fmt.Fprintf(tw, "parked\t%d rigs (curtailed by a plan, connected or not)\n", st.Parked)
		fmt.Fprintf(tw, "pending\t%d rigs (connected, held until admitted)\n", st.Pending)
		if p.Emergency {
			fmt.Fprintf(tw, "emergency\tyes: resumes held until a non-emergency allocation\n")
		}
		if a := p.Allocation; a != nil {
			until := ""
			if a.Until != nil {
				until = ", until " + when(*a.Until)
			}
			fmt.Fprintf(tw, "allocation\t%s to AI by %s at %s%s: %s\n", kw(a.AIKW), dash(a.Who), when(a.At), until, safe(a.Reason))
		} else {
			fmt.Fprintf(tw, "allocation\tnone (AI gets 0 kW)\n")
		}
		if p.PolicyError != "" {
			// The first line of the errors: the status is a summary, the
			// whole list is in the log and the audit log.
			first, _, _ := strings.Cut(p.PolicyError, "\n")
			fmt.Fprintf(tw, "policy\tREFUSED: %s; in force: the policy loaded before, from %s\n", safe(first), safe(p.Policy))
		} else if p.Policy != "" {
			fmt.Fprintf(tw, "policy\t%s\n", safe(p.Policy))
		}
		if p.StateError != "" {
			fmt.Fprintf(tw, "state\tNOT PERSISTED: %s (decisions are in force; a restart would lose them)\n", safe(p.StateError))
		}
		if p.AuditError != "" {
			fmt.Fprintf(tw, "audit log\tNOT WRITTEN: %s (events kept in memory)\n", safe(p.AuditError))
		}
	} else {
		fmt.Fprintf(tw, "power\tthe switcher is not running\n")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(c.out)
	tw = newTable(c.out)
	fmt.Fprintf(tw, "POOL\tSTATE\tSESSIONS\tMINERS\tURL\tLAST ERROR\n")
	for _, p := range st.Pools {
		state := safe(p.State)
		if p.Rejecting {
			state += fmt.Sprintf(", REJECTING %.0f%% of shares", 100*p.RejectRatio)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\n", safe(p.Name), state, p.Sessions, p.Miners, safe(p.URL), dash(p.LastError))
	}
	return tw.Flush()
}

func (c *cli) workers(fs *flag.FlagSet) func(context.Context, []string) error {
	group := fs.String("group", "", "only this policy group")
	state := fs.String("state", "", "only this state: mining, idle, curtailed, offline")
	var limit, offset intFlag
	fs.Var(&limit, "limit", "at most N workers (API default 1000, max 50000)")
	fs.Var(&offset, "offset", "skip the first N")
	return func(ctx context.Context, pos []string) error {
		if err := noArgs("workers", pos); err != nil {
			return err
		}
		if *state != "" && !contains(api.States, *state) {
			return usagef("--state %q: want mining, idle, curtailed or offline", *state)
		}
		q := url.Values{}
		if *group != "" {
			q.Set("group", *group)
		}
		if *state != "" {
			q.Set("state", *state)
		}
		if limit.set {
			q.Set("limit", strconv.Itoa(limit.v))
		}
		if offset.set {
			q.Set("offset", strconv.Itoa(offset.v))
		}
		path := "/api/v1/workers"
		if len(q) > 0 {
			path += "?" + q.Encode()
		}
		var ws []api.Worker
		hdr, done, err := c.fetch(ctx, http.MethodGet, path, nil, "an API token", &ws)
		if done || err != nil {
			return err
		}
		tw := newTable(c.out)
		fmt.Fprintf(tw, "NAME\tGROUP\tSTATE\tHASHRATE\tDIFFICULTY\tACCEPTED\tREJECTED\tLAST SHARE\tFLAGS\tREMOTE\n")
		for _, w := range ws {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%g\t%d\t%d\t%s\t%s\t%s\n", safe(w.Name), dash(w.Group), workerState(w), hashrate(w.HashrateTHs),
				w.Difficulty, w.Accepted, w.Rejected, c.ago(w.LastShare), dash(strings.Join(w.Flags, ",")), dash(w.Remote))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		total, err := strconv.Atoi(hdr.Get("X-Total-Count"))
		if err != nil {
			total = len(ws)
		}
		if len(ws) < total {
			first := offset.v + 1
			if len(ws) == 0 {
				fmt.Fprintf(c.out, "%d workers match; none from %d on\n", total, first)
			} else {
				fmt.Fprintf(c.out, "%d-%d of %d workers (--offset, --limit for more)\n", first, offset.v+len(ws), total)
			}
		} else {
			fmt.Fprintf(c.out, "%d workers\n", total)
		}
		return nil
	}
}

// workerState is a worker's state, a curtailed one with which hold it
// is: parked (by a plan) or pending (waiting for admission).
func workerState(w api.Worker) string {
	if w.State == api.StateCurtailed && (w.PowerState == "parked" || w.PowerState == "pending") {
		return "curtailed: " + w.PowerState
	}
	return safe(w.State)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (c *cli) allocate(fs *flag.FlagSet) func(context.Context, []string) error {
	var ai floatFlag
	fs.Var(&ai, "ai-kw", "kW for the AI racks")
	reason := fs.String("reason", "", "why (goes in the audit log)")
	until := fs.String("until", "", "RFC 3339 time or duration; the allocation before returns then")
	emergency := fs.Bool("emergency", false, "ignore min_on and hold every resume")
	force := fs.Bool("force", false, "with --until as a duration: move the end of the same allocation in force")
	return func(ctx context.Context, pos []string) error {
		if err := noArgs("allocate", pos); err != nil {
			return err
		}
		if !ai.set {
			return usagef("allocate needs --ai-kw N")
		}
		if strings.TrimSpace(*reason) == "" {
			return usagef("allocate needs --reason TEXT (it goes in the audit log)")
		}
		body := map[string]any{"ai_kw": ai.v, "reason": *reason}
		note := ""
		if *until != "" {
			u, n, err := c.resolveUntil(ctx, *until, allocReq{ai.v, *reason, *emergency}, *force)
			if err != nil {
				return err
			}
			body["until"], note = u, n
		}
		if *emergency {
			body["emergency"] = true
		}
		var p api.PlanResponse
		if _, done, err := c.fetch(ctx, http.MethodPut, "/api/v1/allocation", body, "a write token", &p); done || err != nil {
			return err
		}
		if p.Changed != nil && !*p.Changed {
			fmt.Fprintf(c.out, "no change: this allocation is already in force\n")
			if note != "" {
				fmt.Fprintln(c.out, safe(note))
			}
		} else {
			fmt.Fprintf(c.out, "allocation applied: %s to AI\n", kw(ai.v))
		}
		c.warnNotPersisted(p.Durability)
		return c.printPlan(p)
	}
}

func (c *cli) plan(fs *flag.FlagSet) func(context.Context, []string) error {
	var ai floatFlag
	fs.Var(&ai, "ai-kw", "kW for the AI racks")
	return func(ctx context.Context, pos []string) error {
		if err := noArgs("plan", pos); err != nil {
			return err
		}
		if !ai.set {
			return usagef("plan needs --ai-kw N")
		}
		var p api.PlanResponse
		if _, done, err := c.fetch(ctx, http.MethodPost, "/api/v1/plan", map[string]any{"ai_kw": ai.v}, "an API token (read or write)", &p); done || err != nil {
			return err
		}
		fmt.Fprintf(c.out, "dry run, nothing applied: %s to AI\n", kw(ai.v))
		return c.printPlan(p)
	}
}

// planListMax is how many names of each list a plan table shows.
const planListMax = 20

func names(list []string) string {
	if len(list) == 0 {
		return "-"
	}
	more := ""
	if len(list) > planListMax {
		list, more = list[:planListMax], fmt.Sprintf(", … and %d more (--json for all)", len(list)-planListMax)
	}
	return safe(strings.Join(list, ", ")) + more
}

// printBreakdown says what the mining load is made of (nil: an older
// hashgate that does not send it).
func printBreakdown(w io.Writer, b *api.LoadBreakdown) {
	if b == nil {
		return
	}
	fmt.Fprintf(w, "load is\t%s mining, %s pinned on, %s parked at idle draw, %s parked unverified (rig_kw), %s left while parked (rig_kw)",
		kw(b.MiningKW), kw(b.PinnedOnKW), kw(b.ParkedIdleKW), kw(b.ParkedUnverifiedKW), kw(b.LeftWhileParkedKW))
	if b.DeviceHashingKW > 0 {
		fmt.Fprintf(w, ", %s device hashing", kw(b.DeviceHashingKW))
	}
	if b.ResumeFailedKW > 0 {
		fmt.Fprintf(w, ", %s resume failed", kw(b.ResumeFailedKW))
	}
	fmt.Fprintln(w)
}

// printParks says how parked rigs are counted in the mining load.
func printParks(w io.Writer, p *api.Power) {
	fmt.Fprintf(w, "parks\t%d unverified (counted at rig_kw), %d bound (pools_bound), %d verified (device)\n",
		p.ParksUnverified, p.ParksBound, p.ParksVerified)
	if p.MiningLoadPlannedKW != p.MiningLoadKW {
		fmt.Fprintf(w, "planned load\t%s (every park at idle_kw)\n", kw(p.MiningLoadPlannedKW))
	}
}

func (c *cli) printPlan(p api.PlanResponse) error {
	tw := newTable(c.out)
	fmt.Fprintf(tw, "mining budget\t%s\n", kw(p.MiningBudgetKW))
	comp := "compliant"
	switch {
	case !p.Compliant && p.NotCompliantReason != "":
		comp = "NOT compliant: " + safe(strings.TrimPrefix(p.NotCompliantReason, "not compliant: "))
	case !p.Compliant:
		comp = "NOT compliant: load over budget"
	}
	after := kw(p.LoadAfterKW)
	if p.PlannedLoadAfterKW != p.LoadAfterKW {
		after += fmt.Sprintf(" (%s as planned, parks at idle_kw)", kw(p.PlannedLoadAfterKW))
	}
	fmt.Fprintf(tw, "mining load\t%s now, %s after the plan: %s\n", kw(p.LoadKW), after, comp)
	printBreakdown(tw, p.LoadBreakdown)
	fmt.Fprintf(tw, "curtail\t%d: %s\n", len(p.Curtail), names(p.Curtail))
	fmt.Fprintf(tw, "resume\t%d: %s\n", len(p.Resume), names(p.Resume))
	if len(p.Park) > 0 {
		fmt.Fprintf(tw, "held at admission\t%d: %s\n", len(p.Park), names(p.Park))
	}
	if len(p.Deferred) > 0 {
		fmt.Fprintf(tw, "resume waits\t%d (reasons below)\n", len(p.Deferred))
	}
	if p.StaysParked > 0 {
		fmt.Fprintf(tw, "stays parked\t%d (pinned off, or no room in the budget)\n", p.StaysParked)
	}
	if p.ETASeconds > 0 {
		fmt.Fprintf(tw, "done in\t%s\n", seconds(p.ETASeconds))
	}
	if p.Emergency {
		fmt.Fprintf(tw, "emergency\tyes: resumes held\n")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(p.Deferred) == 0 {
		return nil
	}
	fmt.Fprintln(c.out)
	tw = newTable(c.out)
	fmt.Fprintf(tw, "RESUME WAITS\tREASON\n")
	for i, d := range p.Deferred {
		if i == planListMax {
			fmt.Fprintf(tw, "… and %d more\t(--json for all)\n", len(p.Deferred)-planListMax)
			break
		}
		fmt.Fprintf(tw, "%s\t%s\n", safe(d.Name), safe(d.Reason))
	}
	return tw.Flush()
}

func (c *cli) pin(fs *flag.FlagSet) func(context.Context, []string) error {
	reason := fs.String("reason", "", "why (goes in the audit log)")
	return func(ctx context.Context, pos []string) error {
		if len(pos) != 2 {
			return usagef("pin needs a rig name and a mode: pin NAME on|off|auto")
		}
		name, mode := pos[0], pos[1]
		shown := safe(name) // the argument, as typed (it may be pasted from anywhere)
		if !contains([]string{"on", "off", "auto"}, mode) {
			return usagef("pin mode %q: want on, off or auto", mode)
		}
		path := rigPath(name) + "/pin"
		var p api.PlanResponse
		if _, done, err := c.fetch(ctx, http.MethodPut, path, map[string]any{"mode": mode, "reason": *reason}, "a write token", &p); done || err != nil {
			return err
		}
		switch mode {
		case "on":
			fmt.Fprintf(c.out, "%s pinned on: never curtailed\n", shown)
		case "off":
			fmt.Fprintf(c.out, "%s pinned off: parked until pinned auto\n", shown)
		default:
			fmt.Fprintf(c.out, "%s back to auto: the planner decides\n", shown)
		}
		if p.WaitingForRig {
			fmt.Fprintf(c.out, "%s is not connected: the pin takes effect when it connects (check the name if it never has)\n", shown)
		}
		c.warnNotPersisted(p.Durability)
		return c.printPinOutcome(ctx, name, p)
	}
}

// warnNotPersisted says on stderr that a write is in force but not on
// disk (the exit status stays 0: it was applied).
func (c *cli) warnNotPersisted(d api.Durability) {
	if d.Persisted != nil && !*d.Persisted {
		fmt.Fprintf(c.errOut, "WARNING: applied, but NOT PERSISTED: %s\n", safe(d.PersistError))
	}
}

func (c *cli) forget(ctx context.Context, pos []string) error {
	if len(pos) != 1 {
		return usagef("forget needs one rig name: forget NAME")
	}
	name := pos[0]
	var f api.ForgetResponse
	if _, done, err := c.fetch(ctx, http.MethodDelete, rigPath(name), nil, "a write token", &f); done || err != nil {
		return err
	}
	was := f.WasState
	if f.WasPin != "" {
		was += ", pinned " + f.WasPin
	}
	if len(f.WasFlags) > 0 {
		was += ", " + strings.Join(f.WasFlags, ", ")
	}
	fmt.Fprintf(c.out, "%s forgotten (was %s): if it connects again it is a new rig\n", safe(name), safe(was))
	c.warnNotPersisted(f.Durability)
	return nil
}

// fields prints an event's fields as k=v, sorted, zero times left out.
func fields(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k, v := range m {
		if s, ok := v.(string); ok && strings.HasPrefix(s, "0001-01-01T") {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%v", k, m[k])
	}
	return dash(strings.Join(parts, " "))
}
