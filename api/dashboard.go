package api

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hashgate/hashgate/switcher"
)

// dashboardEvents is how many audit events the page shows.
const dashboardEvents = 20

type dashboardData struct {
	Status    Status
	States    []string
	Events    []switcher.Event
	EventsErr string
	Refresh   int
	Counted   []countedRow // rigs counted each way, those with any
}

// countedRow is one way rigs are counted in the mining load.
type countedRow struct {
	As, Why string
	Rigs    int
	KW      float64
}

// countedWhy says what each way of counting means, on the dashboard.
var countedWhy = [switcher.NumCountedAs]string{
	switcher.CountedOffline:          "not connected: 0 kW",
	switcher.CountedMining:           "rig_kw (or its measured draw)",
	switcher.CountedParkedBound:      "idle_kw: the group is pools_bound",
	switcher.CountedParkedVerified:   "idle_kw (or its measured draw): a device readback shows it asleep",
	switcher.CountedParkedUnverified: "rig_kw: held without work, but nothing shows it is not hashing on another pool",
	switcher.CountedLeftWhileParked:  "rig_kw: parked, left, not back",
	switcher.CountedReleased:         "0 kW: away longer than release_vanished_after",
	switcher.CountedCurtailFailed:    "rig_kw: parked, but it kept submitting shares or its device did not confirm the sleep",
	switcher.CountedDeviceHashing:    "its measured draw (else rig_kw): its device hashes though it is curtailed; the next rig is curtailed for it",
	switcher.CountedResumeFailed:     "its measured draw (else idle_kw): resumed, its device did not wake",
}

func countedRows(p *Power) []countedRow {
	var out []countedRow
	for as := range switcher.NumCountedAs {
		if l := p.Counted[as.String()]; l.Rigs > 0 {
			out = append(out, countedRow{As: as.String(), Why: countedWhy[as], Rigs: l.Rigs, KW: l.KW})
		}
	}
	return out
}

