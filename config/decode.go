package config

import (
	"time"

	"github.com/hashgate/hashgate/config/tomlfile"
	"github.com/hashgate/hashgate/switcher/fleet"

	"errors"
	"fmt"
	"io/fs"
	"math"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
)

var (
	topKeys      = []string{"proxy", "pools", "api", "switcher", "log", "meters", "mqtt", "modbus_server", "price"}
	proxyKeys    = []string{"listen", "max_connections", "max_unauthenticated", "max_unauthenticated_per_address", "min_miner_extranonce2_size", "max_upstream_sessions", "allow", "difficulty", "max_line_bytes", "write_timeout", "read_timeout", "outbound_queue", "reconnect_grace", "handshake_timeout", "parked_keepalive", "read_pollers", "abuse"}
	abuseKeys    = []string{"reject_window", "reject_min_shares", "invalid_per_second", "invalid_burst", "stale_per_second", "stale_burst"}
	diffKeys     = []string{"initial", "min", "max", "target_share_seconds", "power_of_two"}
	poolKeys     = []string{"name", "url", "user", "password", "failover_timeout", "failback_after", "connect_timeout", "reject_window", "reject_min_shares", "reject_ratio", "failover_on_rejects"}
	apiKeys      = []string{"listen", "token", "tokens", "pprof"}
	tokenKeys    = []string{"name", "token", "token_file", "role"}
	switcherKeys = []string{"policy", "inventory", "poll_interval", "poll_full_every", "device_workers", "verify_within", "retry_every", "pool_urls", "state_file", "audit_log", "audit_max_mb", "audit_keep", "curtail_grace", "resume_grace", "left_grace", "forget_after", "max_offline_rigs_per_network", "network_prefix_v4", "network_prefix_v6", "evidence_dir", "evidence_max_mb", "evidence_interval"}
	logKeys      = []string{"level", "format"}
)

func (d *decoder) config(raw map[string]any) *Config {
	c := Default()
	d.Unknown("", raw, topKeys)
	if m, ok := d.Table(raw, "", "proxy"); ok {
		d.proxy(m, &c.Proxy)
	}
	c.Pools = d.pools(raw)
	if m, ok := d.Table(raw, "", "api"); ok {
		d.api(m, &c.API)
	}
	if m, ok := d.Table(raw, "", "switcher"); ok {
		d.switcher(m, &c.Switcher)
	} else {
		c.Switcher.StateFilePath = d.Resolve(c.Switcher.StateFile)
		c.Switcher.AuditLogPath = d.Resolve(c.Switcher.AuditLog)
	}
	if m, ok := d.Table(raw, "", "log"); ok {
		d.log(m, &c.Log)
	}
	d.grid(raw, &c.Grid) // [mqtt], [modbus_server]: grid.go
	c.Meters = d.meters(raw)
	d.price(raw, &c.Price, c.MQTT != nil) // price.go
	if c.Proxy.MaxConnectionsAuto {
		limit, known := openFileLimit()
		c.Proxy.MaxConnections = DefaultMaxConnections(limit, known, c.upstreamSessions())
	}
	if c.API.Listen == c.Proxy.Listen && !strings.HasSuffix(c.API.Listen, ":0") {
		d.Errorf("api.listen", "api.listen %q is the same address as proxy.listen; give the HTTP API its own port", c.API.Listen)
	}
	return c
}

