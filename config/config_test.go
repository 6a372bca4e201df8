package config

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// pool is a valid [[pools]] entry appended after the part under test, so
// that the line numbers of that part do not move.
const pool = `
[[pools]]
name = "main"
url = "stratum+tcp://pool.example:3333"
user = "acct.proxy"
`

// poolURL is a one-pool file whose url (line 3, column 1) is u.
func poolURL(u string) string {
	return "[[pools]]\nname = \"p\"\nurl = \"" + u + "\"\nuser = \"u\"\n"
}

const want = `; expected stratum+tcp://host:port`

// TestParseErrors lists bad configs and every error each must give, as
// "LINE:COL: message" (the file name is checked separately). In the
// messages, $DIR is the directory of the config file.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		input string
		files map[string]string // written next to the config file
		want  []string
	}{
		// Syntax and unknown keys.
		{"syntax error", "[proxy\nlisten = \"0.0.0.0:1\"\n" + pool, nil,
			[]string{`1:7: expected '.' or ']' to end table name, but got '\n' instead`}},
		{"duplicate key", "[proxy]\nlisten = \"a:1\"\nlisten = \"b:2\"\n" + pool, nil,
			[]string{`3:1: Key 'proxy.listen' has already been defined.`}},
		{"syntax error after a byte order mark", "\xef\xbb\xbfa = 1\nb = \n" + pool, nil,
			[]string{`2:5: expected value but found '\n' instead`}},
		{"syntax error in a value", "[proxy]\nmax_connections = 10_\n" + pool, nil,
			[]string{`2:19: Invalid integer "10_": underscores must be surrounded by digits`}},
		{"unknown key", "[proxy]\nmax_conections = 5\n" + pool, nil,
			[]string{`2:1: unknown key "proxy.max_conections" (did you mean "max_connections"?)`}},
		{"unknown key, no near match", "[log]\nverbosity = 3\n" + pool, nil,
			[]string{`2:1: unknown key "log.verbosity"; known keys here: level, format`}},
		{"unknown table", "[proxi]\nlisten = \"0.0.0.0:3333\"\n" + pool, nil,
			[]string{`1:1: unknown table [proxi] (did you mean "proxy"?)`}},
		{"unknown key in second pool", "[[pools]]\nname = \"a\"\nurl = \"stratum+tcp://a.example:3333\"\nuser = \"u\"\n\n[[pools]]\nname = \"b\"\nurl = \"stratum+tcp://b.example:3333\"\nusr = \"u\"\n", nil,
			[]string{
				`6:1: pools[1]: user is required, e.g. user = "account.proxy"`,
				`9:1: unknown key "pools[1].usr" (did you mean "user"?)`,
			}},
		{"table of the wrong type", "proxy = 5\n" + pool, nil,
			[]string{`1:1: proxy: expected a table ([proxy]), got integer 5`}},

		// Types.
		{"string for int", "[proxy]\nmax_connections = \"lots\"\n" + pool, nil,
			[]string{`2:1: proxy.max_connections: expected an integer, got string "lots"`}},
		{"float for int", "[proxy]\nmax_upstream_sessions = 1.5\n" + pool, nil,
			[]string{`2:1: proxy.max_upstream_sessions: expected an integer, got float 1.5`}},
		{"type error in first of two pools", "[[pools]]\nname = \"a\"\nurl = 3333\nuser = \"u\"\n[[pools]]\nname = \"b\"\nurl = \"stratum+tcp://b.example:3333\"\nuser = \"u\"\n", nil,
			[]string{`3:1: pools[0].url: expected a string, got integer 3333`}},
		{"bool type", "[proxy.difficulty]\npower_of_two = \"yes\"\ninitial = \"big\"\n" + pool, nil,
			[]string{
				`2:1: proxy.difficulty.power_of_two: expected true or false, got string "yes"`,
				`3:1: proxy.difficulty.initial: expected a number, got string "big"`,
			}},

		// Pools.
		{"http pool url", poolURL("http://pool.example:3333"), nil,
			[]string{`3:1: pools[0].url "http://pool.example:3333": unsupported scheme "http"` + want}},
		{"pool url without port", poolURL("stratum+tcp://pool.example"), nil,
			[]string{`3:1: pools[0].url "stratum+tcp://pool.example": missing port` + want}},
		{"pool url port out of range", poolURL("stratum+tcp://pool.example:99999"), nil,
			[]string{`3:1: pools[0].url "stratum+tcp://pool.example:99999": port "99999" is not a number from 1 to 65535` + want}},
		{"pool url port not a number", poolURL("stratum+tcp://pool.example:abc"), nil,
			[]string{`3:1: pools[0].url "stratum+tcp://pool.example:abc": port "abc" is not a number from 1 to 65535` + want}},
		{"pool url without scheme", poolURL("pool.example:3333"), nil,
			[]string{`3:1: pools[0].url "pool.example:3333": missing scheme` + want}},
		{"pool url without host", poolURL("stratum+tcp://:3333"), nil,
			[]string{`3:1: pools[0].url "stratum+tcp://:3333": missing host` + want}},
		{"pool url with path", poolURL("stratum+tcp://pool.example:3333/x"), nil,
			[]string{`3:1: pools[0].url "stratum+tcp://pool.example:3333/x": unexpected path or query after host:port` + want}},
		// The error never quotes the credentials.
		{"pool url with credentials", poolURL("stratum+tcp://me:pw@pool.example:3333"), nil,
			[]string{`3:1: pools[0].url "stratum+tcp://REDACTED@pool.example:3333": credentials in the URL are not used; put them in user and password` + want}},
		{"stratum+ssl", poolURL("stratum+ssl://pool.example:443"), nil,
			[]string{`3:1: pools[0].url "stratum+ssl://pool.example:443": scheme "stratum+ssl" is not supported yet` + want}},
		{"inline pool table", `pools = [{name = "a", url = "http://a:1", user = "u"}]` + "\n", nil,
			[]string{`1:23: pools[0].url "http://a:1": unsupported scheme "http"` + want}},
		{"empty pools", "pools = []\n", nil,
			[]string{`1:1: pools is empty: add at least one [[pools]] table with url = "stratum+tcp://host:port" and user`}},
		{"no pools", "[log]\nlevel = \"info\"\n", nil,
			[]string{`1:1: no pools: add at least one [[pools]] table with url = "stratum+tcp://host:port" and user`}},
		{"pools not an array", "pools = \"x\"\n", nil,
			[]string{`1:1: pools: expected an array of tables ([[pools]]), got string "x"`}},
		{"pool without url", "[[pools]]\nname = \"p\"\nuser = \"u\"\n", nil,
			[]string{`1:1: pools[0]: url is required, e.g. url = "stratum+tcp://pool.example:3333"`}},
		{"empty pool name", "[[pools]]\nname = \"\"\nurl = \"stratum+tcp://a.example:1\"\nuser = \"u\"\n", nil,
			[]string{`2:1: pools[0].name: must not be empty (leave it out to name the pool host:port)`}},
		{"duplicate pool names", "[[pools]]\nname = \"main\"\nurl = \"stratum+tcp://a.example:3333\"\nuser = \"u\"\n[[pools]]\nname = \"main\"\nurl = \"stratum+tcp://b.example:3333\"\nuser = \"u\"\n", nil,
			[]string{`6:1: pools[1]: duplicate pool name "main" (also pools[0]); pool names must be unique`}},
		{"duplicate default pool names", "[[pools]]\nurl = \"stratum+tcp://a.example:3333\"\nuser = \"u\"\n[[pools]]\nurl = \"stratum+tcp://a.example:3333\"\nuser = \"v\"\n", nil,
			[]string{`4:1: pools[1]: duplicate pool name "a.example:3333" (also pools[0]); pool names must be unique`}},
		{"bad pool durations", "[[pools]]\nname = \"p\"\nurl = \"stratum+tcp://a.example:1\"\nuser = \"u\"\nfailover_timeout = \"30\"\nfailback_after = \"-1m\"\n", nil,
			[]string{
				`5:1: pools[0].failover_timeout: invalid duration "30": expected a number with a unit, such as "30s", "5m" or "1h30m"`,
				`6:1: pools[0].failback_after: must be greater than 0, got "-1m"`,
			}},
		{"bad pool rejection watch", "[[pools]]\nname = \"p\"\nurl = \"stratum+tcp://a.example:1\"\nuser = \"u\"\nreject_ratio = 1.5\nreject_min_shares = 0\nfailover_on_rejects = \"yes\"\n", nil,
			[]string{
				`5:1: pools[0].reject_ratio: must be a share of the answered shares above 0 and at most 1 (0.5: half of them refused), got 1.5`,
				`6:1: pools[0].reject_min_shares: must be at least 1, got 0`,
				`7:1: pools[0].failover_on_rejects: expected true or false, got string "yes"`,
			}},

		// Difficulty.
		{"min above max", "[proxy.difficulty]\nmin = 100.0\nmax = 10.0\ninitial = 50.0\n" + pool, nil,
			[]string{`3:1: proxy.difficulty: min (100) is greater than max (10); expected min <= initial <= max`}},
		{"initial above max", "[proxy.difficulty]\nmax = 10.0\ninitial = 50.0\nmin = 1.0\n" + pool, nil,
			[]string{`3:1: proxy.difficulty: initial (50) is above max (10); expected min <= initial <= max`}},
		{"default initial below min", "[proxy.difficulty]\nmin = 20000\n" + pool, nil,
			[]string{`2:1: proxy.difficulty: initial (16384) is below min (20000); expected min <= initial <= max`}},
		{"negative initial", "[proxy.difficulty]\ninitial = -1.0\n" + pool, nil,
			[]string{`2:1: proxy.difficulty.initial: must be a finite number greater than 0, got -1`}},
		{"nan, inf and zero", "[proxy.difficulty]\nmax = nan\ntarget_share_seconds = inf\nmin = 0\n" + pool, nil,
			[]string{
				`2:1: proxy.difficulty.max: must be a finite number greater than 0, got nan`,
				`3:1: proxy.difficulty.target_share_seconds: must be a finite number greater than 0, got inf`,
				`4:1: proxy.difficulty.min: must be a finite number greater than 0, got 0`,
			}},
		{"dotted difficulty key", "proxy.difficulty.min = -2.5\n" + pool, nil,
			[]string{`1:1: proxy.difficulty.min: must be a finite number greater than 0, got -2.5`}},

		// Proxy values.
		{"bad CIDRs", "[proxy]\nallow = [\"10.0.0.0/8\", \"10.0.0.0/33\", \"bogus\", 7]\n" + pool, nil,
			[]string{
				`2:24: proxy.allow[1]: "10.0.0.0/33" is not a valid CIDR; expected an address/prefix-length such as "10.0.0.0/8" or "2001:db8::/32"`,
				`2:39: proxy.allow[2]: "bogus" is not a valid CIDR; expected an address/prefix-length such as "10.0.0.0/8" or "2001:db8::/32"`,
				`2:48: proxy.allow[3]: expected a CIDR string such as "10.0.0.0/8", got integer 7`,
			}},
		{"bad CIDR in a multi-line array", "[proxy]\nallow = [\n  \"10.0.0.0/8\", # office\n  # [fake] = 1\n  \"::/129\",\n]\n" + pool, nil,
			[]string{`5:3: proxy.allow[1]: "::/129" is not a valid CIDR; expected an address/prefix-length such as "10.0.0.0/8" or "2001:db8::/32"`}},
		{"allow not an array", "[proxy]\nallow = \"10.0.0.0/8\"\n" + pool, nil,
			[]string{`2:1: proxy.allow: expected an array of CIDR strings such as ["10.0.0.0/8"], got string "10.0.0.0/8"`}},
		{"bad durations", "[proxy]\nwrite_timeout = \"10 seconds\"\nread_timeout = \"0s\"\nreconnect_grace = 5\nhandshake_timeout = \"-1s\"\n" + pool, nil,
			[]string{
				`2:1: proxy.write_timeout: invalid duration "10 seconds": expected a number with a unit, such as "30s", "5m" or "1h30m"`,
				`3:1: proxy.read_timeout: must be greater than 0, got "0s"`,
				`4:1: proxy.reconnect_grace: expected a duration string such as "30s", got integer 5`,
				`5:1: proxy.handshake_timeout: must be greater than 0, got "-1s"`,
			}},
		{"out of range", "[proxy]\nmax_upstream_sessions = 0\nmin_miner_extranonce2_size = 9\nmax_connections = 0\nmax_line_bytes = 100\noutbound_queue = 0\nread_pollers = -2\n" + pool, nil,
			[]string{
				`2:1: proxy.max_upstream_sessions: must be between 1 and 1024, got 0`,
				`3:1: proxy.min_miner_extranonce2_size: must be between 1 and 8, got 9`,
				`4:1: proxy.max_connections: must be at least 1, got 0`,
				`5:1: proxy.max_line_bytes: must be between 1024 and 16777216, got 100`,
				`6:1: proxy.outbound_queue: must be between 1 and 65536, got 0`,
				`7:1: proxy.read_pollers: must be between -1 and 1024, got -2`,
			}},
		{"too many upstream sessions, too small extranonce2", "[proxy]\nmax_upstream_sessions = 1025\nmin_miner_extranonce2_size = 0\n" + pool, nil,
			[]string{
				`2:1: proxy.max_upstream_sessions: must be between 1 and 1024, got 1025`,
				`3:1: proxy.min_miner_extranonce2_size: must be between 1 and 8, got 0`,
			}},
		{"listen without port", "[proxy]\nlisten = \"3333\"\n" + pool, nil,
			[]string{`2:1: proxy.listen: "3333" is not host:port (missing port in address); expected e.g. "0.0.0.0:3333"`}},
		{"api listen with a named port", "[api]\nlisten = \"localhost:http\"\n" + pool, nil,
			[]string{`2:1: api.listen: "localhost:http" is not host:port (port "http" is not a number from 0 to 65535); expected e.g. "127.0.0.1:8080"`}},
		{"api on the proxy's address", "[proxy]\nlisten = \"0.0.0.0:3333\"\n[api]\nlisten = \"0.0.0.0:3333\"\n" + pool, nil,
			[]string{`4:1: api.listen "0.0.0.0:3333" is the same address as proxy.listen; give the HTTP API its own port`}},

		// API tokens.
		{"token and token_file", "[[api.tokens]]\nname = \"desk\"\ntoken = \"abc\"\ntoken_file = \"t\"\n" + pool, nil,
			[]string{`4:1: api.tokens[0]: token and token_file are mutually exclusive; keep one`}},
		{"missing token file", "[[api.tokens]]\nname = \"desk\"\ntoken_file = \"missing.token\"\n" + pool, nil,
			[]string{`3:1: api.tokens[0].token_file: cannot read $DIR/missing.token: no such file or directory`}},
		{"empty token file", "[[api.tokens]]\nname = \"desk\"\ntoken_file = \"secrets/empty.token\"\n" + pool,
			map[string]string{"secrets/empty.token": " \n\t\n"},
			[]string{`3:1: api.tokens[0].token_file: $DIR/secrets/empty.token is empty; it must hold the token`}},
		{"bad role", "[[api.tokens]]\nname = \"desk\"\ntoken = \"abc\"\nrole = \"admin\"\n" + pool, nil,
			[]string{`4:1: api.tokens[0].role: "admin" is not a role; expected "read" or "write"`}},
		{"token without secret", "[[api.tokens]]\nname = \"desk\"\n" + pool, nil,
			[]string{`1:1: api.tokens[0]: one of token or token_file is required`}},
		{"token without name", "[[api.tokens]]\ntoken = \"abc\"\n" + pool, nil,
			[]string{`1:1: api.tokens[0]: name is required, e.g. name = "power-desk"; it names who acted in the audit log`}},
		{"token named like the shortcut", "[api]\ntoken = \"abc\"\n[[api.tokens]]\nname = \"default\"\ntoken = \"def\"\n" + pool, nil,
			[]string{`4:1: api.tokens[0]: duplicate token name "default" (also api.token); token names must be unique`}},
		{"same secret twice", "[api]\ntoken = \"abc\"\n[[api.tokens]]\nname = \"x\"\ntoken = \"abc\"\n" + pool, nil,
			[]string{`3:1: api.tokens[0]: same token as api.token; give each name its own token so the audit log can tell them apart`}},
		{"empty shortcut token", "[api]\ntoken = \"\"\n" + pool, nil,
			[]string{`2:1: api.token: must not be empty (leave it out for no shortcut token)`}},

		// Switcher and log.
		{"switcher bounds on rig records", "[switcher]\nforget_after = \"0s\"\nmax_offline_rigs_per_network = 0\nnetwork_prefix_v4 = 33\nnetwork_prefix_v6 = 8\nforget_afte = \"1h\"\n" + pool, nil,
			[]string{
				`2:1: switcher.forget_after: must be greater than 0, got "0s"`,
				`3:1: switcher.max_offline_rigs_per_network: must be between 1 and 16777216, got 0`,
				`4:1: switcher.network_prefix_v4: must be between 8 and 32, got 33`,
				`5:1: switcher.network_prefix_v6: must be between 16 and 128, got 8`,
				`6:1: unknown key "switcher.forget_afte" (did you mean "forget_after"?)`,
			}},
		{"audit retention", "[switcher]\naudit_max_mb = 0\naudit_keep = 1001\naudit_kept = 3\n" + pool, nil,
			[]string{
				`2:1: switcher.audit_max_mb: must be between 1 and 4096, got 0`,
				`3:1: switcher.audit_keep: must be between 1 and 1000, got 1001`,
				`4:1: unknown key "switcher.audit_kept" (did you mean "audit_keep"?)`,
			}},
		{"audit retention not integers", "[switcher]\naudit_max_mb = \"16MiB\"\naudit_keep = 2.5\n" + pool, nil,
			[]string{
				`2:1: switcher.audit_max_mb: expected an integer, got string "16MiB"`,
				`3:1: switcher.audit_keep: expected an integer, got float 2.5`,
			}},
		{"switcher values", "[switcher]\nstate_file = \"\"\npolicy = 3\n" + pool, nil,
			[]string{
				`2:1: switcher.state_file: must not be empty; expected a file path such as "hashgate-state.json"`,
				`3:1: switcher.policy: expected a string, got integer 3`,
			}},
		{"switcher inventory and poll_interval", "[switcher]\ninventory = \"\"\npoll_interval = \"500ms\"\n[switcher.x]\n" + pool, nil,
			[]string{
				`2:1: switcher.inventory: must not be empty (leave it out for no inventory)`,
				`3:1: switcher.poll_interval: must be between 1s and 10m0s, got "500ms"`,
				`4:1: unknown table [switcher.x]; known keys here: policy, inventory, poll_interval, poll_full_every, device_workers, verify_within, retry_every, pool_urls, state_file, audit_log, audit_max_mb, audit_keep, curtail_grace, resume_grace, left_grace, forget_after, max_offline_rigs_per_network, network_prefix_v4, network_prefix_v6, evidence_dir, evidence_max_mb, evidence_interval`,
			}},
		{"poll_interval too long", "[switcher]\npoll_interval = \"11m\"\n" + pool, nil,
			[]string{`2:1: switcher.poll_interval: must be between 1s and 10m0s, got "11m0s"`}},
		{"poll_interval zero", "[switcher]\npoll_interval = \"0s\"\ninventory = 7\n" + pool, nil,
			[]string{
				`2:1: switcher.poll_interval: must be greater than 0, got "0s"`,
				`3:1: switcher.inventory: expected a string, got integer 7`,
			}},
		{"poll_interval not a duration", "[switcher]\npoll_interval = 10\ninventori = \"rigs.csv\"\n" + pool, nil,
			[]string{
				`2:1: switcher.poll_interval: expected a duration string such as "30s", got integer 10`,
				`3:1: unknown key "switcher.inventori" (did you mean "inventory"?)`,
			}},
		{"fleet knobs out of range", "[switcher]\ndevice_workers = 0\nverify_within = \"500ms\"\nretry_every = \"2h\"\npoll_full_every = 0\n" + pool, nil,
			[]string{
				`2:1: switcher.device_workers: must be between 1 and 4096, got 0`,
				`3:1: switcher.verify_within: must be between 1s and 1h0m0s, got "500ms"`,
				`4:1: switcher.retry_every: must be between 1s and 1h0m0s, got "2h0m0s"`,
				`5:1: switcher.poll_full_every: must be between 1 (every poll a full read) and 1000, got 0`,
			}},
		{"pool_urls", "[switcher]\npool_urls = [\"stratum+tcp://10.0.0.2:3333\", \"10.0.0.2:3333\", \"stratum+tcp://u:p@h:1\", 5]\n" + pool, nil,
			[]string{
				`2:1: switcher.pool_urls: "10.0.0.2:3333" is not stratum+tcp://host:port (the address rigs reach hashgate's proxy at)`,
				`2:1: switcher.pool_urls: "stratum+tcp://REDACTED@h:1" is not stratum+tcp://host:port (the address rigs reach hashgate's proxy at)`,
				`2:1: switcher.pool_urls: expected a string, got integer 5`,
			}},
		{"bad log level and format", "[log]\nlevel = \"verbose\"\nformat = \"xml\"\n" + pool, nil,
			[]string{
				`2:1: log.level: "verbose" is not a level; expected "debug", "info", "warn" or "error"`,
				`3:1: log.format: "xml" is not a format; expected "json", "console" or "auto"`,
			}},

		// Everything at once: every error is reported, in file order.
		{"many errors", `[proxy]
listen = "nowhere"
max_connections = "many"
allow = ["10.0.0.0/8", "300.0.0.0/8"]
colour = "blue"

[proxy.difficulty]
min = 5000.0
max = 100.0

[[pools]]
name = "main"
url = "stratum+ssl://pool.example:443"
user = "acct"
failover_timeout = "soon"

[[pools]]
name = "main"
url = "stratum+tcp://backup.example:3333"
user = "acct"

[[api.tokens]]
name = "desk"
token_file = "nope.token"
role = "root"

[log]
level = "loud"
`, nil,
			[]string{
				`2:1: proxy.listen: "nowhere" is not host:port (missing port in address); expected e.g. "0.0.0.0:3333"`,
				`3:1: proxy.max_connections: expected an integer, got string "many"`,
				`4:24: proxy.allow[1]: "300.0.0.0/8" is not a valid CIDR; expected an address/prefix-length such as "10.0.0.0/8" or "2001:db8::/32"`,
				`5:1: unknown key "proxy.colour"; known keys here: ` + strings.Join(proxyKeys, ", "),
				`9:1: proxy.difficulty: min (5000) is greater than max (100); expected min <= initial <= max`,
				`13:1: pools[0].url "stratum+ssl://pool.example:443": scheme "stratum+ssl" is not supported yet` + want,
				`15:1: pools[0].failover_timeout: invalid duration "soon": expected a number with a unit, such as "30s", "5m" or "1h30m"`,
				`18:1: pools[1]: duplicate pool name "main" (also pools[0]); pool names must be unique`,
				`24:1: api.tokens[0].token_file: cannot read $DIR/nope.token: no such file or directory`,
				`25:1: api.tokens[0].role: "root" is not a role; expected "read" or "write"`,
				`28:1: log.level: "loud" is not a level; expected "debug", "info", "warn" or "error"`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.files {
				writeFile(t, filepath.Join(dir, name), content)
			}
			path := filepath.Join(dir, "hashgate.toml")
			c, err := Parse(path, []byte(tt.input))
			if err == nil {
				t.Fatalf("Parse accepted the config: %+v; want err != nil", c)
			}
			if c != nil {
				t.Errorf("Parse returned config %+v along with errors, want nil", c)
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error is %T, want Errors: %v", err, err)
			}
			var got []string
			for _, e := range errs {
				if e.File != path {
					t.Errorf("error names file %q, want %q", e.File, path)
				}
				got = append(got, fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg))
			}
			var wantErrs []string
			for _, w := range tt.want {
				wantErrs = append(wantErrs, strings.ReplaceAll(w, "$DIR", dir))
			}
			if !reflect.DeepEqual(got, wantErrs) {
				t.Errorf("errors:\n  got  %s\n  want %s", strings.Join(got, "\n       "), strings.Join(wantErrs, "\n       "))
			}
		})
	}
}

