package vardiff

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// simMiner is a miner of a known hashrate on a simulated clock: its shares
// are a Poisson process of rate hashrate / (difficulty × 2^32). A new
// difficulty reaches the miner latency seconds after the change (the proxy
// re-sends the job under a fresh id); shares found in between are at the
// old difficulty and reported with it. Idle is called every idleEvery
// seconds, as the proxy's timer would.
type simMiner struct {
	st        State
	rng       *rand.Rand
	hashrate  float64
	latency   float64
	idleEvery float64
	epoch     time.Time

	now       float64 // seconds since epoch
	mining    float64 // the difficulty the miner mines at
	switchAt  float64 // when it adopts st.Difficulty(); +Inf if it has
	nextShare float64
	nextIdle  float64
	retargets int
	shares    int
}

func newSimMiner(cfg *Config, hashrate float64, seed uint64) *simMiner {
	m := &simMiner{
		rng:       rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		hashrate:  hashrate,
		latency:   0.5,
		idleEvery: cfg.TargetShareSeconds,
		epoch:     time.Unix(1_700_000_000, 0),
		switchAt:  math.Inf(1),
	}
	m.st = New(cfg, m.epoch)
	m.mining = m.st.Difficulty()
	m.nextIdle = m.idleEvery
	m.draw()
	return m
}

func (m *simMiner) at(sec float64) time.Time {
	return m.epoch.Add(time.Duration(sec * float64(time.Second)))
}

// draw is the next share time; the process is memoryless, so it is redrawn
// from now whenever the mining difficulty changes.
func (m *simMiner) draw() {
	m.nextShare = m.now + m.rng.ExpFloat64()*m.mining*two32/m.hashrate
}

// step runs to the next event; share reports whether it was a share, and
// changed whether vardiff changed the difficulty.
func (m *simMiner) step() (share, changed bool) {
	switch {
	case m.switchAt <= m.nextShare && m.switchAt <= m.nextIdle:
		m.now, m.switchAt = m.switchAt, math.Inf(1)
		m.mining = m.st.Difficulty()
		m.draw()
		return false, false
	case m.nextIdle < m.nextShare:
		m.now = m.nextIdle
		m.nextIdle += m.idleEvery
		_, changed = m.st.Idle(m.at(m.now))
	default:
		m.now = m.nextShare
		m.shares++
		share = true
		_, changed = m.st.OnShare(m.at(m.now), m.mining)
		m.draw()
	}
	if changed {
		m.retargets++
		m.switchAt = m.now + m.latency
	}
	return share, changed
}

type simResult struct {
	ideal        float64 // hashrate × T / 2^32
	retargets    int     // retargets until within tol of ideal (-1: never)
	convergeSecs float64 // simulated time that took
	meanInterval float64 // mean share interval over the measured shares after
	meanDiff     float64 // time-weighted mean difficulty over them
	steadyMoves  int     // retargets during the measured shares
	lo, hi       float64 // difficulty range during the measured shares
}

func (r simResult) String() string {
	return fmt.Sprintf("ideal %.6g: %d retargets in %.0fs; then mean interval %.2fs, mean difficulty %.2f of ideal, %d retargets, range %.2f..%.2f of ideal",
		r.ideal, r.retargets, r.convergeSecs, r.meanInterval, r.meanDiff/r.ideal, r.steadyMoves, r.lo/r.ideal, r.hi/r.ideal)
}

// within20 is the convergence test: within ±20% of the ideal difficulty.
func within20(d, ideal float64) bool { return math.Abs(d/ideal-1) <= 0.2 }

// bracketing is the convergence test with PowerOfTwo: one of the two powers
// of two around the ideal.
func bracketing(d, ideal float64) bool { return d == floorPow2(ideal) || d == ceilPow2(ideal) }

// simulate runs m until converged(difficulty, ideal) (giving up after
// maxRetargets+5 retargets), then measures the next measure shares.
func simulate(m *simMiner, converged func(d, ideal float64) bool, maxRetargets, measure int) simResult {
	T := m.st.cfg.TargetShareSeconds
	r := simResult{ideal: DifficultyForHashrate(m.hashrate, T), retargets: -1}
	for events := 0; !converged(m.st.Difficulty(), r.ideal); events++ {
		if m.retargets > maxRetargets+5 || events > 1e6 {
			return r
		}
		m.step()
	}
	r.retargets, r.convergeSecs = m.retargets, m.now
	start, n, area := m.now, 0, 0.0
	r.lo, r.hi = m.st.Difficulty(), m.st.Difficulty()
	for n < measure {
		d, t0 := m.st.Difficulty(), m.now
		share, changed := m.step()
		area += d * (m.now - t0)
		if share {
			n++
		}
		if changed {
			r.steadyMoves++
			r.lo, r.hi = min(r.lo, m.st.Difficulty()), max(r.hi, m.st.Difficulty())
		}
	}
	r.meanInterval = (m.now - start) / float64(n)
	r.meanDiff = area / (m.now - start)
	return r
}

