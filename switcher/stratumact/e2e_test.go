package stratumact_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/internal/sim"
	hgsite "github.com/hashgate/hashgate/site"
	"github.com/hashgate/hashgate/stratum/proxy"
	"github.com/hashgate/hashgate/switcher"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clock is the switcher's time in these tests: ramp windows and grace
// periods are minutes long, so the test moves time on instead of waiting.
// It runs with the real clock plus an offset, so that the proxy's share
// times (real) still compare sensibly with the switcher's.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

const sitePolicy = `
site_capacity_kw = 1500.0
ramp_up_kw_per_min = 400.0
min_off = "0s"
min_on = "0s"

[[group]]
name = "s21"
workers = ["acct.s21-*"]
rig_kw = 3.5
idle_kw = 0.1
efficiency_j_th = 17.5
priority = 20
actuator = "stratum"

[[group]]
name = "s19"
workers = ["acct.s19-*"]
rig_kw = 3.25
idle_kw = 0.1
efficiency_j_th = 34.0
priority = 10
actuator = "stratum"

[[group]]
name = "s9"
workers = ["acct.s9-*"]
rig_kw = 1.4
idle_kw = 0.1
efficiency_j_th = 98.0
priority = 0
actuator = "stratum"
`

// site is a hashgate (package site: the proxy, the switcher, their
// bridge and the policy watcher, as `hashgate run` wires them) over one
// sim pool, with the test's clock.
type site struct {
	t     *testing.T
	clock *clock
	pool  *sim.Pool
	hs    *hgsite.Site
	proxy *proxy.Server
	sw    *switcher.Switcher
	dir   string
}

