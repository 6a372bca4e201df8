package switcher

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashgate/hashgate/config/tomlfile"
	"github.com/hashgate/hashgate/switcher/device"
)

// MaxCredentialFile bounds a password_file or secret_file: a password or a
// key is a line, so a larger file is the wrong file (a key pair, a log).
const MaxCredentialFile = 4 << 10

// optionKeys are the keys of [group.actuator_options].
var optionKeys = []string{"user", "password_file", "port", "api_version", "timeout", "url", "secret_file"}

// firmwareSpec is what the policy knows of one firmware actuator: which
// options it takes and needs. The drivers themselves are elsewhere
// (switcher/antminer, ...); the policy only checks that a group gives its
// driver what it needs.
type firmwareSpec struct {
	keys         []string // the options it takes
	needPassword bool     // password_file is required
	users        string   // how the firmware names users, for the password hint ("" when it has none)
	poolRewrite  bool     // its driver reads and rewrites the rig's pool list (bind_pools)
}

var firmwares = map[string]firmwareSpec{
	// Bitmain stock firmware: HTTP digest auth on the web interface,
	// default user root (switcher/antminer DefaultUser).
	"antminer": {keys: []string{"user", "password_file", "port", "timeout"}, needPassword: true,
		users: `its web interface's user (root unless user says otherwise)`, poolRewrite: true},
	// Braiins OS REST API: login with user and password, default root
	// (switcher/braiins DefaultUser).
	"braiins": {keys: []string{"user", "password_file", "port", "timeout"}, needPassword: true,
		users: `its user (root unless user says otherwise)`, poolRewrite: true},
	// LuxOS TCP API: no user and no password, only sessions (Luxor's docs,
	// firmware/api/sessions; switcher/luxos doc.go): nothing to give.
	"luxos": {keys: []string{"port", "timeout"}, poolRewrite: true},
	// MicroBT API v2 (one user, admin: its password keys the token) and
	// v3 (account super unless user says otherwise); switcher/whatsminer
	// doc.go. The driver falls back on the factory passwords; the policy
	// asks for the file all the same, so that a rig is never driven with
	// a default by mistake.
	"whatsminer": {keys: []string{"user", "password_file", "port", "api_version", "timeout"}, needPassword: true,
		users: `the API's account (v2: admin, its one user; v3: super unless user says otherwise; factory password admin, v3 super)`, poolRewrite: true},
	// VNish web API: unlocked with the password alone (switcher/vnish
	// doc.go; factory password admin); pools rewritten through its
	// settings.
	"vnish": {keys: []string{"password_file", "port", "timeout"}, needPassword: true,
		users: `the web interface (VNish asks for the password only, no user; factory password admin)`, poolRewrite: true},
	// A signed JSON POST: where, and the HMAC-SHA256 key.
	"webhook": {keys: []string{"url", "secret_file", "timeout"}},
}

// notTaken says why a firmware does not take an option, where the reason
// is worth more than the list of those it takes.
func notTaken(fw, key string) string {
	switch {
	case fw == "luxos" && (key == "password_file" || key == "user"):
		return "the LuxOS API has no user or password, only sessions (Luxor's docs, firmware/api/sessions); remove it"
	case fw == "vnish" && key == "user":
		return "VNish is unlocked with the password alone; remove it"
	}
	return ""
}

// credentialSalt keys the fingerprints of credential files, so that a
// fingerprint is worth nothing outside this process.
var credentialSalt = func() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}()

