package api

import (
	"bytes"
	"embed"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/hashgate/hashgate/switcher"
)

// The dashboard is one HTML page, a style sheet and a script, embedded in
// the binary (sites are often offline: nothing is fetched from elsewhere).
// The script polls the JSON API (status, groups, history, workers,
// events) and draws it; it has no build step.
//
//go:embed web/index.html web/app.css web/app.js
var webFS embed.FS

// perRigKinds are the event kinds that may be written per rig under a
// summary (carrying its seq in cause): a plan's actions and the flags
// reported in bulk. The events panel asks for the other kinds (decisions:
// never crowded out by thousands of per-rig events), adds the newest
// events without a cause, and opens a summary for its rigs.
var perRigKinds = []string{switcher.EventCurtail, switcher.EventResume, switcher.EventPark,
	switcher.EventCurtailFail, switcher.EventResumeFail, switcher.EventLeftParked,
	switcher.EventDeviceCommandFailed, switcher.EventPoolsUnbound}

// dashboardPage is index.html with the summary kinds filled in.
var dashboardPage = func() []byte {
	page, err := webFS.ReadFile("web/index.html")
	if err != nil {
		panic(err) // embedded: cannot happen
	}
	var kinds []string
	for _, k := range switcher.EventKinds {
		if !slices.Contains(perRigKinds, k) {
			kinds = append(kinds, k)
		}
	}
	return bytes.Replace(page, []byte("{{SUMMARY_KINDS}}"), []byte(strings.Join(kinds, ",")), 1)
}()

// assetTypes are the assets' content types (not the system's MIME table,
// which may name JavaScript otherwise).
var assetTypes = map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}

// dashboardCSP allows the page its own script, style and API, nothing
// else (no inline script: data from rigs cannot run as code).
const dashboardCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", dashboardCSP)
	_, _ = w.Write(dashboardPage)
}

// dashboardAsset serves /ui/app.css and /ui/app.js (404 for any other
// name). They change with the binary only: cached briefly.
func (h *Handler) dashboardAsset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	if name == "index.html" || strings.ContainsAny(name, "/\\") {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
		return
	}
	data, err := webFS.ReadFile("web/" + name)
	if err != nil {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
		return
	}
	w.Header().Set("Content-Type", assetTypes[path.Ext(name)])
	w.Header().Set("Cache-Control", "max-age=300")
	w.Header().Set("Content-Security-Policy", dashboardCSP)
	_, _ = w.Write(data)
}
