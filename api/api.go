package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/internal/lograte"
	"github.com/hashgate/hashgate/stratum/proxy"
	"github.com/hashgate/hashgate/switcher"
)

// Config is what the API reads and who may write.
type Config struct {
	Proxy *proxy.Server // required
	// Switcher may be nil (no [switcher] configured): the power endpoints
	// then answer 503 and the status has no power section.
	Switcher *switcher.Switcher
	Tokens   []config.Token
	Log      zerolog.Logger
	// Registry receives the metrics; nil: a registry of the API's own.
	// Either way /metrics serves exactly this registry.
	Registry *prometheus.Registry
	// EnablePprof serves /debug/pprof/ to write tokens.
	EnablePprof bool
	// Version is the binary's version, shown by hashgate_build_info
	// (empty: the module version Go recorded).
	Version string
	// MiningWindow: a connected worker whose last share is older than this
	// is "idle", not "mining". Default DefaultMiningWindow.
	MiningWindow time.Duration
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// HistoryEvery and HistoryPoints: the dashboard's history samples the
	// power status every HistoryEvery and keeps the last HistoryPoints
	// (defaults DefaultHistoryEvery, DefaultHistoryPoints: 6 h).
	HistoryEvery  time.Duration
	HistoryPoints int
}

// DefaultMiningWindow is Config.MiningWindow when it is zero.
const DefaultMiningWindow = 5 * time.Minute

// MaxBodyBytes bounds request bodies; larger ones are answered 413.
const MaxBodyBytes = 64 << 10

// Handler is the API; build it with New.
type Handler struct {
	cfg     Config
	log     zerolog.Logger
	proxy   *proxy.Server
	sw      *switcher.Switcher
	auth    *authenticator
	mux     *http.ServeMux
	reg     *prometheus.Registry
	tail    eventTail
	started time.Time
	// limit bounds the warnings anyone can cause (a bad token per
	// request): a few in full per interval, then a count.
	limit *lograte.Limiter
	// history is the power status of the last hours (nil without a
	// switcher), sampled until Close.
	history *history
}

// The refused requests of a key are logged in full logBurst times per
// logSummaryEvery, then counted in one summary line: a client retrying a
// bad token in a loop must not fill the disk.
const (
	logSummaryEvery = 10 * time.Second
	logBurst        = 5
)

// Close writes the summary of refused requests still pending and stops
// its timer; call it once the server no longer serves the handler.
func (h *Handler) Close() {
	h.limit.Close()
	if h.history != nil {
		h.history.close()
	}
}

// New builds the API handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Proxy == nil {
		return nil, errors.New("api: no proxy")
	}
	if cfg.MiningWindow <= 0 {
		cfg.MiningWindow = DefaultMiningWindow
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	auth, err := newAuthenticator(cfg.Tokens)
	if err != nil {
		return nil, err
	}
	h := &Handler{
		cfg: cfg, log: cfg.Log, proxy: cfg.Proxy, sw: cfg.Switcher, auth: auth,
		mux: http.NewServeMux(), reg: cfg.Registry, started: cfg.Now(),
		limit: lograte.New(cfg.Log, logSummaryEvery, logBurst),
	}
	if h.reg == nil {
		h.reg = prometheus.NewRegistry()
	}
	// The contract wants every name prefixed hashgate_: the Go runtime and
	// process collectors are wrapped too (hashgate_go_goroutines, ...).
	wrapped := prometheus.WrapRegistererWithPrefix("hashgate_", h.reg)
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := wrapped.Register(c); err != nil {
			return nil, fmt.Errorf("api: metrics: %w", err)
		}
	}
	if err := h.reg.Register(&collector{h: h}); err != nil {
		return nil, fmt.Errorf("api: metrics: %w", err)
	}
	if !auth.any(config.RoleWrite) {
		h.log.Warn().Msg("api: no write token configured: allocation and pins are refused (401)")
	}
	h.routes()
	if h.sw != nil {
		h.history = newHistory(cfg.HistoryEvery, cfg.HistoryPoints, h.samplePower)
		h.history.start()
	}
	return h, nil
}

