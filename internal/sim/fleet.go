package sim

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/rs/zerolog"
)

// Defaults of [FleetConfig].
const (
	DefaultNameFormat        = "acct.rig-%05d"
	DefaultASICFraction      = 0.5
	DefaultReconnectDelay    = 100 * time.Millisecond
	MaxReconnectDelay        = 5 * time.Second
	DefaultSilenceTimeout    = 90 * time.Second
	DefaultHandshakeTimeout  = 10 * time.Second
	DefaultSuggestDifficulty = 1e-9
	DefaultMaxHashes         = 1 << 20
	DefaultBadEvery          = 3
)

// Kinds of bad submits a misbehaving miner sends ([FleetConfig.BadFraction]),
// the keys of [FleetStats.BadByKind]. Each comment gives the answer the
// miner expects. The names match the proxy's reject reasons.
const (
	// BadDuplicate re-submits the miner's last accepted share exactly.
	BadDuplicate = "duplicate" // 22
	// BadStale submits a share on a job the miner held before the last
	// clean_jobs on its connection, or on job "deadbeef" if there is none.
	BadStale = "stale" // 21
	// BadLowDifficulty submits a share whose hash does not meet the
	// miner's target (nor the one in force when its job came). Skipped at
	// difficulties where every hash meets the target (up to about 2.3e-10).
	BadLowDifficulty = "low_difficulty" // 23
	// BadNTime submits a share with ntime one second before the job's.
	BadNTime = "ntime" // 20
	// BadUnauthorized submits a share for a worker name the miner never
	// authorized (its own name with "-unauthorized" appended).
	BadUnauthorized = "unauthorized" // 24
	// BadExtranonce2 submits an extranonce2 one byte shorter than the
	// announced size.
	BadExtranonce2 = "extranonce2" // 20
	// BadVersion sets version bits outside the granted mask; only miners
	// that negotiated version rolling send it.
	BadVersion = "version" // 20
)

// BadKinds lists every kind of bad submit, in the order a misbehaving
// miner rotates through them (skipping those that do not apply at the
// time).
var BadKinds = []string{BadDuplicate, BadStale, BadLowDifficulty, BadNTime, BadUnauthorized, BadExtranonce2, BadVersion}

// badCodes are the error codes expected for BadKinds, index for index.
var badCodes = []int{22, 21, 23, 20, 24, 20, 20}

// BadKindCode returns the error code a bad submit of the kind must be
// answered with (0 for an unknown kind).
func BadKindCode(kind string) int {
	for i, k := range BadKinds {
		if k == kind {
			return badCodes[i]
		}
	}
	return 0
}

// FleetConfig configures a [Fleet]. Addr or Dial and Miners are required.
type FleetConfig struct {
	// Addr is the host:port every miner connects to; it must be a
	// loopback address (127.0.0.0/8, ::1 or localhost).
	Addr string
	// Dial, when set, replaces dialing Addr: the load harness hands out
	// in-memory connections this way. The connection must support
	// deadlines (net.Pipe does).
	Dial func(ctx context.Context) (net.Conn, error)
	// Miners is the number of simulated miners.
	Miners int
	// NameFormat is a fmt format with one integer verb giving the worker
	// name miner i (0-based) authorizes with; default "acct.rig-%05d".
	NameFormat string
	// FirstIndex is added to the miner index in names, so several fleets
	// can share a NameFormat without clashing.
	FirstIndex int
	// ASICFraction is the share of miners that behave like ASIC firmware,
	// spread evenly over the fleet; 0 means 0.5, a negative value none,
	// 1 all.
	ASICFraction float64
	// ShareInterval: each working miner submits one valid share per
	// interval (the first at a random point in the first interval).
	// 0: no shares.
	ShareInterval time.Duration
	// NoReconnect makes a miner stop for good after its first connection
	// ends. By default miners re-dial after a disconnect or a
	// client.reconnect, after a jittered back-off that starts at
	// ReconnectDelay and doubles on every failed attempt up to
	// MaxReconnectDelay.
	NoReconnect bool
	// ReconnectDelay is the first back-off; 0 means 100ms.
	ReconnectDelay time.Duration
	// IgnoreReconnect makes miners count client.reconnect but stay
	// connected, like firmware that does not implement it.
	IgnoreReconnect bool
	// RampUp spreads the miners' first connections evenly over this
	// duration; 0 connects them all at once.
	RampUp time.Duration
	// SilenceTimeout: a miner that receives nothing for this long drops
	// the connection, as firmware does with a dead pool; 0 means 90s.
	SilenceTimeout time.Duration
	// HandshakeTimeout: a miner not authorized this long after connecting
	// drops the connection; 0 means 10s.
	HandshakeTimeout time.Duration
	// WriteTimeout bounds every write; 0 means 5s.
	WriteTimeout time.Duration
	// SuggestDifficulty is what Whatsminer-style miners send in
	// mining.suggest_difficulty and ASIC-style miners as
	// minimum-difficulty.value; 0 means 1e-9.
	SuggestDifficulty float64
	// MaxHashes bounds the hashes one share attempt may try; a miner that
	// finds nothing counts a search failure and tries again at its next
	// share time. 0 means 2^20. Keep difficulties tiny.
	MaxHashes uint32
	// Password is sent with mining.authorize; default "x".
	Password string
	// BadFraction is the share of miners, spread evenly over the fleet
	// and over both miner styles, that misbehave: besides their valid
	// shares they send bad submits of every kind in BadKinds in turn, and
	// check each is answered with its expected error code (see
	// [FleetStats.BadRejectedAsExpected]). 0 means none; values are
	// clamped to [0, 1]. Bad submits take share slots, so they need
	// ShareInterval.
	BadFraction float64
	// RestartExtranonce2 makes every miner search its work the way
	// cgminer-family firmware (BFGMiner's parse_notify sets pool->nonce2 =
	// 0), ESP-Miner and NerdMiner do: extranonce2 restarts at 0 on every
	// mining.notify, and each extranonce2's nonces are searched in order
	// from 0 (no random start, no version rolling). A job sent again with
	// the same contents thus makes the miner search the same headers
	// again, and submit shares it already submitted.
	RestartExtranonce2 bool
	// BadEvery: a misbehaving miner sends one bad submit after every
	// BadEvery valid shares; 0 (or less) means DefaultBadEvery (3).
	BadEvery int
	// OnAccepted, when set, is called for every valid share answered
	// true, with the miner's worker name, the header hash the miner
	// computed for it (package stratum/sharehash) and the difficulty it
	// was mined at. A test can thus count how many accepted shares also
	// meet another target, such as the pool's or the network's. It is
	// called from the miner's goroutine and must not block for long.
	OnAccepted func(miner string, hash chainhash.Hash, difficulty float64)
	// Log receives debug logs; the zero value logs nothing.
	Log zerolog.Logger
}

