package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/hashgate/hashgate/switcher"
)

// Polling of events --follow: each poll asks for at most followPage
// events (a page that is full is followed at once by the next).
const (
	defaultFollowEvery = 2 * time.Second
	followPage         = 1000
)

// eventsOpts are the events command's flags.
type eventsOpts struct {
	since, limit, cause intFlag
	kind, rig, who      string
	follow              bool
	every               time.Duration
}

func (c *cli) events(fs *flag.FlagSet) func(context.Context, []string) error {
	var o eventsOpts
	fs.Var(&o.since, "since", "events after this seq (default: the latest ones)")
	fs.Var(&o.limit, "limit", "at most N events (API default 100)")
	fs.StringVar(&o.kind, "kind", "", "only these kinds (comma-separated), e.g. allocation,pin")
	fs.StringVar(&o.rig, "rig", "", "only this rig's events")
	fs.StringVar(&o.who, "who", "", "only events by this token's name")
	fs.Var(&o.cause, "cause", "only the per-rig events of this summary event (its seq)")
	fs.BoolVar(&o.follow, "follow", false, "keep printing new events until Ctrl-C")
	fs.DurationVar(&o.every, "every", defaultFollowEvery, "with --follow: how often to ask")
	return func(ctx context.Context, pos []string) error {
		if err := noArgs("events", pos); err != nil {
			return err
		}
		q, err := o.query()
		if err != nil {
			return err
		}
		if o.follow {
			return c.followEvents(ctx, q, o.every)
		}
		var evs []switcher.Event
		if _, done, err := c.fetch(ctx, http.MethodGet, eventsPath(q), nil, "an API token", &evs); done || err != nil {
			return err
		}
		if len(evs) == 0 {
			fmt.Fprintln(c.out, "no events")
			return nil
		}
		return c.printEvents(evs, true)
	}
}

// query is the API query the flags ask for.
func (o *eventsOpts) query() (url.Values, error) {
	q := url.Values{}
	if o.since.set {
		q.Set("since", strconv.Itoa(o.since.v))
	}
	if o.limit.set {
		if o.limit.v == 0 {
			return nil, usagef("--limit must be at least 1")
		}
		q.Set("limit", strconv.Itoa(o.limit.v))
	}
	if o.cause.set {
		if o.cause.v == 0 {
			return nil, usagef("--cause must be an event's seq (at least 1)")
		}
		q.Set("cause", strconv.Itoa(o.cause.v))
	}
	for k, v := range map[string]string{"kind": o.kind, "rig": o.rig, "who": o.who} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if o.follow && o.every < 100*time.Millisecond {
		return nil, usagef("--every %v: must be at least 100ms", o.every)
	}
	return q, nil
}

func eventsPath(q url.Values) string {
	if len(q) == 0 {
		return "/api/v1/events"
	}
	return "/api/v1/events?" + q.Encode()
}

// followEvents prints the events q selects, then polls with since= for
// new ones every interval until ctx ends or Ctrl-C (exit 0). Each request
// has the --timeout deadline; an error ends it (exit 1).
func (c *cli) followEvents(ctx context.Context, q url.Values, every time.Duration) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	header := true
	tick := time.NewTimer(0)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		evs, next, err := c.pollEvents(ctx, q)
		if err != nil {
			if ctx.Err() != nil {
				return nil // Ctrl-C during a request
			}
			return err
		}
		if err := c.printFollowed(evs, header); err != nil {
			return err
		}
		header = header && len(evs) == 0
		q.Set("since", strconv.FormatUint(next, 10))
		full := len(evs) == followPage && q.Get("limit") == strconv.Itoa(followPage)
		q.Set("limit", strconv.Itoa(followPage))
		wait := every
		if full {
			wait = 0 // a full page: more are waiting
		}
		tick.Reset(wait)
	}
}

// pollEvents makes one request and returns its events and the since to
// ask next (X-Next-Since, else the newest seq seen).
func (c *cli) pollEvents(ctx context.Context, q url.Values) ([]switcher.Event, uint64, error) {
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	hdr, data, err := c.call(rctx, http.MethodGet, eventsPath(q), nil, "an API token")
	if err != nil {
		return nil, 0, err
	}
	var evs []switcher.Event
	if err := decode(data, &evs); err != nil {
		return nil, 0, err
	}
	next, perr := strconv.ParseUint(hdr.Get("X-Next-Since"), 10, 64)
	if perr != nil {
		next, perr = strconv.ParseUint(hdr.Get("X-Last-Seq"), 10, 64)
	}
	if n := len(evs); n > 0 && (perr != nil || evs[n-1].Seq > next) {
		next = evs[n-1].Seq
	}
	if since, _ := strconv.ParseUint(q.Get("since"), 10, 64); next < since {
		return nil, 0, errors.New("the audit log's sequence went back (was hashgate's audit log replaced?)")
	}
	return evs, next, nil
}

// printFollowed prints a poll's events: table rows (the header before the
// first), or with --json one JSON object a line.
func (c *cli) printFollowed(evs []switcher.Event, header bool) error {
	if len(evs) == 0 {
		return nil
	}
	if c.json {
		enc := json.NewEncoder(c.out)
		for _, e := range evs {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
		return nil
	}
	return c.printEvents(evs, header)
}

// printEvents prints events as a table; cause is the summary event a
// per-rig event belongs to.
func (c *cli) printEvents(evs []switcher.Event, header bool) error {
	tw := newTable(c.out)
	if header {
		fmt.Fprintf(tw, "SEQ\tTIME\tKIND\tWHO\tRIG\tCAUSE\tREASON\tDETAILS\n")
	}
	for _, e := range evs {
		cause := "-"
		if e.Cause != 0 {
			cause = strconv.FormatUint(e.Cause, 10)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, when(e.Time), safe(e.Kind), dash(e.Who), dash(e.Rig),
			cause, dash(e.Reason), fields(e.Fields))
	}
	return tw.Flush()
}
