package config

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// decoder turns the decoded TOML tree into a Config, checking every key and
// collecting every problem with its position.
type decoder struct {
	file string
	dir  string
	pos  map[string]position
	errs Errors
}

// at returns where path is written, or where its nearest written parent is
// (a table header, for a missing key), or 1:1.
func (d *decoder) at(path string) position {
	for p := path; p != ""; p = parent(p) {
		if at, ok := d.pos[p]; ok {
			return at
		}
	}
	return position{Line: 1, Col: 1}
}

func (d *decoder) errorf(path, format string, args ...any) {
	at := d.at(path)
	d.errs = append(d.errs, &Error{File: d.file, Line: at.Line, Col: at.Col, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) sorted() Errors {
	sort.SliceStable(d.errs, func(i, j int) bool {
		a, b := d.errs[i], d.errs[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return d.errs
}

var (
	topKeys      = []string{"proxy", "pools", "api", "switcher", "log"}
	proxyKeys    = []string{"listen", "max_connections", "min_miner_extranonce2_size", "max_upstream_sessions", "allow", "difficulty", "max_line_bytes", "write_timeout", "read_timeout", "outbound_queue", "reconnect_grace", "handshake_timeout"}
	diffKeys     = []string{"initial", "min", "max", "target_share_seconds", "power_of_two"}
	poolKeys     = []string{"name", "url", "user", "password", "failover_timeout", "failback_after", "connect_timeout"}
	apiKeys      = []string{"listen", "token", "tokens"}
	tokenKeys    = []string{"name", "token", "token_file", "role"}
	switcherKeys = []string{"policy", "state_file"}
	logKeys      = []string{"level", "format"}
)

func (d *decoder) config(raw map[string]any) *Config {
	c := Default()
	d.unknown("", raw, topKeys)
	if m, ok := d.table(raw, "", "proxy"); ok {
		d.proxy(m, &c.Proxy)
	}
	c.Pools = d.pools(raw)
	if m, ok := d.table(raw, "", "api"); ok {
		d.api(m, &c.API)
	}
	if m, ok := d.table(raw, "", "switcher"); ok {
		d.switcher(m, &c.Switcher)
	} else {
		c.Switcher.StateFilePath = d.resolve(c.Switcher.StateFile)
	}
	if m, ok := d.table(raw, "", "log"); ok {
		d.log(m, &c.Log)
	}
	if c.API.Listen == c.Proxy.Listen && !strings.HasSuffix(c.API.Listen, ":0") {
		d.errorf("api.listen", "api.listen %q is the same address as proxy.listen; give the HTTP API its own port", c.API.Listen)
	}
	return c
}

func (d *decoder) proxy(m map[string]any, c *Proxy) {
	const p = "proxy"
	d.unknown(p, m, proxyKeys)
	if d.str(m, p, "listen", &c.Listen) {
		d.listen(p+".listen", c.Listen, "0.0.0.0:3333")
	}
	if d.integer(m, p, "max_connections", &c.MaxConnections) {
		d.atLeast(p+".max_connections", c.MaxConnections, 1)
	}
	if d.integer(m, p, "min_miner_extranonce2_size", &c.MinMinerExtranonce2Size) {
		d.between(p+".min_miner_extranonce2_size", c.MinMinerExtranonce2Size, 1, 8)
	}
	if d.integer(m, p, "max_upstream_sessions", &c.MaxUpstreamSessions) {
		d.between(p+".max_upstream_sessions", c.MaxUpstreamSessions, 1, 1024)
	}
	if v, ok := m["allow"]; ok {
		c.Allow = d.allow(p+".allow", v)
	}
	if t, ok := d.table(m, p, "difficulty"); ok {
		d.difficulty(t, &c.Difficulty)
	}
	if d.integer(m, p, "max_line_bytes", &c.MaxLineBytes) {
		d.between(p+".max_line_bytes", c.MaxLineBytes, 1024, 16<<20)
	}
	d.duration(m, p, "write_timeout", &c.WriteTimeout)
	d.duration(m, p, "read_timeout", &c.ReadTimeout)
	if d.integer(m, p, "outbound_queue", &c.OutboundQueue) {
		d.between(p+".outbound_queue", c.OutboundQueue, 1, 65536)
	}
	d.duration(m, p, "reconnect_grace", &c.ReconnectGrace)
	d.duration(m, p, "handshake_timeout", &c.HandshakeTimeout)
}

func (d *decoder) allow(path string, v any) []netip.Prefix {
	list, ok := v.([]any)
	if !ok {
		d.typeErr(path, `an array of CIDR strings such as ["10.0.0.0/8"]`, v)
		return nil
	}
	out := make([]netip.Prefix, 0, len(list))
	for i, e := range list {
		ep := path + "[" + strconv.Itoa(i) + "]"
		s, ok := e.(string)
		if !ok {
			d.typeErr(ep, `a CIDR string such as "10.0.0.0/8"`, e)
			continue
		}
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			// A bare address stands for itself alone.
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				d.errorf(ep, "%s: %q is not a valid CIDR; expected an address/prefix-length such as \"10.0.0.0/8\" or \"2001:db8::/32\"", ep, s)
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
	d.unknown(p, m, diffKeys)
	ok := true
	for _, f := range []struct {
		key string
		dst *float64
	}{{"initial", &c.Initial}, {"min", &c.Min}, {"max", &c.Max}, {"target_share_seconds", &c.TargetShareSeconds}} {
		if d.float(m, p, f.key, f.dst) && !(*f.dst > 0 && !math.IsInf(*f.dst, 0)) {
			d.errorf(p+"."+f.key, "%s.%s: must be a finite number greater than 0, got %s", p, f.key, fmtFloat(*f.dst))
			ok = false
		}
	}
	d.boolean(m, p, "power_of_two", &c.PowerOfTwo)
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
		d.errorf(pick("max", "min"), "%s: min (%s) is greater than max (%s); expected min <= initial <= max", p, fmtFloat(c.Min), fmtFloat(c.Max))
	case c.Initial < c.Min:
		d.errorf(pick("initial", "min"), "%s: initial (%s) is below min (%s); expected min <= initial <= max", p, fmtFloat(c.Initial), fmtFloat(c.Min))
	case c.Initial > c.Max:
		d.errorf(pick("initial", "max"), "%s: initial (%s) is above max (%s); expected min <= initial <= max", p, fmtFloat(c.Initial), fmtFloat(c.Max))
	}
}

func (d *decoder) pools(raw map[string]any) []Pool {
	v, ok := raw["pools"]
	if !ok {
		d.errorf("", `no pools: add at least one [[pools]] table with url = "stratum+tcp://host:port" and user`)
		return nil
	}
	tables := d.tables("pools", v, "[[pools]]")
	if tables == nil {
		return nil
	}
	if len(tables) == 0 {
		d.errorf("pools", `pools is empty: add at least one [[pools]] table with url = "stratum+tcp://host:port" and user`)
		return nil
	}
	out := make([]Pool, 0, len(tables))
	byName := make(map[string]int)
	for i, m := range tables {
		if m == nil {
			continue
		}
		p := "pools[" + strconv.Itoa(i) + "]"
		d.unknown(p, m, poolKeys)
		pool := Pool{
			FailoverTimeout: Duration{DefaultFailoverTimeout},
			FailbackAfter:   Duration{DefaultFailbackAfter},
			ConnectTimeout:  Duration{DefaultConnectTimeout},
		}
		named := d.str(m, p, "name", &pool.Name)
		if named && strings.TrimSpace(pool.Name) == "" {
			d.errorf(p+".name", "%s.name: must not be empty (leave it out to name the pool host:port)", p)
		}
		if d.str(m, p, "url", &pool.URL) {
			host, port, err := ParsePoolURL(pool.URL)
			if err != nil {
				d.errorf(p+".url", "%s.url %q: %v", p, pool.URL, err)
			}
			pool.Host, pool.Port = host, port
		} else if _, ok := m["url"]; !ok {
			d.errorf(p, `%s: url is required, e.g. url = "stratum+tcp://pool.example:3333"`, p)
		}
		if d.str(m, p, "user", &pool.User) && pool.User == "" {
			d.errorf(p+".user", "%s.user: must not be empty; it is the account the proxy authorizes with", p)
		} else if _, ok := m["user"]; !ok {
			d.errorf(p, `%s: user is required, e.g. user = "account.proxy"`, p)
		}
		d.str(m, p, "password", &pool.Password)
		d.duration(m, p, "failover_timeout", &pool.FailoverTimeout)
		d.duration(m, p, "failback_after", &pool.FailbackAfter)
		d.duration(m, p, "connect_timeout", &pool.ConnectTimeout)
		if !named && pool.Host != "" {
			pool.Name = pool.Address()
		}
		if pool.Name != "" {
			if j, dup := byName[pool.Name]; dup {
				d.errorf(p+".name", "%s: duplicate pool name %q (also pools[%d]); pool names must be unique", p, pool.Name, j)
			} else {
				byName[pool.Name] = i
			}
		}
		out = append(out, pool)
	}
	return out
}

func (d *decoder) api(m map[string]any, c *API) {
	const p = "api"
	d.unknown(p, m, apiKeys)
	if d.str(m, p, "listen", &c.Listen) {
		d.listen(p+".listen", c.Listen, "127.0.0.1:8080")
	}
	byName := make(map[string]string)   // name -> path
	bySecret := make(map[string]string) // token -> path
	add := func(path string, t Token) {
		if t.Name != "" {
			if other, dup := byName[t.Name]; dup {
				d.errorf(path+".name", "%s: duplicate token name %q (also %s); token names must be unique", path, t.Name, other)
			} else {
				byName[t.Name] = path
			}
		}
		if t.Token != "" {
			if other, dup := bySecret[t.Token]; dup {
				d.errorf(path, "%s: same token as %s; give each name its own token so the audit log can tell them apart", path, other)
			} else {
				bySecret[t.Token] = path
			}
		}
		c.Tokens = append(c.Tokens, t)
	}
	if d.str(m, p, "token", &c.Token) {
		if strings.TrimSpace(c.Token) == "" {
			d.errorf(p+".token", "api.token: must not be empty (leave it out for no shortcut token)")
		} else {
			add("api.token", Token{Name: "default", Token: c.Token, Role: RoleWrite})
		}
	}
	v, ok := m["tokens"]
	if !ok {
		return
	}
	for i, t := range d.tables(p+".tokens", v, "[[api.tokens]]") {
		if t == nil {
			continue
		}
		tp := p + ".tokens[" + strconv.Itoa(i) + "]"
		d.unknown(tp, t, tokenKeys)
		tok := Token{Role: RoleRead}
		if d.str(t, tp, "name", &tok.Name) && strings.TrimSpace(tok.Name) == "" {
			d.errorf(tp+".name", "%s.name: must not be empty; it names who acted in the audit log", tp)
		} else if _, ok := t["name"]; !ok {
			d.errorf(tp, `%s: name is required, e.g. name = "power-desk"; it names who acted in the audit log`, tp)
		}
		if d.str(t, tp, "role", &tok.Role) && tok.Role != RoleRead && tok.Role != RoleWrite {
			d.errorf(tp+".role", "%s.role: %q is not a role; expected \"read\" or \"write\"", tp, tok.Role)
		}
		_, hasToken := t["token"]
		_, hasFile := t["token_file"]
		switch {
		case hasToken && hasFile:
			d.errorf(tp+".token_file", "%s: token and token_file are mutually exclusive; keep one", tp)
		case !hasToken && !hasFile:
			d.errorf(tp, "%s: one of token or token_file is required", tp)
		case hasToken:
			if d.str(t, tp, "token", &tok.Token) && strings.TrimSpace(tok.Token) == "" {
				d.errorf(tp+".token", "%s.token: must not be empty", tp)
			}
		case hasFile:
			if d.str(t, tp, "token_file", &tok.TokenFile) {
				tok.TokenFilePath = d.resolve(tok.TokenFile)
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
		d.errorf(path, "%s: must not be empty; expected the path of a file holding the token", path)
		return ""
	}
	data, err := os.ReadFile(file)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		d.errorf(path, "%s: cannot read %s: %v", path, file, err)
		return ""
	}
	tok := strings.TrimSpace(string(data))
	if tok == "" {
		d.errorf(path, "%s: %s is empty; it must hold the token", path, file)
	}
	return tok
}

func (d *decoder) switcher(m map[string]any, c *Switcher) {
	const p = "switcher"
	d.unknown(p, m, switcherKeys)
	if d.str(m, p, "policy", &c.Policy) {
		if c.Policy == "" {
			d.errorf(p+".policy", "switcher.policy: must not be empty (leave it out for no policy)")
		}
		c.PolicyPath = d.resolve(c.Policy)
	}
	if d.str(m, p, "state_file", &c.StateFile) && c.StateFile == "" {
		d.errorf(p+".state_file", "switcher.state_file: must not be empty; expected a file path such as \"hashgate-state.json\"")
	}
	c.StateFilePath = d.resolve(c.StateFile)
}

func (d *decoder) log(m map[string]any, c *Log) {
	const p = "log"
	d.unknown(p, m, logKeys)
	if d.str(m, p, "level", &c.Level) && !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Level) {
		d.errorf(p+".level", `log.level: %q is not a level; expected "debug", "info", "warn" or "error"`, c.Level)
	}
	if d.str(m, p, "format", &c.Format) && !slices.Contains([]string{"json", "console", "auto"}, c.Format) {
		d.errorf(p+".format", `log.format: %q is not a format; expected "json", "console" or "auto"`, c.Format)
	}
}

// resolve makes a path from the config file absolute, relative to the
// config file's directory.
func (d *decoder) resolve(p string) string {
	if p == "" {
		return ""
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(d.dir, p)
	}
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	return p
}

// unknown reports every key of m (the table at path) not in known.
func (d *decoder) unknown(path string, m map[string]any, known []string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if slices.Contains(known, k) {
			continue
		}
		kp := join(path, k)
		what := "unknown key " + strconv.Quote(kp)
		if _, ok := m[k].(map[string]any); ok {
			what = "unknown table [" + kp + "]"
		}
		if s := closest(k, known); s != "" {
			d.errorf(kp, "%s (did you mean %q?)", what, s)
		} else {
			d.errorf(kp, "%s; known keys here: %s", what, strings.Join(known, ", "))
		}
	}
}

// table returns m[key] if it is a table.
func (d *decoder) table(m map[string]any, path, key string) (map[string]any, bool) {
	v, ok := m[key]
	if !ok {
		return nil, false
	}
	kp := join(path, key)
	t, ok := v.(map[string]any)
	if !ok {
		d.typeErr(kp, "a table (["+kp+"])", v)
		return nil, false
	}
	return t, true
}

// tables returns v as an array of tables; nil elements are not tables and
// have been reported. It returns nil if v is not an array at all.
func (d *decoder) tables(path string, v any, header string) []map[string]any {
	switch t := v.(type) {
	case []map[string]any:
		return t
	case []any:
		out := make([]map[string]any, len(t))
		for i, e := range t {
			if m, ok := e.(map[string]any); ok {
				out[i] = m
			} else {
				d.typeErr(path+"["+strconv.Itoa(i)+"]", "a table", e)
			}
		}
		return out
	}
	d.typeErr(path, "an array of tables ("+header+")", v)
	return nil
}

func (d *decoder) str(m map[string]any, path, key string, dst *string) bool {
	v, ok := m[key]
	if !ok {
		return false
	}
	s, ok := v.(string)
	if !ok {
		d.typeErr(join(path, key), "a string", v)
		return false
	}
	*dst = s
	return true
}

func (d *decoder) integer(m map[string]any, path, key string, dst *int) bool {
	v, ok := m[key]
	if !ok {
		return false
	}
	n, ok := v.(int64)
	if !ok {
		d.typeErr(join(path, key), "an integer", v)
		return false
	}
	*dst = int(n)
	return true
}

func (d *decoder) float(m map[string]any, path, key string, dst *float64) bool {
	switch v := m[key].(type) {
	case nil:
		return false
	case float64:
		*dst = v
	case int64:
		*dst = float64(v)
	default:
		d.typeErr(join(path, key), "a number", v)
		return false
	}
	return true
}

func (d *decoder) boolean(m map[string]any, path, key string, dst *bool) bool {
	v, ok := m[key]
	if !ok {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		d.typeErr(join(path, key), "true or false", v)
		return false
	}
	*dst = b
	return true
}

// duration reads a duration, which must be greater than zero.
func (d *decoder) duration(m map[string]any, path, key string, dst *Duration) bool {
	kp := join(path, key)
	v, ok := m[key]
	if !ok {
		return false
	}
	s, ok := v.(string)
	if !ok {
		d.typeErr(kp, `a duration string such as "30s"`, v)
		return false
	}
	var dur Duration
	if err := dur.UnmarshalText([]byte(s)); err != nil {
		d.errorf(kp, "%s: %v", kp, err)
		return false
	}
	if dur.Duration <= 0 {
		d.errorf(kp, "%s: must be greater than 0, got %q", kp, s)
		return false
	}
	*dst = dur
	return true
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
		d.errorf(path, "%s: %q is not host:port (%v); expected e.g. %q", path, s, err, example)
	}
}

func (d *decoder) atLeast(path string, v, lo int) {
	if v < lo {
		d.errorf(path, "%s: must be at least %d, got %d", path, lo, v)
	}
}

func (d *decoder) between(path string, v, lo, hi int) {
	if v < lo || v > hi {
		d.errorf(path, "%s: must be between %d and %d, got %d", path, lo, hi, v)
	}
}

func (d *decoder) typeErr(path, want string, got any) {
	d.errorf(path, "%s: expected %s, got %s", path, want, describe(got))
}

// describe names a decoded TOML value's type, with the value when short.
func describe(v any) string {
	switch v := v.(type) {
	case string:
		if len(v) > 40 {
			v = v[:37] + "..."
		}
		return "string " + strconv.Quote(v)
	case int64:
		return "integer " + strconv.FormatInt(v, 10)
	case float64:
		return "float " + fmtFloat(v)
	case bool:
		return "boolean " + strconv.FormatBool(v)
	case []any:
		return "an array"
	case []map[string]any:
		return "an array of tables"
	case map[string]any:
		return "a table"
	case time.Time:
		return "a date-time"
	default:
		return fmt.Sprintf("a %T", v) // toml.LocalDate and the like
	}
}

func fmtFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// closest returns the known key nearest to k when it is close enough to be a
// likely typo, else "".
func closest(k string, known []string) string {
	best, bestDist := "", math.MaxInt
	for _, c := range known {
		if dist := editDistance(k, c); dist < bestDist {
			best, bestDist = c, dist
		}
	}
	limit := 1
	switch {
	case len(k) > 10:
		limit = 3
	case len(k) > 4:
		limit = 2
	}
	if bestDist > limit {
		return ""
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
