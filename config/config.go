package config

import (
	"errors"
	"github.com/hashgate/hashgate/config/tomlfile"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hashgate/hashgate/stratum/proxy"
	"github.com/hashgate/hashgate/switcher"
	"github.com/hashgate/hashgate/switcher/fleet"
)

// Config is the whole config file, after defaults and validation.
type Config struct {
	// Path is the config file's path as given to Load or Parse.
	Path     string
	Proxy    Proxy
	Pools    []Pool
	API      API
	Switcher Switcher
	Log      Log
	Grid             // [mqtt] and [modbus_server]: grid.go
	Meters   []Meter // [[meters]], in file order (config/meters.go)

	// Price is [price]: the power price for economic curtailment (price.go).
	Price Price
}

// Proxy is the [proxy] table: the miner-facing stratum server.
type Proxy struct {
	Listen             string // listen: host:port for miners (default "0.0.0.0:3333")
	MaxConnections     int    // max_connections (default: from the open-file limit, see DefaultMaxConnections)
	MaxConnectionsAuto bool   // max_connections was not set: it follows the open-file limit
	// max_unauthenticated, max_unauthenticated_per_address: connections
	// still in their handshake, in all and from one address (0: the
	// proxy's defaults, a tenth of max_connections and a quarter of that)
	MaxUnauthenticated           int
	MaxUnauthenticatedPerAddress int
	MinMinerExtranonce2Size      int            // min_miner_extranonce2_size, 1..8 (default 3)
	MaxUpstreamSessions          int            // max_upstream_sessions per pool, 1..1024 (default 32)
	Allow                        []netip.Prefix // allow: CIDRs miners may connect from (default 0.0.0.0/0 and ::/0)
	Difficulty                   Difficulty     // [proxy.difficulty]
	MaxLineBytes                 int            // max_line_bytes: longest stratum line accepted from a miner (default 16384)
	WriteTimeout                 Duration       // write_timeout: a write to a miner that takes longer fails (default 10s)
	ReadTimeout                  Duration       // read_timeout: a miner silent this long is dropped (default 10m)
	OutboundQueue                int            // outbound_queue: max queued messages per miner (default 64)
	ReconnectGrace               Duration       // reconnect_grace: after client.reconnect, close if still connected (default 5s)
	HandshakeTimeout             Duration       // handshake_timeout: subscribe+authorize must be done within it (default 30s)
	ParkedKeepalive              Duration       // parked_keepalive: a rig held without work hears from us this often (default 25s)
	ReadPollers                  int            // read_pollers: epoll readers for miners at work (Linux); 0 = one per core (default), -1 = none (a goroutine per miner)
	Abuse                        Abuse          // [proxy.abuse]
}

// Abuse is the [proxy.abuse] table: when bad shares get a miner dropped.
// Valid shares at a high rate are never abuse (vardiff raises the difficulty).
type Abuse struct {
	RejectWindow     Duration // reject_window: every share rejected for this long... (default 5m)
	RejectMinShares  int      // reject_min_shares: ...and at least this many of them (default 50)
	InvalidPerSecond float64  // invalid_per_second: invalid or duplicate submits allowed on average (default 5)
	InvalidBurst     float64  // invalid_burst: in bursts of at most this many (default 100)
	StalePerSecond   float64  // stale_per_second: stale or unknown-job submits allowed on average (default 100)
	StaleBurst       float64  // stale_burst: in bursts of at most this many (default 1000)
}

// Difficulty is the [proxy.difficulty] table: per-miner variable difficulty.
type Difficulty struct {
	Initial            float64 // initial (default 16384)
	Min                float64 // min (default 1024)
	Max                float64 // max (default 1e12)
	TargetShareSeconds float64 // target_share_seconds (default 10)
	PowerOfTwo         bool    // power_of_two: round difficulties to powers of two
}