func (d *decoder) proxy(m map[string]any, c *Proxy) {
	const p = "proxy"
	d.Unknown(p, m, proxyKeys)
	if d.Str(m, p, "listen", &c.Listen) {
		d.listen(p+".listen", c.Listen, DefaultProxyListen)
	}
	if d.Integer(m, p, "max_connections", &c.MaxConnections) {
		d.atLeast(p+".max_connections", c.MaxConnections, 1)
		c.MaxConnectionsAuto = false
	}
	if d.Integer(m, p, "max_unauthenticated", &c.MaxUnauthenticated) {
		d.atLeast(p+".max_unauthenticated", c.MaxUnauthenticated, 1)
	}
	if d.Integer(m, p, "max_unauthenticated_per_address", &c.MaxUnauthenticatedPerAddress) {
		d.atLeast(p+".max_unauthenticated_per_address", c.MaxUnauthenticatedPerAddress, 1)
	}
	if d.Integer(m, p, "min_miner_extranonce2_size", &c.MinMinerExtranonce2Size) {
		d.between(p+".min_miner_extranonce2_size", c.MinMinerExtranonce2Size, 1, 8)
	}
	if d.Integer(m, p, "max_upstream_sessions", &c.MaxUpstreamSessions) {
		d.between(p+".max_upstream_sessions", c.MaxUpstreamSessions, 1, 1024)
	}
	if v, ok := m["allow"]; ok {
		c.Allow = d.allow(p+".allow", v)
	}
	if t, ok := d.Table(m, p, "difficulty"); ok {
		d.difficulty(t, &c.Difficulty)
	}
	if d.Integer(m, p, "max_line_bytes", &c.MaxLineBytes) {
		d.between(p+".max_line_bytes", c.MaxLineBytes, 1024, 16<<20)
	}
	d.Duration(m, p, "write_timeout", &c.WriteTimeout.Duration)
	d.Duration(m, p, "read_timeout", &c.ReadTimeout.Duration)
	if d.Integer(m, p, "outbound_queue", &c.OutboundQueue) {
		d.between(p+".outbound_queue", c.OutboundQueue, 1, 65536)
	}
	d.Duration(m, p, "reconnect_grace", &c.ReconnectGrace.Duration)
	d.Duration(m, p, "parked_keepalive", &c.ParkedKeepalive.Duration)
	if d.Integer(m, p, "read_pollers", &c.ReadPollers) {
		d.between(p+".read_pollers", c.ReadPollers, -1, 1024)
	}
	if t, ok := d.Table(m, p, "abuse"); ok {
		d.abuse(t, &c.Abuse)
	}
	d.Duration(m, p, "handshake_timeout", &c.HandshakeTimeout.Duration)
}

// poolURLs reads [switcher] pool_urls: stratum+tcp://host:port each.
func (d *decoder) poolURLs(path string, v any) []string {
	list, ok := v.([]any)
	if !ok {
		d.TypeErr(path, `an array of URLs such as ["stratum+tcp://10.0.0.2:3333"]`, v)
		return nil
	}
	var out []string
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			d.TypeErr(path, "a string", e)
			continue
		}
		rest, found := strings.CutPrefix(s, "stratum+tcp://")
		host, port, err := net.SplitHostPort(rest)
		if !found || err != nil || host == "" || port == "" || strings.ContainsAny(rest, "/@?#") {
			d.Errorf(path, "switcher.pool_urls: %q is not stratum+tcp://host:port (the address rigs reach hashgate's proxy at)", tomlfile.RedactURL(s))
			continue
		}
		out = append(out, s)
	}
	return out
}

func (d *decoder) allow(path string, v any) []netip.Prefix {
	list, ok := v.([]any)
	if !ok {
		d.TypeErr(path, `an array of CIDR strings such as ["10.0.0.0/8"]`, v)
		return nil
	}
	out := make([]netip.Prefix, 0, len(list))
	for i, e := range list {
		ep := path + "[" + strconv.Itoa(i) + "]"
		s, ok := e.(string)
		if !ok {
			d.TypeErr(ep, `a CIDR string such as "10.0.0.0/8"`, e)
			continue
		}
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			// A bare address stands for itself alone.
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				d.Errorf(ep, "%s: %q is not a valid CIDR; expected an address/prefix-length such as \"10.0.0.0/8\" or \"2001:db8::/32\"", ep, s)
				continue
			}
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, pfx.Masked())
	}
	return out
}

