package switcher

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/config/tomlfile"
	"github.com/hashgate/hashgate/switcher/device"
)

// password is what the test password files hold: no error, log line or
// diff may show it.
const password = "hunter2-Secret"

// policyDir makes a directory holding a policy's credential files:
// s19.pass and hook.key (each with a trailing newline), crlf.pass,
// empty.pass (a newline only), big.pass (4097 bytes), max.pass (4096
// bytes), sub/whatsminer.pw (no newline) and a directory dir.pass. It
// returns the policy path in it.
func policyDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{
		"s19.pass":          password + "\n",
		"hook.key":          "k3y-" + password + "\n",
		"crlf.pass":         password + "\r\n",
		"empty.pass":        "\n",
		"big.pass":          strings.Repeat(password[:1], MaxCredentialFile+1),
		"max.pass":          strings.Repeat("p", MaxCredentialFile),
		"dir.pass/ignored":  "",
		"sub/whatsminer.pw": password,
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "policy.toml")
}

// fwGroup is a [[group]] of 6 lines with the actuator given, then extra.
func fwGroup(name, actuator, extra string) string {
	return "[[group]]\nname = \"" + name + "\"\nworkers = [\"acct." + name + "-*\"]\nrig_kw = 3.25\nefficiency_j_th = 34.0\nactuator = \"" + actuator + "\"\n" + extra
}

func TestParseFirmwareActuators(t *testing.T) {
	path := policyDir(t)
	dir := filepath.Dir(path)
	src := site +
		fwGroup("am", "antminer", "bind_pools = true\n[group.actuator_options]\npassword_file = \"s19.pass\"\n") +
		fwGroup("bos", "braiins", "[group.actuator_options]\nuser = \"ops\"\npassword_file = \"crlf.pass\"\nport = 8080\ntimeout = \"5s\"\n") +
		fwGroup("lux", "luxos", "bind_pools = true\n") +
		fwGroup("wm", "whatsminer", "[group.actuator_options]\npassword_file = \"sub/whatsminer.pw\"\napi_version = 3\nport = 0\nuser = \"super\"\n") +
		fwGroup("vn", "vnish", "[group.actuator_options]\npassword_file = \""+filepath.Join(dir, "max.pass")+"\"\n") +
		fwGroup("pdu", "webhook", "[group.actuator_options]\nurl = \"https://pdu.example:8443/hook?site=b\"\nsecret_file = \"hook.key\"\ntimeout = \"2s\"\n") +
		fwGroup("mon", "stratum", "monitor = \"luxos\"\nbind_pools = true\n[group.actuator_options]\ntimeout = \"3s\"\n") +
		"[default]\nactuator = \"stratum\"\nmonitor = \"braiins\"\n[default.actuator_options]\npassword_file = \"s19.pass\"\n"
	p, err := ParsePolicy(path, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		firmware string
		monitor  string
		bind     bool
		opts     device.Options
	}{
		"am":      {"antminer", "", true, device.Options{Password: device.NewSecret(password)}},
		"bos":     {"braiins", "", false, device.Options{User: "ops", Password: device.NewSecret(password), Port: 8080, Timeout: 5 * time.Second}},
		"lux":     {"luxos", "", true, device.Options{}},
		"wm":      {"whatsminer", "", false, device.Options{User: "super", Password: device.NewSecret(password), APIVersion: 3}},
		"vn":      {"vnish", "", false, device.Options{Password: device.NewSecret(strings.Repeat("p", MaxCredentialFile))}},
		"pdu":     {"webhook", "", false, device.Options{URL: "https://pdu.example:8443/hook?site=b", Secret: device.NewSecret("k3y-" + password), Timeout: 2 * time.Second}},
		"mon":     {"luxos", "luxos", true, device.Options{Timeout: 3 * time.Second}},
		"default": {"braiins", "braiins", false, device.Options{Password: device.NewSecret(password)}},
	}
	for name, w := range want {
		g := p.Group(name)
		if g == nil {
			t.Errorf("no group %q; want g != nil", name)
			continue
		}
		if g.Firmware() != w.firmware || g.Monitor != w.monitor || g.BindPools != w.bind {
			t.Errorf("group %q: firmware %q, monitor %q, bind_pools %v; want %q, %q, %v", name, g.Firmware(), g.Monitor, g.BindPools, w.firmware, w.monitor, w.bind)
		}
		if g.Device == nil {
			t.Errorf("group %q: Device is nil, want %+v", name, w.opts)
			continue
		}
		if !sameOptions(*g.Device, w.opts) {
			t.Errorf("group %q: Device = %+v (password %q, secret %q), want %+v (password %q, secret %q)", name,
				*g.Device, g.Device.Password.Reveal(), g.Device.Secret.Reveal(), w.opts, w.opts.Password.Reveal(), w.opts.Secret.Reveal())
		}
	}
	// Written options are kept as written: the file path, not the password.
	if got, want := p.Group("bos").ActuatorOptions, map[string]string{"user": "ops", "password_file": "crlf.pass", "port": "8080", "timeout": "5s"}; !reflect.DeepEqual(got, want) {
		t.Errorf("bos ActuatorOptions = %v, want %v", got, want)
	}
	// A stratum group without a monitor has no device options.
	q, err := ParsePolicy(path, []byte(site+group("a", "")))
	if err != nil {
		t.Fatal(err)
	}
	if g := q.Group("a"); g.Device != nil || g.Firmware() != "" || q.Default.Device != nil {
		t.Errorf("stratum group: Device %+v, Firmware %q, default Device %+v; want nil, \"\", nil", g.Device, g.Firmware(), q.Default.Device)
	}
	// Nothing of the policy prints a credential.
	for _, s := range append(p.Diff(nil), fmt.Sprintf("%+v %#v %v", *p, p.Groups, p.Default)) {
		if strings.Contains(s, password) {
			t.Errorf("printing the policy shows the password: %s; want !strings.Contains(s, password)", s)
		}
	}
}

