package sim

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

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
)

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

	Submitted int // shares sent
	Accepted  int // shares answered true
	// Rejected counts every rejected share; Stale and WrongAnswers split
	// it: Stale ones were computed on work (job after clean_jobs,
	// extranonce1, version mask) that changed while the share was in
	// flight, WrongAnswers are shares the miner computed as valid for the
	// work it held and that were rejected anyway. WrongAnswers must be 0.
	Rejected     int
	Stale        int
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
	// WrongByCode splits WrongAnswers by the error code answered (0: a
	// false result without an error code).
	WrongByCode map[int]int
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
}

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
		m.st = MinerStatus{Index: i, Name: m.name, Agent: m.kind.agent(), ASIC: m.kind.asic()}
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
	}
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

// Disconnect closes miner i's current connection, as if the network
// dropped it; the miner reconnects unless NoReconnect is set.
func (f *Fleet) Disconnect(i int) {
	m := f.miners[i]
	m.mu.Lock()
	if m.conn != nil {
		_ = m.conn.Close()
	}
	m.mu.Unlock()
}

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
