package vardiff

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
	"unsafe"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-6*math.Abs(b) }

// perfectMiner finds a share exactly every difficulty × 2^32 / hashrate
// seconds: no noise, so the estimate is exact.
type perfectMiner struct {
	st       *State
	hashrate float64
	now      time.Time
	changes  int
}

func (p *perfectMiner) interval() time.Duration {
	return secs(p.st.Difficulty() * two32 / p.hashrate)
}

// shares runs n shares, calling Idle halfway between them as a timer would.
func (p *perfectMiner) shares(n int) {
	for range n {
		iv := p.interval()
		if _, ch := p.st.Idle(p.now.Add(iv / 2)); ch {
			p.changes++
			iv = p.interval()
		}
		p.now = p.now.Add(iv)
		if _, ch := p.st.OnShare(p.now, p.st.Difficulty()); ch {
			p.changes++
		}
	}
}

func newPerfect(cfg *Config, hashrate float64) *perfectMiner {
	st := New(cfg, t0)
	return &perfectMiner{st: &st, hashrate: hashrate, now: t0}
}

func TestValidate(t *testing.T) {
	ok := Config{Initial: 16384, Min: 1024, Max: 1e12, TargetShareSeconds: 10}
	for _, tc := range []struct {
		name string
		edit func(c *Config)
		want string // substring of the error; "" = valid
	}{
		{"defaults of the config file", func(c *Config) {}, ""},
		{"tiny", func(c *Config) { *c = Config{Initial: 0.0001, Min: 1e-10, Max: 0.5, TargetShareSeconds: 0.25} }, ""},
		{"initial outside the clamp is clamped, not refused", func(c *Config) { c.Initial = 1 }, ""},
		{"min equals max", func(c *Config) { c.Min, c.Max = 5, 5 }, ""},
		{"min above max", func(c *Config) { c.Min, c.Max = 100, 10 }, "min (100) is greater than max (10)"},
		{"zero min", func(c *Config) { c.Min = 0 }, "min must be a finite number greater than 0, got 0"},
		{"negative max", func(c *Config) { c.Max = -1 }, "max must be a finite number greater than 0, got -1"},
		{"negative initial", func(c *Config) { c.Initial = -1 }, "initial must be"},
		{"zero target", func(c *Config) { c.TargetShareSeconds = 0 }, "target_share_seconds must be"},
		{"NaN min", func(c *Config) { c.Min = math.NaN() }, "min must be a finite number greater than 0, got NaN"},
		{"Inf max", func(c *Config) { c.Max = math.Inf(1) }, "max must be a finite number greater than 0, got +Inf"},
		{"NaN initial", func(c *Config) { c.Initial = math.NaN() }, "initial must be"},
		{"Inf target", func(c *Config) { c.TargetShareSeconds = math.Inf(1) }, "target_share_seconds must be"},
		{"-Inf min", func(c *Config) { c.Min = math.Inf(-1) }, "min must be"},
		{"power of two in range", func(c *Config) { c.PowerOfTwo, c.Min, c.Max = true, 5, 8 }, ""},
		{"no power of two in range", func(c *Config) { c.PowerOfTwo, c.Min, c.Max = true, 5, 7 }, "no power of two between min (5) and max (7)"},
		{"tuning", func(c *Config) {
			c.RetargetShares, c.FastShares, c.FastFactor, c.MaxStep = 10, 4, 8, 4
			c.RetargetWindow, c.IdleAfter, c.Hysteresis, c.Smoothing = time.Minute, time.Minute, 0.5, 0.9
		}, ""},
		{"negative retarget shares", func(c *Config) { c.RetargetShares = -1 }, "retarget shares"},
		{"negative fast shares", func(c *Config) { c.FastShares = -1 }, "fast shares"},
		{"negative window", func(c *Config) { c.RetargetWindow = -time.Second }, "retarget window"},
		{"negative idle", func(c *Config) { c.IdleAfter = -time.Second }, "idle after"},
		{"fast factor 1", func(c *Config) { c.FastFactor = 1 }, "fast factor"},
		{"fast factor NaN", func(c *Config) { c.FastFactor = math.NaN() }, "fast factor"},
		{"max step 0.5", func(c *Config) { c.MaxStep = 0.5 }, "max step"},
		{"max step Inf", func(c *Config) { c.MaxStep = math.Inf(1) }, "max step"},
		{"negative hysteresis", func(c *Config) { c.Hysteresis = -0.1 }, "hysteresis"},
		{"NaN hysteresis", func(c *Config) { c.Hysteresis = math.NaN() }, "hysteresis"},
		{"smoothing 1", func(c *Config) { c.Smoothing = 1 }, "smoothing"},
		{"negative smoothing", func(c *Config) { c.Smoothing = -0.5 }, "smoothing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tc.want != "" && err == nil:
				t.Fatalf("Validate() = nil, want an error with %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("Validate() = %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestNewPanicsOnInvalidConfig(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Fatalf("New with min 2 > max 1 returned (recover() = %v), want a panic", r)
		}
	}()
	New(&Config{Initial: 1, Min: 2, Max: 1, TargetShareSeconds: 1}, t0)
}

func TestNewClampsAndRounds(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want float64
	}{
		{"inside", Config{Initial: 16384, Min: 1024, Max: 1e12, TargetShareSeconds: 10}, 16384},
		{"below min", Config{Initial: 1, Min: 1024, Max: 1e12, TargetShareSeconds: 10}, 1024},
		{"above max", Config{Initial: 1e13, Min: 1024, Max: 1e12, TargetShareSeconds: 10}, 1e12},
		{"tiny", Config{Initial: 0.0001, Min: 1e-10, Max: 1e12, TargetShareSeconds: 10}, 0.0001},
		{"tinier", Config{Initial: 1e-10, Min: 1e-10, Max: 1e12, TargetShareSeconds: 10}, 1e-10},
		{"pow2 fractional", Config{Initial: 0.3, Min: 1e-10, Max: 1e12, TargetShareSeconds: 10, PowerOfTwo: true}, 0.25},
		{"pow2 tiny", Config{Initial: 0.0001, Min: 1e-10, Max: 1e12, TargetShareSeconds: 10, PowerOfTwo: true}, math.Ldexp(1, -13)},
		{"pow2 at tiny min rounds up into the clamp", Config{Initial: 1e-10, Min: 1e-10, Max: 1, TargetShareSeconds: 10, PowerOfTwo: true}, math.Ldexp(1, -33)},
		{"pow2 above max", Config{Initial: 1e6, Min: 3, Max: 1000, TargetShareSeconds: 10, PowerOfTwo: true}, 512},
		{"pow2 below min", Config{Initial: 1, Min: 3, Max: 1000, TargetShareSeconds: 10, PowerOfTwo: true}, 4},
		{"pow2 exact", Config{Initial: 16384, Min: 1024, Max: 1e12, TargetShareSeconds: 10, PowerOfTwo: true}, 16384},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := New(&tc.cfg, t0)
			if got := st.Difficulty(); got != tc.want {
				t.Fatalf("Difficulty() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRoundPow2(t *testing.T) {
	for _, tc := range []struct{ in, want float64 }{
		{1, 1},
		{0.3, 0.25},
		{0.25, 0.25},
		{0.35, 0.25}, // below 2^-1.5 ≈ 0.3536
		{0.36, 0.5},
		{0.5, 0.5},
		{0.7, 0.5},
		{0.71, 1},
		{2.8, 2},
		{3, 4},
		{1000, 1024},
		{16384, 16384},
		{23170, 16384}, // 2^14.5 ≈ 23170.475
		{23171, 32768},
		{0.0001, math.Ldexp(1, -13)}, // 2^-13.29
		{1e-10, math.Ldexp(1, -33)},  // 2^-33.22
		{1e12, math.Ldexp(1, 40)},    // 2^39.86
		{0, 0},
		{-3, -3},
	} {
		t.Run(fmt.Sprint(tc.in), func(t *testing.T) {
			if got := RoundPow2(tc.in); got != tc.want {
				t.Errorf("RoundPow2(%v) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
	if got := RoundPow2(math.NaN()); !math.IsNaN(got) {
		t.Errorf("RoundPow2(NaN) = %v, want NaN", got)
	}
	for _, tc := range []struct{ in, ceil, floor float64 }{
		{1, 1, 1}, {3, 4, 2}, {0.3, 0.5, 0.25}, {1e-10, math.Ldexp(1, -33), math.Ldexp(1, -34)},
	} {
		t.Run(fmt.Sprintf("ceil/floor %v", tc.in), func(t *testing.T) {
			if c, f := ceilPow2(tc.in), floorPow2(tc.in); c != tc.ceil || f != tc.floor {
				t.Errorf("ceil/floorPow2(%v) = %v, %v, want %v, %v", tc.in, c, f, tc.ceil, tc.floor)
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	plain := Config{Initial: 100, Min: 1, Max: 1000, TargetShareSeconds: 10}
	pow2 := Config{Initial: 128, Min: 1, Max: 1000, TargetShareSeconds: 10, PowerOfTwo: true}
	tiny := Config{Initial: 0.0001, Min: 1e-10, Max: 1, TargetShareSeconds: 10}
	for _, tc := range []struct {
		name    string
		cfg     *Config
		floor   float64
		suggest float64
		want    float64
		changed bool
	}{
		{"inside", &plain, 0, 500, 500, true},
		{"same", &plain, 0, 100, 100, false},
		{"above max", &plain, 0, 5000, 1000, true},
		{"below min", &plain, 0, 0.5, 1, true},
		{"below the floor", &plain, 50, 10, 50, true},
		{"above the floor", &plain, 50, 70, 70, true},
		{"floor above max", &plain, 5000, 10, 1000, true},
		{"zero ignored", &plain, 0, 0, 100, false},
		{"negative ignored", &plain, 0, -5, 100, false},
		{"NaN ignored", &plain, 0, math.NaN(), 100, false},
		{"Inf ignored", &plain, 0, math.Inf(1), 100, false},
		{"pow2 rounds", &pow2, 0, 300, 256, true},
		{"pow2 fractional below min", &pow2, 0, 0.3, 1, true},
		{"pow2 above max", &pow2, 0, 1e6, 512, true},
		{"pow2 floor rounds up", &pow2, 300, 10, 512, true},
		{"tiny", &tiny, 0, 1e-10, 1e-10, true},
		{"tiny 0.001", &tiny, 0, 0.001, 0.001, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := New(tc.cfg, t0)
			st.SetFloor(tc.floor)
			before := st.Difficulty()
			got, changed := st.Suggest(tc.suggest, t0.Add(time.Second))
			if got != tc.want || got != st.Difficulty() {
				t.Fatalf("Suggest(%v) = %v (Difficulty %v), want %v", tc.suggest, got, st.Difficulty(), tc.want)
			}
			if changed != (got != before) || (tc.floor == 0 && changed != tc.changed) {
				t.Fatalf("Suggest(%v) changed = %v, difficulty %v -> %v; want changed %v (and true exactly when the difficulty moved)", tc.suggest, changed, before, got, tc.changed)
			}
		})
	}
}

// TestSuggestThenVardiff: a suggestion is a starting point; vardiff goes on
// from there with fresh measurements.
func TestSuggestThenVardiff(t *testing.T) {
	cfg := Config{Initial: 100, Min: 1, Max: 1e6, TargetShareSeconds: 10}
	p := newPerfect(&cfg, DifficultyForHashrate(1000, 1/10.0)*two32) // ideal 1000
	p.hashrate = 1000 * two32 / 10
	p.shares(200)
	if !near(p.st.Difficulty(), 1000) {
		t.Fatalf("difficulty %v, want 1000", p.st.Difficulty())
	}
	if d, ch := p.st.Suggest(5000, p.now); d != 5000 || !ch {
		t.Fatalf("Suggest(5000) = %v, %v; want 5000, true", d, ch)
	}
	p.shares(100)
	if !near(p.st.Difficulty(), 1000) {
		t.Fatalf("difficulty %v after the suggestion, want back at 1000", p.st.Difficulty())
	}
}

func TestSetFloor(t *testing.T) {
	cfg := Config{Initial: 100, Min: 1, Max: 1000, TargetShareSeconds: 10}
	st := New(&cfg, t0)
	for _, tc := range []struct {
		floor   float64
		want    float64
		changed bool
	}{
		{50, 100, false},   // below the difficulty: nothing to do
		{200, 200, true},   // raises it
		{5000, 1000, true}, // never above Max
		{0, 1000, false},   // cleared; the difficulty stays until vardiff moves it
		{math.NaN(), 1000, false},
	} {
		got, changed := st.SetFloor(tc.floor)
		if got != tc.want || changed != tc.changed || st.Difficulty() != tc.want {
			t.Fatalf("SetFloor(%v) = %v, %v; want %v, %v", tc.floor, got, changed, tc.want, tc.changed)
		}
	}
	if st.Floor() != 0 {
		t.Fatalf("Floor() = %v after clearing, want 0", st.Floor())
	}

	// A miner that stops finding shares is lowered to its floor, no further.
	st = New(&cfg, t0)
	st.SetFloor(7.5)
	for i := 1; i <= 100; i++ {
		st.Idle(t0.Add(time.Duration(i) * 10 * time.Second))
	}
	if st.Difficulty() != 7.5 {
		t.Fatalf("idle miner with floor 7.5 at difficulty %v, want 7.5", st.Difficulty())
	}
	if st.Floor() != 7.5 {
		t.Fatalf("Floor() = %v, want 7.5", st.Floor())
	}
}

// TestClamp: a miner far too slow ends at Min, one far too fast at Max, and
// neither moves after that.
func TestClamp(t *testing.T) {
	cfg := Config{Initial: 16384, Min: 1024, Max: 65536, TargetShareSeconds: 10}
	for _, tc := range []struct {
		name     string
		hashrate float64 // ideal = hashrate × 10 / 2^32
		want     float64
	}{
		{"slow", 1e9, 1024},
		{"fast", 1e16, 65536},
		{"inside", 5000 * two32 / 10, 5000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPerfect(&cfg, tc.hashrate)
			// Drive the slow one by Idle: its shares are hours apart.
			for i := 1; i <= 60; i++ {
				if _, ch := p.st.Idle(t0.Add(time.Duration(i) * 10 * time.Second)); ch {
					p.changes++
				}
			}
			p.now = t0.Add(600 * time.Second)
			p.shares(300)
			if !near(p.st.Difficulty(), tc.want) {
				t.Fatalf("difficulty %v, want %v", p.st.Difficulty(), tc.want)
			}
			moves := p.changes
			p.shares(300)
			if p.changes != moves {
				t.Fatalf("%d more retargets at the clamp, want 0", p.changes-moves)
			}
		})
	}
}

// TestHysteresis: a miner exactly on target never changes; nor does one
// within ±30% of it (the band is ×/÷ 1.3); one further off is moved
// straight to its ideal difficulty and stays there.
func TestHysteresis(t *testing.T) {
	const D = 1000.0
	for _, tc := range []struct {
		ratio float64 // ideal / D
		moves bool
	}{
		{1, false},
		{1.2, false},
		{1 / 1.2, false},
		{1.29, false},
		{1 / 1.29, false},
		{1.35, true},
		{1 / 1.35, true},
		{2, true},
		{0.5, true},
		{3.9, true},
		{0.26, true},
	} {
		for _, pow2 := range []bool{false, true} {
			t.Run(fmt.Sprintf("ratio %.3f pow2 %v", tc.ratio, pow2), func(t *testing.T) {
				cfg := Config{Initial: D, Min: 1e-10, Max: 1e15, TargetShareSeconds: 10}
				if pow2 {
					cfg.Initial, cfg.PowerOfTwo = 1024, true
					if tc.ratio > 1/pow2Band && tc.ratio < pow2Band {
						tc.moves = false
					}
				}
				ideal := cfg.Initial * tc.ratio
				p := newPerfect(&cfg, ideal*two32/cfg.TargetShareSeconds)
				p.shares(3000)
				want := cfg.Initial
				if tc.moves {
					want = ideal
					if pow2 {
						want = RoundPow2(ideal)
					}
				}
				if !near(p.st.Difficulty(), want) {
					t.Errorf("ratio %.3f pow2 %v: difficulty %v, want %v", tc.ratio, pow2, p.st.Difficulty(), want)
				}
				if wantMoves := map[bool]int{false: 0, true: 1}[tc.moves]; p.changes != wantMoves {
					t.Errorf("ratio %.3f pow2 %v: %d retargets in 3000 shares, want %d", tc.ratio, pow2, p.changes, wantMoves)
				}
			})
		}
	}
}

// TestFastRetarget: a miner far too fast is retargeted after FastShares
// shares, by at most MaxStep per retarget.
func TestFastRetarget(t *testing.T) {
	cfg := Config{Initial: 100, Min: 1e-10, Max: 1e15, TargetShareSeconds: 10}
	for _, tc := range []struct {
		ratio float64 // ideal / Initial
		steps []float64
	}{
		{10, []float64{1000}},
		{100, []float64{1600, 10000}},       // MaxStep 16
		{2000, []float64{1600, 25600, 2e5}}, // 16, 16, then the rest
	} {
		t.Run(fmt.Sprintf("ratio %v", tc.ratio), func(t *testing.T) {
			p := newPerfect(&cfg, 100*tc.ratio*two32/10)
			for i, want := range tc.steps {
				p.shares(DefaultFastShares - 1)
				if p.changes != i {
					t.Fatalf("ratio %v: %d retargets after %d more shares, want %d (none before the window's %dth)", tc.ratio, p.changes, DefaultFastShares-1, i, DefaultFastShares)
				}
				p.shares(1)
				if p.changes != i+1 || !near(p.st.Difficulty(), want) {
					t.Fatalf("ratio %v: after %d fast windows difficulty %v (%d retargets), want %v", tc.ratio, i+1, p.st.Difficulty(), p.changes, want)
				}
			}
			p.shares(1000)
			if p.changes != len(tc.steps) {
				t.Fatalf("ratio %v: %d retargets, want %d", tc.ratio, p.changes, len(tc.steps))
			}
		})
	}
}

// TestIdle: Idle lowers the difficulty of a miner that stopped finding
// shares once the window has lasted IdleAfter per share's worth of work
// plus one, and not before.
func TestIdle(t *testing.T) {
	cfg := Config{Initial: 1e6, Min: 1e-10, Max: 1e15, TargetShareSeconds: 10}
	st := New(&cfg, t0)
	at := func(s float64) time.Time { return t0.Add(secs(s)) }
	for _, step := range []struct {
		share   bool    // OnShare instead of Idle
		at      float64 // seconds
		want    float64
		changed bool
	}{
		{false, 10, 1e6, false},
		{false, 99.9, 1e6, false},
		{false, 100, 1e5, true}, // silent for IdleAfter = 100 s: ÷10
		{false, 150, 1e5, false},
		{false, 199, 1e5, false},
		{false, 250, 1e5 / 15, true}, // silent for 150 s: × 10/150
		{true, 260, 1e5 / 15, false}, // one share in the window: now it needs 2 × 100 s
		{false, 400, 1e5 / 15, false},
		{false, 449, 1e5 / 15, false},
		{false, 450, 1e4 / 15, true},      // (1+1) shares' worth in 200 s: × 10/100
		{false, 1e6, 1e4 / 15 / 16, true}, // a long silence: at most MaxStep
	} {
		var got float64
		var changed bool
		if step.share {
			got, changed = st.OnShare(at(step.at), st.Difficulty())
		} else {
			got, changed = st.Idle(at(step.at))
		}
		if !near(got, step.want) || changed != step.changed {
			t.Fatalf("at %vs: %v, %v; want %v, %v", step.at, got, changed, step.want, step.changed)
		}
	}
}

// untilCheck runs on-target shares (one per interval) until a window has
// just been checked.
func untilCheck(t *testing.T, st *State, now time.Time, interval time.Duration) time.Time {
	t.Helper()
	for range 1000 {
		now = now.Add(interval)
		if d, ch := st.OnShare(now, st.Difficulty()); ch {
			t.Fatalf("on-target share at %v retargeted to %v, want no change", now, d)
		}
		if st.work == 0 {
			return now
		}
	}
	t.Fatalf("window work %v after 1000 on-target shares, want a check (work back to 0)", st.work)
	return now
}

// TestIdleFluke: a miner with an established rate that is silent for a
// while by chance is lowered by Idle, and goes straight back to where it
// was when its shares come at the old rate again: the history is kept.
// Restart: a miner held without work (parked) for a long time is not
// lowered by the first Idle check once it works again; its difficulty and
// history are kept, and the idle time counts from the restart.
func TestRestart(t *testing.T) {
	cfg := Config{Initial: 1e6, Min: 1e-10, Max: 1e15, TargetShareSeconds: 10}
	st := New(&cfg, t0)
	at := func(s float64) time.Time { return t0.Add(secs(s)) }
	st.Restart(at(1e5)) // waited ~a day without work
	if d, ch := st.Idle(at(1e5 + 1)); ch || d != 1e6 {
		t.Fatalf("Idle right after a restart: %v, %v; want 1e6 kept", d, ch)
	}
	if d, ch := st.Idle(at(1e5 + 99.9)); ch || d != 1e6 {
		t.Fatalf("Idle 99.9 s after a restart: %v, %v; want 1e6 kept", d, ch)
	}
	if d, ch := st.Idle(at(1e5 + 100)); !ch || !near(d, 1e5) {
		t.Fatalf("Idle after IdleAfter of silence since the restart: %v, %v; want 1e5", d, ch)
	}
}

func TestIdleFluke(t *testing.T) {
	cfg := Config{Initial: 1000, Min: 1e-10, Max: 1e15, TargetShareSeconds: 10}
	p := newPerfect(&cfg, 1000*two32/10) // on target
	p.shares(300)
	if p.changes != 0 {
		t.Fatalf("%d retargets on target, want 0", p.changes)
	}
	p.now = untilCheck(t, p.st, p.now, 10*time.Second)
	p.now = p.now.Add(100 * time.Second)
	if d, ch := p.st.Idle(p.now); !ch || !near(d, 100) {
		t.Fatalf("Idle after 100 s of silence = %v, %v; want 100, true", d, ch)
	}
	p.shares(DefaultFastShares)
	if p.changes != 1 || !near(p.st.Difficulty(), 1000) {
		t.Fatalf("difficulty %v after %d retargets after the silence, want back at 1000 in 1", p.st.Difficulty(), p.changes)
	}
	p.shares(1000)
	if p.changes != 1 {
		t.Fatalf("%d more retargets after, want 0", p.changes-1)
	}
}

// TestOutlierWindow: one window far off the history is dropped; a second
// one off the same way replaces the history.
func TestOutlierWindow(t *testing.T) {
	cfg := Config{Initial: 1000, Min: 1e-10, Max: 1e15, TargetShareSeconds: 10}
	st := New(&cfg, t0)
	now := t0
	for range 200 {
		now = untilCheck(t, &st, now, 10*time.Second)
	}
	for range DefaultFastShares { // a burst: 8 shares in 8 s
		now = now.Add(time.Second)
		if d, ch := st.OnShare(now, 1000); ch {
			t.Fatalf("retargeted to %v on one outlying window, want no change", d)
		}
	}
	if st.work != 0 || st.strike != 1 {
		t.Fatalf("after the burst: work %v, strike %d; want 0, 1 (checked as an outlier)", st.work, st.strike)
	}
	now = untilCheck(t, &st, now, 10*time.Second) // on target again
	if st.strike != 0 {
		t.Fatalf("strike %d after an agreeing window, want 0", st.strike)
	}
	// The miner really got 10× faster: two fast windows.
	changed := 0
	for i := range 2 * DefaultFastShares {
		now = now.Add(time.Second)
		if _, ch := st.OnShare(now, 1000); ch {
			changed++
			if i != 2*DefaultFastShares-1 {
				t.Fatalf("retargeted at fast share %d, want only at the %dth", i+1, 2*DefaultFastShares)
			}
		}
	}
	if changed != 1 || !near(st.Difficulty(), 10000) {
		t.Fatalf("after two fast windows: %d retargets, difficulty %v; want 1, 10000", changed, st.Difficulty())
	}
	// The same for a miner that got 10× slower.
	for range 20 {
		now = untilCheck(t, &st, now, 10*time.Second)
	}
	changed = 0
	for range 2 { // windows of one share in 100 s
		now = now.Add(100 * time.Second)
		if _, ch := st.OnShare(now, 10000); ch {
			changed++
		}
	}
	if changed != 1 || !near(st.Difficulty(), 1000) {
		t.Fatalf("after two slow windows: %d retargets, difficulty %v; want 1, 1000", changed, st.Difficulty())
	}
}

// TestWorkWeighted: shares count as the work they represent, the difficulty
// they were mined at, not as a count.
func TestWorkWeighted(t *testing.T) {
	cfg := Config{Initial: 100, Min: 1e-10, Max: 1e15, TargetShareSeconds: 10}
	for _, tc := range []struct {
		name      string
		shareDiff float64
		interval  float64 // seconds
		want      float64
	}{
		{"on target", 100, 10, 100},
		{"old jobs at twice the difficulty, half as often", 200, 20, 100},
		{"old jobs at a tenth, ten times as often", 10, 1, 100},
		{"at half the difficulty as often", 50, 10, 50},
		{"zero counts as current", 0, 10, 100},
		{"NaN counts as current", math.NaN(), 10, 100},
		{"Inf counts as current", math.Inf(1), 10, 100},
		{"negative counts as current", -100, 10, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := New(&cfg, t0)
			now := t0
			for range 1000 {
				now = now.Add(secs(tc.interval))
				st.OnShare(now, tc.shareDiff)
				if st.Difficulty() != 100 {
					break
				}
			}
			if !near(st.Difficulty(), tc.want) {
				t.Fatalf("difficulty %v, want %v", st.Difficulty(), tc.want)
			}
			if h, want := st.Hashrate(now), tc.want*two32/10; math.Abs(h/want-1) > 0.01 {
				t.Fatalf("Hashrate = %g, want %g", h, want)
			}
		})
	}
}

func TestClockNotMoving(t *testing.T) {
	cfg := Config{Initial: 100, Min: 1, Max: 1e6, TargetShareSeconds: 10}
	st := New(&cfg, t0)
	for range 100 { // all at the window's start, then before it
		if d, ch := st.OnShare(t0, 100); ch {
			t.Fatalf("retargeted to %v with no time elapsed, want no change", d)
		}
		if d, ch := st.Idle(t0.Add(-time.Hour)); ch {
			t.Fatalf("Idle retargeted to %v with time going backwards, want no change", d)
		}
	}
	if st.Hashrate(t0) != 0 {
		t.Fatalf("Hashrate with no time elapsed = %v, want 0", st.Hashrate(t0))
	}
	// The work is kept: the first share with time elapsed sees it.
	if d, ch := st.OnShare(t0.Add(10*time.Second), 100); !ch || d <= 100 {
		t.Fatalf("101 shares in 10 s: %v, %v; want a raise above 100, true", d, ch)
	}
}

// TestTiny: CPU miners and tests use difficulties far below 1.
func TestTiny(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   Config
		ideal float64
	}{
		{"1e-10 up", Config{Initial: 1e-10, Min: 1e-10, Max: 1, TargetShareSeconds: 0.25}, 3e-9},
		{"0.0001 down", Config{Initial: 0.0001, Min: 1e-10, Max: 1, TargetShareSeconds: 10}, 2e-7},
		{"pow2", Config{Initial: 0.0001, Min: 1e-10, Max: 1, TargetShareSeconds: 10, PowerOfTwo: true}, math.Ldexp(1, -20)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPerfect(&tc.cfg, tc.ideal*two32/tc.cfg.TargetShareSeconds)
			for i := 1; i <= 100; i++ { // idle steps for the one starting too high
				p.st.Idle(t0.Add(secs(float64(i) * tc.cfg.TargetShareSeconds)))
			}
			p.now = t0.Add(secs(100 * tc.cfg.TargetShareSeconds))
			p.shares(500)
			if !near(p.st.Difficulty(), tc.ideal) {
				t.Fatalf("difficulty %v, want %v", p.st.Difficulty(), tc.ideal)
			}
		})
	}
}

func TestHelpers(t *testing.T) {
	if got := HashrateFromWork(1, time.Second); got != 4294967296 {
		t.Errorf("HashrateFromWork(1, 1s) = %v, want 4294967296", got)
	}
	if got := HashrateFromWork(465661.2873077393, 10*time.Second); !near(got, 200e12) {
		t.Errorf("HashrateFromWork = %v, want 200e12", got)
	}
	if got := HashrateFromWork(1, 0); got != 0 {
		t.Errorf("HashrateFromWork(1, 0) = %v, want 0", got)
	}
	if got := DifficultyForHashrate(200e12, 10); !near(got, 465661.2873077393) {
		t.Errorf("DifficultyForHashrate(200 TH/s, 10 s) = %v, want 465661.2873077393", got)
	}
	if got := DifficultyForHashrate(1e6, 10); !near(got, 0.00232830643) {
		t.Errorf("DifficultyForHashrate(1 MH/s, 10 s) = %v, want 0.00232830643", got)
	}
	p := newPerfect(&Config{Initial: 16384, Min: 1, Max: 1e15, TargetShareSeconds: 10}, 14e12)
	p.shares(200)
	if h := p.st.Hashrate(p.now); math.Abs(h/14e12-1) > 0.01 {
		t.Errorf("Hashrate() = %g, want 14e12", h)
	}
}

func TestStateIsSmall(t *testing.T) {
	if n := unsafe.Sizeof(State{}); n > 96 {
		t.Fatalf("State is %d bytes, want at most 96", n)
	}
}

func TestNoAllocations(t *testing.T) {
	cfg := Config{Initial: 16384, Min: 1e-10, Max: 1e15, TargetShareSeconds: 10, PowerOfTwo: true}
	st := New(&cfg, t0)
	now := t0
	step := 100 * time.Millisecond // a fast miner: fast checks and retargets happen
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"OnShare", func() { now = now.Add(step); st.OnShare(now, st.Difficulty()) }},
		{"Idle", func() { now = now.Add(20 * time.Second); st.Idle(now) }},
		{"Suggest", func() { st.Suggest(1000, now) }},
		{"SetFloor", func() { st.SetFloor(0.5) }},
		{"Difficulty", func() { _ = st.Difficulty() }},
		{"Hashrate", func() { _ = st.Hashrate(now) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(1000, tc.f); n != 0 {
				t.Errorf("%s: %v allocations per call, want 0", tc.name, n)
			}
		})
	}
}

func BenchmarkOnShare(b *testing.B) {
	cfg := Config{Initial: 16384, Min: 1, Max: 1e15, TargetShareSeconds: 10}
	st := New(&cfg, t0)
	now := t0
	// Shares 3× too fast with some jitter, so windows close, retargets and
	// the odd fast check happen as they would.
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		now = now.Add(time.Duration(1+i%7) * time.Second)
		st.OnShare(now, st.Difficulty())
	}
}
