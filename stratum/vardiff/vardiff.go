package vardiff

import (
	"fmt"
	"math"
	"time"
)

// Defaults for the optional tuning fields of [Config]; a zero field means
// its default.
const (
	DefaultRetargetShares = 32   // shares' worth of work per normal check
	DefaultFastShares     = 8    // shares needed before a fast check
	DefaultFastFactor     = 4.0  // how far off (either way) a fast check needs
	DefaultMaxStep        = 16.0 // at most ×/÷ this per retarget
	DefaultHysteresis     = 0.3  // no change within ×/÷ 1.3 of the current difficulty
	DefaultSmoothing      = 0.7  // weight kept by the history at each check
	DefaultIdlePeriods    = 10.0 // IdleAfter = this many target periods
)

// two32 is the expected number of hashes per share at difficulty 1.
const two32 = 4294967296.0

// pow2Band is the smallest hysteresis band with PowerOfTwo: three quarters
// of an octave, wider than the half octave rounding can move a value by.
var pow2Band = math.Exp2(0.75)

// Config is the vardiff configuration, shared read-only by every [State]
// made from it. Initial, Min, Max, TargetShareSeconds and PowerOfTwo are
// the keys of the config file's proxy.difficulty table; the rest is
// optional tuning where zero means the default.
type Config struct {
	Initial            float64 // difficulty a miner starts at (clamped to [Min, Max])
	Min                float64 // lowest difficulty, > 0
	Max                float64 // highest difficulty, >= Min
	TargetShareSeconds float64 // aim: one share per this many seconds, > 0
	PowerOfTwo         bool    // round every difficulty to the nearest 2^n (n may be negative)

	// RetargetShares is the work, in shares at the current difficulty,
	// after which a window is checked (default 32).
	RetargetShares int
	// RetargetWindow is the age after which a window is checked on the
	// next share (default RetargetShares × TargetShareSeconds).
	RetargetWindow time.Duration
	// FastShares is the number of shares a window needs before a fast
	// check for a miner far too fast (default 8).
	FastShares int
	// FastFactor is how many times faster (or slower) than the target a
	// window's shares must come for a fast check (default 4, > 1).
	FastFactor float64
	// IdleAfter is the silence after which Idle lowers the difficulty, and
	// the least age of a window for OnShare's check of a miner far too slow
	// (default 10 × TargetShareSeconds).
	IdleAfter time.Duration
	// MaxStep limits each retarget to ×/÷ MaxStep (default 16, > 1).
	MaxStep float64
	// Hysteresis: no change while the estimated ideal difficulty is within
	// ×/÷ (1+Hysteresis) of the current one (default 0.3; 0 means the
	// default, so use a tiny value such as 1e-9 for none). With PowerOfTwo
	// the band is at least 2^0.75.
	Hysteresis float64
	// Smoothing is the weight, in [0, 1), the history keeps at each check;
	// the window adds with weight 1, so the estimate rests on about
	// RetargetShares / (1 - Smoothing) shares (default 0.7: about 107; 0
	// means the default, so use a tiny value such as 1e-9 for none).
	Smoothing float64
}

func finitePositive(v float64) bool { return v > 0 && !math.IsInf(v, 1) }