func (d *decoder) difficulty(m map[string]any, c *Difficulty) {
	const p = "proxy.difficulty"
	d.Unknown(p, m, diffKeys)
	ok := true
	for _, f := range []struct {
		key string
		dst *float64
	}{{"initial", &c.Initial}, {"min", &c.Min}, {"max", &c.Max}, {"target_share_seconds", &c.TargetShareSeconds}} {
		if d.Float(m, p, f.key, f.dst) && !(*f.dst > 0 && !math.IsInf(*f.dst, 0)) {
			d.Errorf(p+"."+f.key, "%s.%s: must be a finite number greater than 0, got %s", p, f.key, tomlfile.FormatFloat(*f.dst))
			ok = false
		}
	}
	d.Bool(m, p, "power_of_two", &c.PowerOfTwo)
	if !ok {
		return
	}
	// Point at a key that is written, preferring the first one named.
	pick := func(keys ...string) string {
		for _, k := range keys {
			if _, ok := m[k]; ok {
				return p + "." + k
			}
		}
		return p
	}
	switch {
	case c.Min > c.Max:
		d.Errorf(pick("max", "min"), "%s: min (%s) is greater than max (%s); expected min <= initial <= max", p, tomlfile.FormatFloat(c.Min), tomlfile.FormatFloat(c.Max))
	case c.Initial < c.Min:
		d.Errorf(pick("initial", "min"), "%s: initial (%s) is below min (%s); expected min <= initial <= max", p, tomlfile.FormatFloat(c.Initial), tomlfile.FormatFloat(c.Min))
	case c.Initial > c.Max:
		d.Errorf(pick("initial", "max"), "%s: initial (%s) is above max (%s); expected min <= initial <= max", p, tomlfile.FormatFloat(c.Initial), tomlfile.FormatFloat(c.Max))
	}
}

func (d *decoder) abuse(m map[string]any, c *Abuse) {
	const p = "proxy.abuse"
	d.Unknown(p, m, abuseKeys)
	d.Duration(m, p, "reject_window", &c.RejectWindow.Duration)
	if d.Integer(m, p, "reject_min_shares", &c.RejectMinShares) {
		d.atLeast(p+".reject_min_shares", c.RejectMinShares, 1)
	}
	for _, f := range []struct {
		key string
		dst *float64
	}{{"invalid_per_second", &c.InvalidPerSecond}, {"invalid_burst", &c.InvalidBurst},
		{"stale_per_second", &c.StalePerSecond}, {"stale_burst", &c.StaleBurst}} {
		if d.Float(m, p, f.key, f.dst) && !(*f.dst > 0 && !math.IsInf(*f.dst, 0)) {
			d.Errorf(p+"."+f.key, "%s.%s: must be a finite number greater than 0, got %s", p, f.key, tomlfile.FormatFloat(*f.dst))
		}
	}
}

func (d *decoder) pools(raw map[string]any) []Pool {
	v, ok := raw["pools"]
	if !ok {
		d.Errorf("", `no pools: add at least one [[pools]] table with url = "stratum+tcp://host:port" and user`)
		return nil
	}
	tables := d.Tables("pools", v, "[[pools]]")
	if tables == nil {
		return nil
	}
	if len(tables) == 0 {
		d.Errorf("pools", `pools is empty: add at least one [[pools]] table with url = "stratum+tcp://host:port" and user`)
		return nil
	}
	out := make([]Pool, 0, len(tables))
	byName := make(map[string]int)
	for i, m := range tables {
		if m == nil {
			continue
		}
		p := "pools[" + strconv.Itoa(i) + "]"
		d.Unknown(p, m, poolKeys)
		pool := DefaultPool()
		named := d.Str(m, p, "name", &pool.Name)
		if named && strings.TrimSpace(pool.Name) == "" {
			d.Errorf(p+".name", "%s.name: must not be empty (leave it out to name the pool host:port)", p)
		}
		if d.Str(m, p, "url", &pool.URL) {
			host, port, err := ParsePoolURL(pool.URL)
			if err != nil {
				d.Errorf(p+".url", "%s.url %q: %v", p, tomlfile.RedactURL(pool.URL), err)
			}
			pool.Host, pool.Port = host, port
		} else if _, ok := m["url"]; !ok {
			d.Errorf(p, `%s: url is required, e.g. url = "stratum+tcp://pool.example:3333"`, p)
		}
		if d.Str(m, p, "user", &pool.User) && pool.User == "" {
			d.Errorf(p+".user", "%s.user: must not be empty; it is the account the proxy authorizes with", p)
		} else if _, ok := m["user"]; !ok {
			d.Errorf(p, `%s: user is required, e.g. user = "account.proxy"`, p)
		}
		d.Str(m, p, "password", &pool.Password)
		d.Duration(m, p, "failover_timeout", &pool.FailoverTimeout.Duration)
		d.Duration(m, p, "failback_after", &pool.FailbackAfter.Duration)
		d.Duration(m, p, "connect_timeout", &pool.ConnectTimeout.Duration)
		d.poolRejects(m, p, &pool)
		if !named && pool.Host != "" {
			pool.Name = pool.Address()
		}
		if pool.Name != "" {
			if j, dup := byName[pool.Name]; dup {
				d.Errorf(p+".name", "%s: duplicate pool name %q (also pools[%d]); pool names must be unique", p, pool.Name, j)
			} else {
				byName[pool.Name] = i
			}
		}
		out = append(out, pool)
	}
	return out
}