// Pool is one [[pools]] entry, an upstream stratum pool. Pools are tried in
// file order; the first healthy one is used.
type Pool struct {
	Name            string   // name (default: host:port); unique
	URL             string   // url, as written: stratum+tcp://host:port
	User            string   // user the proxy authorizes with
	Password        string   // password
	Host            string   // from URL
	Port            int      // from URL
	FailoverTimeout Duration // failover_timeout: a pool silent this long is dead (default 30s)
	FailbackAfter   Duration // failback_after: a higher pool healthy this long is switched back to (default 60s)
	ConnectTimeout  Duration // connect_timeout: TCP connect and handshake limit (default 10s)
	// The rejection watch: a pool that refuses reject_ratio of the shares
	// it answered over reject_window (reject_min_shares answers at least)
	// is flagged rejecting, and left for the next pool when
	// failover_on_rejects.
	RejectWindow      Duration // reject_window (default 5m)
	RejectMinShares   int      // reject_min_shares (default 20)
	RejectRatio       float64  // reject_ratio, in (0, 1] (default 0.5)
	FailoverOnRejects bool     // failover_on_rejects (default true)
}

// Address returns "host:port", ready for net.Dial.
func (p Pool) Address() string {
	return net.JoinHostPort(p.Host, strconv.Itoa(p.Port))
}

// API is the [api] table: the HTTP API and dashboard.
type API struct {
	Listen string // listen: host:port (default "127.0.0.1:8080")
	// Token is the "token" shortcut as written. It is also in Tokens, as a
	// write token named "default".
	Token string
	// Tokens is every API token, resolved: the token shortcut first (if
	// set), then each [[api.tokens]] with its token_file already read.
	Tokens []Token
	// Pprof serves /debug/pprof behind a write token (pprof, default off).
	Pprof bool
}

// Token is one API bearer token.
type Token struct {
	Name string // name, shown in the audit log; unique
	// Token is the secret: as written, or the trimmed contents of TokenFile.
	Token string
	// TokenFile is token_file as written; TokenFilePath is it resolved
	// against the config file's directory. Both are empty for an inline token.
	TokenFile     string
	TokenFilePath string
	Role          string // "read" (default) or "write"
}

// Token roles.
const (
	RoleRead  = "read"
	RoleWrite = "write"
)

// Switcher is the [switcher] table: the power switcher's files.
type Switcher struct {
	Policy     string // policy, as written; empty when not set
	PolicyPath string // policy resolved against the config file's directory; empty when not set
	// Inventory (inventory) names the rig inventory, a CSV file of rigs
	// and their management addresses (see switcher.ParseInventory),
	// reloaded with the policy; InventoryPath is it resolved against the
	// config file's directory. Both are empty when not set.
	Inventory     string
	InventoryPath string
	// PollInterval (poll_interval): how often each firmware-actuated rig
	// is read back, MinPollInterval to MaxPollInterval (default 10s).
	PollInterval Duration
	// DeviceWorkers (device_workers): firmware calls (commands and
	// read-backs) running at once, 1 to MaxDeviceWorkers (default 256).
	// A hung rig holds one for its call timeout: size it at least
	// rigs × read latency ÷ poll_interval.
	DeviceWorkers int
	// PollFullEvery (poll_full_every): every this many polls of a rig is
	// a full read (state, power, hashrate, and the pool list and
	// configuration); the others are light reads of state, power and
	// hashrate alone, one request or connection (default 6: a full read
	// once a minute at 10s; 1: every poll full; at most
	// fleet.MaxFullReadEvery).
	PollFullEvery int
	// VerifyWithin (verify_within): after a command the device must show
	// the wanted state within this (default 60s: an Antminer answers in
	// up to ~20 s, then restarts its miner); read back every twelfth of it.
	VerifyWithin Duration
	// RetryEvery (retry_every): a rig whose device disagrees with the
	// plan after its command ended is commanded again this often
	// (default 2m).
	RetryEvery Duration
	// PoolURLs (pool_urls): hashgate's proxy as rigs should list it in
	// their pools, e.g. "stratum+tcp://10.0.0.2:3333". A rig whose device
	// lists any other pool is flagged pools_unbound (a Stratum park does
	// not hold it), and bind_pools rewrites rigs to these. Default: the
	// proxy's listen address when it names a host (not 0.0.0.0 or ::).
	PoolURLs      []string
	StateFile     string // state_file, as written (default "hashgate-state.json")
	StateFilePath string // state_file resolved against the config file's directory
	AuditLog      string // audit_log, as written (default "hashgate-audit.jsonl")
	AuditLogPath  string // audit_log resolved against the config file's directory
	// AuditMaxMB (audit_max_mb) is the size in MiB at which the audit
	// log rotates, AuditKeep (audit_keep) how many rotated files are kept
	// (FILE.1 … FILE.N): the log keeps (audit_keep+1) × audit_max_mb MiB,
	// by default 6 × 16 MiB (about 6 days at 50,000 rigs).
	AuditMaxMB   int
	AuditKeep    int
	CurtailGrace Duration // curtail_grace: shares after this long past a curtail flag curtail_failed (default 30s)
	ResumeGrace  Duration // resume_grace: no share this long after a resume flags resume_failed (default 3m)
	LeftGrace    Duration // left_grace: a parked rig away this long is left_while_parked (default 60s)
	// ForgetAfter (forget_after): an offline rig record holding nothing
	// worth keeping (no pin, not parked) is forgotten this long after it
	// went offline (default 24h).
	ForgetAfter Duration
	// MaxOfflineRigsPerNetwork (max_offline_rigs_per_network): offline rig
	// records kept per source network of NetworkPrefixV4 / NetworkPrefixV6
	// bits (network_prefix_v4, default 24; network_prefix_v6, default 64);
	// past it the oldest forgettable ones go, and a new name is not
	// admitted while none can (default 4096).
	MaxOfflineRigsPerNetwork int
	NetworkPrefixV4          int
	NetworkPrefixV6          int
	// Evidence: evidence_dir, evidence_max_mb, evidence_interval
	// (config/evidence.go).
	Evidence Evidence
}

