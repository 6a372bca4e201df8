package switcher

import (
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashgate/hashgate/config/tomlfile"
)

// Defaults of the policy file, for keys left out. site_capacity_kw has
// none: it is required.
const (
	DefaultMinOff               = 5 * time.Minute
	DefaultMinOn                = 5 * time.Minute
	DefaultReleaseVanishedAfter = 0 // never count a vanished parked rig as off

	// DefaultRampUpFraction is ramp_up_kw_per_min when left out, as a
	// fraction of site_capacity_kw: a tenth of the site a minute, so a fully
	// curtailed site is back in ten minutes (the contract's example, 2000 kW
	// a minute on 20000 kW, is the same ratio).
	DefaultRampUpFraction = 0.1

	// DefaultIdleFraction is a group's idle_kw when left out, as a fraction
	// of its rig_kw. It errs high on purpose: counting a parked rig as
	// drawing more than it does costs a little hashrate, counting it as
	// drawing less can breach the budget.
	DefaultIdleFraction = 0.1

	// The [default] group's values when left out (or when there is no
	// [default] table).
	DefaultRigKW         = 3.0
	DefaultEfficiencyJTH = 30.0
	DefaultActuator      = ActuatorStratum
)

// Keys of the policy file.
var (
	policyKeys = []string{"site_capacity_kw", "reserve_kw", "ramp_up_kw_per_min", "min_off", "min_on",
		"release_vanished_after", "group", "default", "economic"}
	groupKeys = []string{"name", "workers", "rig_kw", "idle_kw", "efficiency_j_th", "priority",
		"actuator", "actuator_options", "pools_bound", "monitor", "bind_pools", "economic"}
)

// LoadPolicy reads and validates the policy file at path. A file that cannot
// be read gives the os error; an invalid one gives tomlfile.Errors.
func LoadPolicy(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParsePolicy(path, data)
}

// ParsePolicy parses and validates a policy file's contents; path names the
// file in errors and is the base of the relative paths in it (credential
// files). An invalid policy is refused whole: the error is then
// tomlfile.Errors, every problem found as FILE:LINE:COL: message, in file
// order.
//
// What is checked: unknown keys and tables (with a "did you mean"), the
// type of every value, kW figures finite and not negative (capacity,
// rig_kw and efficiency_j_th greater than 0), idle_kw not above rig_kw,
// reserve_kw below site_capacity_kw, ramp_up_kw_per_min greater than 0,
// durations well formed and not negative, group names present, unique and
// not "default", each group with at least one well-formed worker glob, and
// an actuator that exists: "stratum" or a firmware actuator (antminer,
// braiins, luxos, whatsminer, vnish, webhook).
//
// A firmware actuator, or a stratum group's monitor (any firmware but
// webhook), takes [group.actuator_options] (or [default.actuator_options]):
// user (antminer, braiins, whatsminer API v3; "" is the firmware's
// default user), password_file (required for antminer, braiins,
// whatsminer and vnish; luxos, whose API has no credentials, takes
// neither),
// port (0 to 65535, 0 the firmware's default), api_version (whatsminer: 2
// or 3), timeout (per call, greater than 0), url (webhook, required: an
// http or https URL without credentials) and secret_file (webhook,
// required: the HMAC key). A key the firmware does not take is refused. The
// credential files are read here, relative to the policy file's directory:
// a regular file of 1 to MaxCredentialFile bytes, its trailing newline
// trimmed; an error about one names its path, never what it holds. The
// result is Group.Device; ActuatorOptions keeps what was written. A stratum
// group without a monitor takes no options. bind_pools needs a firmware
// (actuator or monitor) whose driver rewrites pool lists: antminer,
// braiins, luxos, whatsminer, vnish.
//
// Required: site_capacity_kw, and in each [[group]] name, workers, rig_kw,
// efficiency_j_th and actuator. The rest have defaults: reserve_kw 0,
// ramp_up_kw_per_min a tenth of site_capacity_kw, min_off and min_on 5m,
// release_vanished_after 0s, a group's idle_kw a tenth of its rig_kw and
// priority 0; [default] (itself optional) rig_kw 3.0, efficiency_j_th 30.0,
// actuator "stratum", priority 0; pools_bound false everywhere (a group's
// Stratum-parked rigs are then counted at rig_kw: see Group.PoolsBound);
// no monitor and bind_pools false.
//
// The [economic] table (economic curtailment) and a group's economic key
// are read and checked by policy_economic.go; see EconomicPolicy.
func ParsePolicy(path string, data []byte) (*Policy, error) {
	return parsePolicy(path, filepath.Dir(path), data)
}