// FleetStats is a snapshot of a fleet's counters. Connected, Subscribed,
// Authorized and Working are gauges (miners in that state now); the rest
// count events since the fleet started.
type FleetStats struct {
	Connected  int // miners with an open connection
	Subscribed int // ... that got a subscribe answer
	Authorized int // ... that got a successful authorize answer
	Working    int // ... authorized and holding a job

	// Submitted, Accepted, Rejected, Stale and Unanswered count valid
	// shares only, never bad submits (see Bad* below).
	Submitted int // shares sent
	Accepted  int // shares answered true
	// Rejected counts every rejected share; Stale and the valid-share
	// part of WrongAnswers split it: Stale ones were computed on work (job
	// after clean_jobs, extranonce1, version mask) that changed while the
	// share was in flight, wrong answers are shares the miner computed as
	// valid for the work it held and that were rejected anyway.
	Rejected int
	Stale    int
	// WrongAnswers counts valid shares rejected although the work did not
	// change (see Rejected) plus bad submits answered otherwise than
	// expected although the work did not change (BadWrongAnswers). It
	// must be 0.
	WrongAnswers int
	Unanswered   int // shares still unanswered when their connection ended

	Reconnects   int // dial attempts after the first, per miner
	Disconnects  int // established connections that ended (not counting Close)
	DialFailures int
	AuthFailures int // authorize answered false or with an error

	JobsReceived           int // mining.notify
	CleanJobsReceived      int // mining.notify with clean_jobs=true
	DifficultyReceived     int // mining.set_difficulty
	SetExtranonceReceived  int // mining.set_extranonce (counted by every miner; only ASIC-style ones apply it)
	SetVersionMaskReceived int // mining.set_version_mask
	ReconnectRequests      int // client.reconnect

	ProtocolErrors int // lines that are not JSON objects, malformed notify etc.
	UnknownAnswers int // answers whose id matches no request in flight
	SearchFailures int // share attempts that found nothing within MaxHashes
	// WrongByCode splits WrongAnswers by the error code answered (0: no
	// error code, i.e. a false result, or a bad submit accepted).
	WrongByCode map[int]int

	// Bad submits ([FleetConfig.BadFraction]). BadSubmitted were sent;
	// each answered one is counted in exactly one of
	// BadRejectedAsExpected (the expected error code), BadStale (another
	// answer, but the work the miner held changed while it was in flight,
	// or since the share a duplicate replays was sent: a duplicate of a
	// share whose job went stale may rightly come back 21, as may one on
	// a job that is no longer the newest, which the pool may have
	// forgotten) and
	// BadWrongAnswers (another answer for unchanged work; also counted in
	// WrongAnswers and WrongByCode).
	BadSubmitted          int
	BadRejectedAsExpected int
	BadStale              int
	BadWrongAnswers       int
	BadUnanswered         int // bad submits unanswered when their connection ended
	// BadByKind splits BadRejectedAsExpected by kind (BadKinds), and
	// BadWrongByKind BadWrongAnswers. Kinds with no count are absent.
	BadByKind      map[string]int
	BadWrongByKind map[string]int
}