// Defaults and bounds of [switcher] audit_max_mb and audit_keep.
const (
	DefaultAuditMaxMB = switcher.DefaultAuditMaxBytes >> 20
	DefaultAuditKeep  = switcher.DefaultAuditKeep
	MaxAuditMaxMB     = 4096
	MaxAuditKeep      = 1000
)

// AuditMaxBytes is audit_max_mb in bytes.
func (s Switcher) AuditMaxBytes() int64 { return int64(s.AuditMaxMB) << 20 }

// LastGoodPolicyPath is where the daemon keeps a copy of the policy in
// force, next to the state file (hashgate-state.json ->
// hashgate-state.last-good-policy.toml): it starts on that copy when the
// policy file is broken or gone at start.
func (s Switcher) LastGoodPolicyPath() string {
	return strings.TrimSuffix(s.StateFilePath, filepath.Ext(s.StateFilePath)) + ".last-good-policy.toml"
}

// LastGoodInventoryPath is where the daemon keeps a copy of the rig
// inventory in force, beside the last good policy
// (hashgate-state.json -> hashgate-state.last-good-inventory.csv).
func (s Switcher) LastGoodInventoryPath() string {
	return strings.TrimSuffix(s.StateFilePath, filepath.Ext(s.StateFilePath)) + ".last-good-inventory.csv"
}

// Bounds of [switcher] poll_interval (its default is the fleet's,
// fleet.DefaultPollInterval). Below a second, a large fleet's read-backs
// would load the network and the rigs' own controllers (a cgminer API
// answers one client at a time); above ten minutes a rig that ignored a
// curtail would go unseen too long.
const (
	MinPollInterval = time.Second
	MaxPollInterval = 10 * time.Minute

	MaxDeviceWorkers = 4096 // device_workers' bound; its default is fleet.DefaultWorkers
)

// Log is the [log] table.
type Log struct {
	Level  string // level: "debug", "info" (default), "warn" or "error"
	Format string // format: "json", "console" or "auto" (default: console on a terminal, else json)
}

// Defaults that belong to the config file itself, not to a library: the
// listen addresses, the files and the log. The decoder names the listen
// addresses and files as examples in its errors.
const (
	DefaultProxyListen = "0.0.0.0:3333"
	DefaultAPIListen   = "127.0.0.1:8080"
	DefaultStateFile   = "hashgate-state.json"
	DefaultAuditLog    = "hashgate-audit.jsonl"
)