func TestErrorsFormat(t *testing.T) {
	_, err := Parse("conf/hashgate.toml", []byte("[proxy]\nmax_connections = \"x\"\n\n[log]\nlevel = \"loud\"\n"+pool))
	wantText := `conf/hashgate.toml:2:1: proxy.max_connections: expected an integer, got string "x"` + "\n" +
		`conf/hashgate.toml:5:1: log.level: "loud" is not a level; expected "debug", "info", "warn" or "error"`
	if err == nil || err.Error() != wantText {
		t.Fatalf("error text:\n%v\nwant:\n%s", err, wantText)
	}
	var one *Error
	if !errors.As(err, &one) || one.Line != 2 {
		t.Errorf("errors.As(*Error) = %v, want the first error", one)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.toml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Load of a missing file: %v, want os.ErrNotExist", err)
	}
}

func TestParseFullConfig(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "secrets", "desk.token"), "  s3cret-desk\n")
	path := filepath.Join(dir, "etc", "hashgate.toml")
	writeFile(t, path, `
[proxy]
listen = ":4444"
max_connections = 5000
min_miner_extranonce2_size = 2
max_upstream_sessions = 8
allow = ["10.1.0.0/16", "192.168.1.7", "2001:db8::1/32"]
max_line_bytes = 4096
write_timeout = "2s"
read_timeout = "90s"
outbound_queue = 16
reconnect_grace = "1500ms"
read_pollers = 3
handshake_timeout = "1m"

[proxy.difficulty]
initial = 512
min = 64.5
max = 1e6
target_share_seconds = 5.0
power_of_two = true

[[pools]]
name = "primary"
url = "stratum+tcp://pool.example:3333"
user = "acct.proxy"
password = "x"
failover_timeout = "20s"
failback_after = "2m"
connect_timeout = "3s"
reject_window = "90s"
reject_min_shares = 40
reject_ratio = 0.8
failover_on_rejects = false

[[pools]]
url = "stratum+tcp://[2001:db8::7]:443/"
user = "acct.backup"

[api]
listen = "127.0.0.1:9090"
token = "shortcut"

[[api.tokens]]
name = "power-desk"
token_file = "../secrets/desk.token"
role = "write"

[[api.tokens]]
name = "grafana"
token = "ro"

[switcher]
policy = "policy/site.toml"
inventory = "../rigs/rigs.csv"
poll_interval = "2m30s"
pool_urls = ["stratum+tcp://10.0.0.2:3333"]
state_file = "/var/lib/hashgate/state.json"
audit_max_mb = 64
audit_keep = 30
forget_after = "2h"
max_offline_rigs_per_network = 100
network_prefix_v6 = 56

[log]
level = "debug"
format = "json"
`)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Path != path {
		t.Errorf("Path = %q, want %q", c.Path, path)
	}
	wantProxy := Proxy{
		Listen:                  ":4444",
		MaxConnections:          5000,
		MinMinerExtranonce2Size: 2,
		MaxUpstreamSessions:     8,
		Allow: []netip.Prefix{
			netip.MustParsePrefix("10.1.0.0/16"),
			netip.MustParsePrefix("192.168.1.7/32"),
			netip.MustParsePrefix("2001:db8::/32"),
		},
		Difficulty:       Difficulty{Initial: 512, Min: 64.5, Max: 1e6, TargetShareSeconds: 5, PowerOfTwo: true},
		MaxLineBytes:     4096,
		WriteTimeout:     Duration{2 * time.Second},
		ReadTimeout:      Duration{90 * time.Second},
		OutboundQueue:    16,
		ReadPollers:      3,
		ReconnectGrace:   Duration{1500 * time.Millisecond},
		HandshakeTimeout: Duration{time.Minute},
		ParkedKeepalive:  Duration{25 * time.Second},
		Abuse:            Abuse{RejectWindow: Duration{5 * time.Minute}, RejectMinShares: 50, InvalidPerSecond: 5, InvalidBurst: 100, StalePerSecond: 100, StaleBurst: 1000},
	}
	if !reflect.DeepEqual(c.Proxy, wantProxy) {
		t.Errorf("Proxy:\n got %+v\nwant %+v", c.Proxy, wantProxy)
	}
	wantPools := []Pool{
		{Name: "primary", URL: "stratum+tcp://pool.example:3333", User: "acct.proxy", Password: "x",
			Host: "pool.example", Port: 3333,
			FailoverTimeout: Duration{20 * time.Second}, FailbackAfter: Duration{2 * time.Minute}, ConnectTimeout: Duration{3 * time.Second},
			RejectWindow: Duration{90 * time.Second}, RejectMinShares: 40, RejectRatio: 0.8, FailoverOnRejects: false},
		{Name: "[2001:db8::7]:443", URL: "stratum+tcp://[2001:db8::7]:443/", User: "acct.backup",
			Host: "2001:db8::7", Port: 443,
			FailoverTimeout: Duration{30 * time.Second}, FailbackAfter: Duration{60 * time.Second}, ConnectTimeout: Duration{10 * time.Second},
			RejectWindow: Duration{5 * time.Minute}, RejectMinShares: 20, RejectRatio: 0.5, FailoverOnRejects: true},
	}
	if !reflect.DeepEqual(c.Pools, wantPools) {
		t.Errorf("Pools:\n got %+v\nwant %+v", c.Pools, wantPools)
	}
	if got := c.Pools[1].Address(); got != "[2001:db8::7]:443" {
		t.Errorf("Address() = %q, want [2001:db8::7]:443", got)
	}
	wantAPI := API{
		Listen: "127.0.0.1:9090",
		Token:  "shortcut",
		Tokens: []Token{
			{Name: "default", Token: "shortcut", Role: RoleWrite},
			{Name: "power-desk", Token: "s3cret-desk", TokenFile: "../secrets/desk.token",
				TokenFilePath: filepath.Join(dir, "secrets", "desk.token"), Role: RoleWrite},
			{Name: "grafana", Token: "ro", Role: RoleRead},
		},
	}
	if !reflect.DeepEqual(c.API, wantAPI) {
		t.Errorf("API:\n got %+v\nwant %+v", c.API, wantAPI)
	}
	wantSwitcher := Switcher{
		Policy:        "policy/site.toml",
		PolicyPath:    filepath.Join(dir, "etc", "policy", "site.toml"),
		Inventory:     "../rigs/rigs.csv",
		InventoryPath: filepath.Join(dir, "rigs", "rigs.csv"),
		PollInterval:  Duration{150 * time.Second},
		DeviceWorkers: 256, PollFullEvery: 6, VerifyWithin: Duration{time.Minute}, RetryEvery: Duration{2 * time.Minute},
		PoolURLs:      []string{"stratum+tcp://10.0.0.2:3333"},
		StateFile:     "/var/lib/hashgate/state.json",
		StateFilePath: "/var/lib/hashgate/state.json",
		AuditLog:      "hashgate-audit.jsonl",
		AuditLogPath:  filepath.Join(dir, "etc", "hashgate-audit.jsonl"),
		AuditMaxMB:    64, AuditKeep: 30,
		CurtailGrace: Duration{30 * time.Second},
		ResumeGrace:  Duration{3 * time.Minute},
		LeftGrace:    Duration{time.Minute},

		ForgetAfter:              Duration{2 * time.Hour},
		MaxOfflineRigsPerNetwork: 100,
		NetworkPrefixV4:          24,
		NetworkPrefixV6:          56,
		Evidence:                 Evidence{MaxMB: DefaultEvidenceMaxMB, Interval: Duration{DefaultEvidenceInterval}},
	}
	if !reflect.DeepEqual(c.Switcher, wantSwitcher) {
		t.Errorf("Switcher:\n got %+v\nwant %+v", c.Switcher, wantSwitcher)
	}
	if want := (Log{Level: "debug", Format: "json"}); c.Log != want {
		t.Errorf("Log = %+v, want %+v", c.Log, want)
	}
}