// poolRejects reads a [[pools]] entry's rejection watch.
func (d *decoder) poolRejects(m map[string]any, p string, pool *Pool) {
	d.Duration(m, p, "reject_window", &pool.RejectWindow.Duration)
	if d.Integer(m, p, "reject_min_shares", &pool.RejectMinShares) {
		d.atLeast(p+".reject_min_shares", pool.RejectMinShares, 1)
	}
	if d.Float(m, p, "reject_ratio", &pool.RejectRatio) && !(pool.RejectRatio > 0 && pool.RejectRatio <= 1) {
		d.Errorf(p+".reject_ratio", "%s.reject_ratio: must be a share of the answered shares above 0 and at most 1 (0.5: half of them refused), got %s", p, tomlfile.FormatFloat(pool.RejectRatio))
	}
	d.Bool(m, p, "failover_on_rejects", &pool.FailoverOnRejects)
}

func (d *decoder) api(m map[string]any, c *API) {
	const p = "api"
	d.Unknown(p, m, apiKeys)
	if d.Str(m, p, "listen", &c.Listen) {
		d.listen(p+".listen", c.Listen, DefaultAPIListen)
	}
	d.Bool(m, p, "pprof", &c.Pprof)
	byName := make(map[string]string)   // name -> path
	bySecret := make(map[string]string) // token -> path
	add := func(path string, t Token) {
		if t.Name != "" {
			if other, dup := byName[t.Name]; dup {
				d.Errorf(path+".name", "%s: duplicate token name %q (also %s); token names must be unique", path, t.Name, other)
			} else {
				byName[t.Name] = path
			}
		}
		if t.Token != "" {
			if other, dup := bySecret[t.Token]; dup {
				d.Errorf(path, "%s: same token as %s; give each name its own token so the audit log can tell them apart", path, other)
			} else {
				bySecret[t.Token] = path
			}
		}
		c.Tokens = append(c.Tokens, t)
	}
	if d.Str(m, p, "token", &c.Token) {
		if strings.TrimSpace(c.Token) == "" {
			d.Errorf(p+".token", "api.token: must not be empty (leave it out for no shortcut token)")
		} else {
			add("api.token", Token{Name: "default", Token: c.Token, Role: RoleWrite})
		}
	}
	v, ok := m["tokens"]
	if !ok {
		return
	}
	for i, t := range d.Tables(p+".tokens", v, "[[api.tokens]]") {
		if t == nil {
			continue
		}
		tp := p + ".tokens[" + strconv.Itoa(i) + "]"
		d.Unknown(tp, t, tokenKeys)
		tok := Token{Role: RoleRead}
		if d.Str(t, tp, "name", &tok.Name) && strings.TrimSpace(tok.Name) == "" {
			d.Errorf(tp+".name", "%s.name: must not be empty; it names who acted in the audit log", tp)
		} else if _, ok := t["name"]; !ok {
			d.Errorf(tp, `%s: name is required, e.g. name = "power-desk"; it names who acted in the audit log`, tp)
		}
		if d.Str(t, tp, "role", &tok.Role) && tok.Role != RoleRead && tok.Role != RoleWrite {
			d.Errorf(tp+".role", "%s.role: %q is not a role; expected \"read\" or \"write\"", tp, tok.Role)
		}
		_, hasToken := t["token"]
		_, hasFile := t["token_file"]
		switch {
		case hasToken && hasFile:
			d.Errorf(tp+".token_file", "%s: token and token_file are mutually exclusive; keep one", tp)
		case !hasToken && !hasFile:
			d.Errorf(tp, "%s: one of token or token_file is required", tp)
		case hasToken:
			if d.Str(t, tp, "token", &tok.Token) && strings.TrimSpace(tok.Token) == "" {
				d.Errorf(tp+".token", "%s.token: must not be empty", tp)
			}
		case hasFile:
			if d.Str(t, tp, "token_file", &tok.TokenFile) {
				tok.TokenFilePath = d.Resolve(tok.TokenFile)
				tok.Token = d.readToken(tp+".token_file", tok.TokenFilePath)
			}
		}
		add(tp, tok)
	}
}

