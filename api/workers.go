package api

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashgate/hashgate/stratum/proxy"
	"github.com/hashgate/hashgate/switcher"
)

// Worker states, as GET /api/v1/workers shows them.
const (
	// StateMining: connected, has work, and sent a share within the
	// mining window (Config.MiningWindow).
	StateMining = "mining"
	// StateIdle: connected, no share within the mining window.
	StateIdle = "idle"
	// StateCurtailed: the switcher holds it without work (parked, or
	// pending admission), connected or not.
	StateCurtailed = "curtailed"
	// StateOffline: known, disconnected.
	StateOffline = "offline"
)

var noFlags = []string{}

// States lists the worker states in display order.
var States = []string{StateMining, StateIdle, StateCurtailed, StateOffline}

// Worker is one row of GET /api/v1/workers: the proxy's account of a
// worker name merged with the switcher's rig of the same name (a rig is
// named by the first worker its connection authorized; other workers on
// the same connection have an account but no rig).
type Worker struct {
	Name        string     `json:"name"`
	Remote      string     `json:"remote"`
	Group       string     `json:"group"`
	State       string     `json:"state"`
	Flags       []string   `json:"flags"`
	Difficulty  float64    `json:"difficulty"`
	HashrateTHs float64    `json:"hashrate_ths"` // last minute
	Accepted    uint64     `json:"accepted"`
	Rejected    uint64     `json:"rejected"` // every reason, stale included
	LastShare   *time.Time `json:"last_share"`

	Hashrate10mTHs float64 `json:"hashrate_10m_ths"`
	Stale          uint64  `json:"stale"`
	// Forwarded are the accepted shares sent on to the pool; PoolAccepted
	// of those the pool accepted; PoolRejected the others by the pool's
	// code, "not_sent" (never reached it) and "lost" (sent, never
	// answered: the pool connection ended first).
	Forwarded    uint64            `json:"forwarded"`
	PoolAccepted uint64            `json:"pool_accepted"`
	PoolRejected map[string]uint64 `json:"pool_rejected,omitempty"`
	Connections  int               `json:"connections"`
	PowerState   string            `json:"power_state,omitempty"` // the switcher's: mining | parked | pending | offline
	Since        *time.Time        `json:"since,omitempty"`       // in PowerState since
	Pin          string            `json:"pin,omitempty"`
	PinReason    string            `json:"pin_reason,omitempty"`

	// CountedAs is how the rig is counted in the status's mining load
	// (mining, parked_bound, parked_verified, parked_unverified,
	// curtail_failed, left_while_parked, released, offline) and CountedKW its counted
	// draw (counted_as absent and 0 kW for a worker that is no rig: a
	// second worker on a rig's connection).
	CountedAs string  `json:"counted_as,omitempty"`
	CountedKW float64 `json:"counted_kw"`

	// StandbyConnections: the rig's further connections from its own
	// address (hashgate listed as primary and backup pool); not duplicates.
	StandbyConnections int `json:"standby_connections,omitempty"`

	// Actuator is the actuator of its group (stratum, antminer, braiins,
	// luxos, whatsminer, vnish, webhook; absent without a switcher).
	// Device is its device as last read through the firmware API: state
	// mining | sleeping | unreachable | unknown (never read yet),
	// power_w and hashrate_ths (null when the firmware does not report
	// them), checked_at (null: never read). Absent for a rig whose group
	// has neither a firmware actuator nor a monitor (a plain Stratum rig),
	// and for a worker that is no rig.
	Actuator string                 `json:"actuator,omitempty"`
	Device   *switcher.DeviceStatus `json:"device,omitempty"`
	// Listed: the rig is in the rig inventory (managed and counted
	// whether or not it connects through the proxy: one that does not
	// shows state offline; device and counted_as say what it draws).
	Listed bool `json:"listed,omitempty"`
}

// hashrateTHs turns an exponentially decaying rate (hashes per second,
// time constant tau) into TH/s. The estimate starts at 0 when the worker
// is first seen and needs about tau to reach the true rate; for a younger
// worker it is divided by the part it has reached (1 − e^(−age/tau)), so a
// fleet that just connected does not show a tenth of its hashrate.
func hashrateTHs(hps float64, age, tau time.Duration) float64 {
	if hps <= 0 {
		return 0
	}
	if age > 0 && age < 5*tau {
		hps /= max(1-math.Exp(-age.Seconds()/tau.Seconds()), 0.05)
	}
	return hps / 1e12
}