// MinerStatus describes one miner.
type MinerStatus struct {
	Index           int
	Name            string
	Agent           string // the user agent it subscribes with
	ASIC            bool
	Connected       bool
	Subscribed      bool
	Authorized      bool
	Working         bool
	Difficulty      float64
	Extranonce1     string
	Extranonce2Size int
	VersionMask     uint32 // granted; 0 without version rolling
	JobID           string
	Submitted       int
	Accepted        int
	Rejected        int
	Stale           int
	WrongAnswers    int
	Disconnects     int
	Reconnects      int
	// Bad is set on a misbehaving miner ([FleetConfig.BadFraction]).
	Bad                   bool
	BadSubmitted          int
	BadRejectedAsExpected int
}

// Fleet is a set of simulated miners. Start it with [StartFleet], stop it
// with [Fleet.Close]. Its methods are safe for concurrent use.
type Fleet struct {
	cfg    FleetConfig
	log    zerolog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	miners []*miner
	c      fleetCounters
}

type fleetCounters struct {
	connected, subscribed, authorized, working atomic.Int64

	submitted, accepted, rejected, stale, wrong, unanswered atomic.Int64
	// wrongByCode splits wrong answers by error code 20..25 (index 0..5;
	// anything else, or a false result without an error, in 6).
	wrongByCode                                                   [7]atomic.Int64
	reconnects, disconnects, dialFailures, authFailures           atomic.Int64
	jobs, cleanJobs, diffs, setExtranonce, setMask, reconnectReqs atomic.Int64
	protocolErrors, unknownAnswers, searchFailures                atomic.Int64

	badSubmitted, badExpected, badStale, badWrong, badUnanswered atomic.Int64
	badByKind, badWrongByKind                                    [badKindCount]atomic.Int64
}

// badKindCount is len(BadKinds).
const badKindCount = 7