// sameOptions compares options field by field, credentials by value.
func sameOptions(a, b device.Options) bool {
	return a.User == b.User && a.Port == b.Port && a.APIVersion == b.APIVersion && a.Timeout == b.Timeout &&
		a.URL == b.URL && a.Password.Reveal() == b.Password.Reveal() && a.Secret.Reveal() == b.Secret.Reveal()
}

// TestActuatorOptionErrors lists every bad firmware setup with the errors
// it gives ($DIR: the policy's directory). None may show a password.
func TestActuatorOptionErrors(t *testing.T) {
	path := policyDir(t)
	dir := filepath.Dir(path)
	opts := func(actuator, keys string) string {
		return site + fwGroup("a", actuator, "[group.actuator_options]\n"+keys)
	}
	// In opts(...), the table header is on line 8 and its keys from line 9.
	for _, c := range []struct {
		name, src string
		want      []string
	}{
		{"unknown option", opts("antminer", "password_file = \"s19.pass\"\npasword_file = \"x\"\n"),
			[]string{`10:1: unknown key "group[0].actuator_options.pasword_file" (did you mean "password_file"?)`}},
		{"unknown option, far from any", opts("antminer", "password_file = \"s19.pass\"\ncolour = 1\n"),
			[]string{`10:1: unknown key "group[0].actuator_options.colour"; known keys here: user, password_file, port, api_version, timeout, url, secret_file`}},
		{"password inline", opts("braiins", "password = \""+password+"\"\n"),
			[]string{
				`8:1: group[0].actuator_options: password_file is required for the braiins actuator: a file holding the password of its user (root unless user says otherwise), e.g. password_file = "/etc/hashgate/braiins.pass"`,
				`9:1: group[0].actuator_options.password: credentials are not written in the policy; put the password in a file and name it with password_file (secret_file for a webhook's key)`,
			}},
		{"secret inline", opts("webhook", "url = \"https://h/x\"\nsecret_file = \"hook.key\"\nsecret = \""+password+"\"\n"),
			[]string{`11:1: group[0].actuator_options.secret: credentials are not written in the policy; put the password in a file and name it with password_file (secret_file for a webhook's key)`}},
		{"address option", opts("luxos", "address = \"{ip}\"\n"),
			[]string{`9:1: group[0].actuator_options.address: rig addresses are not options: they come from the rig inventory ([switcher] inventory in the config), or are the rig's remote IP`}},
		{"antminer without password", opts("antminer", "user = \"root\"\n"),
			[]string{`8:1: group[0].actuator_options: password_file is required for the antminer actuator: a file holding the password of its web interface's user (root unless user says otherwise), e.g. password_file = "/etc/hashgate/antminer.pass"`}},
		{"whatsminer without password", site + fwGroup("a", "whatsminer", ""),
			[]string{`7:1: group[0].actuator_options: password_file is required for the whatsminer actuator: a file holding the password of the API's account (v2: admin, its one user; v3: super unless user says otherwise; factory password admin, v3 super), e.g. password_file = "/etc/hashgate/whatsminer.pass"`}},
		{"vnish without password", site + fwGroup("a", "vnish", ""),
			[]string{`7:1: group[0].actuator_options: password_file is required for the vnish actuator: a file holding the password of the web interface (VNish asks for the password only, no user; factory password admin), e.g. password_file = "/etc/hashgate/vnish.pass"`}},
		{"options a firmware does not take", opts("vnish", "password_file = \"s19.pass\"\nuser = \"root\"\nurl = \"https://x\"\napi_version = 2\n"),
			[]string{
				`10:1: group[0].actuator_options.user: not an option of the vnish actuator; VNish is unlocked with the password alone; remove it`,
				`11:1: group[0].actuator_options.url: not an option of the vnish actuator; it takes password_file, port, timeout`,
				`12:1: group[0].actuator_options.api_version: not an option of the vnish actuator; it takes password_file, port, timeout`,
			}},
		{"luxos has no credentials", opts("luxos", "user = \"root\"\npassword_file = \"s19.pass\"\n"),
			[]string{
				`9:1: group[0].actuator_options.user: not an option of the luxos actuator; the LuxOS API has no user or password, only sessions (Luxor's docs, firmware/api/sessions); remove it`,
				`10:1: group[0].actuator_options.password_file: not an option of the luxos actuator; the LuxOS API has no user or password, only sessions (Luxor's docs, firmware/api/sessions); remove it`,
			}},
		{"whatsminer user without api v3", opts("whatsminer", "password_file = \"s19.pass\"\nuser = \"super\"\n"),
			[]string{`10:1: group[0].actuator_options.user: whatsminer API v2 has one user, admin; user is for api_version = 3`}},
		{"webhook takes no password or port", opts("webhook", "url = \"http://h/x\"\nsecret_file = \"hook.key\"\npassword_file = \"s19.pass\"\nport = 80\n"),
			[]string{
				`11:1: group[0].actuator_options.password_file: not an option of the webhook actuator; it takes url, secret_file, timeout`,
				`12:1: group[0].actuator_options.port: not an option of the webhook actuator; it takes url, secret_file, timeout`,
			}},
		{"bad values", opts("whatsminer", "password_file = \"s19.pass\"\nuser = \" \"\nport = 65536\napi_version = 1\ntimeout = \"0s\"\n"),
			[]string{
				`10:1: group[0].actuator_options.user: must not be empty (leave it out for the firmware's default user)`,
				`11:1: group[0].actuator_options.port: must be from 1 to 65535, or 0 for the firmware's default, got 65536`,
				`12:1: group[0].actuator_options.api_version: the whatsminer API is version 2 or 3, got 1`,
				`13:1: group[0].actuator_options.timeout: must be greater than 0, got "0s"`,
			}},
		{"wrong types", opts("whatsminer", "password_file = 5\nuser = 1\nport = \"80\"\napi_version = 2.0\ntimeout = 30\n"),
			[]string{
				`9:1: group[0].actuator_options.password_file: expected a string, got integer 5`,
				`10:1: group[0].actuator_options.user: expected a string, got integer 1`,
				`11:1: group[0].actuator_options.port: expected an integer, got string "80"`,
				`12:1: group[0].actuator_options.api_version: expected an integer, got float 2`,
				`13:1: group[0].actuator_options.timeout: expected a duration string such as "30s", got integer 30`,
			}},
		{"negative port", opts("antminer", "password_file = \"s19.pass\"\nport = -1\n"),
			[]string{`10:1: group[0].actuator_options.port: must be from 1 to 65535, or 0 for the firmware's default, got -1`}},
		{"password files that cannot be used", site +
			fwGroup("a", "antminer", "[group.actuator_options]\npassword_file = \"missing.pass\"\n") +
			fwGroup("b", "braiins", "[group.actuator_options]\npassword_file = \"empty.pass\"\n") +
			fwGroup("c", "vnish", "[group.actuator_options]\npassword_file = \"big.pass\"\n") +
			fwGroup("d", "whatsminer", "[group.actuator_options]\npassword_file = \"dir.pass\"\n") +
			fwGroup("e", "antminer", "[group.actuator_options]\npassword_file = \"\"\n") +
			fwGroup("f", "antminer", "[group.actuator_options]\npassword_file = \"/dev/null\"\n"),
			[]string{
				`9:1: group[0].actuator_options.password_file: $DIR/missing.pass: no such file or directory`,
				`17:1: group[1].actuator_options.password_file: $DIR/empty.pass: is empty`,
				`25:1: group[2].actuator_options.password_file: $DIR/big.pass: is 4097 bytes, more than the 4096 a credential file may be; is it the right file?`,
				`33:1: group[3].actuator_options.password_file: $DIR/dir.pass: is not a regular file`,
				`41:1: group[4].actuator_options.password_file: must not be empty; expected the path of a file holding the password`,
				`49:1: group[5].actuator_options.password_file: /dev/null: is not a regular file`,
			}},
		{"webhook without url or secret", opts("webhook", "timeout = \"1s\"\n"),
			[]string{
				`8:1: group[0].actuator_options: url is required for the webhook actuator: where to POST, e.g. url = "https://pdu.example/hook"`,
				`8:1: group[0].actuator_options: secret_file is required for the webhook actuator: a file holding the HMAC-SHA256 key the requests are signed with, e.g. secret_file = "/etc/hashgate/hook.key"`,
			}},
		{"bad webhook urls", site +
			fwGroup("a", "webhook", "[group.actuator_options]\nurl = \"ftp://h/x\"\nsecret_file = \"hook.key\"\n") +
			fwGroup("b", "webhook", "[group.actuator_options]\nurl = \"https://ops:"+password+"@pdu/x\"\nsecret_file = \"hook.key\"\n") +
			fwGroup("c", "webhook", "[group.actuator_options]\nurl = \"https:///x\"\nsecret_file = \"missing.key\"\n") +
			fwGroup("d", "webhook", "[group.actuator_options]\nurl = \"http://pdu:99999/x\"\nsecret_file = \"hook.key\"\n") +
			fwGroup("e", "webhook", "[group.actuator_options]\nurl = \"pdu.example/hook\"\nsecret_file = \"hook.key\"\n"),
			[]string{
				`9:1: group[0].actuator_options.url "ftp://h/x": expected an http:// or https:// URL`,
				`18:1: group[1].actuator_options.url "https://REDACTED@pdu/x": holds credentials, which would be logged; the requests are signed with secret_file`,
				`27:1: group[2].actuator_options.url "https:///x": has no host; expected http:// or https://host/path`,
				`28:1: group[2].actuator_options.secret_file: $DIR/missing.key: no such file or directory`,
				`36:1: group[3].actuator_options.url "http://pdu:99999/x": port is not a number from 1 to 65535`,
				`45:1: group[4].actuator_options.url "pdu.example/hook": expected an http:// or https:// URL`,
			}},

		// Monitors.
		{"stratum with options and no monitor", opts("stratum", "password_file = \"s19.pass\"\n"),
			[]string{`8:1: group[0].actuator_options: the stratum actuator takes no options; remove the table, or set monitor to read the rigs through their firmware's API`}},
		{"monitor without its password", site + fwGroup("a", "stratum", "monitor = \"braiins\"\n"),
			[]string{`8:1: group[0].actuator_options: password_file is required for the braiins actuator: a file holding the password of its user (root unless user says otherwise), e.g. password_file = "/etc/hashgate/braiins.pass"`}},
		{"monitor options the monitor does not take", site + fwGroup("a", "stratum", "monitor = \"luxos\"\n[group.actuator_options]\napi_version = 3\n"),
			[]string{`10:1: group[0].actuator_options.api_version: not an option of the luxos actuator; it takes port, timeout`}},
		{"bad monitors", site +
			fwGroup("a", "stratum", "monitor = \"luxor\"\n[group.actuator_options]\npassword_file = \"s19.pass\"\n") +
			fwGroup("b", "stratum", "monitor = \"webhook\"\n") +
			fwGroup("c", "stratum", "monitor = \"\"\n") +
			fwGroup("d", "antminer", "monitor = \"luxos\"\n[group.actuator_options]\npassword_file = \"s19.pass\"\n") +
			fwGroup("e", "stratum", "monitor = \"cgminer\"\n") +
			fwGroup("f", "stratum", "monitor = 1\n"),
			[]string{
				`8:1: group[0].monitor: unknown firmware "luxor" (did you mean "luxos"?)`,
				`17:1: group[1].monitor: a webhook cannot read a rig; monitor is one of antminer, braiins, luxos, whatsminer, vnish`,
				`24:1: group[2].monitor: must not be empty (leave it out for no monitor)`,
				`31:1: group[3].monitor: a antminer group reads its rigs through its actuator already; monitor is for a stratum group`,
				`40:1: group[4].monitor: unknown firmware "cgminer"; expected one of antminer, braiins, luxos, whatsminer, vnish`,
				`47:1: group[5].monitor: expected a string, got integer 1`,
			}},

		// Pool binding.
		{"bind_pools without a driver that can", site +
			fwGroup("a", "stratum", "bind_pools = true\n") +
			fwGroup("b", "webhook", "bind_pools = true\n[group.actuator_options]\nurl = \"https://h/x\"\nsecret_file = \"hook.key\"\n") +
			fwGroup("c", "vnish", "bind_pools = true\n[group.actuator_options]\npassword_file = \"s19.pass\"\n") + // vnish can
			fwGroup("d", "stratum", "bind_pools = false\n") +
			"[default]\nbind_pools = true\n",
			[]string{
				`8:1: group[0].bind_pools: rewriting the rigs' pool lists needs their firmware's API: set a firmware actuator, or monitor = "<firmware>" with its actuator_options`,
				`15:1: group[1].bind_pools: the webhook driver cannot rewrite a rig's pools; those that can: antminer, braiins, luxos, whatsminer, vnish`,
				`36:1: default.bind_pools: rewriting the rigs' pool lists needs their firmware's API: set a firmware actuator, or monitor = "<firmware>" with its actuator_options`,
			}},

		// [default] the same way.
		{"default firmware options", site + "[default]\nactuator = \"antminer\"\n[default.actuator_options]\npasword_file = \"s19.pass\"\n",
			[]string{
				`4:1: default.actuator_options: password_file is required for the antminer actuator: a file holding the password of its web interface's user (root unless user says otherwise), e.g. password_file = "/etc/hashgate/antminer.pass"`,
				`5:1: unknown key "default.actuator_options.pasword_file" (did you mean "password_file"?)`,
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := ParsePolicy(path, []byte(c.src))
			var es tomlfile.Errors
			if !errors.As(err, &es) {
				t.Fatalf("got %+v, %v; want tomlfile.Errors", p, err)
			}
			var got []string
			for _, e := range es {
				got = append(got, fmt.Sprintf("%d:%d: %s", e.Line, e.Col, strings.ReplaceAll(e.Msg, dir, "$DIR")))
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("errors:\n  got  %s\n  want %s", strings.Join(got, "\n       "), strings.Join(c.want, "\n       "))
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("an error shows the password: %v", err)
			}
		})
	}
}