// parsePolicy is ParsePolicy with base, the directory relative paths in
// the file are relative to (the policy file's, for its last good copy).
func parsePolicy(path, base string, data []byte) (*Policy, error) {
	name := path
	if name == "" {
		name = "<policy>"
	}
	root, d, err := tomlfile.ParseDocument(name, data)
	if err != nil {
		return nil, err
	}
	d.SetBase(base)
	pd := policyDecoder{d}
	p := pd.policy(root)
	if err := d.Err(); err != nil {
		return nil, err
	}
	p.Path = path
	p.index = newGroupIndex(p.Groups)
	return p, nil
}

type policyDecoder struct {
	*tomlfile.Decoder
}

func (d policyDecoder) policy(root map[string]any) *Policy {
	p := &Policy{
		MinOff:               DefaultMinOff,
		MinOn:                DefaultMinOn,
		ReleaseVanishedAfter: DefaultReleaseVanishedAfter,
	}
	d.Unknown("", root, policyKeys)

	capOK := false
	if _, ok := root["site_capacity_kw"]; !ok {
		d.Errorf("", "site_capacity_kw is required: the power the site may draw, in kW, e.g. site_capacity_kw = 20000.0")
	} else if d.Float(root, "", "site_capacity_kw", &p.SiteCapacityKW) {
		capOK = d.positive("site_capacity_kw", p.SiteCapacityKW)
	}
	if d.Float(root, "", "reserve_kw", &p.ReserveKW) && d.nonNegative("reserve_kw", p.ReserveKW) &&
		capOK && p.ReserveKW >= p.SiteCapacityKW {
		d.Errorf("reserve_kw", "reserve_kw: %s is not below site_capacity_kw (%s); nothing would be left to allocate",
			tomlfile.FormatFloat(p.ReserveKW), tomlfile.FormatFloat(p.SiteCapacityKW))
	}
	if d.Float(root, "", "ramp_up_kw_per_min", &p.RampUpKWPerMin) {
		d.positive("ramp_up_kw_per_min", p.RampUpKWPerMin)
	} else if _, written := root["ramp_up_kw_per_min"]; !written {
		p.RampUpKWPerMin = roundKW(DefaultRampUpFraction * p.SiteCapacityKW)
	}
	d.DurationOrZero(root, "", "min_off", &p.MinOff)
	d.DurationOrZero(root, "", "min_on", &p.MinOn)
	d.DurationOrZero(root, "", "release_vanished_after", &p.ReleaseVanishedAfter)
	d.capPolicy(root, p)

	if v, ok := root["group"]; ok {
		p.Groups = d.groups(v)
	}

	p.Default = Group{
		Name:          DefaultGroupName,
		RigKW:         DefaultRigKW,
		EfficiencyJTH: DefaultEfficiencyJTH,
		Actuator:      DefaultActuator,
	}
	if m, ok := d.Table(root, "", "default"); ok {
		d.group(m, DefaultGroupName, &p.Default, true)
	}
	if !hasKey(root, "default", "idle_kw") {
		p.Default.IdleKW = roundKW(DefaultIdleFraction * p.Default.RigKW)
	}
	d.economic(root, p) // policy_economic.go
	return p
}