// StartFleet starts cfg.Miners miners, each connecting at once (or spread
// over cfg.RampUp).
func StartFleet(cfg FleetConfig) (*Fleet, error) {
	if cfg.Miners < 0 {
		return nil, fmt.Errorf("sim: %d miners", cfg.Miners)
	}
	if cfg.Dial == nil {
		if err := checkLoopback(cfg.Addr); err != nil {
			return nil, err
		}
	}
	if cfg.NameFormat == "" {
		cfg.NameFormat = DefaultNameFormat
	}
	switch {
	case cfg.ASICFraction == 0:
		cfg.ASICFraction = DefaultASICFraction
	case cfg.ASICFraction < 0:
		cfg.ASICFraction = 0
	case cfg.ASICFraction > 1:
		cfg.ASICFraction = 1
	}
	if cfg.ReconnectDelay <= 0 {
		cfg.ReconnectDelay = DefaultReconnectDelay
	}
	if cfg.SilenceTimeout <= 0 {
		cfg.SilenceTimeout = DefaultSilenceTimeout
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.SuggestDifficulty <= 0 {
		cfg.SuggestDifficulty = DefaultSuggestDifficulty
	}
	if cfg.MaxHashes == 0 {
		cfg.MaxHashes = DefaultMaxHashes
	}
	if cfg.Password == "" {
		cfg.Password = "x"
	}
	if !(cfg.BadFraction > 0) { // also NaN
		cfg.BadFraction = 0
	}
	cfg.BadFraction = min(1, cfg.BadFraction)
	if cfg.BadEvery <= 0 {
		cfg.BadEvery = DefaultBadEvery
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &Fleet{cfg: cfg, log: cfg.Log, ctx: ctx, cancel: cancel}
	if f.cfg.Dial == nil {
		d := &net.Dialer{Timeout: 5 * time.Second}
		addr := cfg.Addr
		f.cfg.Dial = func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
	}
	asic, cpu := 0, 0
	for i := range cfg.Miners {
		m := &miner{f: f, idx: i, name: fmt.Sprintf(cfg.NameFormat, cfg.FirstIndex+i)}
		// Spread ASIC-style miners evenly: miner i is one when the
		// running count floor((i+1)·frac) steps up.
		if int(float64(i+1)*cfg.ASICFraction) > int(float64(i)*cfg.ASICFraction) {
			m.kind = asicKinds[asic%len(asicKinds)]
			asic++
		} else {
			m.kind = cpuKinds[cpu%len(cpuKinds)]
			cpu++
		}
		// Spread misbehaving miners the same way, over an order that
		// swaps the two miners of every other pair (0 1 3 2 4 5 7 6 …),
		// so that at 0.5 they are not exactly the ASIC-style ones.
		j := i
		if (i>>1)&1 == 1 && i^1 < cfg.Miners {
			j = i ^ 1
		}
		m.bad = int(float64(j+1)*cfg.BadFraction) > int(float64(j)*cfg.BadFraction)
		m.st = MinerStatus{Index: i, Name: m.name, Agent: m.kind.agent(), ASIC: m.kind.asic(), Bad: m.bad}
		f.miners = append(f.miners, m)
	}
	for i, m := range f.miners {
		var delay time.Duration
		if cfg.RampUp > 0 && cfg.Miners > 0 {
			delay = cfg.RampUp * time.Duration(i) / time.Duration(cfg.Miners)
		}
		f.wg.Add(1)
		go m.run(delay)
	}
	return f, nil
}

func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("sim: fleet address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("sim: fleet address %q is not on loopback", addr)
}

// Close stops every miner, closing its connection, and waits for them.
// It is idempotent.
func (f *Fleet) Close() {
	f.cancel()
	for _, m := range f.miners {
		m.mu.Lock()
		if m.conn != nil {
			_ = m.conn.Close()
		}
		m.mu.Unlock()
	}
	f.wg.Wait()
}

// Len returns the number of miners.
func (f *Fleet) Len() int { return len(f.miners) }

// Stats returns a snapshot of the fleet's counters.
func (f *Fleet) Stats() FleetStats {
	c := &f.c
	g := func(a *atomic.Int64) int { return int(a.Load()) }
	return FleetStats{
		Connected:              g(&c.connected),
		Subscribed:             g(&c.subscribed),
		Authorized:             g(&c.authorized),
		Working:                g(&c.working),
		Submitted:              g(&c.submitted),
		Accepted:               g(&c.accepted),
		Rejected:               g(&c.rejected),
		Stale:                  g(&c.stale),
		WrongAnswers:           g(&c.wrong),
		Unanswered:             g(&c.unanswered),
		Reconnects:             g(&c.reconnects),
		Disconnects:            g(&c.disconnects),
		DialFailures:           g(&c.dialFailures),
		AuthFailures:           g(&c.authFailures),
		JobsReceived:           g(&c.jobs),
		CleanJobsReceived:      g(&c.cleanJobs),
		DifficultyReceived:     g(&c.diffs),
		SetExtranonceReceived:  g(&c.setExtranonce),
		SetVersionMaskReceived: g(&c.setMask),
		ReconnectRequests:      g(&c.reconnectReqs),
		ProtocolErrors:         g(&c.protocolErrors),
		UnknownAnswers:         g(&c.unknownAnswers),
		SearchFailures:         g(&c.searchFailures),
		WrongByCode:            c.wrongByCodeMap(),
		BadSubmitted:           g(&c.badSubmitted),
		BadRejectedAsExpected:  g(&c.badExpected),
		BadStale:               g(&c.badStale),
		BadWrongAnswers:        g(&c.badWrong),
		BadUnanswered:          g(&c.badUnanswered),
		BadByKind:              kindMap(&c.badByKind),
		BadWrongByKind:         kindMap(&c.badWrongByKind),
	}
}

func kindMap(a *[badKindCount]atomic.Int64) map[string]int {
	m := map[string]int{}
	for i := range a {
		if n := int(a[i].Load()); n > 0 {
			m[BadKinds[i]] = n
		}
	}
	return m
}

func (c *fleetCounters) wrongByCodeMap() map[int]int {
	m := map[int]int{}
	for i := range c.wrongByCode {
		if n := int(c.wrongByCode[i].Load()); n > 0 {
			code := 20 + i
			if i == len(c.wrongByCode)-1 {
				code = 0
			}
			m[code] = n
		}
	}
	return m
}

// Miners returns the status of every miner, in index order.
func (f *Fleet) Miners() []MinerStatus {
	out := make([]MinerStatus, len(f.miners))
	for i, m := range f.miners {
		out[i] = m.status()
	}
	return out
}

// Miner returns the status of miner i.
func (f *Fleet) Miner(i int) MinerStatus { return f.miners[i].status() }

// WaitFor polls the fleet's stats every few milliseconds until cond holds
// or ctx ends; then it returns ctx's error with the last stats.
func (f *Fleet) WaitFor(ctx context.Context, cond func(FleetStats) bool) error {
	t := time.NewTicker(pollTick)
	defer t.Stop()
	for {
		st := f.Stats()
		if cond(st) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sim: fleet: %w; last stats %+v", ctx.Err(), st)
		case <-t.C:
		}
	}
}