// mergeWorkers joins the proxy's accounts and the switcher's rigs, both
// sorted by name, into one list sorted by name. groupFor gives the group
// of a worker that is no rig (nil: none).
func mergeWorkers(ws []proxy.WorkerSnapshot, rigs []switcher.RigStatus, groupFor func(string) *switcher.Group, now time.Time, window time.Duration) []Worker {
	if !slices.IsSortedFunc(ws, func(a, b proxy.WorkerSnapshot) int { return cmp.Compare(a.Name, b.Name) }) {
		slices.SortFunc(ws, func(a, b proxy.WorkerSnapshot) int { return cmp.Compare(a.Name, b.Name) })
	}
	if !slices.IsSortedFunc(rigs, func(a, b switcher.RigStatus) int { return cmp.Compare(a.Name, b.Name) }) {
		slices.SortFunc(rigs, func(a, b switcher.RigStatus) int { return cmp.Compare(a.Name, b.Name) })
	}
	out := make([]Worker, 0, max(len(ws), len(rigs)))
	i, j := 0, 0
	for i < len(ws) || j < len(rigs) {
		var w *proxy.WorkerSnapshot
		var r *switcher.RigStatus
		switch {
		case j == len(rigs) || (i < len(ws) && ws[i].Name < rigs[j].Name):
			w = &ws[i]
			i++
		case i == len(ws) || rigs[j].Name < ws[i].Name:
			r = &rigs[j]
			j++
		default:
			w, r = &ws[i], &rigs[j]
			i++
			j++
		}
		out = append(out, makeWorker(w, r, groupFor, now, window))
	}
	return out
}

func makeWorker(w *proxy.WorkerSnapshot, r *switcher.RigStatus, groupFor func(string) *switcher.Group, now time.Time, window time.Duration) Worker {
	var row Worker
	connected := false
	recent := false
	if w != nil {
		row.Name, row.Remote, row.Difficulty = w.Name, w.Remote, w.Difficulty
		row.Accepted, row.Rejected, row.Stale, row.Connections = w.Accepted, w.RejectedTotal, w.Stale, w.Connections
		row.StandbyConnections = w.Standby
		row.Forwarded, row.PoolAccepted = w.Forwarded, w.PoolAccepted
		if len(w.PoolRejected) > 0 {
			row.PoolRejected = w.PoolRejected
		}
		age := now.Sub(w.FirstSeen)
		row.HashrateTHs = hashrateTHs(w.Hashrate1m, age, time.Minute)
		row.Hashrate10mTHs = hashrateTHs(w.Hashrate10m, age, 10*time.Minute)
		if !w.LastShare.IsZero() {
			t := w.LastShare
			row.LastShare = &t
			recent = now.Sub(t) <= window
		}
		connected = w.Connections > 0
	}
	row.Flags = noFlags // appending to it (cap 0) makes a row's own slice
	if r != nil {
		row.Name, row.Group, row.PowerState = r.Name, r.Group, r.State
		row.Pin, row.PinReason = r.Pin, r.PinReason
		row.CountedAs, row.CountedKW = r.CountedAs, r.CountedKW
		row.Actuator, row.Device, row.Listed = r.Actuator, r.Device, r.Listed
		if !r.Since.IsZero() {
			t := r.Since
			row.Since = &t
		}
		row.Flags = append(row.Flags, r.Flags...)
		connected = connected || r.Connected
	} else if groupFor != nil {
		g := groupFor(row.Name)
		row.Group, row.Actuator = g.Name, g.Actuator
	}
	if w != nil && w.Connections > 1 && !slices.Contains(row.Flags, switcher.FlagDuplicateName) {
		row.Flags = append(row.Flags, switcher.FlagDuplicateName)
	}
	switch {
	case r != nil && (r.State == switcher.RigParked.String() || r.State == switcher.RigPending.String()):
		row.State = StateCurtailed
	case connected && recent:
		row.State = StateMining
	case connected:
		row.State = StateIdle
	default:
		row.State = StateOffline
	}
	return row
}

// snapshotWorkers reads the proxy and the switcher now.
func (h *Handler) snapshotWorkers() []Worker {
	ws := h.proxy.Workers()
	var rigs []switcher.RigStatus
	var groupFor func(string) *switcher.Group
	if h.sw != nil {
		rigs = h.sw.Rigs()
		groupFor = h.sw.Policy().GroupFor // never nil
	}
	return mergeWorkers(ws, rigs, groupFor, h.cfg.Now(), h.cfg.MiningWindow)
}