// readToken reads a token file, trimmed; "" when it cannot (the error is
// recorded at path).
func (d *decoder) readToken(path, file string) string {
	if file == "" {
		d.Errorf(path, "%s: must not be empty; expected the path of a file holding the token", path)
		return ""
	}
	data, err := os.ReadFile(file)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		d.Errorf(path, "%s: cannot read %s: %v", path, file, err)
		return ""
	}
	tok := strings.TrimSpace(string(data))
	if tok == "" {
		d.Errorf(path, "%s: %s is empty; it must hold the token", path, file)
	}
	return tok
}

func (d *decoder) switcher(m map[string]any, c *Switcher) {
	const p = "switcher"
	d.Unknown(p, m, switcherKeys)
	if d.Str(m, p, "policy", &c.Policy) {
		if c.Policy == "" {
			d.Errorf(p+".policy", "switcher.policy: must not be empty (leave it out for no policy)")
		}
		c.PolicyPath = d.Resolve(c.Policy)
	}
	if d.Str(m, p, "inventory", &c.Inventory) {
		if c.Inventory == "" {
			d.Errorf(p+".inventory", "switcher.inventory: must not be empty (leave it out for no inventory)")
		}
		c.InventoryPath = d.Resolve(c.Inventory)
	}
	if d.Duration(m, p, "poll_interval", &c.PollInterval.Duration) &&
		(c.PollInterval.Duration < MinPollInterval || c.PollInterval.Duration > MaxPollInterval) {
		d.Errorf(p+".poll_interval", "switcher.poll_interval: must be between %v and %v, got %q",
			MinPollInterval, MaxPollInterval, c.PollInterval.Duration.String())
	}
	if d.Integer(m, p, "poll_full_every", &c.PollFullEvery) && (c.PollFullEvery < 1 || c.PollFullEvery > fleet.MaxFullReadEvery) {
		d.Errorf(p+".poll_full_every", "switcher.poll_full_every: must be between 1 (every poll a full read) and %d, got %d", fleet.MaxFullReadEvery, c.PollFullEvery)
	}
	if d.Integer(m, p, "device_workers", &c.DeviceWorkers) && (c.DeviceWorkers < 1 || c.DeviceWorkers > MaxDeviceWorkers) {
		d.Errorf(p+".device_workers", "switcher.device_workers: must be between 1 and %d, got %d", MaxDeviceWorkers, c.DeviceWorkers)
	}
	for _, k := range []struct {
		key string
		v   *time.Duration
	}{{"verify_within", &c.VerifyWithin.Duration}, {"retry_every", &c.RetryEvery.Duration}} {
		if d.Duration(m, p, k.key, k.v) && (*k.v < time.Second || *k.v > time.Hour) {
			d.Errorf(p+"."+k.key, "switcher.%s: must be between 1s and 1h0m0s, got %q", k.key, k.v.String())
		}
	}
	if v, ok := m["pool_urls"]; ok {
		c.PoolURLs = d.poolURLs(p+".pool_urls", v)
	}
	if d.Str(m, p, "state_file", &c.StateFile) && c.StateFile == "" {
		d.Errorf(p+".state_file", "switcher.state_file: must not be empty; expected a file path such as %q", DefaultStateFile)
	}
	c.StateFilePath = d.Resolve(c.StateFile)
	if d.Str(m, p, "audit_log", &c.AuditLog) && c.AuditLog == "" {
		d.Errorf(p+".audit_log", "switcher.audit_log: must not be empty; expected a file path such as %q", DefaultAuditLog)
	}
	c.AuditLogPath = d.Resolve(c.AuditLog)
	if d.Integer(m, p, "audit_max_mb", &c.AuditMaxMB) {
		d.between(p+".audit_max_mb", c.AuditMaxMB, 1, MaxAuditMaxMB)
	}
	if d.Integer(m, p, "audit_keep", &c.AuditKeep) {
		d.between(p+".audit_keep", c.AuditKeep, 1, MaxAuditKeep)
	}
	d.Duration(m, p, "curtail_grace", &c.CurtailGrace.Duration)
	d.Duration(m, p, "resume_grace", &c.ResumeGrace.Duration)
	d.Duration(m, p, "left_grace", &c.LeftGrace.Duration)
	d.Duration(m, p, "forget_after", &c.ForgetAfter.Duration)
	if d.Integer(m, p, "max_offline_rigs_per_network", &c.MaxOfflineRigsPerNetwork) {
		d.between(p+".max_offline_rigs_per_network", c.MaxOfflineRigsPerNetwork, 1, 1<<24)
	}
	if d.Integer(m, p, "network_prefix_v4", &c.NetworkPrefixV4) {
		d.between(p+".network_prefix_v4", c.NetworkPrefixV4, 8, 32)
	}
	if d.Integer(m, p, "network_prefix_v6", &c.NetworkPrefixV6) {
		d.between(p+".network_prefix_v6", c.NetworkPrefixV6, 16, 128)
	}
	d.evidence(m, p, &c.Evidence)
}

