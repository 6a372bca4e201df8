package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashgate/hashgate/api"
)

// capCmd is `hashgatectl cap KW --reason R [--until T]`: PUT /api/v1/cap.
func (c *cli) capCmd(fs *flag.FlagSet) func(context.Context, []string) error {
	reason := fs.String("reason", "", "why (goes in the audit log)")
	until := fs.String("until", "", "RFC 3339 time or duration from now; the cap before returns then")
	return func(ctx context.Context, pos []string) error {
		if len(pos) != 1 {
			return usagef("cap needs the site's limit in kW: cap KW --reason TEXT (0 ends the cap set through the API)")
		}
		capKW, err := strconv.ParseFloat(pos[0], 64)
		if err != nil || capKW < 0 || capKW != capKW {
			return usagef("cap %q: want a number of kW, 0 or more", pos[0])
		}
		if strings.TrimSpace(*reason) == "" {
			return usagef("cap needs --reason TEXT (it goes in the audit log)")
		}
		body := map[string]any{"cap_kw": capKW, "reason": *reason}
		if *until != "" {
			u, err := c.capUntil(*until)
			if err != nil {
				return err
			}
			body["until"] = u
		}
		var p api.CapResponse
		if _, done, err := c.fetch(ctx, http.MethodPut, "/api/v1/cap", body, "a write token", &p); done || err != nil {
			return err
		}
		switch {
		case p.Changed != nil && !*p.Changed:
			fmt.Fprintf(c.out, "no change: this cap is already in force\n")
		case p.CapKW == 0:
			fmt.Fprintf(c.out, "cap ended: no site cap in force\n")
		default:
			fmt.Fprintf(c.out, "site cap in force: %s (the budget follows the %s rule)\n", kw(p.CapKW), safe(p.BudgetRule))
		}
		if capKW > 0 && p.CapKW != capKW {
			fmt.Fprintf(c.out, "note: the cap in force is %s, not %s\n", kw(p.CapKW), kw(capKW))
		}
		c.warnNotPersisted(p.Durability)
		return c.printPlan(p.PlanResponse)
	}
}

// capUntil turns --until into the time sent: an RFC 3339 time as given,
// a duration from now.
func (c *cli) capUntil(s string) (string, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.Format(time.RFC3339Nano), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return "", usagef("--until %q: want an RFC 3339 time (2025-06-01T18:00:00Z) or a duration from now (2h)", s)
	}
	return c.now().Add(d).UTC().Format(time.RFC3339), nil
}

// heartbeat is `hashgatectl heartbeat`: POST /api/v1/heartbeat.
func (c *cli) heartbeat(ctx context.Context, pos []string) error {
	if err := noArgs("heartbeat", pos); err != nil {
		return err
	}
	var hb api.HeartbeatResponse
	if _, done, err := c.fetch(ctx, http.MethodPost, "/api/v1/heartbeat", nil, "a write token", &hb); done || err != nil {
		return err
	}
	fmt.Fprintf(c.out, "heartbeat sent as %s at %s\n", safe(hb.Who), when(hb.At))
	if hb.Failsafe {
		fmt.Fprintf(c.out, "FAIL-SAFE since %s: %s (it ends once its inputs have been good for failsafe_hold)\n",
			when(*hb.FailsafeSince), safe(hb.FailsafeReason))
	}
	return nil
}