// countStates counts workers by state; every state is present.
func countStates(ws []Worker) map[string]int {
	out := make(map[string]int, len(States))
	for _, s := range States {
		out[s] = 0
	}
	for i := range ws {
		out[ws[i].State]++
	}
	return out
}

// Paging of GET /api/v1/workers.
const (
	DefaultWorkersLimit = 1000
	MaxWorkersLimit     = 50000
)

// Query parameters of GET /api/v1/workers.
var workersParams = []string{"group", "state", "flag", "q", "sort", "order", "limit", "offset"}

// WorkerFlags are the flags a worker can carry (?flag= takes one of them).
var WorkerFlags = []string{switcher.FlagCurtailFailed, switcher.FlagResumeFailed, switcher.FlagLeftWhileParked,
	switcher.FlagDuplicateName, switcher.FlagPinned, switcher.FlagPoolsUnbound}

// workerSorts are the keys ?sort= takes, each comparing two rows; ties
// keep the name order.
var workerSorts = map[string]func(a, b *Worker) int{
	"name":         func(a, b *Worker) int { return cmp.Compare(a.Name, b.Name) },
	"group":        func(a, b *Worker) int { return cmp.Compare(a.Group, b.Group) },
	"state":        func(a, b *Worker) int { return cmp.Compare(a.State, b.State) },
	"power_state":  func(a, b *Worker) int { return cmp.Compare(a.PowerState, b.PowerState) },
	"hashrate_ths": func(a, b *Worker) int { return cmp.Compare(a.HashrateTHs, b.HashrateTHs) },
	"counted_kw":   func(a, b *Worker) int { return cmp.Compare(a.CountedKW, b.CountedKW) },
	"accepted":     func(a, b *Worker) int { return cmp.Compare(a.Accepted, b.Accepted) },
	"rejected":     func(a, b *Worker) int { return cmp.Compare(a.Rejected, b.Rejected) },
	"last_share":   func(a, b *Worker) int { return cmpTime(a.LastShare, b.LastShare) },
	"since":        func(a, b *Worker) int { return cmpTime(a.Since, b.Since) },
}

// cmpTime orders times, none first.
func cmpTime(a, b *time.Time) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	return a.Compare(*b)
}

// workerQuery is a parsed GET /api/v1/workers query.
type workerQuery struct {
	group, state, flag, q string
	sort                  func(a, b *Worker) int
	byName, desc          bool // byName: sort is by name
	limit, offset         int
}

// match reports whether x passes the filters.
func (wq *workerQuery) match(x *Worker) bool {
	return (wq.group == "" || x.Group == wq.group) && (wq.state == "" || x.State == wq.state) &&
		(wq.flag == "" || slices.Contains(x.Flags, wq.flag)) &&
		(wq.q == "" || strings.Contains(strings.ToLower(x.Name), wq.q))
}

// parseWorkerQuery reads the query; a parameter it does not take, an
// unknown group, state, flag, sort key or order is a 400 that names it.
func (h *Handler) parseWorkerQuery(w http.ResponseWriter, r *http.Request) (*workerQuery, bool) {
	q, ok := readQuery(w, r, workersParams...)
	if !ok {
		return nil, false
	}
	wq := &workerQuery{group: q.Get("group"), state: q.Get("state"), flag: q.Get("flag"), q: strings.ToLower(q.Get("q"))}
	bad := func(msg string) (*workerQuery, bool) {
		writeError(w, http.StatusBadRequest, msg)
		return nil, false
	}
	if wq.state != "" && !slices.Contains(States, wq.state) {
		return bad(fmt.Sprintf("state %q: must be one of mining, idle, curtailed, offline", wq.state))
	}
	if wq.flag != "" && !slices.Contains(WorkerFlags, wq.flag) {
		return bad(fmt.Sprintf("flag %q: must be one of %s", wq.flag, strings.Join(WorkerFlags, ", ")))
	}
	key := cmp.Or(q.Get("sort"), "name")
	wq.byName = key == "name"
	if wq.sort = workerSorts[key]; wq.sort == nil {
		return bad(fmt.Sprintf("sort %q: must be one of %s", key, strings.Join(slices.Sorted(maps.Keys(workerSorts)), ", ")))
	}
	switch o := q.Get("order"); o {
	case "", "asc":
	case "desc":
		wq.desc = true
	default:
		return bad(fmt.Sprintf("order %q: must be asc or desc", o))
	}
	if wq.group != "" && !h.knownGroup(w, wq.group) {
		return nil, false
	}
	if wq.limit, ok = queryInt(w, q.Get("limit"), "limit", DefaultWorkersLimit, 0, MaxWorkersLimit); !ok {
		return nil, false
	}
	wq.offset, ok = queryInt(w, q.Get("offset"), "offset", 0, 0, math.MaxInt32)
	return wq, ok
}

