package api

import (
	"net/http"

	"github.com/hashgate/hashgate/switcher"
)

// GroupStatus is one policy group (hall) in GET /api/v1/groups: its
// policy figures and its rigs and workers now.
type GroupStatus struct {
	Name     string  `json:"name"`
	Priority int     `json:"priority"`
	Actuator string  `json:"actuator"`
	RigKW    float64 `json:"rig_kw"`
	IdleKW   float64 `json:"idle_kw"`
	// Rigs are the switcher's rigs of the group, by the switcher's state
	// (mining, parked, pending, offline; every key present); Workers the
	// workers of the group by the workers' state (mining, idle,
	// curtailed, offline), rigs and other workers on their connections.
	Rigs    map[string]int `json:"rigs"`
	Workers map[string]int `json:"workers"`
	// CountedKW is the group's mining load as judged for compliance (each
	// rig's counted draw); HashrateTHs its workers' last minute.
	CountedKW   float64 `json:"counted_kw"`
	HashrateTHs float64 `json:"hashrate_ths"`
	Pinned      int     `json:"pinned"`
	Flagged     int     `json:"flagged"` // rigs with any flag but pinned
}

// rigStates are the switcher's rig states, every key of GroupStatus.Rigs.
var rigStates = []string{switcher.RigMining.String(), switcher.RigParked.String(), switcher.RigPending.String(), switcher.RigOffline.String()}

// groupStatuses sums the workers by group: every group of the policy in
// file order, then the default group, then any group a row names that
// the policy no longer has.
func groupStatuses(pol *switcher.Policy, ws []Worker) []GroupStatus {
	var out []GroupStatus
	index := map[string]int{}
	add := func(g *switcher.Group) {
		index[g.Name] = len(out)
		gs := GroupStatus{Name: g.Name, Priority: g.Priority, Actuator: g.Actuator, RigKW: g.RigKW, IdleKW: g.IdleKW,
			Rigs: make(map[string]int, len(rigStates)), Workers: make(map[string]int, len(States))}
		for _, s := range rigStates {
			gs.Rigs[s] = 0
		}
		for _, s := range States {
			gs.Workers[s] = 0
		}
		out = append(out, gs)
	}
	for i := range pol.Groups {
		add(&pol.Groups[i])
	}
	add(&pol.Default)
	for i := range ws {
		x := &ws[i]
		j, ok := index[x.Group]
		if !ok {
			add(&switcher.Group{Name: x.Group})
			j = len(out) - 1
		}
		g := &out[j]
		g.Workers[x.State]++
		g.HashrateTHs += x.HashrateTHs
		if x.PowerState == "" {
			continue // a worker that is no rig
		}
		g.Rigs[x.PowerState]++
		g.CountedKW += x.CountedKW
		for _, f := range x.Flags {
			if f == switcher.FlagPinned {
				g.Pinned++
			}
		}
		if len(x.Flags) > 0 && !(len(x.Flags) == 1 && x.Flags[0] == switcher.FlagPinned) {
			g.Flagged++
		}
	}
	return out
}

// groups serves GET /api/v1/groups: every policy group with its rigs by
// state, counted load and hashrate (503 without a switcher).
func (h *Handler) groups(w http.ResponseWriter, r *http.Request) {
	if h.noSwitcher(w) {
		return
	}
	writeJSON(w, http.StatusOK, groupStatuses(h.sw.Policy(), h.snapshotWorkers()))
}