// DefaultPool is a [[pools]] entry with every default filled in and no
// name, address or credentials: the proxy's PoolSpec defaults (its
// timeouts are the upstream session's own).
func DefaultPool() Pool {
	return Pool{
		FailoverTimeout:   Duration{proxy.DefaultFailoverTimeout},
		FailbackAfter:     Duration{proxy.DefaultFailbackAfter},
		ConnectTimeout:    Duration{proxy.DefaultConnectTimeout},
		RejectWindow:      Duration{proxy.DefaultRejectWindow},
		RejectMinShares:   proxy.DefaultRejectMinShares,
		RejectRatio:       proxy.DefaultRejectRatio,
		FailoverOnRejects: true,
	}
}

// Default returns a config with every default filled in and no pools. Parse
// starts from it; it is also a base for configs built in code (tests, demo).
//
// A key left out of the file runs the daemon as a zero field of the
// library's own Config would: the [proxy] values are stratum/proxy's
// defaults, the fleet's [switcher] values switcher/fleet's, and the
// switcher's own are the constants above, which switcher uses.
func Default() *Config {
	return &Config{
		Proxy: Proxy{
			Listen:                  DefaultProxyListen,
			MaxConnections:          DefaultMaxConnections(defaultLimitArgs()),
			MaxConnectionsAuto:      true,
			MinMinerExtranonce2Size: proxy.DefaultMinMinerExtranonce2Size,
			MaxUpstreamSessions:     proxy.DefaultMaxUpstreamSessions,
			Allow: []netip.Prefix{
				netip.MustParsePrefix("0.0.0.0/0"),
				netip.MustParsePrefix("::/0"),
			},
			Difficulty: Difficulty{
				Initial:            proxy.DefaultInitialDifficulty,
				Min:                proxy.DefaultMinDifficulty,
				Max:                proxy.DefaultMaxDifficulty,
				TargetShareSeconds: proxy.DefaultTargetShareSeconds,
			},
			MaxLineBytes:     proxy.DefaultMaxLineBytes,
			WriteTimeout:     Duration{proxy.DefaultWriteTimeout},
			ReadTimeout:      Duration{proxy.DefaultReadTimeout},
			OutboundQueue:    proxy.DefaultOutboundQueue,
			ReconnectGrace:   Duration{proxy.DefaultReconnectGrace},
			HandshakeTimeout: Duration{proxy.DefaultHandshakeTimeout},
			ParkedKeepalive:  Duration{proxy.DefaultParkedKeepalive},
			Abuse: Abuse{
				RejectWindow:     Duration{proxy.DefaultAbuseRejectWindow},
				RejectMinShares:  proxy.DefaultAbuseRejectMinShares,
				InvalidPerSecond: proxy.DefaultInvalidPerSecond,
				InvalidBurst:     proxy.DefaultInvalidBurst,
				StalePerSecond:   proxy.DefaultStalePerSecond,
				StaleBurst:       proxy.DefaultStaleBurst,
			},
		},
		API: API{Listen: DefaultAPIListen},
		Switcher: Switcher{
			StateFile:     DefaultStateFile,
			StateFilePath: DefaultStateFile,
			AuditLog:      DefaultAuditLog,
			AuditLogPath:  DefaultAuditLog,
			AuditMaxMB:    DefaultAuditMaxMB,
			AuditKeep:     DefaultAuditKeep,
			CurtailGrace:  Duration{switcher.DefaultCurtailGrace},
			ResumeGrace:   Duration{switcher.DefaultResumeGrace},
			LeftGrace:     Duration{switcher.DefaultLeftGrace},
			PollInterval:  Duration{fleet.DefaultPollInterval},
			DeviceWorkers: fleet.DefaultWorkers,
			PollFullEvery: fleet.DefaultFullReadEvery,
			VerifyWithin:  Duration{fleet.DefaultVerifyWithin},
			RetryEvery:    Duration{fleet.DefaultRetryEvery},

			ForgetAfter:              Duration{switcher.DefaultForgetAfter},
			MaxOfflineRigsPerNetwork: switcher.DefaultMaxOfflinePerNetwork,
			NetworkPrefixV4:          switcher.DefaultNetworkPrefixV4,
			NetworkPrefixV6:          switcher.DefaultNetworkPrefixV6,
			Evidence:                 Evidence{MaxMB: DefaultEvidenceMaxMB, Interval: Duration{DefaultEvidenceInterval}},
		},
		Log: Log{Level: "info", Format: "auto"},
	}
}