// Validate reports the first problem with c: Initial, Min, Max and
// TargetShareSeconds must be finite and positive, Min <= Max, with
// PowerOfTwo there must be a power of two in [Min, Max], and tuning fields
// must be zero (default) or in range. Initial outside [Min, Max] is not an
// error: [New] clamps it.
func (c Config) Validate() error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"initial", c.Initial}, {"min", c.Min}, {"max", c.Max}, {"target_share_seconds", c.TargetShareSeconds}} {
		if !finitePositive(f.v) {
			return fmt.Errorf("vardiff: %s must be a finite number greater than 0, got %v", f.name, f.v)
		}
	}
	if c.Min > c.Max {
		return fmt.Errorf("vardiff: min (%v) is greater than max (%v)", c.Min, c.Max)
	}
	if c.PowerOfTwo && ceilPow2(c.Min) > floorPow2(c.Max) {
		return fmt.Errorf("vardiff: power_of_two: no power of two between min (%v) and max (%v)", c.Min, c.Max)
	}
	switch {
	case c.RetargetShares < 0:
		return fmt.Errorf("vardiff: retarget shares must be >= 0, got %d", c.RetargetShares)
	case c.FastShares < 0:
		return fmt.Errorf("vardiff: fast shares must be >= 0, got %d", c.FastShares)
	case c.RetargetWindow < 0:
		return fmt.Errorf("vardiff: retarget window must be >= 0, got %v", c.RetargetWindow)
	case c.IdleAfter < 0:
		return fmt.Errorf("vardiff: idle after must be >= 0, got %v", c.IdleAfter)
	case c.FastFactor != 0 && !(c.FastFactor > 1 && finitePositive(c.FastFactor)):
		return fmt.Errorf("vardiff: fast factor must be 0 (default) or a finite number > 1, got %v", c.FastFactor)
	case c.MaxStep != 0 && !(c.MaxStep > 1 && finitePositive(c.MaxStep)):
		return fmt.Errorf("vardiff: max step must be 0 (default) or a finite number > 1, got %v", c.MaxStep)
	case !(c.Hysteresis >= 0) || math.IsInf(c.Hysteresis, 1):
		return fmt.Errorf("vardiff: hysteresis must be a finite number >= 0, got %v", c.Hysteresis)
	case !(c.Smoothing >= 0 && c.Smoothing < 1):
		return fmt.Errorf("vardiff: smoothing must be in [0, 1), got %v", c.Smoothing)
	}
	return nil
}

func (c *Config) retargetShares() float64 {
	if c.RetargetShares > 0 {
		return float64(c.RetargetShares)
	}
	return DefaultRetargetShares
}

func (c *Config) retargetWindow() float64 {
	if c.RetargetWindow > 0 {
		return c.RetargetWindow.Seconds()
	}
	return c.retargetShares() * c.TargetShareSeconds
}

func (c *Config) fastShares() float64 {
	if c.FastShares > 0 {
		return float64(c.FastShares)
	}
	return DefaultFastShares
}

func (c *Config) fastFactor() float64 {
	if c.FastFactor > 0 {
		return c.FastFactor
	}
	return DefaultFastFactor
}

func (c *Config) idleAfter() float64 {
	if c.IdleAfter > 0 {
		return c.IdleAfter.Seconds()
	}
	return DefaultIdlePeriods * c.TargetShareSeconds
}

func (c *Config) maxStep() float64 {
	if c.MaxStep > 0 {
		return c.MaxStep
	}
	return DefaultMaxStep
}

func (c *Config) band() float64 {
	h := c.Hysteresis
	if h == 0 {
		h = DefaultHysteresis
	}
	b := 1 + h
	if c.PowerOfTwo && b < pow2Band {
		b = pow2Band
	}
	return b
}

func (c *Config) smoothing() float64 {
	if c.Smoothing > 0 {
		return c.Smoothing
	}
	return DefaultSmoothing
}

// State is one miner's vardiff. The zero State is not usable; make one with
// [New]. Methods must not be called concurrently on the same State.
type State struct {
	cfg   *Config
	diff  float64   // current difficulty
	floor float64   // the miner's minimum (BIP310 minimum-difficulty), 0 = none
	start time.Time // start of the current window
	work  float64   // sum of share difficulties in the window
	histW float64   // decayed work of past windows
	histT float64   // decayed seconds of past windows; 0 = no history
	// strike is the direction (+1 faster, -1 slower) in which the last
	// window disagreed with the history, 0 if it agreed.
	strike int8
}

// New returns the State of a miner that connected at now, at cfg.Initial
// clamped to [Min, Max] (and rounded with PowerOfTwo). cfg must have passed
// [Config.Validate] (New panics otherwise) and must not change while the
// State is in use.
func New(cfg *Config, now time.Time) State {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	s := State{cfg: cfg, start: now}
	s.diff = s.quantize(cfg.Initial)
	return s
}