var simSeeds = []uint64{1, 2, 3, 42, 2026}

// TestSimulationConverges: miners from 1 GH/s to 200 TH/s starting at 16384
// (and CPU-like miners starting at 0.0001), target 10 s, reach a difficulty
// within ±20% of the ideal hashrate × 10 / 2^32 within 10 retargets, then
// find shares every 10 s ± 20% on average over the next 1000 shares without
// oscillating.
func TestSimulationConverges(t *testing.T) {
	const T = 10.0
	asic := Config{Initial: 16384, Min: 1e-10, Max: 1e15, TargetShareSeconds: T}
	cpu := Config{Initial: 0.0001, Min: 1e-10, Max: 1e15, TargetShareSeconds: T}
	for _, tc := range []struct {
		name     string
		cfg      *Config
		hashrate float64
	}{
		{"1GH/s", &asic, 1e9},
		{"10GH/s", &asic, 1e10},
		{"100GH/s", &asic, 1e11},
		{"1TH/s", &asic, 1e12},
		{"14TH/s", &asic, 14e12},
		{"100TH/s", &asic, 100e12},
		{"200TH/s", &asic, 200e12},
		{"cpu-1MH/s", &cpu, 1e6},
		{"cpu-20kH/s", &cpu, 2e4},
	} {
		for _, seed := range simSeeds {
			t.Run(fmt.Sprintf("%s/seed%d", tc.name, seed), func(t *testing.T) {
				m := newSimMiner(tc.cfg, tc.hashrate, seed)
				r := simulate(m, within20, 10, 1000)
				t.Log(r)
				if r.retargets < 0 || r.retargets > 10 {
					t.Fatalf("difficulty %.6g after %d retargets, want within ±20%% of the ideal %.6g within 10",
						m.st.Difficulty(), m.retargets, r.ideal)
				}
				if math.Abs(r.meanInterval/T-1) > 0.2 {
					t.Errorf("mean share interval %.2fs over 1000 shares after converging, want %v s ± 20%%", r.meanInterval, T)
				}
				if math.Abs(r.meanDiff/r.ideal-1) > 0.2 {
					t.Errorf("mean difficulty %.2f of the ideal over 1000 shares after converging, want 1 ± 0.2", r.meanDiff/r.ideal)
				}
				if r.steadyMoves > 4 {
					t.Errorf("%d retargets in the 1000 shares after converging (oscillating), want at most 4", r.steadyMoves)
				}
			})
		}
	}
}

// TestSimulationPowerOfTwo: with PowerOfTwo a miner reaches one of the two
// powers of two around its ideal within 10 retargets and stays near it.
func TestSimulationPowerOfTwo(t *testing.T) {
	cfg := Config{Initial: 16384, Min: 1e-10, Max: 1e15, TargetShareSeconds: 10, PowerOfTwo: true}
	for _, h := range []float64{1e9, 1e11, 14e12, 200e12} {
		for _, seed := range simSeeds {
			t.Run(fmt.Sprintf("%gH/s/seed%d", h, seed), func(t *testing.T) {
				m := newSimMiner(&cfg, h, seed)
				r := simulate(m, bracketing, 10, 1000)
				t.Log(r)
				if r.retargets < 0 || r.retargets > 10 {
					t.Fatalf("difficulty %.6g after %d retargets, want a power of two next to the ideal %.6g within 10",
						m.st.Difficulty(), m.retargets, r.ideal)
				}
				// The hysteresis band is 2^0.75 ≈ 1.68.
				if q := r.meanDiff / r.ideal; q < 1/pow2Band || q > pow2Band || r.steadyMoves > 4 {
					t.Errorf("after converging: mean difficulty %.2f of the ideal, %d retargets, range %.2f..%.2f of the ideal; want the mean within ×/÷%.2f and at most 4 retargets",
						q, r.steadyMoves, r.lo/r.ideal, r.hi/r.ideal, pow2Band)
				}
				if d := m.st.Difficulty(); RoundPow2(d) != d {
					t.Errorf("difficulty %v, want a power of two (RoundPow2 gives %v)", d, RoundPow2(d))
				}
			})
		}
	}
}
