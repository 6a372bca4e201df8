// Package vardiff is per-miner variable difficulty: a small, pure state
// machine that the proxy feeds with every accepted share and that answers
// with the difficulty the miner should mine at so that it finds one share
// every [Config.TargetShareSeconds].
//
// A [State] holds no locks, starts no goroutines, never reads the clock and
// does not allocate: the caller serialises calls per miner (it already holds
// the miner's lock) and passes the time of each event. A State is a value of
// under a hundred bytes that points at a shared, read-only [Config].
//
// # Use
//
//	st := vardiff.New(&cfg, now)             // cfg passed Config.Validate
//	send(st.Difficulty())
//	st.SetFloor(bip310MinimumDifficulty)     // mining.configure minimum-difficulty
//	st.Suggest(d, now)                       // mining.suggest_difficulty
//	st.OnShare(now, shareDiff)               // every accepted share, at the difficulty it was mined at
//	st.Idle(now)                             // from a timer, every few target periods
//
// Each of Suggest, SetFloor, OnShare and Idle returns (newDiff, changed);
// when changed, the caller sends mining.set_difficulty and re-sends the
// current job under a fresh id.
//
// # Algorithm
//
// The rate is measured as work, not as a share count: the sum of the
// difficulties of the shares found (each share at the difficulty of the job
// it was mined on, so shares that arrive on older jobs after a change count
// correctly) over the time they took. Work per second is the miner's
// hashrate divided by 2^32, independent of the difficulty it mines at, so
// measurements taken at different difficulties combine, and the ideal
// difficulty is simply work-per-second × TargetShareSeconds.
//
// Shares accumulate in a window that starts at the last check or change.
// On a share, the window is checked when
//
//   - it holds [Config.RetargetShares] shares' worth of work (default 32) or
//     has lasted [Config.RetargetWindow] (default RetargetShares target
//     periods): a normal check;
//   - it holds at least [Config.FastShares] shares (default 8) that came at
//     least [Config.FastFactor] times (default 4) faster than the target: a
//     miner far too fast is retargeted after a few shares, not minutes;
//   - it has lasted at least [Config.IdleAfter] (default 10 target periods)
//     and its shares came at least FastFactor times slower than the target.
//
// A check folds the window into a smoothed history: decayed sums of work
// and time, older windows weighted by [Config.Smoothing] (default 0.7), so
// the estimate rests on about RetargetShares/(1-Smoothing) ≈ 107 shares.
// With no history yet, the window becomes the history. A window whose rate
// disagrees with the history by more than FastFactor is taken for an
// outlier and dropped, with no change (a burst or a lull that happens by
// chance about once in a thousand windows); a second such window in a row,
// off the same way, replaces the history (the miner did change: that costs
// one more window, a few shares). The ideal difficulty, history work per
// second × TargetShareSeconds, is then
//
//  1. ignored if within the hysteresis band: no change unless it is more
//     than 1 + [Config.Hysteresis] (default 1.3, ±30%) times above or below
//     the current difficulty; with PowerOfTwo the band is at least
//     2^0.75 ≈ 1.68, so a miner that sits between two powers of two does
//     not flip between them;
//  2. limited to at most [Config.MaxStep] (default 16) times up or down;
//  3. clamped to [Min, Max]; the miner's floor (BIP310 minimum-difficulty,
//     [State.SetFloor]) raises Min but never above Max;
//  4. with PowerOfTwo, rounded to the nearest power of two 2^n in ratio
//     terms (n may be negative; the midpoint between 2^n and 2^(n+1) is
//     2^(n+½), so 0.3 → 0.25, 0.36 → 0.5, 3 → 4, 2.8 → 2) and kept to the
//     powers of two inside [Min, Max] (the floor rounds up) — see
//     [RoundPow2].
//
// A miner that stops finding shares gives OnShare nothing to act on, so the
// caller polls [State.Idle], which lowers the difficulty once the window has
// lasted IdleAfter per share's worth of work in it plus one (a silent miner:
// after IdleAfter), by at least IdleAfter/TargetShareSeconds (÷10). It
// keeps the history, so a chance silence (e^-10 for a miner on target)
// costs a step down and, after FastShares shares, straight back.
//
// # Convergence
//
// Measured with the simulation in the tests (Poisson shares,
// TargetShareSeconds 10, 500 seeds), the number of retargets until the
// difficulty is within ±20% of the ideal hashrate × 10 / 2^32, starting at
// 16384:
//
//	1 GH/s    (ideal 2.33)     4-7, mostly 5 (four or five Idle steps of ÷10, then checks)
//	10 GH/s   (ideal 23.3)     3-6, mostly 4
//	100 GH/s  (ideal 233)      2-5, mostly 3
//	1 TH/s    (ideal 2328)     1-4, mostly 2
//	14 TH/s   (ideal 32596)    1-3, mostly 1
//	100 TH/s  (ideal 232831)   1-4, mostly 1 (one fast check after 8 shares)
//	200 TH/s  (ideal 465661)   2-6, mostly 2 (×16 after 8 shares, then a check)
//
// and starting at 0.0001 a 1 MH/s CPU miner (ideal 0.00233) takes 2-6,
// mostly 2. Over the following 1000 shares the mean share interval is
// within 10 s ± 20%, and an on-target miner sees about one retarget per
// 2,500 shares. With PowerOfTwo, the same miners reach one of the two
// powers of two around their ideal within 8 retargets.
//
// # Numbers
//
// Difficulties are float64 and may be tiny (0.0001, 1e-10 for CPU miners
// and tests) or huge (1e12 and beyond); hashrate = difficulty × 2^32 /
// seconds per share.
package vardiff