// TestCredentialFileContentNeverShown: a file that is not a password (a
// key pair, too big; a config, readable) is never quoted.
func TestCredentialFileContentNeverShown(t *testing.T) {
	path := policyDir(t)
	big := filepath.Join(filepath.Dir(path), "id_rsa")
	if err := os.WriteFile(big, []byte("-----BEGIN "+password+strings.Repeat("A", 5000)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := ParsePolicy(path, []byte(site+fwGroup("a", "antminer", "[group.actuator_options]\npassword_file = \"id_rsa\"\n")))
	if err == nil || strings.Contains(err.Error(), password) || strings.Contains(err.Error(), "BEGIN") {
		t.Errorf("error = %v; want a refusal that does not quote the file", err)
	}
}

// A password or secret written inline, even unquoted (a syntax error), is
// never quoted back.
func TestInlineCredentialNeverShown(t *testing.T) {
	path := policyDir(t)
	for _, line := range []string{
		"password = \"" + password + "\"\n",
		"password = " + password + "\n",
		"secret = " + password + "\n",
		"secret = \"" + password + "\"\n",
		"password = 5" + password + "\n",
	} {
		_, err := ParsePolicy(path, []byte(site+fwGroup("a", "webhook", "[group.actuator_options]\n"+line)))
		if err == nil || strings.Contains(err.Error(), password) || strings.Contains(err.Error(), password[:7]) {
			t.Errorf("policy with %q: error %v; want a refusal that does not show the value", line, err)
		}
	}
}

func TestDiffCredentials(t *testing.T) {
	path := policyDir(t)
	pass := filepath.Join(filepath.Dir(path), "s19.pass")
	src := site + fwGroup("a", "antminer", "[group.actuator_options]\npassword_file = \"s19.pass\"\n") +
		fwGroup("m", "stratum", "monitor = \"luxos\"\n") +
		fwGroup("h", "webhook", "[group.actuator_options]\nurl = \"https://h/x?token=abc\"\nsecret_file = \"hook.key\"\n")
	load := func(src string) *Policy {
		t.Helper()
		p, err := ParsePolicy(path, []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	old := load(src)
	if d := load(src).Diff(old); d != nil {
		t.Errorf("same files, Diff = %q", d)
	}
	// The password file's content changes; the policy does not.
	if err := os.WriteFile(pass, []byte("new-"+password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cur := load(src)
	want := []string{`group "a": the password file changed (` + pass + `)`}
	if got := cur.Diff(old); !slices.Equal(got, want) {
		t.Errorf("Diff = %q, want %q", got, want)
	}
	// Actuator, monitor, bind_pools and options changed.
	next := load(site + fwGroup("a", "braiins", "bind_pools = true\n[group.actuator_options]\npassword_file = \"crlf.pass\"\nuser = \"ops\"\n") +
		fwGroup("m", "stratum", "monitor = \"antminer\"\n[group.actuator_options]\npassword_file = \"s19.pass\"\n") +
		fwGroup("h", "webhook", "[group.actuator_options]\nurl = \"https://h/x?token=def\"\nsecret_file = \"hook.key\"\n"))
	want = []string{
		`group "a": actuator "antminer" -> "braiins"`,
		`group "a": bind_pools false -> true`,
		`group "a": actuator_options changed: password_file, user`,
		`group "m": monitor "luxos" -> "antminer"`,
		`group "m": actuator_options changed: password_file`,
		`group "h": actuator_options changed: url`,
	}
	if got := next.Diff(cur); !slices.Equal(got, want) {
		t.Errorf("Diff:\n got %s\nwant %s", strings.Join(quoteAll(got), "\n     "), strings.Join(quoteAll(want), "\n     "))
	}
	for _, line := range append(next.Diff(cur), next.Diff(nil)...) {
		if strings.Contains(line, password) || strings.Contains(line, "token=") {
			t.Errorf("a diff line shows a secret: %s; want !strings.Contains(line, password), !strings.Contains(line, \"token=\")", line)
		}
	}
	// A new group says its monitor and bind_pools.
	added := load(site + fwGroup("z", "stratum", "monitor = \"luxos\"\nbind_pools = true\n"))
	want = []string{`group "z" added: workers ["acct.z-*"], rig_kw 3.25, idle_kw 0.325, efficiency_j_th 34, priority 0, actuator "stratum", monitor "luxos", bind_pools`}
	if got := added.Diff(load(site)); !slices.Equal(got, want) {
		t.Errorf("Diff = %q, want %q", got, want)
	}
}
