package api

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/hashgate/hashgate/switcher"
	"github.com/hashgate/hashgate/switcher/evidence"
)

// report serves GET /api/v1/events/{seq}/report: the evidence of one
// decision (switcher.Report) as JSON, or as CSV with ?format=csv or an
// Accept that prefers text/csv. An unknown seq (or one past the audit
// log's retention) is a 404; a per-rig event a 400 that names its
// decision.
func (h *Handler) report(w http.ResponseWriter, r *http.Request) {
	if h.noSwitcher(w) {
		return
	}
	q, ok := readQuery(w, r, "format")
	if !ok {
		return
	}
	asCSV, msg := reportFormat(q.Get("format"), r.Header.Get("Accept"))
	if msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil || seq == 0 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("seq %q: must be the seq of an event (an integer ≥ 1)", r.PathValue("seq")))
		return
	}
	rep, err := h.sw.Report(seq)
	var nd *switcher.NotDecisionError
	switch {
	case errors.Is(err, switcher.ErrNoEvent):
		writeError(w, http.StatusNotFound, fmt.Sprintf("no event %d (or it is past the audit log's retention)", seq))
		return
	case errors.As(err, &nd):
		writeError(w, http.StatusBadRequest, nd.Error())
		return
	case err != nil:
		h.log.Error().Err(err).Uint64("seq", seq).Msg("api: building an event report")
		writeError(w, http.StatusInternalServerError, "building the report: "+err.Error())
		return
	}
	if !asCSV {
		writeJSON(w, http.StatusOK, rep)
		return
	}
	var buf bytes.Buffer
	if err := evidence.WriteCSV(&buf, &rep); err != nil {
		writeError(w, http.StatusInternalServerError, "writing the report: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="hashgate-event-%d.csv"`, seq))
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

// reportFormat: format (json or csv) decides; without it, an Accept whose
// first media type is text/csv asks for CSV.
func reportFormat(format, accept string) (csv bool, msg string) {
	switch format {
	case "csv":
		return true, ""
	case "json":
		return false, ""
	case "":
	default:
		return false, fmt.Sprintf("format %q: want json or csv", format)
	}
	first, _, _ := strings.Cut(accept, ",")
	mt, _, err := mime.ParseMediaType(strings.TrimSpace(first))
	return err == nil && mt == "text/csv", ""
}