// Load reads and parses the config file at path. A file that cannot be read
// gives the os error; an invalid file gives Errors.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse parses and validates a config file's contents. path names the file in
// errors and is the base for relative paths in it; token files named in it
// are read. When the contents are invalid the error is Errors, holding every
// problem found, in file order.
func Parse(path string, data []byte) (*Config, error) {
	name := path
	if name == "" {
		name = "<config>"
	}
	raw, td, err := tomlfile.ParseDocument(name, data)
	if err != nil {
		return nil, err
	}
	td.SetBase(filepath.Dir(path))
	d := &decoder{td}
	c := d.config(raw)
	c.Path = path
	if err := d.Err(); err != nil {
		return nil, err
	}
	return c, nil
}

// PrefixBytes is the number of extranonce2 bytes the proxy takes from a pool
// whose extranonce2_size is poolEN2Size to tell its miners apart, leaving each
// miner at least minMinerEN2 bytes: clamp(poolEN2Size - minMinerEN2, 0, 4).
// 0 means the pool leaves no room and cannot be used.
func PrefixBytes(poolEN2Size, minMinerEN2 int) int {
	return min(max(poolEN2Size-minMinerEN2, 0), 4)
}

// Capacity returns how many miners fit on one upstream session of a pool with
// the given extranonce2_size (256^k, k = PrefixBytes), and on all
// max_upstream_sessions of it. Both are 0 when k is 0: the proxy refuses such
// a pool.
func (c *Config) Capacity(poolExtranonce2Size int) (perSession, total int) {
	k := PrefixBytes(poolExtranonce2Size, c.Proxy.MinMinerExtranonce2Size)
	if k == 0 {
		return 0, 0
	}
	perSession = 1 << (8 * k)
	return perSession, perSession * c.Proxy.MaxUpstreamSessions
}

// ParsePoolURL splits a pool URL of the form stratum+tcp://host:port.
func ParsePoolURL(s string) (host string, port int, err error) {
	const want = `; expected stratum+tcp://host:port`
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return "", 0, errors.New("missing scheme" + want)
	}
	switch strings.ToLower(scheme) {
	case "stratum+tcp":
	case "stratum+ssl", "stratum+tls", "stratum2+tcp", "stratum2+ssl":
		return "", 0, errors.New("scheme " + strconv.Quote(scheme) + " is not supported yet" + want)
	default:
		return "", 0, errors.New("unsupported scheme " + strconv.Quote(scheme) + want)
	}
	rest = strings.TrimSuffix(rest, "/")
	if strings.Contains(rest, "@") {
		return "", 0, errors.New("credentials in the URL are not used; put them in user and password" + want)
	}
	if strings.ContainsAny(rest, "/?#") {
		return "", 0, errors.New("unexpected path or query after host:port" + want)
	}
	host, ps, err := net.SplitHostPort(rest)
	if err != nil {
		if !strings.Contains(rest, ":") || strings.HasSuffix(rest, "]") {
			return "", 0, errors.New("missing port" + want)
		}
		return "", 0, errors.New(strconv.Quote(rest) + " is not host:port" + want)
	}
	if host == "" {
		return "", 0, errors.New("missing host" + want)
	}
	if ps == "" {
		return "", 0, errors.New("missing port" + want)
	}
	port, err = strconv.Atoi(ps)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, errors.New("port " + strconv.Quote(ps) + " is not a number from 1 to 65535" + want)
	}
	return host, port, nil
}