// fingerprint identifies a credential's value without holding it.
func fingerprint(secret string) [sha256.Size]byte {
	h := sha256.New()
	h.Write(credentialSalt)
	h.Write([]byte(secret))
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// actuatorSetup reads a group's actuator, monitor, bind_pools and
// actuator_options (after actuator itself has been read into g).
func (d policyDecoder) actuatorSetup(m map[string]any, gp string, g *Group, actuatorOK bool) {
	monitorRefused := false
	if d.Str(m, gp, "monitor", &g.Monitor) {
		monitorRefused = !d.monitor(gp+".monitor", g)
	} else if _, written := m["monitor"]; written {
		monitorRefused = true
	}
	opts, hasOpts := d.Table(m, gp, "actuator_options")
	op := gp + ".actuator_options"
	// The firmware the options are for: the actuator's, or the monitor's.
	fw := g.Actuator
	if g.Monitor != "" {
		fw = g.Monitor
	}
	spec, isFirmware := firmwares[fw]
	switch {
	case !actuatorOK:
		// Refused already; the options cannot be judged.
	case monitorRefused:
		// The options are for a monitor that was refused.
	case isFirmware:
		// A required option left out is reported at the table, or at
		// the key naming the firmware when there is no table.
		at := op
		if !hasOpts {
			at = gp + ".actuator"
			if g.Monitor != "" {
				at = gp + ".monitor"
			}
		}
		g.Device = d.options(opts, op, at, fw, spec, g)
	case hasOpts && len(opts) > 0:
		d.Errorf(op, "%s: the stratum actuator takes no options; remove the table, or set monitor to read the rigs through their firmware's API", op)
	}
	if hasOpts {
		g.ActuatorOptions = writtenOptions(opts)
	}
	if d.Bool(m, gp, "bind_pools", &g.BindPools) && g.BindPools && actuatorOK && !monitorRefused {
		switch {
		case !isFirmware:
			d.Errorf(gp+".bind_pools", `%s.bind_pools: rewriting the rigs' pool lists needs their firmware's API: set a firmware actuator, or monitor = "<firmware>" with its actuator_options`, gp)
		case !spec.poolRewrite:
			d.Errorf(gp+".bind_pools", "%s.bind_pools: the %s driver cannot rewrite a rig's pools; those that can: %s", gp, fw, strings.Join(poolRewriters(), ", "))
		}
	}
}

func poolRewriters() []string {
	var out []string
	for _, name := range firmwareActuators {
		if firmwares[name].poolRewrite {
			out = append(out, name)
		}
	}
	return out
}

// monitor checks a group's monitor: a firmware read for a stratum group.
// A monitor refused is cleared.
func (d policyDecoder) monitor(path string, g *Group) bool {
	switch {
	case g.Monitor == "":
		d.Errorf(path, "%s: must not be empty (leave it out for no monitor)", path)
	case g.Actuator != ActuatorStratum && slices.Contains(firmwareActuators, g.Actuator):
		d.Errorf(path, "%s: a %s group reads its rigs through its actuator already; monitor is for a stratum group", path, g.Actuator)
	case g.Monitor == "webhook":
		d.Errorf(path, "%s: a webhook cannot read a rig; monitor is one of %s", path, strings.Join(firmwareActuators[:5], ", "))
	case !slices.Contains(firmwareActuators, g.Monitor):
		if s := tomlfile.Suggest(g.Monitor, firmwareActuators); s != "" {
			d.Errorf(path, "%s: unknown firmware %q (did you mean %q?)", path, g.Monitor, s)
		} else {
			d.Errorf(path, "%s: unknown firmware %q; expected one of %s", path, g.Monitor, strings.Join(firmwareActuators[:5], ", "))
		}
	default:
		return true
	}
	g.Monitor = "" // refused: nothing downstream reads it
	return false
}

// writtenOptions is actuator_options as written, for Diff and Summary:
// file paths, never the credentials they hold.
func writtenOptions(opts map[string]any) map[string]string {
	out := make(map[string]string, len(opts))
	for k, v := range opts {
		switch v := v.(type) {
		case string:
			out[k] = v
		case int64:
			out[k] = strconv.FormatInt(v, 10)
		default:
			out[k] = fmt.Sprint(v)
		}
	}
	return out
}

// options reads the actuator_options of firmware fw (nil opts: none
// written) into device options, reading the credential files.
func (d policyDecoder) options(opts map[string]any, op, at, fw string, spec firmwareSpec, g *Group) *device.Options {
	o := &device.Options{}
	if opts == nil {
		opts = map[string]any{}
	}
	d.unknownOption(op, opts)
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		if slices.Contains(optionKeys, k) && !slices.Contains(spec.keys, k) {
			why := "it takes " + strings.Join(spec.keys, ", ")
			if r := notTaken(fw, k); r != "" {
				why = r
			}
			d.Errorf(tomlfile.Join(op, k), "%s.%s: not an option of the %s actuator; %s", op, k, fw, why)
		}
	}
	take := func(k string) bool { return slices.Contains(spec.keys, k) }
	if take("user") && d.Str(opts, op, "user", &o.User) && strings.TrimSpace(o.User) == "" {
		d.Errorf(op+".user", "%s.user: must not be empty (leave it out for the firmware's default user)", op)
	}
	if take("port") && d.Integer(opts, op, "port", &o.Port) && (o.Port < 0 || o.Port > 65535) {
		d.Errorf(op+".port", "%s.port: must be from 1 to 65535, or 0 for the firmware's default, got %d", op, o.Port)
	}
	if take("api_version") && d.Integer(opts, op, "api_version", &o.APIVersion) && o.APIVersion != 2 && o.APIVersion != 3 {
		d.Errorf(op+".api_version", "%s.api_version: the whatsminer API is version 2 or 3, got %d", op, o.APIVersion)
	}
	if fw == "whatsminer" && strings.TrimSpace(o.User) != "" && (o.APIVersion == 0 || o.APIVersion == 2) {
		d.Errorf(op+".user", "%s.user: whatsminer API v2 has one user, admin; user is for api_version = 3", op)
	}
	if take("timeout") {
		var t time.Duration
		if d.Duration(opts, op, "timeout", &t) {
			o.Timeout = t
		}
	}
	if take("password_file") {
		if _, ok := opts["password_file"]; ok {
			if s, ok := d.credentialFile(opts, op, "password_file", "password", g); ok {
				o.Password = device.NewSecret(s)
			}
		} else if spec.needPassword {
			d.Errorf(at, "%s: password_file is required for the %s actuator: a file holding the password of %s, e.g. password_file = \"/etc/hashgate/%s.pass\"",
				op, fw, spec.users, fw)
		}
	}
	if fw == "webhook" {
		d.webhook(opts, op, at, o, g)
	}
	return o
}

