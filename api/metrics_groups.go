package api

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hashgate/hashgate/stratum/proxy"
	"github.com/hashgate/hashgate/switcher"
)

// Per policy group (hall): rigs by state, counted kW, hashrate and
// accepted work; and the workers by state in the switcher's vocabulary.
// Groups are bounded by the policy: every group of the policy is exported
// (and any group a rig still names), so series do not come and go.

var (
	descWorkers   = desc("workers", "Workers (the proxy's accounts, a rig's name and any other worker on its connection) by state, in the switcher's vocabulary as in hashgate_rigs: mining (a share within the mining window), idle (connected, no recent share), parked (held without work by a curtailment), pending (held without work until admitted), offline (known, disconnected).", "state")
	descGroupRigs = desc("group_rigs", "Rigs by policy group and the switcher's state: mining, parked (held without work by a curtailment), pending (held without work until admitted), offline. Summed over groups it is hashgate_rigs.", "group", "state")
	descGroupLoad = desc("group_mining_load_kw", "Each group's mining load as judged for compliance (each rig's counted draw, as its counted_as says), counted now; hashgate_power_mining_load_kw is the same sum as of the last plan (a tick earlier at most).", "group")
	descGroupRate = desc("group_hashrate_hashes_per_second", "Hashrate of each group's workers over the last minute, from accepted shares.", "group")
	descGroupWork = desc("group_work_accepted_hashes_total", "hashgate_work_accepted_hashes_total by the group of the worker, attributed at each scrape (work between a worker's last scrape and its account being forgotten is not counted): rate() is each group's hashrate in H/s.", "group")
	workerStates  = []string{StateMining, StateIdle, switcher.RigParked.String(), switcher.RigPending.String(), StateOffline}
)

func init() {
	allDescriptions = append(allDescriptions, descWorkers, descGroupRigs, descGroupLoad, descGroupRate, descGroupWork)
}

// readWorkers reads the proxy's accounts and the switcher's rigs once and
// merges them: the accounts come back sorted by name, as the rows are.
func (c *collector) readWorkers() ([]proxy.WorkerSnapshot, []switcher.RigStatus, []Worker) {
	h := c.h
	accounts := h.proxy.Workers()
	var rigs []switcher.RigStatus
	var groupFor func(string) *switcher.Group
	if h.sw != nil {
		rigs = h.sw.Rigs()
		groupFor = h.sw.Policy().GroupFor
	}
	return accounts, rigs, mergeWorkers(accounts, rigs, groupFor, h.cfg.Now(), h.cfg.MiningWindow)
}

// workerState is a worker's state in hashgate_workers: the API's, with
// curtailed told apart as the switcher's parked or pending.
func workerState(w *Worker) string {
	if w.State == StateCurtailed && w.PowerState != "" {
		return w.PowerState
	}
	return w.State
}

func collectWorkerStates(ws []Worker, gauge func(*prometheus.Desc, float64, ...string)) {
	n := make(map[string]int, len(workerStates))
	for i := range ws {
		n[workerState(&ws[i])]++
	}
	for _, s := range workerStates {
		gauge(descWorkers, float64(n[s]), s)
	}
}

// groupWork turns the accounts' accepted work into one counter per group
// that only grows: each scrape adds what each account gained since the
// last one to the group the account is in now (an account that is new,
// or restarted lower, adds all it has).
type groupWork struct {
	mu    sync.Mutex
	seen  map[string]seenWork // account name → its work at the last scrape
	total map[string]float64  // group → work, in difficulty
	scan  uint64              // the scrape's number: entries of older ones are gone accounts
}

type seenWork struct {
	work float64
	scan uint64
}

// add takes the accounts (sorted by name) and the rows (sorted by name,
// one per account at least) and returns the totals by group.
func (g *groupWork) add(accounts []proxy.WorkerSnapshot, rows []Worker) map[string]float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.seen == nil {
		g.seen, g.total = make(map[string]seenWork, len(accounts)), make(map[string]float64)
	}
	g.scan++
	j := 0
	for i := range accounts {
		a := &accounts[i]
		for j < len(rows) && rows[j].Name < a.Name {
			j++
		}
		if j == len(rows) || rows[j].Name != a.Name {
			continue // cannot happen: every account has its row
		}
		gained := a.Work
		if last, ok := g.seen[a.Name]; ok && a.Work >= last.work {
			gained = a.Work - last.work
		}
		g.total[rows[j].Group] += gained
		g.seen[a.Name] = seenWork{work: a.Work, scan: g.scan}
	}
	for name, s := range g.seen {
		if s.scan != g.scan {
			delete(g.seen, name) // no allocation per scrape at 50,000 accounts
		}
	}
	out := make(map[string]float64, len(g.total))
	for k, v := range g.total {
		out[k] = v
	}
	return out
}

// collectGroups exports the per-group series; the switcher runs.
func (c *collector) collectGroups(ch chan<- prometheus.Metric, accounts []proxy.WorkerSnapshot, rigs []switcher.RigStatus, ws []Worker, gauge func(*prometheus.Desc, float64, ...string)) {
	parked := c.h.sw.ParkedByGroup()
	groups := map[string]bool{switcher.DefaultGroupName: true}
	for _, g := range c.h.sw.Policy().Groups {
		groups[g.Name] = true
	}
	for g := range parked {
		groups[g] = true
	}
	type tally struct {
		states   map[string]int
		kw, rate float64
	}
	by := make(map[string]*tally, len(groups))
	get := func(g string) *tally {
		t := by[g]
		if t == nil {
			t = &tally{states: make(map[string]int, len(switcherStates))}
			by[g], groups[g] = t, true
		}
		return t
	}
	for i := range rigs {
		t := get(rigs[i].Group)
		t.states[rigs[i].State]++
		t.kw += rigs[i].CountedKW
	}
	for i := range ws {
		if ws[i].Group != "" {
			get(ws[i].Group).rate += ws[i].HashrateTHs * 1e12
		}
	}
	work := c.work.add(accounts, ws)
	for g := range work {
		groups[g] = true
	}
	for g := range groups {
		t := get(g)
		for _, s := range switcherStates {
			gauge(descGroupRigs, float64(t.states[s]), g, s)
		}
		gauge(descGroupLoad, t.kw, g)
		gauge(descGroupRate, t.rate, g)
		gauge(descParked, float64(parked[g]), g)
		ch <- prometheus.MustNewConstMetric(descGroupWork, prometheus.CounterValue, work[g]*hashesPerDiff1, g)
	}
}