// Difficulty is the difficulty the miner should mine at now.
func (s *State) Difficulty() float64 { return s.diff }

// Floor is the miner's minimum set by [State.SetFloor], 0 if none.
func (s *State) Floor() float64 { return s.floor }

// Hashrate estimates the miner's hashrate in hashes per second from the
// smoothed history and the current window, 0 before any measurement.
func (s *State) Hashrate(now time.Time) float64 {
	t := s.histT + now.Sub(s.start).Seconds()
	if !(t > 0) {
		return 0
	}
	return (s.histW + s.work) / t * two32
}

// bounds is the effective clamp: [max(Min, floor), Max], narrowed to the
// powers of two inside it with PowerOfTwo (the floor rounds up).
func (s *State) bounds() (lo, hi float64) {
	c := s.cfg
	lo, hi = c.Min, c.Max
	if s.floor > lo {
		lo = s.floor
	}
	if c.PowerOfTwo {
		lo, hi = ceilPow2(lo), floorPow2(hi)
	}
	if lo > hi {
		lo = hi
	}
	return lo, hi
}

// quantize rounds d (with PowerOfTwo) and clamps it to the bounds.
func (s *State) quantize(d float64) float64 {
	if s.cfg.PowerOfTwo {
		d = RoundPow2(d)
	}
	lo, hi := s.bounds()
	return min(max(d, lo), hi)
}

// set makes d (already quantized) the difficulty; a change starts a new
// window.
func (s *State) set(d float64, now time.Time) (float64, bool) {
	if d == s.diff {
		return d, false
	}
	s.diff = d
	s.work, s.start = 0, now
	return d, true
}

// Suggest honours a miner's mining.suggest_difficulty: the difficulty
// becomes d, clamped to [Min, Max] and not below the floor (rounded with
// PowerOfTwo), and measuring starts afresh from now; vardiff then goes on
// retargeting from there. A d that is not a finite positive number is
// ignored.
func (s *State) Suggest(d float64, now time.Time) (newDiff float64, changed bool) {
	if !finitePositive(d) {
		return s.diff, false
	}
	s.histW, s.histT, s.strike = 0, 0, 0
	s.work, s.start = 0, now
	return s.set(s.quantize(d), now)
}

// Restart starts a new measuring window at now, keeping the difficulty and
// the history: for a miner that had no work until now (held without work,
// parked), whose silence says nothing about its hashrate. Without it the
// first Idle check after the wait saw a window as old as the wait with no
// share in it and lowered the difficulty by up to MaxStep at once.
func (s *State) Restart(now time.Time) {
	s.work, s.start = 0, now
}

// SetFloor sets the miner's minimum difficulty (BIP310 mining.configure
// minimum-difficulty). The floor raises Min but never above Max; with
// PowerOfTwo it rounds up to a power of two. A difficulty below the new
// floor is raised at once (changed). The measuring window is kept either
// way: it counts work, which does not depend on the difficulty. d <= 0 or
// not finite clears the floor.
func (s *State) SetFloor(d float64) (newDiff float64, changed bool) {
	if !finitePositive(d) {
		d = 0
	}
	s.floor = d
	nd := s.quantize(s.diff)
	if nd == s.diff {
		return nd, false
	}
	s.diff = nd
	return nd, true
}

// OnShare records one accepted share found at now, mined at shareDiff (the
// difficulty of the job it was found on, which is the current one unless
// the share is on a job sent before the last change; a shareDiff that is
// not a finite positive number counts as the current difficulty), and
// retargets when the window is due for a check.
func (s *State) OnShare(now time.Time, shareDiff float64) (newDiff float64, changed bool) {
	if !finitePositive(shareDiff) {
		shareDiff = s.diff
	}
	s.work += shareDiff
	t := now.Sub(s.start).Seconds()
	if !(t > 0) {
		return s.diff, false
	}
	c := s.cfg
	T := c.TargetShareSeconds
	n := s.work / s.diff // shares' worth of work at the current difficulty
	ff := c.fastFactor()
	if n >= c.fastShares() && n*T >= ff*t || // far too fast
		t >= c.idleAfter() && n*T*ff <= t || // far too slow
		n >= c.retargetShares() || t >= c.retargetWindow() {
		return s.check(now, t)
	}
	return s.diff, false
}

