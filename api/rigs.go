package api

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"

	"github.com/hashgate/hashgate/stratum/proxy"
	"github.com/hashgate/hashgate/switcher"
)

// rig serves GET /api/v1/rigs/{name}: the one row GET /api/v1/workers has
// for that name (a worker the proxy has an account of, a rig the switcher
// keeps a record of, or both), 404 for a name it has neither of. {name}
// is path-escaped (a name with "/" or "%" in it arrives as one segment).
func (h *Handler) rig(w http.ResponseWriter, r *http.Request) {
	if _, ok := readQuery(w, r); !ok {
		return
	}
	name := r.PathValue("name")
	row, ok := h.lookupWorker(name)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown rig %q: no worker or rig has that name (names are exact and case-sensitive; GET /api/v1/workers lists them)", name))
		return
	}
	writeJSON(w, http.StatusOK, row)
}

// lookupWorker builds the row of one name as snapshotWorkers would. The
// proxy's account is read by name; the switcher's rig is found in its
// sorted list (the switcher has no lookup of one rig's status).
func (h *Handler) lookupWorker(name string) (Worker, bool) {
	var acct *proxy.WorkerSnapshot
	if ws, ok := h.proxy.Worker(name); ok {
		acct = &ws
	}
	var rig *switcher.RigStatus
	var groupFor func(string) *switcher.Group
	if h.sw != nil {
		rigs := h.sw.Rigs()
		if i, ok := slices.BinarySearchFunc(rigs, name, func(r switcher.RigStatus, n string) int { return cmp.Compare(r.Name, n) }); ok {
			rig = &rigs[i]
		}
		groupFor = h.sw.Policy().GroupFor
	}
	if acct == nil && rig == nil {
		return Worker{}, false
	}
	return makeWorker(acct, rig, groupFor, h.cfg.Now(), h.cfg.MiningWindow), true
}

// rigAction finds what plan p does with the rig named name.
func rigAction(p switcher.Plan, name string) (action, reason string) {
	for _, l := range []struct {
		acts []switcher.Action
		what string
	}{{p.Curtail, "curtail"}, {p.Resume, "resume"}, {p.Park, "park"}, {p.Deferred, "deferred"}} {
		for _, a := range l.acts {
			if a.Name != name {
				continue
			}
			if l.what == "deferred" && staysParked(a.Reason) {
				return "stays_parked", a.Reason
			}
			return l.what, a.Reason
		}
	}
	return "none", ""
}