// ServeHTTP serves the API.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) routes() {
	m := h.mux
	// Each path also has a method-less pattern (less specific than the
	// method ones) that answers a JSON 405 with Allow.
	route := func(path string, handlers map[string]http.HandlerFunc) {
		var allow []string
		for method, fn := range handlers {
			m.HandleFunc(method+" "+path, fn)
			allow = append(allow, method)
			if method == http.MethodGet {
				allow = append(allow, http.MethodHead)
			}
		}
		allowed := strings.Join(sortedMethods(allow), ", ")
		m.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allowed)
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s (allowed: %s)", r.Method, r.URL.Path, allowed))
		})
	}
	route("/healthz", map[string]http.HandlerFunc{"GET": h.healthz})
	route("/metrics", map[string]http.HandlerFunc{"GET": promhttp.HandlerFor(h.reg, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      promLogger{h.log},
	}).ServeHTTP})
	route("/api/v1/status", map[string]http.HandlerFunc{"GET": noQuery(h.status)})
	route("/api/v1/workers", map[string]http.HandlerFunc{"GET": h.workers})
	route("/api/v1/allocation", map[string]http.HandlerFunc{"PUT": h.needWrite(h.allocate)})
	route("/api/v1/cap", map[string]http.HandlerFunc{"PUT": h.needWrite(h.setCap)})
	route("/api/v1/heartbeat", map[string]http.HandlerFunc{"POST": h.needWrite(h.heartbeat)})
	route("/api/v1/rigs/{name}/pin", map[string]http.HandlerFunc{"PUT": h.needWrite(h.pin)})
	route("/api/v1/rigs/{name}", map[string]http.HandlerFunc{"GET": h.rig, "DELETE": h.needWrite(h.forget)})
	route("/api/v1/plan", map[string]http.HandlerFunc{"POST": h.needToken(h.plan)})
	route("/api/v1/events", map[string]http.HandlerFunc{"GET": h.events})
	route("/api/v1/events/{seq}/report", map[string]http.HandlerFunc{"GET": h.report})
	route("/api/v1/groups", map[string]http.HandlerFunc{"GET": noQuery(h.groups)})
	route("/api/v1/history", map[string]http.HandlerFunc{"GET": h.serveHistory})
	route("/{$}", map[string]http.HandlerFunc{"GET": h.dashboard})
	route("/ui/{file}", map[string]http.HandlerFunc{"GET": h.dashboardAsset})
	if h.cfg.EnablePprof {
		m.HandleFunc("/debug/pprof/", h.needWrite(pprof.Index))
		m.HandleFunc("/debug/pprof/cmdline", h.needWrite(pprof.Cmdline))
		m.HandleFunc("/debug/pprof/profile", h.needWrite(pprof.Profile))
		m.HandleFunc("/debug/pprof/symbol", h.needWrite(pprof.Symbol))
		m.HandleFunc("/debug/pprof/trace", h.needWrite(pprof.Trace))
	}
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	})
}

// noQuery refuses any query parameter (400) before fn: an endpoint that
// takes none must not answer as if a filter had been applied.
func noQuery(fn http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ok := readQuery(w, r); ok {
			fn(w, r)
		}
	}
}

func sortedMethods(ms []string) []string {
	order := []string{"GET", "HEAD", "POST", "PUT", "DELETE"}
	var out []string
	for _, o := range order {
		for _, m := range ms {
			if m == o {
				out = append(out, m)
			}
		}
	}
	return out
}

// promLogger sends promhttp's errors to zerolog.
type promLogger struct{ log zerolog.Logger }

func (l promLogger) Println(v ...any) { l.log.Error().Msg(fmt.Sprint(v...)) }

// errorBody is every error answer.
type errorBody struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorBody{Error: msg})
}

// noSwitcher answers the power endpoints when no switcher runs.
func (h *Handler) noSwitcher(w http.ResponseWriter) bool {
	if h.sw != nil {
		return false
	}
	writeError(w, http.StatusServiceUnavailable, "the power switcher is not running (no [switcher] in the config)")
	return true
}

// readBody decodes a JSON body into v: at most MaxBodyBytes (else 413),
// one JSON value, no unknown fields (else 400). It answers the error
// itself and reports false.
func readBody(w http.ResponseWriter, r *http.Request, v any) bool {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		// Exactly one value: trailing data is a bad body too.
		var extra json.RawMessage
		if e := dec.Decode(&extra); e != io.EOF {
			if e == nil {
				err = errors.New("more than one JSON value")
			} else {
				err = e
			}
		}
	}
	if err == nil {
		return true
	}
	var tooBig *http.MaxBytesError
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", tooBig.Limit))
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "request body is empty: a JSON object is expected")
	case errors.As(err, &syn):
		writeError(w, http.StatusBadRequest, fmt.Sprintf("bad JSON at byte %d: %v", syn.Offset, syn))
	case errors.As(err, &typ):
		writeError(w, http.StatusBadRequest, fmt.Sprintf("bad JSON: field %q must be %s, not %s", typ.Field, typ.Type, typ.Value))
	default:
		// Unknown fields, truncated bodies, trailing data.
		writeError(w, http.StatusBadRequest, "bad JSON: "+strings.TrimPrefix(err.Error(), "json: "))
	}
	return false
}