// unknownOption is Unknown for actuator_options, with a word for the
// address that older drafts of the policy put there.
func (d policyDecoder) unknownOption(op string, opts map[string]any) {
	rest := maps.Clone(opts)
	if _, ok := opts["address"]; ok {
		d.Errorf(op+".address", `%s.address: rig addresses are not options: they come from the rig inventory ([switcher] inventory in the config), or are the rig's remote IP`, op)
		delete(rest, "address")
	}
	// A credential written inline: named by its key, never its value.
	for _, k := range []string{"password", "pass", "secret", "key", "token"} {
		if _, ok := opts[k]; ok {
			d.Errorf(op+"."+k, "%s.%s: credentials are not written in the policy; put the password in a file and name it with password_file (secret_file for a webhook's key)", op, k)
			delete(rest, k)
		}
	}
	d.Unknown(op, rest, optionKeys)
}

// webhook reads the webhook's url and secret_file (both required).
func (d policyDecoder) webhook(opts map[string]any, op, at string, o *device.Options, g *Group) {
	if _, ok := opts["url"]; !ok {
		d.Errorf(at, `%s: url is required for the webhook actuator: where to POST, e.g. url = "https://pdu.example/hook"`, op)
	} else if d.Str(opts, op, "url", &o.URL) {
		if err := checkWebhookURL(o.URL); err != nil {
			d.Errorf(op+".url", "%s.url %q: %v", op, tomlfile.RedactURL(o.URL), err)
		}
	}
	if _, ok := opts["secret_file"]; !ok {
		d.Errorf(at, `%s: secret_file is required for the webhook actuator: a file holding the HMAC-SHA256 key the requests are signed with, e.g. secret_file = "/etc/hashgate/hook.key"`, op)
	} else if s, ok := d.credentialFile(opts, op, "secret_file", "key", g); ok {
		o.Secret = device.NewSecret(s)
	}
}

func checkWebhookURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return errors.New("is not a URL; expected http:// or https://host/path")
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("expected an http:// or https:// URL")
	case u.Host == "" || u.Hostname() == "":
		return errors.New("has no host; expected http:// or https://host/path")
	case u.User != nil:
		return errors.New("holds credentials, which would be logged; the requests are signed with secret_file")
	case u.Port() != "":
		if n, err := strconv.Atoi(u.Port()); err != nil || n < 1 || n > 65535 {
			return errors.New("port is not a number from 1 to 65535")
		}
	}
	return nil
}

// credentialFile reads the file named at opts[key] (resolved against the
// policy file's directory): what it holds, without its trailing newline.
// what names the credential in errors ("password"). An error never holds
// the file's content; its fingerprint is kept in g for Diff.
func (d policyDecoder) credentialFile(opts map[string]any, op, key, what string, g *Group) (string, bool) {
	kp := op + "." + key
	var name string
	if !d.Str(opts, op, key, &name) {
		return "", false
	}
	if strings.TrimSpace(name) == "" {
		d.Errorf(kp, "%s: must not be empty; expected the path of a file holding the %s", kp, what)
		return "", false
	}
	path := d.Resolve(name)
	secret, err := readCredential(path)
	if err != nil {
		d.Errorf(kp, "%s: %s: %v", kp, path, err)
		return "", false
	}
	if g.credentials == nil {
		g.credentials = make(map[string]credentialSum)
	}
	g.credentials[key] = credentialSum{path: path, sum: fingerprint(secret)}
	return secret, true
}

// readCredential reads a credential file: a regular file (so that a FIFO
// or a device cannot hang or flood the load) of 1 to MaxCredentialFile
// bytes, not counting its trailing newline. Its errors never hold its
// content.
func readCredential(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", unwrapPath(err)
	}
	if !fi.Mode().IsRegular() {
		return "", errors.New("is not a regular file")
	}
	if fi.Size() == 0 {
		// Not opened: some kernel files (procfs) say 0 bytes and block
		// when read.
		return "", errors.New("is empty")
	}
	if fi.Size() > MaxCredentialFile {
		return "", fmt.Errorf("is %d bytes, more than the %d a credential file may be; is it the right file?", fi.Size(), MaxCredentialFile)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", unwrapPath(err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxCredentialFile+1))
	if err != nil {
		return "", unwrapPath(err)
	}
	if len(b) > MaxCredentialFile {
		return "", fmt.Errorf("is more than the %d bytes a credential file may be; is it the right file?", MaxCredentialFile)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", errors.New("is empty")
	}
	return s, nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// credentialSum is a credential file's path and its value's fingerprint.
type credentialSum struct {
	path string
	sum  [sha256.Size]byte
}
