package api_test

import (
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/hashgate/hashgate/internal/apitest"
)

// series reads a /metrics exposition into its samples, keyed by the
// series as printed (name{label="value",...}, labels in name order).
func (e *env) series() map[string]float64 {
	e.t.Helper()
	resp, data := e.do("GET", "/metrics", "", nil)
	if resp.StatusCode != 200 {
		e.t.Fatalf("GET /metrics: got %d, want 200", resp.StatusCode)
	}
	out := map[string]float64{}
	for _, l := range strings.Split(string(data), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		v, err := strconv.ParseFloat(l[i+1:], 64)
		if err != nil {
			e.t.Fatalf("/metrics: line %q: %v", l, err)
		}
		out[l[:i]] = v
	}
	return out
}

// sum adds the samples of a family whose series contain every one of
// the label pairs given.
func sum(m map[string]float64, name string, pairs ...string) (float64, int) {
	var s float64
	n := 0
	for k, v := range m {
		if k != name && !strings.HasPrefix(k, name+"{") {
			continue
		}
		ok := true
		for _, p := range pairs {
			ok = ok && strings.Contains(k, p)
		}
		if ok {
			s += v
			n++
		}
	}
	return s, n
}

func wantSeries(t *testing.T, m map[string]float64, want map[string]float64) {
	t.Helper()
	for k, v := range want {
		got, ok := m[k]
		switch {
		case !ok:
			t.Errorf("%s: not exported", k)
		case math.Abs(got-v) > 1e-9*math.Max(1, math.Abs(v)):
			t.Errorf("%s: got %v, want %v", k, got, v)
		}
	}
}

// A fresh site, before any share: every label value a query may name is
// exported at 0, so increase() sees the first event.
func TestMetricsAtZeroFromTheStart(t *testing.T) {
	e := start(t, envOpts{miners: -1})
	m := e.series()
	want := map[string]float64{
		`hashgate_work_accepted_hashes_total`:                           0,
		`hashgate_pool_work_accepted_hashes_total{pool="primary"}`:      0,
		`hashgate_shares_forwarded_total{pool="primary"}`:               0,
		`hashgate_pool_submit_round_trip_seconds_count{pool="primary"}`: 0,
		`hashgate_group_work_accepted_hashes_total{group="hall-a"}`:     0,
		`hashgate_group_work_accepted_hashes_total{group="default"}`:    0,
		`hashgate_group_hashrate_hashes_per_second{group="hall-a"}`:     0,
		`hashgate_group_rigs{group="hall-a",state="pending"}`:           0,
		`hashgate_workers{state="parked"}`:                              0,
		`hashgate_power_not_compliant{reason="over_allocated"}`:         0,
		`hashgate_power_not_compliant{reason="nothing_to_curtail"}`:     0,
		`hashgate_rigs_parked{group="default"}`:                         0,
	}
	for _, r := range []string{"stale", "duplicate", "low_difficulty", "unauthorized", "not_subscribed", "ntime", "version", "extranonce2", "other"} {
		want[`hashgate_shares_rejected_total{reason="`+r+`"}`] = 0
	}
	for _, r := range []string{"accepted", "rejected", "not_sent", "lost"} {
		want[`hashgate_pool_shares_total{pool="primary",result="`+r+`"}`] = 0
	}
	wantSeries(t, m, want)
	if _, n := sum(m, "hashgate_job_fanout_seconds_count"); n != 1 {
		t.Errorf("hashgate_job_fanout_seconds_count: got %d series, want 1", n)
	}
	if _, n := sum(m, "hashgate_build_info", `goversion="`+runtime.Version()+`"`, `revision="`, `version="1.2.3-test"`); n != 1 {
		t.Errorf("hashgate_build_info with goversion %s: and the version the binary gave (1.2.3-test): got %d series, want 1", runtime.Version(), n)
	}
}

