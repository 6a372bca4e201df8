package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/hashgate/hashgate/api"
)

// untilTolerance: a duration given again is the same end as the one the
// allocation in force was made with when the two ends are this close
// (the allocation's time is the server's, a little after the command's).
const untilTolerance = 10 * time.Second

// allocReq is what allocate sends, less until.
type allocReq struct {
	aiKW      float64
	reason    string
	emergency bool
}

// resolveUntil turns --until into the time sent. An RFC 3339 time is sent
// as given. A duration counts from now, except when the same allocation
// (kW, reason, emergency) is in force with an end: a re-run must not move
// that end silently. Then a duration that gives that end again, counted
// from when the allocation was made, sends that end (the server answers
// "no change"), and another one is refused unless force. note says what
// was kept, for the human output.
func (c *cli) resolveUntil(ctx context.Context, s string, req allocReq, force bool) (until, note string, err error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.Format(time.RFC3339Nano), "", nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return "", "", usagef("--until %q: want an RFC 3339 time (2025-06-01T18:00:00Z) or a duration from now (2h)", s)
	}
	fromNow := c.now().Add(d).UTC()
	if force {
		return fromNow.Format(time.RFC3339), "", nil
	}
	a, err := c.allocationInForce(ctx)
	if err != nil {
		return "", "", err
	}
	if a == nil || a.Until == nil || a.AIKW != req.aiKW || a.Reason != req.reason || a.Emergency != req.emergency {
		return fromNow.Format(time.RFC3339), "", nil
	}
	end := a.Until.UTC()
	if diff := a.At.Add(d).Sub(end); diff.Abs() <= untilTolerance {
		note = fmt.Sprintf("--until %s counts from when this allocation was made (%s): it still ends at %s; --force to end it %s from now", s, when(a.At), when(end), s)
		return end.Format(time.RFC3339Nano), note, nil
	}
	return "", "", fmt.Errorf("this allocation (%s to AI, %q) is already in force until %s; --until %s would move its end to %s: add --force to move it, or give --until as an RFC 3339 time",
		kw(a.AIKW), a.Reason, when(end), s, when(fromNow))
}

// allocationInForce reads the allocation in force (nil: none).
func (c *cli) allocationInForce(ctx context.Context) (*api.Allocation, error) {
	_, data, err := c.call(ctx, http.MethodGet, "/api/v1/status", nil, "an API token")
	if err != nil {
		return nil, fmt.Errorf("reading the allocation in force: %w", err)
	}
	var st api.Status
	if err := decode(data, &st); err != nil {
		return nil, err
	}
	if st.Power == nil {
		return nil, nil
	}
	return st.Power.Allocation, nil
}