// selectWorkers filters, sorts and pages all (sorted by name); it
// returns the page and the total that matched. Rows are sorted through
// pointers: moving 50,000 rows of a few hundred bytes would cost more
// than comparing them.
func (wq *workerQuery) selectWorkers(all []Worker) ([]Worker, int) {
	match := make([]*Worker, 0, len(all))
	for i := range all {
		if wq.match(&all[i]) {
			match = append(match, &all[i])
		}
	}
	switch {
	case wq.byName && wq.desc:
		slices.Reverse(match) // all is in name order already
	case !wq.byName:
		slices.SortStableFunc(match, func(a, b *Worker) int {
			c := wq.sort(a, b)
			if wq.desc {
				c = -c
			}
			return c // equal keys stay in name order
		})
	}
	total := len(match)
	page := make([]Worker, 0, max(0, min(wq.offset+wq.limit, total)-min(wq.offset, total)))
	for _, x := range match[min(wq.offset, total):min(wq.offset+wq.limit, total)] {
		page = append(page, *x)
	}
	return page, total
}

// workers serves GET /api/v1/workers?group=&state=&flag=&q=&sort=&order=&limit=&offset=:
// q is a case-insensitive substring of the name, flag one of WorkerFlags,
// sort one of workerSorts (default name; ties in name order), order asc
// (default) or desc. The total matching (before paging) is in
// X-Total-Count. A parameter it does not take, an unknown group, state,
// flag, sort or order is a 400 that names it.
func (h *Handler) workers(w http.ResponseWriter, r *http.Request) {
	wq, ok := h.parseWorkerQuery(w, r)
	if !ok {
		return
	}
	page, total := wq.selectWorkers(h.snapshotWorkers())
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	writeJSON(w, http.StatusOK, page)
}

// queryInt parses an integer query parameter ("" is def); a value above
// hi is clamped, one that is not an integer or below lo is a 400.
func queryInt(w http.ResponseWriter, s, name string, def, lo, hi int) (int, bool) {
	if s == "" {
		return def, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%s %q: must be an integer ≥ %d", name, s, lo))
		return 0, false
	}
	return min(n, hi), true
}

// readQuery parses the query of a GET endpoint that takes the parameters
// allowed (none: no parameter at all). A query that does not parse, a
// parameter the endpoint does not take and one given twice are a 400
// naming it: a mistyped filter (grup=hall-a) must not answer everything
// as if it had filtered. It answers the error itself and reports false.
func readQuery(w http.ResponseWriter, r *http.Request, allowed ...string) (url.Values, bool) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("bad query string: %v", err))
		return nil, false
	}
	keys := slices.Sorted(maps.Keys(q))
	for _, k := range keys {
		switch {
		case !slices.Contains(allowed, k) && len(allowed) == 0:
			writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown query parameter %q: %s %s takes none", k, r.Method, r.URL.Path))
			return nil, false
		case !slices.Contains(allowed, k):
			writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown query parameter %q: %s %s takes %s", k, r.Method, r.URL.Path, strings.Join(allowed, ", ")))
			return nil, false
		case len(q[k]) > 1:
			writeError(w, http.StatusBadRequest, fmt.Sprintf("query parameter %q given %d times: give it once", k, len(q[k])))
			return nil, false
		}
	}
	return q, true
}

// maxGroupsListed bounds the group names an unknown-group error lists.
const maxGroupsListed = 20

// knownGroup reports whether group is a group of the policy in force
// (default included); otherwise it answers a 400 listing the groups.
func (h *Handler) knownGroup(w http.ResponseWriter, group string) bool {
	if h.sw == nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("group %q: there are no policy groups (no [switcher] in the config)", group))
		return false
	}
	pol := h.sw.Policy()
	if pol.Group(group) != nil {
		return true
	}
	names := make([]string, 0, min(len(pol.Groups), maxGroupsListed)+1)
	for i := range pol.Groups {
		if i == maxGroupsListed {
			names = append(names, fmt.Sprintf("… %d more", len(pol.Groups)-maxGroupsListed))
			break
		}
		names = append(names, pol.Groups[i].Name)
	}
	names = append(names, switcher.DefaultGroupName)
	writeError(w, http.StatusBadRequest, fmt.Sprintf("group %q: no such policy group (groups: %s)", group, strings.Join(names, ", ")))
	return false
}
