package switcher

import (
	"errors"
	"fmt"
	"os"
	pathpkg "path"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/config/tomlfile"
)

// site is the one required top-level key, on line 1.
const site = "site_capacity_kw = 1000.0\n"

// group is a valid [[group]] of 7 lines whose header is on the line it is
// placed at; extra lines go after its keys.
func group(name, extra string) string {
	return "[[group]]\nname = \"" + name + "\"\nworkers = [\"acct." + name + "-*\"]\nrig_kw = 3.25\nefficiency_j_th = 34.0\npriority = 10\nactuator = \"stratum\"\n" + extra
}

// TestParsePolicyErrors lists bad policies and every error each must give,
// as "LINE:COL: message" (the file name is checked separately).
func TestParsePolicyErrors(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []string
	}{
		// Syntax, required and unknown keys.
		{"syntax error", "site_capacity_kw = \n",
			[]string{`1:20: expected value but found '\n' instead`}},
		{"duplicate key", site + "site_capacity_kw = 5.0\n",
			[]string{`2:1: Key 'site_capacity_kw' has already been defined.`}},
		{"empty file", "",
			[]string{`1:1: site_capacity_kw is required: the power the site may draw, in kW, e.g. site_capacity_kw = 20000.0`}},
		{"no capacity", "reserve_kw = 10.0\n",
			[]string{`1:1: site_capacity_kw is required: the power the site may draw, in kW, e.g. site_capacity_kw = 20000.0`}},
		{"unknown key", site + "reserv_kw = 5.0\n",
			[]string{`2:1: unknown key "reserv_kw" (did you mean "reserve_kw"?)`}},
		{"unknown key, no near match", site + "colour = \"blue\"\n",
			[]string{`2:1: unknown key "colour"; known keys here: site_capacity_kw, reserve_kw, ramp_up_kw_per_min, min_off, min_on, release_vanished_after, group, default, economic, site_cap_kw, safe_budget_kw, cap_dead_band_kw, cap_hold_up, failsafe_after, failsafe_hold, heartbeat_timeout`}},
		{"groups for group", site + "[[groups]]\nname = \"a\"\n",
			[]string{`2:1: unknown key "groups" (did you mean "group"?)`}},
		{"unknown table", site + "[defaults]\nrig_kw = 3.0\n",
			[]string{`2:1: unknown table [defaults] (did you mean "default"?)`}},
		{"unknown key in a group", site + group("a", "rig_watts = 3250\n"),
			[]string{`9:1: unknown key "group[0].rig_watts"; known keys here: name, workers, rig_kw, idle_kw, efficiency_j_th, priority, actuator, actuator_options, pools_bound, monitor, bind_pools, economic`}},
		{"misspelt key in the second group", site + group("a", "") + group("b", "priorty = 3\n"),
			[]string{`16:1: unknown key "group[1].priorty" (did you mean "priority"?)`}},

		// Types.
		{"string capacity", "site_capacity_kw = \"lots\"\n",
			[]string{`1:1: site_capacity_kw: expected a number, got string "lots"`}},
		{"wrong types at the top", site + "reserve_kw = true\nramp_up_kw_per_min = \"fast\"\nmin_on = 5\n",
			[]string{
				`2:1: reserve_kw: expected a number, got boolean true`,
				`3:1: ramp_up_kw_per_min: expected a number, got string "fast"`,
				`4:1: min_on: expected a duration string such as "30s", got integer 5`,
			}},
		{"wrong types in a group", site + "[[group]]\nname = 7\nworkers = \"acct.*\"\nrig_kw = \"3kW\"\nidle_kw = [0.1]\nefficiency_j_th = {a = 1}\npriority = 1.5\nactuator = true\n",
			[]string{
				`3:1: group[0].name: expected a string, got integer 7`,
				`4:1: group[0].workers: expected an array of worker globs such as ["acct.s19-*"], got string "acct.*"`,
				`5:1: group[0].rig_kw: expected a number, got string "3kW"`,
				`6:1: group[0].idle_kw: expected a number, got an array`,
				`7:1: group[0].efficiency_j_th: expected a number, got a table`,
				`8:1: group[0].priority: expected an integer, got float 1.5`,
				`9:1: group[0].actuator: expected a string, got boolean true`,
			}},
		{"pools_bound not a boolean", site + group("a", "pools_bound = \"yes\"\n") + "[default]\npools_bound = 1\n",
			[]string{
				`9:1: group[0].pools_bound: expected true or false, got string "yes"`,
				`11:1: default.pools_bound: expected true or false, got integer 1`,
			}},
		{"group is not an array of tables", site + "group = 5\n",
			[]string{`2:1: group: expected an array of tables ([[group]]), got integer 5`}},
		{"group is a table", site + "[group]\nname = \"a\"\n",
			[]string{`2:1: group: expected an array of tables ([[group]]), got a table`}},
		{"group array with a non-table", site + "group = [5]\n",
			[]string{`2:10: group[0]: expected a table, got integer 5`}},
		{"default is not a table", site + "default = \"stratum\"\n",
			[]string{`2:1: default: expected a table ([default]), got string "stratum"`}},
		{"worker globs of the wrong type", site + "[[group]]\nname = \"a\"\nworkers = [\"ok-*\", 5, \"\"]\nrig_kw = 3.0\nefficiency_j_th = 30.0\nactuator = \"stratum\"\n",
			[]string{
				`4:20: group[0].workers[1]: expected a worker glob string such as "acct.s19-*", got integer 5`,
				`4:23: group[0].workers[2]: must not be empty`,
			}},
		{"options for the stratum actuator", site + group("a", "[group.actuator_options]\naddress = 5\n"),
			[]string{
				`9:1: group[0].actuator_options: the stratum actuator takes no options; remove the table, or set monitor to read the rigs through their firmware's API`,
			}},

		// Figures.
		{"negative, zero and non-finite kW", "site_capacity_kw = -1.0\nreserve_kw = nan\nramp_up_kw_per_min = 0\n",
			[]string{
				`1:1: site_capacity_kw: must be a finite number greater than 0, got -1`,
				`2:1: reserve_kw: must be a finite number, 0 or more, got nan`,
				`3:1: ramp_up_kw_per_min: must be a finite number greater than 0, got 0`,
			}},
		{"infinite capacity", "site_capacity_kw = inf\n",
			[]string{`1:1: site_capacity_kw: must be a finite number greater than 0, got inf`}},
		{"bad group figures", site + "[[group]]\nname = \"a\"\nworkers = [\"a*\"]\nrig_kw = inf\nidle_kw = -0.1\nefficiency_j_th = 0\nactuator = \"stratum\"\n",
			[]string{
				`5:1: group[0].rig_kw: must be a finite number greater than 0, got inf`,
				`6:1: group[0].idle_kw: must be a finite number, 0 or more, got -0.1`,
				`7:1: group[0].efficiency_j_th: must be a finite number greater than 0, got 0`,
			}},
		{"idle above rig", site + group("a", "idle_kw = 3.5\n"),
			[]string{`9:1: group[0].idle_kw: 3.5 is above rig_kw (3.25); a parked rig draws less than a mining one`}},
		{"default idle above its default rig_kw", site + "[default]\nidle_kw = 4\n",
			[]string{`3:1: default.idle_kw: 4 is above rig_kw (3); a parked rig draws less than a mining one`}},
		{"reserve equal to capacity", site + "reserve_kw = 1000\n",
			[]string{`2:1: reserve_kw: 1000 is not below site_capacity_kw (1000); nothing would be left to allocate`}},
		{"reserve above capacity", "reserve_kw = 2000.5\n" + site,
			[]string{`1:1: reserve_kw: 2000.5 is not below site_capacity_kw (1000); nothing would be left to allocate`}},

		// Durations.
		{"bad durations", site + "min_off = \"5\"\nmin_on = \"-1m\"\nrelease_vanished_after = \"soon\"\n",
			[]string{
				`2:1: min_off: invalid duration "5": expected a number with a unit, such as "30s", "5m" or "1h30m"`,
				`3:1: min_on: must not be negative, got "-1m"`,
				`4:1: release_vanished_after: invalid duration "soon": expected a number with a unit, such as "30s", "5m" or "1h30m"`,
			}},

		// Group names.
		{"group without a name", site + "[[group]]\nworkers = [\"a*\"]\nrig_kw = 3.0\nefficiency_j_th = 30.0\nactuator = \"stratum\"\n",
			[]string{`2:1: group[0]: name is required, e.g. name = "s19-hall-b"`}},
		{"empty group name", site + group(" ", ""),
			[]string{`3:1: group[0].name: must not be empty`}},
		{"duplicate group names", site + group("a", "") + group("b", "") + group("a", ""),
			[]string{`17:1: group[2]: duplicate group name "a" (also group[0]); group names must be unique`}},
		{"group named default", site + group("default", "") + group("Default", ""),
			[]string{
				`3:1: group[0].name: "default" is reserved for the rigs that match no group; set their keys in [default], or name this group otherwise`,
				`10:1: group[1].name: "Default" is reserved for the rigs that match no group; set their keys in [default], or name this group otherwise`,
			}},

		// Workers.
		{"group without workers", site + "[[group]]\nname = \"a\"\nrig_kw = 3.0\nefficiency_j_th = 30.0\nactuator = \"stratum\"\n",
			[]string{`2:1: group[0]: workers is required: globs on the worker names of the group's rigs, e.g. workers = ["acct.s19-*"]`}},
		{"group with an empty workers list", site + "[[group]]\nname = \"a\"\nworkers = []\nrig_kw = 3.0\nefficiency_j_th = 30.0\nactuator = \"stratum\"\n",
			[]string{`4:1: group[0].workers: is empty, so the group would hold no rig; list the worker globs of its rigs, e.g. ["acct.s19-*"]`}},
		{"bad globs", site + "[[group]]\nname = \"a\"\nworkers = [\n  \"acct.s19-*\",\n  \"acct.[s19\",\n  'acct.s9\\',\n  \"[]x\",\n]\nrig_kw = 3.0\nefficiency_j_th = 30.0\nactuator = \"stratum\"\n",
			[]string{
				`6:3: group[0].workers[1]: "acct.[s19" is not a valid glob (syntax error in pattern); '*' matches any run of characters, '?' one, [a-z] a class, \ escapes`,
				`7:3: group[0].workers[2]: "acct.s9\\" is not a valid glob (syntax error in pattern); '*' matches any run of characters, '?' one, [a-z] a class, \ escapes`,
				`8:3: group[0].workers[3]: "[]x" is not a valid glob (syntax error in pattern); '*' matches any run of characters, '?' one, [a-z] a class, \ escapes`,
			}},

		// Required group keys.
		{"group with only name and workers", site + "[[group]]\nname = \"a\"\nworkers = [\"a*\"]\n",
			[]string{
				`2:1: group[0]: rig_kw is required, e.g. rig_kw = 3.25 (the draw of one rig while mining, in kW)`,
				`2:1: group[0]: efficiency_j_th is required, e.g. efficiency_j_th = 34.0`,
				`2:1: group[0]: actuator is required, e.g. actuator = "stratum"`,
			}},

		// Actuators.
		{"unknown actuator", site + "[[group]]\nname = \"a\"\nworkers = [\"a*\"]\nrig_kw = 3.0\nefficiency_j_th = 30.0\nactuator = \"ssh\"\n",
			[]string{`7:1: group[0].actuator: unknown actuator "ssh"; expected one of stratum, antminer, braiins, luxos, whatsminer, vnish, webhook`}},
		{"misspelt actuator", site + "[default]\nactuator = \"whatsminner\"\n",
			[]string{`3:1: default.actuator: unknown actuator "whatsminner" (did you mean "whatsminer"?)`}},
		{"firmware actuator without options", site + "[[group]]\nname = \"a\"\nworkers = [\"a*\"]\nrig_kw = 3.0\nefficiency_j_th = 30.0\nactuator = \"braiins\"\n",
			[]string{`7:1: group[0].actuator_options: password_file is required for the braiins actuator: a file holding the password of its user (root unless user says otherwise), e.g. password_file = "/etc/hashgate/braiins.pass"`}},
		{"webhook in default without options", site + "[default]\nactuator = \"webhook\"\n",
			[]string{
				`3:1: default.actuator_options: url is required for the webhook actuator: where to POST, e.g. url = "https://pdu.example/hook"`,
				`3:1: default.actuator_options: secret_file is required for the webhook actuator: a file holding the HMAC-SHA256 key the requests are signed with, e.g. secret_file = "/etc/hashgate/hook.key"`,
			}},

		// [default].
		{"default with name and workers", site + "[default]\nname = \"rest\"\nworkers = [\"*\"]\nrig_w = 3000\n",
			[]string{
				`3:1: default.name: the default group has no name; it holds every rig that matches no [[group]]`,
				`4:1: default.workers: the default group has no workers; it holds every rig that matches no [[group]]`,
				`5:1: unknown key "default.rig_w" (did you mean "rig_kw"?)`,
			}},
		{"bad default figures", site + "[default]\nrig_kw = 0\nefficiency_j_th = -30\npriority = \"high\"\n",
			[]string{
				`3:1: default.rig_kw: must be a finite number greater than 0, got 0`,
				`4:1: default.efficiency_j_th: must be a finite number greater than 0, got -30`,
				`5:1: default.priority: expected an integer, got string "high"`,
			}},

		// Everything at once: every error is reported, in file order.
		{"many errors", `site_capacity_kw = 500
reserve_kw = 500
min_off = "five minutes"

[[group]]
name = "s19"
workers = ["acct.s19-*", "acct.[s19"]
rig_kw = 3.25
idle_kw = 4.0
efficiency_j_th = 34.0
actuator = "antminer"

[[group]]
name = "s19"
workers = []
rig_kw = -3
efficiency_j_th = 34.0
actuator = "stratum"
colour = "red"

[default]
workers = ["*"]
actuator = "luxos"
bind_pools = "yes"
`,
			[]string{
				`2:1: reserve_kw: 500 is not below site_capacity_kw (500); nothing would be left to allocate`,
				`3:1: min_off: invalid duration "five minutes": expected a number with a unit, such as "30s", "5m" or "1h30m"`,
				`7:26: group[0].workers[1]: "acct.[s19" is not a valid glob (syntax error in pattern); '*' matches any run of characters, '?' one, [a-z] a class, \ escapes`,
				`9:1: group[0].idle_kw: 4 is above rig_kw (3.25); a parked rig draws less than a mining one`,
				`11:1: group[0].actuator_options: password_file is required for the antminer actuator: a file holding the password of its web interface's user (root unless user says otherwise), e.g. password_file = "/etc/hashgate/antminer.pass"`,
				`14:1: group[1]: duplicate group name "s19" (also group[0]); group names must be unique`,
				`15:1: group[1].workers: is empty, so the group would hold no rig; list the worker globs of its rigs, e.g. ["acct.s19-*"]`,
				`16:1: group[1].rig_kw: must be a finite number greater than 0, got -3`,
				`19:1: unknown key "group[1].colour"; known keys here: name, workers, rig_kw, idle_kw, efficiency_j_th, priority, actuator, actuator_options, pools_bound, monitor, bind_pools, economic`,
				`22:1: default.workers: the default group has no workers; it holds every rig that matches no [[group]]`,
				`24:1: default.bind_pools: expected true or false, got string "yes"`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join("etc", "hashgate", "policy.toml")
			p, err := ParsePolicy(path, []byte(tt.input))
			if err == nil {
				t.Fatalf("ParsePolicy accepted the policy: %+v", p)
			}
			if p != nil {
				t.Errorf("ParsePolicy returned a policy along with errors")
			}
			var errs tomlfile.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error is %T, want tomlfile.Errors: %v", err, err)
			}
			var got []string
			for _, e := range errs {
				if e.File != path {
					t.Errorf("error names file %q, want %q", e.File, path)
				}
				got = append(got, fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n  got  %s\n  want %s", strings.Join(got, "\n       "), strings.Join(tt.want, "\n       "))
			}
			// The error text is one FILE:LINE:COL: message line per problem.
			lines := strings.Split(err.Error(), "\n")
			for i, l := range lines {
				if i < len(tt.want) && l != path+":"+tt.want[i] {
					t.Errorf("error line %d = %q, want %q", i, l, path+":"+tt.want[i])
				}
			}
		})
	}
}

