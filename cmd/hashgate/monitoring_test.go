package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/apitest"
	"github.com/hashgate/hashgate/internal/sim"
)

// The monitoring bundle (deploy/grafana/hashgate.json and
// deploy/prometheus/alerts.yml) may only query what hashgate exports. The
// names and labels are taken from a running site's /metrics, so a metric
// renamed or a label dropped in api/ fails here, not on a site's blank
// dashboard.

// family is one metric family of an exposition: its type and the label
// names and values its samples carry.
type family struct {
	typ    string
	labels map[string]map[string]bool
}

// Labels every query may use: Prometheus adds them at scrape time.
var targetLabels = map[string]bool{"instance": true, "job": true}

var (
	sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+`)
	labelPair  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)=("(?:[^"\\]|\\.)*")`)
)

// parseExposition reads Prometheus's text format.
func parseExposition(t *testing.T, text string) map[string]*family {
	t.Helper()
	fams := map[string]*family{}
	for _, l := range strings.Split(text, "\n") {
		if f := strings.Fields(l); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			fams[f[2]] = &family{typ: f[3], labels: map[string]map[string]bool{}}
			continue
		}
		m := sampleLine.FindStringSubmatch(l)
		if m == nil || strings.HasPrefix(l, "#") {
			continue
		}
		fam := fams[m[1]]
		if fam == nil {
			for _, suf := range []string{"_bucket", "_sum", "_count"} {
				if f := fams[strings.TrimSuffix(m[1], suf)]; f != nil && strings.HasSuffix(m[1], suf) {
					fam = f
				}
			}
		}
		if fam == nil {
			t.Fatalf("/metrics: sample %q has no # TYPE line; want fam != nil", l)
		}
		for _, p := range labelPair.FindAllStringSubmatch(m[2], -1) {
			var v string
			if err := json.Unmarshal([]byte(p[2]), &v); err != nil {
				v = p[2]
			}
			if fam.labels[p[1]] == nil {
				fam.labels[p[1]] = map[string]bool{}
			}
			fam.labels[p[1]][v] = true
		}
	}
	return fams
}

// lookup finds a series name's family (a histogram's _bucket, _sum and
// _count included); le is a label of _bucket only.
func lookup(fams map[string]*family, name string) (*family, bool) {
	if f, ok := fams[name]; ok {
		return f, true
	}
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		if f, ok := fams[strings.TrimSuffix(name, suf)]; ok && strings.HasSuffix(name, suf) && (f.typ == "histogram" || f.typ == "summary") {
			return f, true
		}
	}
	return nil, false
}