// After real shares and an allocation that parks the default group, the
// new series say the same as the status, the workers and the pool.
func TestMetricsAfterSharesAndAllocation(t *testing.T) {
	e := start(t, envOpts{})
	e.steady()
	e.want("PUT", "/api/v1/allocation", writeToken, map[string]any{"ai_kw": 68.0, "reason": "metrics"}, 200, nil)
	e.eventually("load down to 31 kW", func() (bool, any) { kw := e.status().Power.MiningLoadKW; return kw == 31, kw })
	e.eventually("the pool accepted > 20 shares", func() (bool, any) { st := e.pool.Stats(); return st.Accepted > 20, st })

	m := e.series()
	wantSeries(t, m, map[string]float64{
		`hashgate_group_rigs{group="default",state="parked"}`:     10,
		`hashgate_group_rigs{group="default",state="mining"}`:     0,
		`hashgate_group_rigs{group="hall-a",state="mining"}`:      10,
		`hashgate_group_rigs{group="hall-a",state="parked"}`:      0,
		`hashgate_group_mining_load_kw{group="default"}`:          1,  // 10 parked at 0.1 kW (pools_bound)
		`hashgate_group_mining_load_kw{group="hall-a"}`:           30, // 10 mining at 3 kW
		`hashgate_workers{state="parked"}`:                        10,
		`hashgate_workers{state="pending"}`:                       0,
		`hashgate_workers{state="mining"}`:                        10,
		`hashgate_miners{state="curtailed"}`:                      10, // deprecated, still there
		`hashgate_rigs_parked{group="default"}`:                   10, // deprecated, still there
		`hashgate_power_not_compliant{reason="parks_unverified"}`: 0,
		`hashgate_pool_failovers_total`:                           0,
	})
	if load, n := sum(m, "hashgate_group_mining_load_kw"); n != 2 || load != m["hashgate_power_mining_load_kw"] {
		t.Errorf("group loads: got %v over %d groups, want hashgate_power_mining_load_kw %v over 2", load, n, m["hashgate_power_mining_load_kw"])
	}
	if r := m[`hashgate_group_hashrate_hashes_per_second{group="hall-a"}`]; r <= 0 {
		t.Errorf("hall-a hashrate: got %v, want > 0 (it mines)", r)
	}
	if rate, _ := sum(m, "hashgate_group_hashrate_hashes_per_second"); math.Abs(rate-m["hashgate_hashrate_hashes_per_second"]) > 1e-6*rate {
		t.Errorf("group hashrates: got %v in all, want the site's %v", rate, m["hashgate_hashrate_hashes_per_second"])
	}
	var workers float64
	for _, w := range e.srv.Workers() {
		workers += w.Work
	}
	work := m["hashgate_work_accepted_hashes_total"]
	if work <= 0 || work > workers*4294967296*(1+1e-9) {
		t.Errorf("work accepted: got %v hashes, want > 0 and ≤ the accounts' %v (read after)", work, workers*4294967296)
	}
	if pw := m[`hashgate_pool_work_accepted_hashes_total{pool="primary"}`]; pw != work {
		t.Errorf("primary's work: got %v, want all of it, %v", pw, work)
	}
	if gw, n := sum(m, "hashgate_group_work_accepted_hashes_total"); n != 2 || gw <= 0 || gw > work*(1+1e-9) {
		t.Errorf("group work: got %v over %d groups, want > 0 and ≤ %v over 2", gw, n, work)
	}
	fwd := m[`hashgate_shares_forwarded_total{pool="primary"}`]
	verdicts, n := sum(m, "hashgate_pool_shares_total", `pool="primary"`)
	accepted := m[`hashgate_pool_shares_total{pool="primary",result="accepted"}`]
	if n != 4 || accepted <= 0 || verdicts > fwd {
		t.Errorf("primary: %v verdicts over %d results, %v accepted, %v forwarded: want 4 results, some accepted, no more verdicts than forwarded", verdicts, n, accepted, fwd)
	}
	if rt := m[`hashgate_pool_submit_round_trip_seconds_count{pool="primary"}`]; rt != accepted+m[`hashgate_pool_shares_total{pool="primary",result="rejected"}`] {
		t.Errorf("round trips: got %v, want one per answered share (%v accepted)", rt, accepted)
	}
	if c := m[`hashgate_job_fanout_seconds_count`]; c < 1 || m[`hashgate_job_fanout_seconds_bucket{le="+Inf"}`] != c {
		t.Errorf("fan-out: got count %v, +Inf bucket %v: want ≥ 1 job, equal", c, m[`hashgate_job_fanout_seconds_bucket{le="+Inf"}`])
	}

	// Per group work keeps growing with shares, and only where rigs mine.
	before := m[`hashgate_group_work_accepted_hashes_total{group="hall-a"}`]
	parkedBefore := m[`hashgate_group_work_accepted_hashes_total{group="default"}`]
	e.eventually(fmt.Sprintf("hall-a's work grows past %v", before), func() (bool, any) {
		m = e.series()
		v := m[`hashgate_group_work_accepted_hashes_total{group="hall-a"}`]
		return v > before, v
	})
	if got := m[`hashgate_group_work_accepted_hashes_total{group="default"}`]; got != parkedBefore {
		t.Errorf("default (parked) work: got %v, want it unchanged at %v", got, parkedBefore)
	}
}

