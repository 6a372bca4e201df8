package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/hashgate/hashgate/api"
)

// rigPath is the API path of one rig, its name path-escaped.
func rigPath(name string) string { return "/api/v1/rigs/" + url.PathEscape(name) }

// worker is `hashgatectl worker NAME`: GET /api/v1/rigs/NAME as a table.
func (c *cli) worker(ctx context.Context, pos []string) error {
	if len(pos) != 1 {
		return usagef("worker needs one name: worker NAME")
	}
	var w api.Worker
	if _, done, err := c.fetch(ctx, http.MethodGet, rigPath(pos[0]), nil, "an API token", &w); done || err != nil {
		return err
	}
	tw := newTable(c.out)
	for _, kv := range c.workerRows(w) {
		fmt.Fprintf(tw, "%s\t%s\n", kv[0], kv[1])
	}
	return tw.Flush()
}

// workerRows are the lines of one worker: a label and its text, every
// API string escaped.
func (c *cli) workerRows(w api.Worker) [][2]string {
	rows := [][2]string{{"name", safe(w.Name)}, {"group", dash(w.Group)}}
	state := safe(w.State)
	if w.PowerState != "" {
		state += " (switcher: " + safe(w.PowerState)
		if w.Since != nil {
			state += " since " + when(*w.Since) + ", " + c.ago(w.Since)
		}
		state += ")"
	}
	rows = append(rows, [2]string{"state", state})
	if w.Pin != "" {
		pin := safe(w.Pin)
		if w.PinReason != "" {
			pin += ": " + safe(w.PinReason)
		}
		rows = append(rows, [2]string{"pin", pin})
	}
	rows = append(rows, [2]string{"flags", dash(strings.Join(w.Flags, ", "))})
	if w.CountedAs != "" {
		rows = append(rows, [2]string{"counted as", safe(w.CountedAs) + ", " + kw(w.CountedKW)})
	}
	rows = append(rows,
		[2]string{"hashrate", hashrate(w.HashrateTHs) + " (10 min: " + hashrate(w.Hashrate10mTHs) + ")"},
		[2]string{"last share", c.ago(w.LastShare)},
		[2]string{"shares", fmt.Sprintf("%d accepted, %d rejected (%d stale)", w.Accepted, w.Rejected, w.Stale)},
		[2]string{"pool", fmt.Sprintf("%d forwarded, %d accepted by the pool%s", w.Forwarded, w.PoolAccepted, poolRejected(w.PoolRejected))},
		[2]string{"difficulty", strconv.FormatFloat(w.Difficulty, 'g', -1, 64)},
		[2]string{"connections", connections(w)},
	)
	if w.Actuator != "" {
		rows = append(rows, [2]string{"actuator", safe(w.Actuator)})
	}
	if d := w.Device; d != nil {
		dev := safe(d.State)
		if d.PowerW != nil {
			dev += fmt.Sprintf(", %.0f W", *d.PowerW)
		}
		if d.HashrateTHs != nil {
			dev += ", " + hashrate(*d.HashrateTHs)
		}
		dev += ", read " + c.ago(d.CheckedAt)
		rows = append(rows, [2]string{"device", dev})
	}
	if w.Listed {
		rows = append(rows, [2]string{"inventory", "listed (managed whether or not it connects)"})
	}
	return rows
}

func connections(w api.Worker) string {
	s := strconv.Itoa(w.Connections)
	if w.StandbyConnections > 0 {
		s += fmt.Sprintf(" (+%d standby)", w.StandbyConnections)
	}
	if w.Remote != "" {
		s += ", from " + safe(w.Remote)
	}
	return s
}

// poolRejected is ", N rejected (code n, …)" or "".
func poolRejected(m map[string]uint64) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	var n uint64
	for k, v := range m {
		keys = append(keys, k)
		n += v
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", safe(k), m[k])
	}
	return fmt.Sprintf(", %d not (%s)", n, strings.Join(parts, ", "))
}