// siteMetrics runs a site (switcher, two pools so the per-pair series
// exist, miners sending bad shares) and returns its /metrics families.
func siteMetrics(t *testing.T) map[string]*family {
	t.Helper()
	site := apitest.Start(t, apitest.Options{Policy: apitest.TwoHallPolicy, Backup: true})
	fleet, err := sim.StartFleet(sim.FleetConfig{Addr: site.Proxy.Addr().String(), Miners: 4, ShareInterval: 20 * time.Millisecond, BadFraction: 1, BadEvery: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer fleet.Close()
	var text string
	get := func() string {
		resp, err := http.Get(site.API.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	sim.WaitFor(t, 15*time.Second, "rejected shares (hashgate_shares_rejected_total{) in /metrics", func() (bool, any) {
		text = get()
		return strings.Contains(text, "hashgate_shares_rejected_total{"), text
	})
	return parseExposition(t, text)
}

var (
	selectorRE = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}`)
	matcherRE  = regexp.MustCompile(`^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*")\s*$`)
	groupingRE = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)`)
	stringRE   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	hashgateRE = regexp.MustCompile(`\bhashgate_[a-zA-Z0-9_:]*`)
	labelValRE = regexp.MustCompile(`^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$`)
)

// checkExpr reports every metric, label and literal label value in a
// PromQL expression that the exposition does not have.
func checkExpr(fams map[string]*family, expr string) []string {
	var bad []string
	named := map[string]*family{}
	missing := map[string]bool{}
	for _, s := range selectorRE.FindAllStringSubmatch(expr, -1) {
		name, body := s[1], s[2]
		if name == "up" { // Prometheus's own, per target
			continue
		}
		f, ok := lookup(fams, name)
		if !ok {
			bad = append(bad, "metric "+name+" is not exported")
			missing[name] = true
			continue
		}
		named[name] = f
		for _, m := range strings.Split(body, ",") {
			if strings.TrimSpace(m) == "" {
				continue
			}
			mm := matcherRE.FindStringSubmatch(m)
			if mm == nil {
				bad = append(bad, "cannot read matcher "+m+" of "+name)
				continue
			}
			key, op := mm[1], mm[2]
			var val string
			_ = json.Unmarshal([]byte(mm[3]), &val)
			values, has := f.labels[key]
			switch {
			case targetLabels[key]:
			case !has && !(key == "le" && strings.HasSuffix(name, "_bucket")):
				bad = append(bad, name+" has no label "+key)
			case op == "=" && !strings.Contains(val, "$") && !values[val]:
				bad = append(bad, name+"{"+key+"} is never "+mm[3])
			}
		}
	}
	// Names outside selectors (hashgate_connections < ...), strings dropped.
	bare := stringRE.ReplaceAllString(expr, `""`)
	for _, name := range hashgateRE.FindAllString(bare, -1) {
		if f, ok := lookup(fams, name); ok {
			named[name] = f
		} else if !missing[name] {
			bad = append(bad, "metric "+name+" is not exported")
			missing[name] = true
		}
	}
	// by (...) and the like name labels one of the expression's metrics has.
	for _, g := range groupingRE.FindAllStringSubmatch(bare, -1) {
		for _, l := range strings.Split(g[1], ",") {
			l = strings.TrimSpace(l)
			if l == "" || targetLabels[l] {
				continue
			}
			found := false
			for _, f := range named {
				_, has := f.labels[l]
				found = found || has
			}
			if !found {
				bad = append(bad, "no metric of the expression has label "+l+" (grouping by it)")
			}
		}
	}
	return bad
}

// dashboardQueries walks a Grafana dashboard: every panel's targets (rows'
// nested panels too) and every query variable.
func dashboardQueries(t *testing.T, file string) (exprs map[string]string, panels int) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID        string      `json:"uid"`
		Panels     []dashPanel `json:"panels"`
		Templating struct {
			List []struct {
				Name  string          `json:"name"`
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s does not parse: %v", file, err)
	}
	if d.UID == "" {
		t.Errorf("%s: no uid (provisioned dashboards need a stable one for links); want d.UID != \"\"", file)
	}
	exprs = map[string]string{}
	ids := map[int]string{}
	var walk func([]dashPanel)
	walk = func(ps []dashPanel) {
		for _, p := range ps {
			if other, dup := ids[p.ID]; dup {
				t.Errorf("panel id %d used by %q and %q", p.ID, other, p.Title)
			}
			ids[p.ID] = p.Title
			if p.Type != "row" {
				panels++
				if len(p.Targets) == 0 {
					t.Errorf("panel %q has no query; want len(p.Targets) != 0", p.Title)
				}
				if p.Description == "" {
					t.Errorf("panel %q has no description (ops read it on hover); want p.Description != \"\"", p.Title)
				}
			}
			for i, tg := range p.Targets {
				if strings.TrimSpace(tg.Expr) == "" {
					t.Errorf("panel %q target %d has an empty expr; want strings.TrimSpace(tg.Expr) != \"\"", p.Title, i)
				}
				exprs["panel "+p.Title+" #"+string(rune('A'+i))] = tg.Expr
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &q); err != nil {
			_ = json.Unmarshal(v.Query, &q.Query) // a plain string, older schema
		}
		exprs["variable $"+v.Name] = q.Query
	}
	return exprs, panels
}

type dashPanel struct {
	ID          int    `json:"id"`
	Type        string `json:"type"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Targets     []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []dashPanel `json:"panels"`
}

// alertRules reads alerts.yml's rules: name, expr (one line or a block
// scalar) and runbook. It is not a YAML parser: it reads the layout the
// file keeps, and fails on anything else.
type alertRule struct{ name, expr, runbook string }

func alertRules(t *testing.T, file string) []alertRule {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	var rules []alertRule
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		switch {
		case strings.HasPrefix(l, "- alert:"):
			rules = append(rules, alertRule{name: strings.TrimSpace(strings.TrimPrefix(l, "- alert:"))})
		case strings.HasPrefix(l, "expr:") && len(rules) > 0:
			v := strings.TrimSpace(strings.TrimPrefix(l, "expr:"))
			if v == "|" || v == ">" || v == "|-" || v == ">-" {
				indent := len(lines[i]) - len(strings.TrimLeft(lines[i], " "))
				var b []string
				for i+1 < len(lines) && (strings.TrimSpace(lines[i+1]) == "" || len(lines[i+1])-len(strings.TrimLeft(lines[i+1], " ")) > indent) {
					i++
					b = append(b, strings.TrimSpace(lines[i]))
				}
				v = strings.Join(b, " ")
			}
			rules[len(rules)-1].expr = v
		case strings.HasPrefix(l, "runbook:") && len(rules) > 0:
			rules[len(rules)-1].runbook = strings.Trim(strings.TrimSpace(strings.TrimPrefix(l, "runbook:")), `"`)
		}
	}
	return rules
}

func TestMonitoringNamesExist(t *testing.T) {
	fams := siteMetrics(t)

	exprs, panels := dashboardQueries(t, "../../deploy/grafana/hashgate.json")
	if panels < 10 {
		t.Errorf("dashboard has %d panels, want the full set", panels)
	}
	rules := alertRules(t, "../../deploy/prometheus/alerts.yml")
	if len(rules) < 8 {
		t.Errorf("alerts.yml: %d rules read, want every alert of the issue", len(rules))
	}
	for _, r := range rules {
		if r.expr == "" {
			t.Errorf("alert %s: no expr read; want r.expr != \"\"", r.name)
		}
		if r.runbook == "" || strings.Contains(r.runbook, "\n") {
			t.Errorf("alert %s: runbook %q, want one line", r.name, r.runbook)
		}
		exprs["alert "+r.name] = r.expr
	}

	keys := make([]string, 0, len(exprs))
	for k := range exprs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		expr := exprs[k]
		if m := labelValRE.FindStringSubmatch(expr); m != nil {
			f, ok := lookup(fams, m[1])
			if _, has := f.labels[m[2]]; !ok || !(has || targetLabels[m[2]]) {
				t.Errorf("%s: %s: %s has no label %s; want ok, (has || targetLabels[m[2]])", k, expr, m[1], m[2])
			}
			continue
		}
		for _, b := range checkExpr(fams, expr) {
			t.Errorf("%s: %s\n\tin %s", k, b, expr)
		}
	}
}