func (d *decoder) log(m map[string]any, c *Log) {
	const p = "log"
	d.Unknown(p, m, logKeys)
	if d.Str(m, p, "level", &c.Level) && !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Level) {
		d.Errorf(p+".level", `log.level: %q is not a level; expected "debug", "info", "warn" or "error"`, c.Level)
	}
	if d.Str(m, p, "format", &c.Format) && !slices.Contains([]string{"json", "console", "auto"}, c.Format) {
		d.Errorf(p+".format", `log.format: %q is not a format; expected "json", "console" or "auto"`, c.Format)
	}
}

func (d *decoder) listen(path, s, example string) {
	host, port, err := net.SplitHostPort(s)
	if err == nil {
		if n, perr := strconv.Atoi(port); perr != nil || n < 0 || n > 65535 {
			err = fmt.Errorf("port %q is not a number from 0 to 65535", port)
		} else if strings.ContainsAny(host, " /") {
			err = fmt.Errorf("host %q is not an address or name", host)
		}
	} else if ae, ok := err.(*net.AddrError); ok {
		err = errors.New(ae.Err)
	}
	if err != nil {
		d.Errorf(path, "%s: %q is not host:port (%v); expected e.g. %q", path, s, err, example)
	}
}

func (d *decoder) atLeast(path string, v, lo int) {
	if v < lo {
		d.Errorf(path, "%s: must be at least %d, got %d", path, lo, v)
	}
}

func (d *decoder) between(path string, v, lo, hi int) {
	if v < lo || v > hi {
		d.Errorf(path, "%s: must be between %d and %d, got %d", path, lo, hi, v)
	}
}