// The reason the site is not compliant is a label: an allocation above
// capacity is over_allocated, and only that.
func TestMetricsNotCompliantReason(t *testing.T) {
	e := start(t, envOpts{})
	e.steady()
	e.want("PUT", "/api/v1/allocation", writeToken, map[string]any{"ai_kw": 150.0, "reason": "too much"}, 200, nil)
	e.eventually("not compliant", func() (bool, any) { p := e.status().Power; return !p.Compliant, p })
	m := e.series()
	want := map[string]float64{`hashgate_power_compliant`: 0}
	for _, r := range []string{"no_plan", "over_allocated", "parks_unverified", "left_while_parked", "nothing_to_curtail"} {
		want[`hashgate_power_not_compliant{reason="`+r+`"}`] = map[bool]float64{true: 1}[r == "over_allocated"]
	}
	wantSeries(t, m, want)
}

// A failover on a site with two pools: the pair is counted, and the
// backup's verdicts, work and round trips carry its own pool label.
func TestMetricsFailoverByPool(t *testing.T) {
	s := apitest.Start(t, apitest.Options{Policy: apitest.TwoHallPolicy, Miners: 6, Backup: true, Log: testLog(t)})
	e := &env{t: t, pool: s.Pool, srv: s.Proxy, sw: s.Switcher, fleet: s.Fleet, ts: s.API}
	m := e.series()
	wantSeries(t, m, map[string]float64{
		`hashgate_pool_failovers_by_pair_total{from="primary",to="backup"}`: 0,
		`hashgate_pool_failovers_by_pair_total{from="backup",to="primary"}`: 0,
		`hashgate_shares_forwarded_total{pool="backup"}`:                    0,
	})
	e.eventually("the primary accepted > 10 shares", func() (bool, any) { st := s.Pool.Stats(); return st.Accepted > 10, st })
	s.Pool.Close()
	e.eventually("the backup accepted > 10 shares", func() (bool, any) {
		m = e.series()
		v := m[`hashgate_pool_shares_total{pool="backup",result="accepted"}`]
		return v > 10, v
	})
	wantSeries(t, m, map[string]float64{
		`hashgate_pool_failovers_by_pair_total{from="primary",to="backup"}`: 1,
		`hashgate_pool_failovers_by_pair_total{from="backup",to="primary"}`: 0,
		`hashgate_pool_failovers_total`:                                     1,
	})
	for _, pool := range []string{"primary", "backup"} {
		if w := m[`hashgate_pool_work_accepted_hashes_total{pool="`+pool+`"}`]; w <= 0 {
			t.Errorf("%s's work: got %v, want > 0 (shares were accepted on it)", pool, w)
		}
		if rt := m[`hashgate_pool_submit_round_trip_seconds_count{pool="`+pool+`"}`]; rt <= 0 {
			t.Errorf("%s's round trips: got %v, want > 0", pool, rt)
		}
	}
	work, _ := sum(m, "hashgate_pool_work_accepted_hashes_total")
	if site := m["hashgate_work_accepted_hashes_total"]; math.Abs(site-work) > 1e-9*site {
		t.Errorf("site work %v, want the pools' sum %v", site, work)
	}
}