func TestParseDefaults(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "hashgate.toml")
	c, err := Parse(path, []byte(pool))
	if err != nil {
		t.Fatal(err)
	}
	def := Default()
	if !reflect.DeepEqual(c.Proxy, def.Proxy) {
		t.Errorf("Proxy:\n got %+v\nwant %+v", c.Proxy, def.Proxy)
	}
	// The defaults the contract and the brief name, spelled out so that a
	// change to Default() is caught too.
	p := c.Proxy
	limit, known := openFileLimit()
	if p.Listen != "0.0.0.0:3333" || p.MaxConnections != DefaultMaxConnections(limit, known, 32) || !p.MaxConnectionsAuto || p.MinMinerExtranonce2Size != 3 ||
		p.MaxUpstreamSessions != 32 || p.MaxLineBytes != 16384 || p.OutboundQueue != 64 ||
		p.WriteTimeout.Duration != 10*time.Second || p.ReadTimeout.Duration != 10*time.Minute ||
		p.ReconnectGrace.Duration != 5*time.Second || p.HandshakeTimeout.Duration != 30*time.Second {
		t.Errorf("proxy defaults: %+v, want listen 0.0.0.0:3333, auto max_connections %d, extranonce2 3, 32 sessions, 16384-byte lines, queue 64, timeouts write 10s read 10m grace 5s handshake 30s",
			p, DefaultMaxConnections(limit, known, 32))
	}
	if fmt.Sprint(p.Allow) != "[0.0.0.0/0 ::/0]" {
		t.Errorf("allow default = %v, want [0.0.0.0/0 ::/0]", p.Allow)
	}
	if want := (Difficulty{Initial: 16384, Min: 1024, Max: 1e12, TargetShareSeconds: 10}); p.Difficulty != want {
		t.Errorf("difficulty defaults: %+v, want %+v", p.Difficulty, want)
	}
	wantPool := Pool{Name: "main", URL: "stratum+tcp://pool.example:3333", User: "acct.proxy",
		Host: "pool.example", Port: 3333,
		FailoverTimeout: Duration{30 * time.Second}, FailbackAfter: Duration{60 * time.Second}, ConnectTimeout: Duration{10 * time.Second},
		RejectWindow: Duration{5 * time.Minute}, RejectMinShares: 20, RejectRatio: 0.5, FailoverOnRejects: true}
	if len(c.Pools) != 1 || c.Pools[0] != wantPool {
		t.Errorf("Pools = %+v, want [%+v]", c.Pools, wantPool)
	}
	if c.API.Listen != "127.0.0.1:8080" || c.API.Token != "" || len(c.API.Tokens) != 0 {
		t.Errorf("API = %+v, want listen 127.0.0.1:8080 and no tokens", c.API)
	}
	wantSwitcher := Switcher{StateFile: "hashgate-state.json", StateFilePath: filepath.Join(dir, "hashgate-state.json"),
		AuditMaxMB: DefaultAuditMaxMB, AuditKeep: DefaultAuditKeep,
		AuditLog: "hashgate-audit.jsonl", AuditLogPath: filepath.Join(dir, "hashgate-audit.jsonl"),
		CurtailGrace: Duration{30 * time.Second}, ResumeGrace: Duration{3 * time.Minute}, LeftGrace: Duration{time.Minute},
		PollInterval:  Duration{10 * time.Second},
		DeviceWorkers: 256, PollFullEvery: 6, VerifyWithin: Duration{time.Minute}, RetryEvery: Duration{2 * time.Minute},
		ForgetAfter: Duration{24 * time.Hour}, MaxOfflineRigsPerNetwork: 4096, NetworkPrefixV4: 24, NetworkPrefixV6: 64,
		Evidence: Evidence{MaxMB: DefaultEvidenceMaxMB, Interval: Duration{DefaultEvidenceInterval}}}
	if !reflect.DeepEqual(c.Switcher, wantSwitcher) {
		t.Errorf("Switcher = %+v, want %+v", c.Switcher, wantSwitcher)
	}
	if want := (Log{Level: "info", Format: "auto"}); c.Log != want {
		t.Errorf("Log = %+v, want %+v", c.Log, want)
	}
}