// startSite starts a site with dir/policy.toml as its policy file (state
// and audit log beside it), the proxy on listen; opts change the
// switcher's config.
func startSite(t *testing.T, dir, listen string, clk *clock, pool *sim.Pool, opts ...func(*switcher.Config)) *site {
	t.Helper()
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	s := &site{t: t, clock: clk, pool: pool, dir: dir}
	cfg := config.Default()
	cfg.Proxy.Listen, cfg.API.Listen = listen, "127.0.0.1:0"
	cfg.Proxy.HandshakeTimeout = config.Duration{Duration: 5 * time.Second}
	cfg.Proxy.ParkedKeepalive = config.Duration{Duration: 100 * time.Millisecond}
	cfg.Proxy.Difficulty = config.Difficulty{Initial: 1e-9, Min: 1e-9, Max: 1e-9, TargetShareSeconds: 10}
	p := config.DefaultPool()
	host, port, _ := net.SplitHostPort(pool.Addr())
	p.Port, _ = strconv.Atoi(port)
	p.Name, p.URL, p.Host, p.User = "pool", pool.URL(), host, "acct.proxy"
	p.FailoverTimeout = config.Duration{Duration: 5 * time.Second}
	cfg.Pools = []config.Pool{p}
	cfg.Switcher.PolicyPath = filepath.Join(dir, "policy.toml")
	cfg.Switcher.StateFilePath = filepath.Join(dir, "state.json")
	cfg.Switcher.AuditLogPath = filepath.Join(dir, "audit.jsonl")
	hs, err := hgsite.New(cfg, log, hgsite.WithoutAPIListener(), hgsite.WithSwitcher(func(c *switcher.Config) {
		c.Tick, c.LeftGrace, c.Now = 20*time.Millisecond, 2*time.Minute, clk.Now
		for _, o := range opts {
			o(c)
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := hs.Start(); err != nil {
		t.Fatal(err)
	}
	s.hs, s.proxy, s.sw = hs, hs.Proxy(), hs.Switcher()
	sim.WaitFor(t, 5*time.Second, "a pool session (Healthy)", func() (bool, any) { return s.proxy.Healthy(), s.proxy.Pools() })
	return s
}

// newSite writes policy to a TempDir's policy.toml, starts a sim pool
// (a job every jobInterval; 0: the pool's default) closed when the test
// ends, and a site over them on 127.0.0.1:0.
func newSite(t *testing.T, policy string, jobInterval time.Duration, clk *clock, opts ...func(*switcher.Config)) *site {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "policy.toml"), []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	pool, err := sim.StartPool(sim.PoolConfig{JobInterval: jobInterval})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return startSite(t, dir, "127.0.0.1:0", clk, pool, opts...)
}

func (s *site) close() {
	if err := s.hs.Close(); err != nil {
		s.t.Error(err)
	}
}

// rigStates maps rig name to the switcher's state.
func (s *site) rigStates() map[string]switcher.RigStatus {
	out := map[string]switcher.RigStatus{}
	for _, r := range s.sw.Rigs() {
		out[r.Name] = r
	}
	return out
}

// advanceUntil moves the switcher's clock a minute at a time (the ramp
// window) until cond holds, at most n minutes; failing, it prints what
// cond saw last.
func (s *site) advanceUntil(n int, what string, cond func() (ok bool, got any)) {
	s.t.Helper()
	for range n {
		if ok, _ := cond(); ok {
			return
		}
		s.advanceMinute()
	}
	sim.WaitFor(s.t, 5*time.Second, what, cond)
}

// advanceMinute moves the switcher's clock a minute on and waits for two
// ticks of the switcher at the new time.
func (s *site) advanceMinute() {
	s.t.Helper()
	s.clock.Advance(time.Minute)
	steps := s.sw.Counters().Steps.Load()
	sim.WaitFor(s.t, 5*time.Second, fmt.Sprintf("switcher ticking (%d steps)", steps+2), func() (bool, any) {
		n := s.sw.Counters().Steps.Load()
		return n >= steps+2, n
	})
}

func fleets(t *testing.T, addr string) (all []*sim.Fleet) {
	for _, f := range []struct {
		format string
		n      int
	}{{"acct.s21-%03d", 150}, {"acct.s19-%03d", 200}, {"acct.s9-%03d", 150}} {
		fl, err := sim.StartFleet(sim.FleetConfig{Addr: addr, Miners: f.n, NameFormat: f.format, ShareInterval: 500 * time.Millisecond,
			SilenceTimeout: time.Second, ReconnectDelay: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(fl.Close)
		all = append(all, fl)
	}
	return all
}

func working(fs []*sim.Fleet) int {
	n := 0
	for _, f := range fs {
		n += f.Stats().Working
	}
	return n
}

// The "done when", in process: 500 rigs in three groups.
func TestParkAndResumeFiveHundredRigs(t *testing.T) {
	if testing.Short() {
		t.Skip("500 rigs")
	}
	clk := &clock{}
	s := newSite(t, sitePolicy, 200*time.Millisecond, clk)
	defer func() { s.close() }()
	fs := fleets(t, s.proxy.Addr().String())

	// Admission: every rig comes in through the order and the ramp
	// (1,385 kW at 400 kW a minute: four minutes of the switcher's time).
	sim.WaitFor(t, 20*time.Second, "500 rigs known", func() (bool, any) { n := len(s.sw.Rigs()); return n == 500, n })
	s.advanceUntil(10, "all 500 mining", func() (bool, any) { n := working(fs); return n == 500, n })
	if st := s.sw.Status(); st.MiningLoadKW < 1384 || st.MiningLoadKW > 1386 || !st.Compliant {
		t.Fatalf("status after admission %+v; want st.MiningLoadKW >= 1384, st.MiningLoadKW <= 1386, st.Compliant", st)
	}

	// AI takes 600 kW: budget 900. From the tail: every s9 (saves 1.3 each,
	// 195 in all), then s19s from the end of the name order (3.15 each).
	plan, changed, err := s.sw.Allocate(switcher.AllocationRequest{AIKW: 600, Reason: "training run"}, "power-desk")
	if err != nil || !changed {
		t.Fatalf("allocate: %v changed=%v; want err == nil, changed", err, changed)
	}
	curtailed := map[string]bool{}
	for _, a := range plan.Curtail {
		curtailed[a.Name] = true
	}
	nS9, nS19 := 0, 0
	for name := range curtailed {
		switch {
		case strings.HasPrefix(name, "acct.s9-"):
			nS9++
		case strings.HasPrefix(name, "acct.s19-"):
			nS19++
		default:
			t.Fatalf("curtailed %s, a rig at the head of the order", name)
		}
	}
	// 1385 - 900 = 485 to save: 195 from the s9s, 290 / 3.15 -> 93 s19s,
	// which saves 2.95 kW more than needed: two s9s (1.3 each) that were
	// on the way stay mining.
	if nS9 != 148 || nS19 != 93 {
		t.Fatalf("curtailed %d s9 and %d s19, want 148 and 93", nS9, nS19)
	}
	if room := plan.MiningBudgetKW - plan.LoadAfterKW; room < 0 || room >= 1.3 {
		t.Fatalf("budget %v, load after %v: not packed; want room >= 0, room < 1.3", plan.MiningBudgetKW, plan.LoadAfterKW)
	}
	for i := 107; i < 200; i++ {
		if !curtailed[fmtName("acct.s19-%03d", i)] {
			t.Fatalf("acct.s19-%03d (tail of the order) not curtailed; want curtailed[fmtName(\"acct.s19-%%03d\", i)]", i)
		}
	}
	if plan.LoadAfterKW > plan.MiningBudgetKW {
		t.Fatalf("plan leaves load %v over budget %v; want plan.LoadAfterKW <= plan.MiningBudgetKW", plan.LoadAfterKW, plan.MiningBudgetKW)
	}
	// The planned rigs lose their connection, come back, and get no job;
	// the others keep mining.
	sim.WaitFor(t, 10*time.Second, "parked rigs without work (259 working)", func() (bool, any) { n := working(fs); return n == 500-241, n })
	for _, f := range fs {
		for _, m := range f.Miners() {
			if curtailed[m.Name] {
				if m.Disconnects == 0 || m.Working {
					t.Fatalf("%s: disconnects %d, working %v; want m.Disconnects != 0, !m.Working", m.Name, m.Disconnects, m.Working)
				}
			} else if !m.Working {
				t.Fatalf("%s stopped though not planned; want m.Working", m.Name)
			}
		}
	}
	before := map[string]int{}
	for _, m := range fs[0].Miners() {
		before[m.Name] = m.Accepted
	}
	sim.WaitFor(t, 5*time.Second, "s21s still mining (each a share more)", func() (bool, any) {
		for _, m := range fs[0].Miners() {
			if m.Accepted <= before[m.Name] {
				return false, fmt.Sprintf("%s at %d accepted, %d before", m.Name, m.Accepted, before[m.Name])
			}
		}
		return true, nil
	})
	// Parked rigs come back and stay connected (keepalives: the fleet drops
	// a pool silent for 1 s) rather than giving up.
	parkedConnected := func() int {
		n := 0
		for name, r := range s.rigStates() {
			if curtailed[name] && r.State == "parked" && r.Connected {
				n++
			}
		}
		return n
	}
	sim.WaitFor(t, 10*time.Second, "241 parked rigs connected", func() (bool, any) { n := parkedConnected(); return n == 241, n })
	disconnects := 0
	for _, f := range fs {
		disconnects += f.Stats().Disconnects
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); <-tick.C {
		n := 0
		for _, f := range fs {
			n += f.Stats().Disconnects
		}
		if n != disconnects {
			t.Fatalf("parked rigs dropped the connection: %d disconnects, were %d; want n == disconnects", n, disconnects)
		}
	}
	// The same request again changes nothing.
	if p, changed, _ := s.sw.Allocate(switcher.AllocationRequest{AIKW: 600, Reason: "training run"}, "power-desk"); changed {
		t.Fatalf("a repeated allocation: got changed (plan %+v), want unchanged", p)
	}

	// A bad policy edit is refused whole; the old one stays in force.
	dir := s.dir
	if err := os.WriteFile(filepath.Join(dir, "policy.toml.tmp"), []byte(sitePolicy+"\n[[group]]\nname = \"broken\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "policy.toml.tmp"), filepath.Join(dir, "policy.toml")); err != nil {
		t.Fatal(err)
	}
	sim.WaitFor(t, 5*time.Second, "bad policy refused with its position (policy.toml:)", func() (bool, any) {
		evs, _ := s.sw.Events(0, 0)
		for _, e := range evs {
			if e.Kind == switcher.EventPolicyRefuse {
				return strings.Contains(e.Fields["error"].(string), "policy.toml:"), e.Fields["error"]
			}
		}
		return false, fmt.Sprintf("no policy_refused event in %d", len(evs))
	})
	if got := s.sw.Policy().SiteCapacityKW; got != 1500 || len(s.sw.Policy().Groups) != 3 {
		t.Fatalf("policy in force changed: %v, %d groups; want got == 1500, len(s.sw.Policy().Groups) == 3", got, len(s.sw.Policy().Groups))
	}

	// Restart in the middle (the process dies; the state file is what
	// survives): every parked rig stays parked when the fleet reconnects.
	// (Ops fixed the policy meanwhile: a daemon does not start on a bad one.)
	if err := os.WriteFile(filepath.Join(dir, "policy.toml"), []byte(sitePolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := s.proxy.Addr().String()
	s.close()
	s = startSite(t, dir, addr, clk, s.pool)
	// The fleet reconnects in real time; the switcher's clock stands still
	// meanwhile (rigs known as mining are readmitted without the ramp).
	sim.WaitFor(t, 20*time.Second, "every rig (500) reconnected after the restart", func() (bool, any) {
		n := 0
		for _, r := range s.sw.Rigs() {
			if r.Connected {
				n++
			}
		}
		return n == 500, fmt.Sprintf("%d connected", n)
	})
	sim.WaitFor(t, 10*time.Second, "rigs back after the restart (259 working)", func() (bool, any) { n := working(fs); return n == 500-241, n })
	for name, r := range s.rigStates() {
		if curtailed[name] && r.State != "parked" {
			evs, _ := s.sw.Events(0, 0)
			for _, e := range evs {
				if e.Rig == name || e.Kind == "start" || e.Kind == "policy_reload" {
					t.Logf("%+v", e)
				}
			}
			t.Fatalf("%s was parked before the restart, now %s; want !(curtailed[name] && r.State != \"parked\")", name, r.State)
		}
	}

	// Release: AI gives the power back; rigs resume at the ramp rate,
	// from the head of the order (the s19s before the s9s).
	// A fresh ramp window: the last one is still open from the admissions.
	clk.Advance(time.Minute)
	plan, _, err = s.sw.Allocate(switcher.AllocationRequest{AIKW: 0, Reason: "training done"}, "power-desk")
	if err != nil {
		t.Fatal(err)
	}
	// All 93 s19s (293 kW) come back before any s9; the s9s take what is
	// left of the minute's 400 kW; the rest wait for the next minutes.
	resumedKW, s19s, s9s := 0.0, 0, 0
	for _, a := range plan.Resume {
		switch {
		case strings.HasPrefix(a.Name, "acct.s19-"):
			s19s++
			resumedKW += 3.15
			if s9s > 0 {
				t.Fatalf("%s resumed after an s9; want s9s <= 0", a.Name)
			}
		case strings.HasPrefix(a.Name, "acct.s9-"):
			s9s++
			resumedKW += 1.3
		}
	}
	// 400 kW: 93 × 3.15 = 292.95, then 82 × 1.3 = 106.6.
	if s19s != 93 || s9s != 82 || resumedKW > 400.01 {
		t.Fatalf("first minute resumed %d s19 and %d s9, %.2f kW; ramp is 400 kW/min; want s19s == 93, s9s == 82, resumedKW <= 400.01", s19s, s9s, resumedKW)
	}
	s.advanceUntil(10, "everyone (500) mining again", func() (bool, any) { n := working(fs); return n == 500, n })
	for _, f := range fs {
		if st := f.Stats(); st.WrongAnswers != 0 {
			t.Fatalf("fleet saw wrong answers: %+v; want st.WrongAnswers == 0", st)
		}
	}
}

func fmtName(format string, i int) string { return strings.Replace(format, "%03d", pad3(i), 1) }

func pad3(i int) string {
	s := "00" + itoa(i)
	return s[len(s)-3:]
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

// Rigs that behave like firmware with backup pools: once parked they go
// elsewhere and never come back. hashgate flags them left_while_parked and
// keeps counting them at full power (they may hash on their backup pool),
// so it curtails other rigs to stay within the budget. The "stay" rigs have
// no pool but hashgate (pools_bound): their parks hold and count idle_kw.
func TestRigsThatLeaveWhileParked(t *testing.T) {
	policy := "site_capacity_kw = 100.0\nramp_up_kw_per_min = 1000.0\nmin_off = \"0s\"\nmin_on = \"0s\"\n\n" +
		"[[group]]\nname = \"stay\"\nworkers = [\"acct.stay-*\"]\nrig_kw = 5.0\nidle_kw = 0.5\nefficiency_j_th = 30.0\npriority = 10\nactuator = \"stratum\"\npools_bound = true\n\n" +
		"[[group]]\nname = \"flighty\"\nworkers = [\"acct.flighty-*\"]\nrig_kw = 5.0\nidle_kw = 0.5\nefficiency_j_th = 90.0\npriority = 0\nactuator = \"stratum\"\n"
	clk := &clock{}
	s := newSite(t, policy, 200*time.Millisecond, clk)
	defer s.close()
	stay, err := sim.StartFleet(sim.FleetConfig{Addr: s.proxy.Addr().String(), Miners: 10, NameFormat: "acct.stay-%02d", ShareInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer stay.Close()
	flighty, err := sim.StartFleet(sim.FleetConfig{Addr: s.proxy.Addr().String(), Miners: 4, NameFormat: "acct.flighty-%02d", ShareInterval: 200 * time.Millisecond, NoReconnect: true})
	if err != nil {
		t.Fatal(err)
	}
	defer flighty.Close()
	s.advanceUntil(3, "all 14 mining", func() (bool, any) {
		n := stay.Stats().Working + flighty.Stats().Working
		return n == 14, n
	})

	// 70 kW mining; AI takes 40: budget 60. The flighty rigs are the tail;
	// each parked saves 4.5 kW: 70 − 2 × 4.5 = 61 > 60, three are needed.
	plan, _, err := s.sw.Allocate(switcher.AllocationRequest{AIKW: 40, Reason: "x"}, "desk")
	if err != nil || len(plan.Curtail) != 3 {
		t.Fatalf("curtail %v (%v); want err == nil, len(plan.Curtail) == 3", switcher.Names(plan.Curtail), err)
	}
	for _, a := range plan.Curtail {
		if !strings.HasPrefix(a.Name, "acct.flighty-") {
			t.Fatalf("curtailed %s; want strings.HasPrefix(a.Name, \"acct.flighty-\")", a.Name)
		}
	}
	sim.WaitFor(t, 5*time.Second, "parked flighty rigs gone (1 connected)", func() (bool, any) { st := flighty.Stats(); return st.Connected == 1, st })
	// They do not come back: after left_grace they count at rig_kw again,
	// 10 × 5 + 1 × 5 + 3 × 5 = 70 > 60, so stay rigs are curtailed.
	s.advanceUntil(4, "left_while_parked flagged", func() (bool, any) {
		n := 0
		for _, r := range s.sw.Rigs() {
			for _, f := range r.Flags {
				if f == switcher.FlagLeftWhileParked {
					n++
				}
			}
		}
		return n == 3, fmt.Sprintf("%d flagged left_while_parked", n)
	})
	sim.WaitFor(t, 5*time.Second, "stay rigs curtailed to make up for the ones that left (planned compliant, <= 60 kW, < 10 stay working)", func() (bool, any) {
		st := s.sw.Status()
		w := stay.Stats().Working
		return st.PlannedCompliant && st.MiningLoadPlannedKW <= 60 && w < 10, fmt.Sprintf("%d stay working, status %+v", w, st)
	})
	// The last flighty rig, parked on the way, left too: until left_grace
	// says so it is an unverified park (its group is not pools_bound),
	// counted at rig_kw, and the site is not compliant; then it is
	// left_while_parked, planned at rig_kw, and one more stay rig goes.
	s.advanceUntil(4, "compliant once every flighty rig is known to have left (<= 60 kW, 4 left while parked)", func() (bool, any) {
		st := s.sw.Status()
		return st.Compliant && st.MiningLoadKW <= 60 && st.ParksUnverified == 0 && st.Counted["left_while_parked"].Rigs == 4, st
	})
}

// A rig that lists hashgate as primary and backup pool holds two
// connections from its address under one name (cgminer keeps the backup
// pool's open): one rig for the switcher, not duplicate_name, and a park
// holds on both connections. The same name from another address is a
// duplicate as before.
func TestStandbyConnectionIsOneRig(t *testing.T) {
	s := newSite(t, sitePolicy, 200*time.Millisecond, &clock{})
	defer s.close()
	const name = "acct.s19-000"
	rig := sim.FleetConfig{Addr: s.proxy.Addr().String(), Miners: 1, NameFormat: "acct.s19-%03d", ShareInterval: 200 * time.Millisecond,
		SilenceTimeout: 2 * time.Second, ReconnectDelay: 50 * time.Millisecond}
	start := func(cfg sim.FleetConfig) *sim.Fleet {
		f, err := sim.StartFleet(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(f.Close)
		return f
	}
	primary, backup := start(rig), start(rig)
	both := []*sim.Fleet{primary, backup}
	s.advanceUntil(5, "both connections working", func() (bool, any) { n := working(both); return n == 2, n })
	check := func(when string, wantFlag bool) {
		t.Helper()
		rigs := s.sw.Rigs()
		if len(rigs) != 1 || rigs[0].Name != name {
			t.Fatalf("%s: switcher rigs %+v, want the one rig %s", when, rigs, name)
		}
		if got := slices.Contains(rigs[0].Flags, switcher.FlagDuplicateName); got != wantFlag {
			t.Fatalf("%s: flags %v, duplicate_name %v, want %v", when, rigs[0].Flags, got, wantFlag)
		}
	}
	check("working with a standby connection", false)

	if _, _, err := s.sw.Allocate(switcher.AllocationRequest{AIKW: 1500, Reason: "all to AI"}, "test"); err != nil {
		t.Fatal(err)
	}
	sim.WaitFor(t, 10*time.Second, "parked, both connections back and waiting", func() (bool, any) {
		r := s.rigStates()[name]
		p, b := primary.Stats(), backup.Stats()
		return r.State == "parked" && r.Connected && p.Disconnects > 0 && b.Disconnects > 0 &&
			p.Authorized == 1 && b.Authorized == 1, fmt.Sprintf("rig %+v, primary %+v, backup %+v", r, p, b)
	})
	if err := sim.Poll(time.Second, func() bool { return working(both) > 0 }); err == nil {
		t.Fatalf("a parked rig got work: primary %+v, standby %+v; want err != nil", primary.Stats(), backup.Stats())
	}
	check("parked", false)

	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 2 * time.Second}
	other := rig
	other.Dial = func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "tcp", rig.Addr) }
	otherFleet := start(other)
	sim.WaitFor(t, 5*time.Second, "the other machine authorized", func() (bool, any) { st := otherFleet.Stats(); return st.Authorized == 1, st })
	sim.WaitFor(t, 5*time.Second, "the same name from another address flagged duplicate_name", func() (bool, any) {
		rigs := s.sw.Rigs()
		return len(rigs) == 1 && slices.Contains(rigs[0].Flags, switcher.FlagDuplicateName), rigs
	})
}