// The checker itself catches what it is for.
func TestCheckExprCatches(t *testing.T) {
	fams := parseExposition(t, "# TYPE hashgate_pool_state gauge\nhashgate_pool_state{pool=\"a\",state=\"active\"} 1\n"+
		"# TYPE hashgate_pool_shares_total counter\nhashgate_pool_shares_total{result=\"accepted\"} 3\n"+
		"# TYPE hashgate_rtt_seconds histogram\nhashgate_rtt_seconds_bucket{le=\"+Inf\"} 1\nhashgate_rtt_seconds_sum 1\nhashgate_rtt_seconds_count 1\n")
	for expr, want := range map[string]string{
		`hashgate_pool_state{instance=~"$instance",state="active"}`:              "",
		`sum by (pool) (hashgate_pool_state)`:                                    "",
		`histogram_quantile(0.9, rate(hashgate_rtt_seconds_bucket{le!=""}[5m]))`: "",
		`up{job="hashgate"} == 0`:                                                "",
		`hashgate_pool_sharez_total`:                                             "not exported",
		`rate(process_cpu_seconds_total{instance="x"}[5m])`:                      "not exported",
		`sum by (pool) (rate(hashgate_pool_shares_total[5m]))`:                   "label pool",
		`hashgate_pool_shares_total{pool="a"}`:                                   "no label pool",
		`hashgate_pool_state{state="curtailed"}`:                                 "never",
	} {
		bad := checkExpr(fams, expr)
		switch {
		case want == "" && len(bad) > 0:
			t.Errorf("%s: got %v, want no complaint", expr, bad)
		case want != "" && (len(bad) == 0 || !strings.Contains(strings.Join(bad, "; "), want)):
			t.Errorf("%s: got %v, want a complaint about %q", expr, bad, want)
		}
	}
}