var dashboardFuncs = template.FuncMap{
	"kw":  func(f float64) string { return fmt.Sprintf("%.1f kW", f) },
	"ths": FormatHashrate,
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"whenp": func(t *time.Time) string {
		if t == nil {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"dur": func(s float64) string {
		return (time.Duration(s) * time.Second).Round(time.Second).String()
	},
	"fields": func(m map[string]any) string {
		keys := make([]string, 0, len(m))
		for k, v := range m {
			switch v := v.(type) {
			case time.Time: // in memory
				if v.IsZero() {
					continue
				}
			case string: // read back from the file
				if strings.HasPrefix(v, "0001-01-01T") {
					continue
				}
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s=%v", k, m[k]))
		}
		return strings.Join(parts, " ")
	},
	"kwp": func(f *float64) string {
		if f == nil {
			return "—"
		}
		return fmt.Sprintf("%.1f kW", *f)
	},
}

var dashboardTmpl = template.Must(template.New("dashboard").Funcs(dashboardFuncs).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="{{.Refresh}}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hashgate</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em auto; max-width: 72em; padding: 0 1em; color: #222; }
h1 { font-size: 1.4em; margin-bottom: .2em; }
h2 { font-size: 1.1em; margin: 1.4em 0 .4em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; }
th, td { text-align: left; padding: .15em .9em .15em 0; vertical-align: top; }
th { font-weight: 600; color: #555; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.ok { color: #17702b; font-weight: 600; }
.bad { color: #b00020; font-weight: 600; }
.muted { color: #777; }
code { font-size: .95em; }
</style>
</head>
<body>
<h1>hashgate</h1>
<p class="muted">{{when .Status.Time}} · refreshes every {{.Refresh}} s · <a href="/api/v1/status">status JSON</a> · <a href="/api/v1/workers">workers</a> · <a href="/metrics">metrics</a></p>

<h2>Proxy</h2>
<table>
<tr><th>upstream</th><td>{{if .Status.Healthy}}<span class="ok">healthy</span>{{else}}<span class="bad">no live pool</span>{{end}}</td></tr>
<tr><th>miners connected</th><td class="n">{{.Status.MinersConnected}}</td></tr>
<tr><th>hashrate</th><td class="n">{{ths .Status.HashrateTHs}}</td></tr>
<tr><th>shares</th><td>{{.Status.Shares.Accepted}} accepted, {{.Status.Shares.Rejected}} rejected ({{.Status.Shares.Stale}} stale)</td></tr>
</table>

<h2>Workers</h2>
<table>
<tr>{{range .States}}<th>{{if eq . "curtailed"}}curtailed (parked + pending){{else}}{{.}}{{end}}</th>{{end}}</tr>
<tr>{{range .States}}<td class="n"><a href="/api/v1/workers?state={{.}}">{{index $.Status.Workers .}}</a></td>{{end}}</tr>
</table>

<h2>Pools</h2>
<table>
<tr><th>name</th><th>url</th><th>state</th><th>sessions</th><th>miners</th><th>last error</th></tr>
{{range .Status.Pools}}<tr><td>{{.Name}}</td><td><code>{{.URL}}</code></td><td>{{if eq .State "active"}}<span class="ok">active</span>{{else if eq .State "failed"}}<span class="bad">failed</span>{{else}}{{.State}}{{end}}{{if .Rejecting}} <span class="bad">rejecting shares</span>{{end}}</td><td class="n">{{.Sessions}}</td><td class="n">{{.Miners}}</td><td class="muted">{{.LastError}}</td></tr>
{{end}}</table>

<h2>Power</h2>
{{with .Status.Power}}{{if .Failsafe}}<p class="bad" id="failsafe">FAIL-SAFE since {{whenp .FailsafeSince}}: {{.FailsafeReason}}. Mining is held to the policy's safe_budget_kw until the input has been good for failsafe_hold.</p>{{end}}{{if .CapKW}}<p id="cap-mode">Cap mode: site cap <strong>{{kw .CapKW}}</strong>{{with .Cap}} set by <strong>{{.Who}}</strong> at {{when .At}}{{if .Until}}, until {{whenp .Until}}{{end}}: {{.Reason}}{{else}} (policy){{end}}; non-mining load measured {{kwp .AIKWMeasured}}, site load {{kwp .SiteLoadKW}}; the budget follows the <strong>{{.BudgetRule}}</strong> rule.</p>{{end}}{{if .Meters}}<table id="meters">
<tr><th>meter</th><th>measures</th><th>kW</th><th>read at</th><th></th></tr>
{{range .Meters}}<tr><td>{{.Name}}</td><td>{{.Measures}}</td><td class="n">{{kwp .KW}}</td><td>{{if .At.IsZero}}never{{else}}{{when .At}}{{end}}</td><td>{{if .Stale}}<span class="bad">stale</span>{{else}}<span class="ok">fresh</span>{{end}} <span class="muted">{{.Error}}</span></td></tr>
{{end}}</table>{{end}}{{end}}
{{with .Status.Power}}{{if .PolicyError}}<p class="bad">The policy file is refused: <code style="white-space: pre-wrap">{{.PolicyError}}</code><br>In force: the policy loaded before, from <code>{{.Policy}}</code>.</p>{{end}}{{if .StateError}}<p class="bad">Decisions are in force but not saved: {{.StateError}}. A restart now would lose them; hashgate retries.</p>{{end}}{{if .AuditError}}<p class="bad">The audit log file is not written: {{.AuditError}}. Events are kept in memory and written when it can be.</p>{{end}}<table>
<tr><th>capacity</th><td class="n">{{kw .CapacityKW}}</td><th>reserve</th><td class="n">{{kw .ReserveKW}}</td></tr>
<tr><th>AI</th><td class="n">{{kw .AIKW}}</td><th>mining budget</th><td class="n">{{kw .MiningBudgetKW}}</td></tr>
<tr><th>mining load</th><td class="n">{{kw .MiningLoadKW}}</td><th>load (hashrate est.)</th><td class="n">{{kw .MiningLoadEstKW}}</td></tr>
<tr><th>load as planned</th><td class="n">{{kw .MiningLoadPlannedKW}}</td><th>parks unverified</th><td class="n">{{if .ParksUnverified}}<span class="bad">{{.ParksUnverified}}</span>{{else}}0{{end}} <span class="muted">({{.ParksBound}} bound, {{.ParksVerified}} verified)</span></td></tr>
<tr><th>compliant</th><td>{{if .Compliant}}<span class="ok">yes</span> since {{whenp .CompliantSince}}{{else}}<span class="bad">no</span>{{end}}</td><th>plan done in</th><td class="n">{{dur .ETASeconds}}</td></tr>
<tr><th>parked rigs <span class="muted">(curtailed by a plan, connected or not)</span></th><td class="n">{{$.Status.Parked}}</td><th>pending admission <span class="muted">(connected, held until admitted)</span></th><td class="n">{{$.Status.Pending}}</td></tr>
<tr><th></th><td></td><th>emergency</th><td>{{if .Emergency}}<span class="bad">yes: resumes held</span>{{else}}no{{end}}</td></tr>
{{if .MeasuredRigs}}<tr><th>measured by devices</th><td class="n">{{kw .MiningLoadMeasuredKW}}</td><th>rigs measured</th><td class="n">{{.MeasuredRigs}} <span class="muted">(the others at the policy's figures)</span></td></tr>{{end}}
</table>
{{if not .Compliant}}<p class="bad">{{.NotCompliantReason}}</p>{{if .NotCompliantDetail}}<p class="bad" id="not-compliant-detail">{{.NotCompliantDetail}}</p>{{end}}{{end}}
{{with .LoadBreakdown}}<table id="load-breakdown">
<tr><th>mining load is</th><th>kW</th><th></th></tr>
<tr><td>mining</td><td class="n">{{kw .MiningKW}}</td><td class="muted">rigs given work, not pinned</td></tr>
<tr><td>pinned on</td><td class="n">{{kw .PinnedOnKW}}</td><td class="muted">mining whatever the budget</td></tr>
<tr><td>parked at idle draw</td><td class="n">{{kw .ParkedIdleKW}}</td><td class="muted">idle_kw: pools_bound, or a device shows it asleep</td></tr>
<tr><td>parked, unverified</td><td class="n">{{kw .ParkedUnverifiedKW}}</td><td class="muted">rig_kw: nothing shows the park holds</td></tr>
<tr><td>left while parked</td><td class="n">{{kw .LeftWhileParkedKW}}</td><td class="muted">rig_kw (nameplate) until back or released</td></tr>
{{if .DeviceHashingKW}}<tr><td>device hashing</td><td class="n">{{kw .DeviceHashingKW}}</td><td class="muted">held without work, its device hashes</td></tr>{{end}}
{{if .ResumeFailedKW}}<tr><td>resume failed</td><td class="n">{{kw .ResumeFailedKW}}</td><td class="muted">resumed, its device did not wake</td></tr>{{end}}
</table>{{end}}
<table>
<tr><th>counted as</th><th>rigs</th><th>kW</th><th></th></tr>
{{range $.Counted}}<tr><td>{{.As}}</td><td class="n">{{.Rigs}}</td><td class="n">{{kw .KW}}</td><td class="muted">{{.Why}}</td></tr>
{{end}}</table>
{{with .Allocation}}<p>Allocation in force: <strong>{{kw .AIKW}}</strong> to AI, by <strong>{{.Who}}</strong> at {{when .At}}{{if .Until}}, until {{whenp .Until}}{{end}}{{if .Emergency}}, <span class="bad">emergency</span>{{end}}: {{.Reason}}</p>
{{else}}<p class="muted">No allocation in force: AI gets 0 kW.</p>{{end}}
{{else}}<p class="muted">The power switcher is not running.</p>{{end}}

<h2>Latest events</h2>
{{if .EventsErr}}<p class="bad">{{.EventsErr}}</p>{{end}}
{{if .Events}}<table>
<tr><th>seq</th><th>time</th><th>kind</th><th>who</th><th>rig</th><th>reason</th><th>details</th></tr>
{{range .Events}}<tr><td class="n">{{.Seq}}</td><td>{{when .Time}}</td><td>{{.Kind}}</td><td>{{.Who}}</td><td>{{.Rig}}</td><td>{{.Reason}}</td><td class="muted">{{fields .Fields}}</td></tr>
{{end}}</table>
{{else}}<p class="muted">No events.</p>{{end}}
</body>
</html>
`))

func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request) {
	st, _ := h.buildStatus()
	d := dashboardData{Status: st, States: States, Refresh: 10}
	if st.Power != nil {
		d.Counted = countedRows(st.Power)
	}
	if h.sw != nil {
		evs, err := h.tail.latest(h.sw, dashboardEvents)
		if err != nil {
			d.EventsErr = "reading the audit log: " + err.Error()
		}
		slices.Reverse(evs) // newest first on the page
		d.Events = evs
	}
	var buf bytes.Buffer
	if err := dashboardTmpl.Execute(&buf, d); err != nil {
		h.log.Error().Err(err).Msg("api: dashboard")
		writeError(w, http.StatusInternalServerError, "dashboard: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	_, _ = w.Write(buf.Bytes())
}