func TestLoadPolicyMissingFile(t *testing.T) {
	_, err := LoadPolicy(filepath.Join(t.TempDir(), "nope.toml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("LoadPolicy of a missing file: %v, want os.ErrNotExist", err)
	}
}

func TestParseFullPolicy(t *testing.T) {
	p, err := LoadPolicy("testdata/full.toml")
	if err != nil {
		t.Fatal(err)
	}
	want := &Policy{
		Path:                 "testdata/full.toml",
		SiteCapacityKW:       20000,
		ReserveKW:            250,
		RampUpKWPerMin:       1500.5,
		MinOff:               10 * time.Minute,
		MinOn:                150 * time.Second,
		ReleaseVanishedAfter: time.Hour,
		Groups: []Group{
			{Name: "s21-hall-a", Workers: []string{"acct.s21-*", "acct.spare-7"}, RigKW: 3.5, IdleKW: 0.1,
				EfficiencyJTH: 17.5, Priority: 20, Actuator: "stratum"},
			{Name: "s19-hall-b", Workers: []string{"acct.s19-*"}, RigKW: 3.25, IdleKW: 0.12,
				EfficiencyJTH: 34, Priority: 10, Actuator: "stratum", PoolsBound: true},
			{Name: "old-s9", Workers: []string{"s9.rack[0-9]-?", "legacy.*"}, RigKW: 1.3, IdleKW: 0.13,
				EfficiencyJTH: 98, Priority: -5, Actuator: "stratum"},
		},
		Default: Group{Name: "default", RigKW: 3.1, IdleKW: 0.2, EfficiencyJTH: 29.5, Priority: 1, Actuator: "stratum", PoolsBound: true},
		Cap:     CapPolicy{HoldUp: DefaultCapHoldUp, FailsafeHold: DefaultFailsafeHold},
	}
	want.index = p.index
	if p.index == nil {
		t.Error("ParsePolicy did not compile the group index")
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("policy:\n got %+v\nwant %+v", p, want)
	}
}

func TestPolicyDefaults(t *testing.T) {
	p, err := ParsePolicy("p.toml", []byte(site+group("a", "")))
	if err != nil {
		t.Fatal(err)
	}
	if p.ReserveKW != 0 || p.RampUpKWPerMin != 100 || p.MinOff != 5*time.Minute || p.MinOn != 5*time.Minute ||
		p.ReleaseVanishedAfter != 0 {
		t.Errorf("top-level defaults: %+v", p)
	}
	g := p.Groups[0]
	if g.IdleKW != 0.325 || g.Priority != 10 || g.ActuatorOptions != nil {
		t.Errorf("group defaults: %+v", g)
	}
	wantDefault := Group{Name: "default", RigKW: 3, IdleKW: 0.3, EfficiencyJTH: 30, Actuator: "stratum"}
	if !reflect.DeepEqual(p.Default, wantDefault) {
		t.Errorf("default group:\n got %+v\nwant %+v", p.Default, wantDefault)
	}
	if s := p.Summary(); s != "site 1000 kW, reserve 0 kW, ramp up 100 kW/min, min_off 5m0s, min_on 5m0s, 1 groups (a) and default" {
		t.Errorf("Summary = %q", s)
	}

	// A [default] with rig_kw only: idle follows it.
	p, err = ParsePolicy("p.toml", []byte(site+"[default]\nrig_kw = 1.5\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Default.IdleKW != 0.15 || p.Default.RigKW != 1.5 || p.Default.Priority != 0 || len(p.Groups) != 0 {
		t.Errorf("default group = %+v", p.Default)
	}
	if s := p.Summary(); !strings.HasSuffix(s, "no groups, only default") {
		t.Errorf("Summary = %q", s)
	}

	// Zero durations, integers for floats, idle 0, an empty options table.
	p, err = ParsePolicy("p.toml", []byte("site_capacity_kw = 800\nmin_off = \"0s\"\nmin_on = \"0s\"\n"+
		group("a", "idle_kw = 0\n[group.actuator_options]\n")))
	if err != nil {
		t.Fatal(err)
	}
	if p.SiteCapacityKW != 800 || p.RampUpKWPerMin != 80 || p.MinOff != 0 || p.MinOn != 0 || p.Groups[0].IdleKW != 0 {
		t.Errorf("policy = %+v", p)
	}
}

func TestGroupFor(t *testing.T) {
	p, err := ParsePolicy("p.toml", []byte(site+`
[[group]]
name = "pinned"
workers = ["acct.s19-007", "other.rig"]
rig_kw = 3.25
efficiency_j_th = 34
actuator = "stratum"

[[group]]
name = "s19"
workers = ["acct.s19-*", "acct.s19j-[0-9][0-9]"]
rig_kw = 3.25
efficiency_j_th = 34
actuator = "stratum"

[[group]]
name = "s19-again"
workers = ["acct.s19-1*", "other.rig", "exact.late"]
rig_kw = 3.25
efficiency_j_th = 34
actuator = "stratum"

[[group]]
name = "shadowing-exact"
workers = ["exact.*"]
rig_kw = 3.25
efficiency_j_th = 34
actuator = "stratum"

[[group]]
name = "everything-dotted"
workers = ["*.*.*", "x?z", "esc\\*", "hall[^a]"]
rig_kw = 3.25
efficiency_j_th = 34
actuator = "stratum"
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ rig, group string }{
		{"acct.s19-007", "pinned"}, // exact name, first group
		{"other.rig", "pinned"},    // exact in two groups: the first wins
		{"acct.s19-001", "s19"},    // glob
		{"acct.s19-1", "s19"},      // also matches s19-again's glob: first wins
		{"acct.s19-", "s19"},       // * matches nothing
		{"acct.s19-a.b/c", "s19"},  // * matches dots and slashes
		{"acct.s19j-42", "s19"},    // a class
		{"acct.s19j-4", "default"},
		{"exact.late", "s19-again"}, // exact, before a later group's glob
		{"exact.other", "shadowing-exact"},
		{"a.b.c", "everything-dotted"}, // *.* over several dots
		{"xyz", "everything-dotted"},   // ?
		{"esc*", "everything-dotted"},  // escaped star is literal
		{"escX", "default"},            // ... and nothing else
		{"hallb", "everything-dotted"}, // negated class
		{"halla", "default"},
		{"ACCT.S19-001", "default"}, // case-sensitive
		{"", "default"},
		{"nodot", "default"},
	} {
		if got := p.GroupFor(tt.rig).Name; got != tt.group {
			t.Errorf("GroupFor(%q) = %q, want %q", tt.rig, got, tt.group)
		}
	}
	if p.GroupFor("nodot") != &p.Default {
		t.Error("GroupFor does not return the policy's own default group")
	}
	if g := p.Group("s19"); g == nil || g != p.GroupFor("acct.s19-1") {
		t.Errorf("Group(s19) = %v", g)
	}
	if p.Group("default") != &p.Default || p.Group("nope") != nil {
		t.Error("Group(default) or Group(nope) wrong")
	}

	// An exact name listed after a glob of an earlier group matching it: the
	// earlier group wins.
	p2, err := ParsePolicy("p.toml", []byte(site+group("a", "")+"[[group]]\nname = \"b\"\nworkers = [\"acct.a-1\"]\nrig_kw = 1.0\nefficiency_j_th = 30.0\nactuator = \"stratum\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := p2.GroupFor("acct.a-1").Name; got != "a" {
		t.Errorf("GroupFor(acct.a-1) = %q, want a (the glob of the earlier group)", got)
	}

	// A Policy built in code works without Compile, and the same with it.
	built := &Policy{Groups: []Group{{Name: "x", Workers: []string{"r-*"}}}, Default: Group{Name: "default"}}
	if built.GroupFor("r-1").Name != "x" || built.GroupFor("q").Name != "default" {
		t.Error("GroupFor on an uncompiled policy")
	}
	built.Compile()
	if built.GroupFor("r-1").Name != "x" || built.GroupFor("q").Name != "default" {
		t.Error("GroupFor on a compiled policy")
	}
}

// TestMatchGlobLikePathMatch checks the glob matcher against path.Match on
// names without '/', where the two must agree.
func TestMatchGlobLikePathMatch(t *testing.T) {
	patterns := []string{"*", "a*", "*a", "a*b", "a*b*c", "?", "a?c", "[abc]", "[^abc]", "[a-c]x", "[^a-c]*",
		`\*`, `a\?`, `\[`, "**", "a**b", "*.*", "a.*.c", "[\\]]", "[é]", "?é"}
	names := []string{"", "a", "b", "ab", "abc", "a.b.c", "acb", "axb", "a*", "a?", "*", "[", "]", "é", "xé", "aé", "-", "a.x.c", "aaab", "abcabc"}
	for _, pat := range patterns {
		if err := validGlob(pat); err != nil {
			t.Errorf("validGlob(%q) = %v", pat, err)
			continue
		}
		for _, name := range names {
			want, _ := pathpkg.Match(pat, name)
			if got := matchGlob(pat, name); got != want {
				t.Errorf("matchGlob(%q, %q) = %v, path.Match says %v", pat, name, got, want)
			}
			g := compileGlob(0, pat)
			if got := g.match(name); got != want {
				t.Errorf("compiled %q on %q = %v, path.Match says %v", pat, name, got, want)
			}
		}
	}
}

func TestDiff(t *testing.T) {
	old, err := ParsePolicy("p.toml", []byte(site+group("a", "")+group("b", "")+group("c", "[group.actuator_options]\n")))
	if err != nil {
		t.Fatal(err)
	}
	if d := old.Diff(old); d != nil {
		t.Errorf("Diff with itself = %q", d)
	}
	if d := old.Diff(nil); len(d) != 1 || !strings.HasPrefix(d[0], "policy loaded: site 1000 kW") {
		t.Errorf("Diff(nil) = %q", d)
	}
	cur, err := ParsePolicy("p.toml", []byte("site_capacity_kw = 900\nreserve_kw = 50\nramp_up_kw_per_min = 90\nmin_on = \"1m\"\nrelease_vanished_after = \"30m\"\n"+
		group("c", "idle_kw = 0.5\npools_bound = true\n")+
		"[[group]]\nname = \"a\"\nworkers = [\"acct.a-*\", \"acct.a2-*\"]\nrig_kw = 3.5\nefficiency_j_th = 30\npriority = 11\nactuator = \"stratum\"\n"+
		group("d", "pools_bound = true\n")+
		"[default]\nrig_kw = 2.5\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"site_capacity_kw 1000 -> 900",
		"reserve_kw 0 -> 50",
		"ramp_up_kw_per_min 100 -> 90",
		"min_on 5m0s -> 1m0s",
		"release_vanished_after 0s -> 30m0s",
		`group "b" removed`,
		`group "c": idle_kw 0.325 -> 0.5`,
		`group "c": pools_bound false -> true`,
		`group "a": workers ["acct.a-*"] -> ["acct.a-*", "acct.a2-*"]`,
		`group "a": rig_kw 3.25 -> 3.5`,
		`group "a": idle_kw 0.325 -> 0.35`,
		`group "a": efficiency_j_th 34 -> 30`,
		`group "a": priority 10 -> 11`,
		`group "d" added: workers ["acct.d-*"], rig_kw 3.25, idle_kw 0.325, efficiency_j_th 34, priority 10, actuator "stratum", pools_bound`,
		`group "default": rig_kw 3 -> 2.5`,
		`group "default": idle_kw 0.3 -> 0.25`,
		"group order a, c -> c, a",
	}
	if got := cur.Diff(old); !reflect.DeepEqual(got, want) {
		t.Errorf("Diff:\n got %s\nwant %s", strings.Join(quoteAll(got), "\n     "), strings.Join(quoteAll(want), "\n     "))
	}

	// Actuator options are named, never shown.
	o := &Policy{Default: Group{Name: "default", ActuatorOptions: map[string]string{"user": "root", "password": "a", "gone": "x"}}}
	n := &Policy{Default: Group{Name: "default", ActuatorOptions: map[string]string{"user": "root", "password": "b", "address": "{ip}"}}}
	if got := n.Diff(o); !reflect.DeepEqual(got, []string{`group "default": actuator_options changed: address, gone, password`}) {
		t.Errorf("options Diff = %q", got)
	}
}

func quoteAll(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = strconv.Quote(s)
	}
	return out
}

func TestExamplePolicy(t *testing.T) {
	p, err := LoadPolicy("../examples/policy.toml")
	if err != nil {
		t.Fatal(err)
	}
	if p.SiteCapacityKW <= 0 || len(p.Groups) < 3 {
		t.Errorf("example policy: %s", p.Summary())
	}
	// The site keys its comments call defaults are the loader's defaults.
	for _, c := range []struct {
		key       string
		got, want any
	}{
		{"min_off", p.MinOff, DefaultMinOff},
		{"min_on", p.MinOn, DefaultMinOn},
		{"release_vanished_after", p.ReleaseVanishedAfter, time.Duration(DefaultReleaseVanishedAfter)},
		{"ramp_up_kw_per_min", p.RampUpKWPerMin, roundKW(DefaultRampUpFraction * p.SiteCapacityKW)},
		{"cap_hold_up", p.Cap.HoldUp, DefaultCapHoldUp},
		{"failsafe_hold", p.Cap.FailsafeHold, DefaultFailsafeHold},
		{"failsafe_after", p.Cap.FailsafeAfter, time.Duration(0)},
		{"heartbeat_timeout", p.Cap.HeartbeatTimeout, time.Duration(0)},
	} {
		if c.got != c.want {
			t.Errorf("example %s = %v, want the default %v", c.key, c.got, c.want)
		}
	}
	// Every key the loader knows is written in the example, in a group or
	// in [default].
	data, err := os.ReadFile("../examples/policy.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range policyKeys {
		if !regexp.MustCompile(`(?m)^(\[\[?)?` + k + `\b`).Match(data) {
			t.Errorf("example does not set %s", k)
		}
	}
	for _, k := range groupKeys {
		// The firmware keys need a password file: shown commented out.
		if k == "actuator_options" || k == "monitor" || k == "bind_pools" {
			if !regexp.MustCompile(`(?m)^#.*\b` + k + `\b`).Match(data) {
				t.Errorf("example does not show group key %s, even commented out", k)
			}
			continue
		}
		if !strings.Contains(string(data), "\n"+k+" =") {
			t.Errorf("example does not set group key %s", k)
		}
	}
}

// BenchmarkGroupFor looks up 50,000 rigs in a policy of 100 groups, with
// globs and exact names, most rigs in the last groups or in none.
func BenchmarkGroupFor(b *testing.B) {
	var src strings.Builder
	src.WriteString(site)
	for i := range 100 {
		fmt.Fprintf(&src, "[[group]]\nname = \"g%d\"\nworkers = [\"acct.hall%d-*\", \"acct.r%d-[0-9]?x\", \"acct.pinned-%d\"]\nrig_kw = 3.0\nefficiency_j_th = 30.0\nactuator = \"stratum\"\n", i, i, i, i)
	}
	p, err := ParsePolicy("p.toml", []byte(src.String()))
	if err != nil {
		b.Fatal(err)
	}
	rigs := make([]string, 50000)
	for i := range rigs {
		switch i % 3 {
		case 0:
			rigs[i] = fmt.Sprintf("acct.hall%d-%d", 90+i%10, i)
		case 1:
			rigs[i] = fmt.Sprintf("acct.pinned-%d", i%100)
		default:
			rigs[i] = fmt.Sprintf("other.rig-%d", i)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		for _, r := range rigs {
			if p.GroupFor(r) == nil {
				b.Fatal("nil group")
			}
		}
	}
}

// FuzzParsePolicy checks that no input makes ParsePolicy panic, that every
// error has a position, and that a policy it accepts answers GroupFor.
func FuzzParsePolicy(f *testing.F) {
	for _, name := range []string{"testdata/full.toml", "../examples/policy.toml"} {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data, "acct.s19-001")
		}
	}
	f.Add([]byte(site+group("a", "[group.actuator_options]\nx = 1\n")), "acct.a-1")
	f.Add([]byte(site+"[[group]]\nworkers = [\"[\", \"*\\\\\", \"a*b?[^c]\"]\n"), "ab")
	f.Add([]byte(site+fwGroup("a", "antminer", "bind_pools = true\n[group.actuator_options]\npassword_file = \"x.pass\"\nport = 80\n")+
		fwGroup("m", "stratum", "monitor = \"luxos\"\n")+"[default]\nactuator = \"webhook\"\n[default.actuator_options]\nurl = \"https://h/x\"\nsecret_file = \"k\"\n"), "acct.a-1")
	f.Fuzz(func(t *testing.T, data []byte, rig string) {
		p, err := ParsePolicy("fuzz.toml", data)
		if err == nil {
			if p == nil {
				t.Fatal("nil policy without error")
			}
			if g := p.GroupFor(rig); g == nil {
				t.Fatal("GroupFor returned nil")
			}
			p.Diff(p)
			return
		}
		var errs tomlfile.Errors
		if errors.As(err, &errs) {
			for _, e := range errs {
				if e.Line < 1 || e.Col < 1 || e.File != "fuzz.toml" {
					t.Fatalf("error without a position: %v", e)
				}
			}
		}
	})
}

// FuzzMatchGlob checks the glob matcher against path.Match on names and
// patterns without '/', where the two must agree.
func FuzzMatchGlob(f *testing.F) {
	f.Add("acct.s19-*", "acct.s19-007")
	f.Add("a*b?[^c]", "aXbYd")
	f.Add(`[\]a-c]*\*`, "b.x*")
	f.Fuzz(func(t *testing.T, pattern, name string) {
		if strings.Contains(pattern, "/") || strings.Contains(name, "/") || validGlob(pattern) != nil {
			return
		}
		want, _ := pathpkg.Match(pattern, name)
		if got := matchGlob(pattern, name); got != want {
			t.Fatalf("matchGlob(%q, %q) = %v, path.Match says %v", pattern, name, got, want)
		}
		g := compileGlob(0, pattern)
		if got := g.match(name); got != want {
			t.Fatalf("compiled %q on %q = %v, path.Match says %v", pattern, name, got, want)
		}
	})
}