// check closes the window of t seconds at now, folds it into the history
// and retargets from the history. A window whose rate disagrees with the
// history by more than FastFactor is an outlier the first time (it is
// dropped and nothing changes: one window in a thousand does that by
// chance) and replaces the history when the next window disagrees the same
// way (the miner did change). With no history the window becomes it.
func (s *State) check(now time.Time, t float64) (float64, bool) {
	c := s.cfg
	rate := s.work / t
	s.work, s.start = 0, now
	var strike int8
	if s.histT > 0 {
		h := s.histW / s.histT
		ff := c.fastFactor()
		if rate > h*ff {
			strike = 1
		} else if rate*ff < h {
			strike = -1
		}
	}
	switch {
	case s.histT == 0 || strike != 0 && strike == s.strike:
		s.histW, s.histT = rate*t, t
	case strike != 0:
		s.strike = strike
		return s.diff, false
	default:
		l := c.smoothing()
		s.histW = l*s.histW + rate*t
		s.histT = l*s.histT + t
	}
	s.strike = 0
	return s.retarget(s.histW/s.histT*c.TargetShareSeconds, now)
}

// retarget moves towards the ideal difficulty est: not within the
// hysteresis band, at most MaxStep, clamped and rounded.
func (s *State) retarget(est float64, now time.Time) (float64, bool) {
	c := s.cfg
	d := s.diff
	if b := c.band(); !(est > d*b || est*b < d) {
		return d, false
	}
	step := c.maxStep()
	est = min(max(est, d/step), d*step)
	return s.set(s.quantize(est), now)
}

// Idle is the timer check for a miner that stopped finding shares, which
// OnShare never sees. The caller calls it periodically (every target period
// or few; how often only bounds how late it acts). Once the window has
// lasted IdleAfter for every share's worth of work in it plus one (the
// share that might arrive right now: so a silent miner after IdleAfter, one
// with a single share after twice that), the difficulty is lowered to what
// that one more share would mean, (work + difficulty) / age ×
// TargetShareSeconds: by at least IdleAfter / TargetShareSeconds (÷10 with
// the defaults), at most MaxStep, and not below the clamp. A new window
// starts; the history is kept: if the silence was a fluke, the next window
// agrees with it and the difficulty goes back; if the miner did slow down,
// the next window disagrees with it and replaces it.
func (s *State) Idle(now time.Time) (newDiff float64, changed bool) {
	c := s.cfg
	t := now.Sub(s.start).Seconds()
	if !(t >= c.idleAfter()) || !(t > 0) {
		return s.diff, false
	}
	w := s.work + s.diff
	if w*c.idleAfter() > s.diff*t {
		return s.diff, false
	}
	return s.retarget(w/t*c.TargetShareSeconds, now)
}

// RoundPow2 rounds d > 0 to the nearest power of two in ratio terms: 2^n
// for d in [2^(n-½), 2^(n+½)), so 0.3 → 0.25, 0.36 → 0.5, 3 → 4, 2.8 → 2.
// It returns d unchanged when d is not a finite positive number.
func RoundPow2(d float64) float64 {
	if !finitePositive(d) {
		return d
	}
	frac, exp := math.Frexp(d) // d = frac × 2^exp, frac in [0.5, 1)
	if frac < math.Sqrt2/2 {
		exp--
	}
	return math.Ldexp(1, exp)
}

// ceilPow2 is the smallest power of two >= d > 0.
func ceilPow2(d float64) float64 {
	frac, exp := math.Frexp(d)
	if frac == 0.5 {
		return d
	}
	return math.Ldexp(1, exp)
}

// floorPow2 is the largest power of two <= d > 0.
func floorPow2(d float64) float64 {
	frac, exp := math.Frexp(d)
	if frac == 0.5 {
		return d
	}
	return math.Ldexp(1, exp-1)
}