func TestParseRelativeConfigPath(t *testing.T) {
	// A relative config path resolves against the working directory.
	c, err := Parse("conf/hashgate.toml", []byte("[switcher]\npolicy = \"p.toml\"\n"+pool))
	if err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(wd, "conf", "p.toml"); c.Switcher.PolicyPath != want {
		t.Errorf("PolicyPath = %q, want %q", c.Switcher.PolicyPath, want)
	}
}

func TestTinyDifficulty(t *testing.T) {
	c, err := Parse("t.toml", []byte("[proxy.difficulty]\ninitial = 0.0001\nmin = 0.0001\nmax = 0.5\ntarget_share_seconds = 0.25\n"+pool))
	if err != nil {
		t.Fatal(err)
	}
	if d := c.Proxy.Difficulty; d.Initial != 0.0001 || d.Min != 0.0001 || d.Max != 0.5 || d.TargetShareSeconds != 0.25 {
		t.Errorf("difficulty = %+v, want initial and min 0.0001, max 0.5, target 0.25 s", d)
	}
}

func TestInlineTables(t *testing.T) {
	c, err := Parse("t.toml", []byte(`
pools = [
  {name = "a", url = "stratum+tcp://a.example:1", user = "u"},
  {name = "b", url = "stratum+tcp://b.example:2", user = "u", failover_timeout = "5s"},
]
api = {tokens = [{name = "ro", token = "t1"}, {name = "rw", token = "t2", role = "write"}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Pools) != 2 || c.Pools[1].Address() != "b.example:2" || c.Pools[1].FailoverTimeout.Duration != 5*time.Second {
		t.Errorf("Pools = %+v, want a and b, b at b.example:2 failing over after 5s", c.Pools)
	}
	if len(c.API.Tokens) != 2 || c.API.Tokens[0].Role != RoleRead || c.API.Tokens[1].Role != RoleWrite {
		t.Errorf("Tokens = %+v, want ro (read) and rw (write)", c.API.Tokens)
	}
}

func TestExampleConfig(t *testing.T) {
	c, err := Load("../examples/hashgate.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Pools) != 2 || c.Pools[0].Name != "primary" || c.Pools[1].Name != "backup" {
		t.Errorf("example pools = %+v, want primary and backup", c.Pools)
	}
	if filepath.Base(c.Switcher.PolicyPath) != "policy.toml" || !filepath.IsAbs(c.Switcher.PolicyPath) {
		t.Errorf("example policy path = %q, want an absolute path to policy.toml", c.Switcher.PolicyPath)
	}
	// Every key the package knows is written in the example.
	data, err := os.ReadFile("../examples/hashgate.toml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for table, keys := range map[string][]string{
		"proxy": proxyKeys, "proxy.difficulty": diffKeys, "pools[0]": poolKeys, "pools[1]": poolKeys,
		"api": apiKeys, "api.tokens[0]": {"name", "token", "role"}, "switcher": switcherKeys, "log": logKeys,
	} {
		for _, k := range keys {
			if table == "switcher" && (k == "inventory" || k == "evidence_dir") {
				continue // optional, and naming a file: shown commented out
			}
			if !written(doc, table, k) {
				t.Errorf("example does not set %s.%s; want written(doc, table, k)", table, k)
			}
		}
	}
}

func TestPrefixBytesAndCapacity(t *testing.T) {
	for _, tt := range []struct{ poolEN2, minMiner, k int }{
		{8, 3, 4}, {7, 3, 4}, {6, 3, 3}, {4, 3, 1}, {3, 3, 0}, {2, 3, 0}, {4, 1, 3}, {8, 8, 0},
	} {
		t.Run(fmt.Sprintf("en2=%d,min=%d", tt.poolEN2, tt.minMiner), func(t *testing.T) {
			if got := PrefixBytes(tt.poolEN2, tt.minMiner); got != tt.k {
				t.Errorf("PrefixBytes(%d, %d) = %d, want %d", tt.poolEN2, tt.minMiner, got, tt.k)
			}
		})
	}
	c := Default()
	for _, tt := range []struct{ en2, per, total int }{
		{4, 256, 256 * 32}, {5, 65536, 65536 * 32}, {8, 1 << 32, (1 << 32) * 32}, {3, 0, 0},
	} {
		t.Run(fmt.Sprintf("en2=%d", tt.en2), func(t *testing.T) {
			per, total := c.Capacity(tt.en2)
			if per != tt.per || total != tt.total {
				t.Errorf("Capacity(%d) = %d, %d; want %d, %d", tt.en2, per, total, tt.per, tt.total)
			}
		})
	}
}

func TestDuration(t *testing.T) {
	var d Duration
	if err := d.UnmarshalText([]byte("1h30m")); err != nil || d.Duration != 90*time.Minute {
		t.Errorf("UnmarshalText(1h30m) = %v, %v; want 1h30m0s, nil", d, err)
	}
	if err := d.UnmarshalText([]byte("soon")); err == nil {
		t.Errorf("UnmarshalText(soon): got %v and no error, want an error", d)
	}
	if b, _ := (Duration{1500 * time.Millisecond}).MarshalText(); string(b) != "1.5s" {
		t.Errorf("MarshalText = %q, want 1.5s", b)
	}
}

func TestWarnings(t *testing.T) {
	c, err := Parse("t.toml", []byte("[proxy]\nallow = []\nmax_connections = 1\n[api]\nlisten = \"0.0.0.0:8080\"\n"+pool))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(Warnings(c), "\n")
	for _, w := range []string{
		"proxy.allow is empty",
		"only one pool",
		"no API write token",
		`api.listen "0.0.0.0:8080" is reachable from other hosts`,
		"switcher.policy is not set",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("warnings lack %q; want strings.Contains(got, w):\n%s", w, got)
		}
	}
	if strings.Contains(got, "open-file limit") {
		t.Errorf("max_connections = 1 warned about the open-file limit; want !strings.Contains(got, \"open-file limit\"):\n%s", got)
	}

	limit, ok := openFileLimit()
	if !ok {
		t.Skip("open-file limit unknown or unlimited")
	}
	c.Proxy.MaxConnections = int(limit)
	if got := strings.Join(Warnings(c), "\n"); !strings.Contains(got, "does not fit the open-file limit") {
		t.Errorf("max_connections = %d (the limit) gave no open-file warning; want strings.Contains(got, \"does not fit the open-file limit\"):\n%s", limit, got)
	}
	c, err = Parse("t.toml", []byte("[switcher]\ninventory = \"rigs.csv\"\n"+pool))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(Warnings(c), "\n"), "switcher.inventory is set but switcher.policy is not"; !strings.Contains(got, want) {
		t.Errorf("warnings lack %q; want strings.Contains(got, want):\n%s", want, got)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// FuzzParse checks that no input makes Parse (or the key locator) panic or
// hang, and that every error it gives has a position.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile("../examples/hashgate.toml"); err == nil {
		f.Add(data)
	}
	f.Add([]byte(pool))
	f.Add([]byte("a = [ [1, 2], [\"]\", '['], ]\ny = {p = 1, q.r = \"}\"}\n[[t]]\n[t.sub]\ns = \"\"\"x\"\"\"\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.toml", data)
		if err == nil {
			if c == nil {
				t.Fatalf("Parse(%q) = nil, nil; want a config or an error", data)
			}
			return
		}
		var errs Errors
		if errors.As(err, &errs) {
			for _, e := range errs {
				if e.Line < 1 || e.Col < 1 {
					t.Fatalf("error without a position: %v; want e.Line >= 1, e.Col >= 1", e)
				}
			}
		}
	})
}

// max_connections not set follows the open-file limit, keeping a reserve
// for everything that is not a miner; set, it is what the file says.
func TestDefaultMaxConnections(t *testing.T) {
	for _, tc := range []struct {
		limit    uint64
		known    bool
		sessions int
		want     int
	}{
		{20000, true, 64, 20000 - 64 - 512},
		{20000, true, 32 * 3, 20000 - 96 - 512},
		{1 << 20, true, 32, 100000}, // never above the old fixed default
		{0, false, 32, 100000},      // unknown or unlimited
		{1024, true, 32, 512},       // too small for the reserve: half
		{1, true, 32, 1},
	} {
		t.Run(fmt.Sprintf("limit=%d,known=%v,sessions=%d", tc.limit, tc.known, tc.sessions), func(t *testing.T) {
			if got := DefaultMaxConnections(tc.limit, tc.known, tc.sessions); got != tc.want {
				t.Errorf("DefaultMaxConnections(%d, %v, %d) = %d, want %d", tc.limit, tc.known, tc.sessions, got, tc.want)
			}
		})
	}

	two := pool + "[[pools]]\nname = \"b\"\nurl = \"stratum+tcp://b.example:3333\"\nuser = \"u\"\n"
	c, err := Parse("t.toml", []byte("[proxy]\nmax_upstream_sessions = 100\n"+two))
	if err != nil {
		t.Fatal(err)
	}
	limit, known := openFileLimit()
	if want := DefaultMaxConnections(limit, known, 200); c.Proxy.MaxConnections != want || !c.Proxy.MaxConnectionsAuto {
		t.Fatalf("max_connections not set: %d (auto %v), want %d from the limit", c.Proxy.MaxConnections, c.Proxy.MaxConnectionsAuto, want)
	}
	if known && c.Proxy.MaxConnections < FallbackMaxConnections {
		for _, w := range Warnings(c) {
			if strings.Contains(w, "open-file limit") {
				t.Errorf("the default max_connections warns: %s; want !strings.Contains(w, \"open-file limit\")", w)
			}
		}
	}
	if note := MaxConnectionsNote(c); !strings.Contains(note, "is not set") {
		t.Errorf("note %q does not say max_connections was not set; want strings.Contains(note, \"is not set\")", note)
	}
	c, err = Parse("t.toml", []byte("[proxy]\nmax_connections = 7\nmax_unauthenticated = 3\nmax_unauthenticated_per_address = 2\n"+pool))
	if err != nil {
		t.Fatal(err)
	}
	if p := c.Proxy; p.MaxConnections != 7 || p.MaxConnectionsAuto || p.MaxUnauthenticated != 3 || p.MaxUnauthenticatedPerAddress != 2 || MaxConnectionsNote(c) != "" {
		t.Fatalf("set in the file: %+v, note %q; want max_connections 7 (not auto), max_unauthenticated 3 and 2 per address, no note", p, MaxConnectionsNote(c))
	}
}

// written reports whether the document sets key in table ("proxy",
// "pools[1]", "api.tokens[0]").
func written(doc map[string]any, table, key string) bool {
	var cur any = doc
	for _, part := range strings.Split(table, ".") {
		name, idx := part, -1
		if i := strings.IndexByte(part, '['); i >= 0 {
			name = part[:i]
			idx, _ = strconv.Atoi(strings.TrimSuffix(part[i+1:], "]"))
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		cur = m[name]
		if idx >= 0 {
			arr, ok := cur.([]map[string]any)
			if !ok || idx >= len(arr) {
				return false
			}
			cur = arr[idx]
		}
	}
	m, ok := cur.(map[string]any)
	if !ok {
		return false
	}
	_, ok = m[key]
	return ok
}