func hasKey(root map[string]any, table, key string) bool {
	t, ok := root[table].(map[string]any)
	if !ok {
		return false
	}
	_, ok = t[key]
	return ok
}

func (d policyDecoder) groups(v any) []Group {
	tables := d.Tables("group", v, "[[group]]")
	out := make([]Group, 0, len(tables))
	byName := make(map[string]string) // name -> path
	for i, m := range tables {
		if m == nil {
			continue
		}
		gp := tomlfile.Index("group", i)
		var g Group
		if _, ok := m["name"]; !ok {
			d.Errorf(gp, `%s: name is required, e.g. name = "s19-hall-b"`, gp)
		} else if d.Str(m, gp, "name", &g.Name) {
			switch {
			case strings.TrimSpace(g.Name) == "":
				d.Errorf(gp+".name", "%s.name: must not be empty", gp)
			case strings.EqualFold(g.Name, DefaultGroupName):
				d.Errorf(gp+".name", `%s.name: %q is reserved for the rigs that match no group; set their keys in [default], or name this group otherwise`, gp, g.Name)
			default:
				if other, dup := byName[g.Name]; dup {
					d.Errorf(gp+".name", "%s: duplicate group name %q (also %s); group names must be unique", gp, g.Name, other)
				} else {
					byName[g.Name] = gp
				}
			}
		}
		d.group(m, gp, &g, false)
		out = append(out, g)
	}
	return out
}

// group reads the keys a [[group]] and [default] share (and, for a
// [[group]], workers) into g. gp is the table's path.
func (d policyDecoder) group(m map[string]any, gp string, g *Group, isDefault bool) {
	if isDefault {
		for _, k := range []string{"name", "workers"} {
			if _, ok := m[k]; ok {
				d.Errorf(tomlfile.Join(gp, k), "%s.%s: the default group has no %s; it holds every rig that matches no [[group]]", gp, k, k)
			}
		}
		rest := maps.Clone(m)
		delete(rest, "name")
		delete(rest, "workers")
		d.Unknown(gp, rest, groupKeys[2:])
	} else {
		d.Unknown(gp, m, groupKeys)
		g.Workers = d.workers(m, gp)
	}

	required := func(key, example string) bool {
		if _, ok := m[key]; ok || isDefault {
			return true
		}
		d.Errorf(gp, "%s: %s is required, e.g. %s", gp, key, example)
		return false
	}
	rigOK := isDefault // the default's default rig_kw is valid
	if required("rig_kw", "rig_kw = 3.25 (the draw of one rig while mining, in kW)") &&
		d.Float(m, gp, "rig_kw", &g.RigKW) {
		rigOK = d.positive(gp+".rig_kw", g.RigKW)
	}
	if d.Float(m, gp, "idle_kw", &g.IdleKW) {
		if d.nonNegative(gp+".idle_kw", g.IdleKW) && rigOK && g.IdleKW > g.RigKW {
			d.Errorf(gp+".idle_kw", "%s.idle_kw: %s is above rig_kw (%s); a parked rig draws less than a mining one",
				gp, tomlfile.FormatFloat(g.IdleKW), tomlfile.FormatFloat(g.RigKW))
		}
	} else if _, written := m["idle_kw"]; !written && !isDefault {
		g.IdleKW = roundKW(DefaultIdleFraction * g.RigKW)
	}
	if required("efficiency_j_th", "efficiency_j_th = 34.0") && d.Float(m, gp, "efficiency_j_th", &g.EfficiencyJTH) {
		d.positive(gp+".efficiency_j_th", g.EfficiencyJTH)
	}
	d.Integer(m, gp, "priority", &g.Priority)
	actuatorOK := isDefault // the default's default actuator is valid
	if required("actuator", `actuator = "stratum"`) && d.Str(m, gp, "actuator", &g.Actuator) {
		actuatorOK = d.actuator(gp+".actuator", g.Actuator)
	}
	d.Bool(m, gp, "pools_bound", &g.PoolsBound)
	d.groupEconomic(m, gp, g) // policy_economic.go
	d.actuatorSetup(m, gp, g, actuatorOK)
}

func (d policyDecoder) workers(m map[string]any, gp string) []string {
	wp := gp + ".workers"
	v, ok := m["workers"]
	if !ok {
		d.Errorf(gp, `%s: workers is required: globs on the worker names of the group's rigs, e.g. workers = ["acct.s19-*"]`, gp)
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		d.TypeErr(wp, `an array of worker globs such as ["acct.s19-*"]`, v)
		return nil
	}
	if len(list) == 0 {
		d.Errorf(wp, `%s: is empty, so the group would hold no rig; list the worker globs of its rigs, e.g. ["acct.s19-*"]`, wp)
		return nil
	}
	out := make([]string, 0, len(list))
	for i, e := range list {
		ep := tomlfile.Index(wp, i)
		s, ok := e.(string)
		switch {
		case !ok:
			d.TypeErr(ep, `a worker glob string such as "acct.s19-*"`, e)
		case s == "":
			d.Errorf(ep, "%s: must not be empty", ep)
		case validGlob(s) != nil:
			d.Errorf(ep, `%s: %q is not a valid glob (%v); '*' matches any run of characters, '?' one, [a-z] a class, \ escapes`, ep, s, validGlob(s))
		default:
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

func (d policyDecoder) actuator(path, name string) bool {
	if name == ActuatorStratum || slices.Contains(firmwareActuators, name) {
		return true
	}
	all := append([]string{ActuatorStratum}, firmwareActuators...)
	if s := tomlfile.Suggest(name, all); s != "" {
		d.Errorf(path, "%s: unknown actuator %q (did you mean %q?)", path, name, s)
	} else {
		d.Errorf(path, "%s: unknown actuator %q; expected one of %s", path, name, strings.Join(all, ", "))
	}
	return false
}

// roundKW rounds a derived figure to the watt's thousandth, so that a
// default such as a tenth of 3.0 is 0.3, not 0.30000000000000004.
func roundKW(v float64) float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return v
	}
	return math.Round(v*1e6) / 1e6
}

// positive checks that v, at path, is finite and greater than 0.
func (d policyDecoder) positive(path string, v float64) bool {
	if v > 0 && !math.IsInf(v, 0) {
		return true
	}
	d.Errorf(path, "%s: must be a finite number greater than 0, got %s", path, tomlfile.FormatFloat(v))
	return false
}

// nonNegative checks that v, at path, is finite and 0 or more.
func (d policyDecoder) nonNegative(path string, v float64) bool {
	if v >= 0 && !math.IsInf(v, 0) {
		return true
	}
	d.Errorf(path, "%s: must be a finite number, 0 or more, got %s", path, tomlfile.FormatFloat(v))
	return false
}

// GroupFor returns the group of the rig named rigName: the first [[group]]
// in file order with a worker glob matching the name, else the default
// group. It never returns nil. A policy from ParsePolicy has its globs
// compiled (exact names in a map, the others tried in order with a literal
// prefix checked first); a Policy built in code is compiled on each call, so
// call Compile on it first if it serves many rigs. Callers that look up the
// same names again and again may cache the answer per policy.
func (p *Policy) GroupFor(rigName string) *Group {
	x := p.index
	if x == nil {
		x = newGroupIndex(p.Groups)
	}
	if i := x.find(rigName); i >= 0 {
		return &p.Groups[i]
	}
	return &p.Default
}

// Compile prepares the lookup GroupFor uses, for a Policy built in code
// (ParsePolicy does it). The groups must not change afterwards.
func (p *Policy) Compile() {
	p.index = newGroupIndex(p.Groups)
}

// Group returns the group named name (DefaultGroupName for the default
// group), or nil.
func (p *Policy) Group(name string) *Group {
	if name == DefaultGroupName {
		return &p.Default
	}
	for i := range p.Groups {
		if p.Groups[i].Name == name {
			return &p.Groups[i]
		}
	}
	return nil
}

// Summary is a one-line description of the policy for logs and `check`.
func (p *Policy) Summary() string {
	names := make([]string, len(p.Groups))
	for i := range p.Groups {
		names[i] = p.Groups[i].Name
	}
	groups := "no groups, only default"
	if len(names) > 0 {
		groups = fmt.Sprintf("%d groups (%s) and default", len(names), strings.Join(names, ", "))
	}
	return fmt.Sprintf("site %s kW, reserve %s kW, ramp up %s kW/min, min_off %v, min_on %v, %s",
		kw(p.SiteCapacityKW), kw(p.ReserveKW), kw(p.RampUpKWPerMin), p.MinOff, p.MinOn, groups)
}

// Diff lists what changed from old to p, one human-readable line per change,
// for the logs and the audit log: the site figures, each group added or
// removed, each field of a group that changed (actuator, monitor,
// bind_pools; actuator_options by key only, as a webhook URL may hold a
// token; a password or secret file whose content changed under the same
// path, by its path, told by a salted fingerprint of the content, never
// the content), and the order of the groups, which decides which group a
// rig falls in. Nothing changed gives nil. A nil old gives one
// line, "policy loaded: " and the Summary.
func (p *Policy) Diff(old *Policy) []string {
	if old == nil {
		return []string{"policy loaded: " + p.Summary()}
	}
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if old.Path != p.Path {
		add("path %s -> %s", old.Path, p.Path)
	}
	for _, f := range []struct {
		key      string
		old, new float64
	}{
		{"site_capacity_kw", old.SiteCapacityKW, p.SiteCapacityKW},
		{"reserve_kw", old.ReserveKW, p.ReserveKW},
		{"ramp_up_kw_per_min", old.RampUpKWPerMin, p.RampUpKWPerMin},
	} {
		if f.old != f.new {
			add("%s %s -> %s", f.key, kw(f.old), kw(f.new))
		}
	}
	for _, f := range []struct {
		key      string
		old, new time.Duration
	}{
		{"min_off", old.MinOff, p.MinOff},
		{"min_on", old.MinOn, p.MinOn},
		{"release_vanished_after", old.ReleaseVanishedAfter, p.ReleaseVanishedAfter},
	} {
		if f.old != f.new {
			add("%s %v -> %v", f.key, f.old, f.new)
		}
	}

	out = append(out, p.Cap.diff(&old.Cap)...)
	oldNames, newNames := groupNames(old.Groups), groupNames(p.Groups)
	for i := range old.Groups {
		if !slices.Contains(newNames, old.Groups[i].Name) {
			add("group %q removed", old.Groups[i].Name)
		}
	}
	for i := range p.Groups {
		g := &p.Groups[i]
		o := old.Group(g.Name)
		if o == nil {
			add("group %q added: %s", g.Name, describeGroup(g))
			continue
		}
		out = append(out, diffGroup(o, g)...)
	}
	out = append(out, diffGroup(&old.Default, &p.Default)...)
	out = append(out, diffEconomic(&old.Economic, &p.Economic)...) // policy_economic.go

	// The relative order of the groups kept, which decides first matches.
	var keptOld, keptNew []string
	for _, n := range oldNames {
		if slices.Contains(newNames, n) {
			keptOld = append(keptOld, n)
		}
	}
	for _, n := range newNames {
		if slices.Contains(oldNames, n) {
			keptNew = append(keptNew, n)
		}
	}
	if !slices.Equal(keptOld, keptNew) {
		add("group order %s -> %s", strings.Join(keptOld, ", "), strings.Join(keptNew, ", "))
	}
	return out
}

func groupNames(gs []Group) []string {
	out := make([]string, len(gs))
	for i := range gs {
		out[i] = gs[i].Name
	}
	return out
}

func describeGroup(g *Group) string {
	s := fmt.Sprintf("workers %s, rig_kw %s, idle_kw %s, efficiency_j_th %s, priority %d, actuator %q",
		quoteList(g.Workers), kw(g.RigKW), kw(g.IdleKW), kw(g.EfficiencyJTH), g.Priority, g.Actuator)
	if g.Monitor != "" {
		s += fmt.Sprintf(", monitor %q", g.Monitor)
	}
	if len(g.ActuatorOptions) > 0 {
		s += ", actuator_options " + strings.Join(slices.Sorted(maps.Keys(g.ActuatorOptions)), ", ")
	}
	if g.PoolsBound {
		s += ", pools_bound"
	}
	if g.BindPools {
		s += ", bind_pools"
	}
	if g.EconomicExempt {
		s += ", economic = false"
	}
	return s
}

func diffGroup(o, g *Group) []string {
	var out []string
	add := func(key, from, to string) {
		out = append(out, fmt.Sprintf("group %q: %s %s -> %s", g.Name, key, from, to))
	}
	if !slices.Equal(o.Workers, g.Workers) {
		add("workers", quoteList(o.Workers), quoteList(g.Workers))
	}
	for _, f := range []struct {
		key      string
		old, new float64
	}{
		{"rig_kw", o.RigKW, g.RigKW},
		{"idle_kw", o.IdleKW, g.IdleKW},
		{"efficiency_j_th", o.EfficiencyJTH, g.EfficiencyJTH},
	} {
		if f.old != f.new {
			add(f.key, kw(f.old), kw(f.new))
		}
	}
	if o.Priority != g.Priority {
		add("priority", strconv.Itoa(o.Priority), strconv.Itoa(g.Priority))
	}
	if o.Actuator != g.Actuator {
		add("actuator", strconv.Quote(o.Actuator), strconv.Quote(g.Actuator))
	}
	if o.Monitor != g.Monitor {
		add("monitor", strconv.Quote(o.Monitor), strconv.Quote(g.Monitor))
	}
	if o.PoolsBound != g.PoolsBound {
		add("pools_bound", strconv.FormatBool(o.PoolsBound), strconv.FormatBool(g.PoolsBound))
	}
	if o.BindPools != g.BindPools {
		add("bind_pools", strconv.FormatBool(o.BindPools), strconv.FormatBool(g.BindPools))
	}
	if o.EconomicExempt != g.EconomicExempt {
		add("economic", strconv.FormatBool(!o.EconomicExempt), strconv.FormatBool(!g.EconomicExempt))
	}
	var changed []string
	for _, k := range slices.Sorted(maps.Keys(g.ActuatorOptions)) {
		if v, ok := o.ActuatorOptions[k]; !ok || v != g.ActuatorOptions[k] {
			changed = append(changed, k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(o.ActuatorOptions)) {
		if _, ok := g.ActuatorOptions[k]; !ok {
			changed = append(changed, k)
		}
	}
	if len(changed) > 0 {
		slices.Sort(changed)
		out = append(out, fmt.Sprintf("group %q: actuator_options changed: %s", g.Name, strings.Join(changed, ", ")))
	}
	// A credential file that holds something else under the same name:
	// said by its path, never by what it holds.
	for _, k := range slices.Sorted(maps.Keys(g.credentials)) {
		if oc, ok := o.credentials[k]; ok && oc.path == g.credentials[k].path && oc.sum != g.credentials[k].sum {
			out = append(out, fmt.Sprintf("group %q: the %s file changed (%s)", g.Name, credentialWord(k), g.credentials[k].path))
		}
	}
	return out
}

// credentialWord names what an option's file holds, for Diff.
func credentialWord(key string) string {
	if key == "secret_file" {
		return "webhook secret"
	}
	return "password"
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// kw formats a figure in kW (or J/TH) as the policy file writes it.
func kw(f float64) string { return tomlfile.FormatFloat(f) }
