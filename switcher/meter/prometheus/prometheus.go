package prometheus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/hashgate/hashgate/switcher/meter"
)

// DefaultMaxBytes is Config.MaxBytes when zero.
const DefaultMaxBytes = 1 << 20

// DefaultTimeout bounds a Read whose context has no deadline.
const DefaultTimeout = 5 * time.Second

// Config is one meter as a PromQL query.
type Config struct {
	URL      string  // the Prometheus server's base URL
	Query    string  // PromQL giving one number (see the package doc)
	Scale    float64 // the value × Scale; 0 means 1
	MaxBytes int64   // the longest answer accepted (default DefaultMaxBytes)
}

// Source runs the query. It is safe for concurrent use.
type Source struct {
	cfg       Config
	api       v1.API
	redacted  string
	transport *http.Transport
}

// New checks cfg and returns its Source; nothing is queried until the
// first Read.
func New(cfg Config) (*Source, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, errors.New("prometheus: the URL is not valid; expected http://host:9090")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("prometheus: URL %s: expected http(s)://host[:port]", u.Redacted())
	}
	if cfg.Query == "" {
		return nil, errors.New("prometheus: the query is empty")
	}
	if math.IsNaN(cfg.Scale) || math.IsInf(cfg.Scale, 0) {
		return nil, fmt.Errorf("prometheus: scale %v is not a finite number", cfg.Scale)
	}
	if cfg.Scale == 0 {
		cfg.Scale = 1
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	c, err := api.NewClient(api.Config{Address: cfg.URL, RoundTripper: bounded{tr, cfg.MaxBytes}})
	if err != nil {
		return nil, fmt.Errorf("prometheus: URL %s: %v", u.Redacted(), err)
	}
	return &Source{cfg: cfg, api: v1.NewAPI(c), redacted: meter.RedactURL(u), transport: tr}, nil
}

// String says where the source reads: "prometheus http://prom:9090
// query sum(DCGM_FI_DEV_POWER_USAGE) / 1000".
func (s *Source) String() string {
	out := "prometheus " + s.redacted + " query " + s.cfg.Query
	if s.cfg.Scale != 1 {
		out += " ×" + strconv.FormatFloat(s.cfg.Scale, 'g', -1, 64)
	}
	return out
}

// Read runs the query and returns its one number × scale.
func (s *Source) Read(ctx context.Context) (float64, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	val, _, _, err := s.api.Query(ctx, s.cfg.Query, time.Time{})
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its URL is the request's: ours is redacted
		}
		return 0, fmt.Errorf("prometheus %s: %w", s.redacted, err)
	}
	v, err := One(val)
	if err != nil {
		return 0, err
	}
	return v * s.cfg.Scale, nil
}

// One is the single finite number a query's result holds: a scalar, or
// the value of a one-series instant vector.
func One(val model.Value) (float64, error) {
	var v model.SampleValue
	switch r := val.(type) {
	case *model.Scalar:
		v = r.Value
	case model.Vector:
		switch len(r) {
		case 0:
			return 0, errors.New("the query returned no series (is the exporter up, the metric spelt right?)")
		case 1:
			v = r[0].Value
		default:
			return 0, fmt.Errorf("the query returned %d series; it must return one (wrap it in sum(...))", len(r))
		}
	case nil:
		return 0, errors.New("the query returned nothing")
	default:
		return 0, fmt.Errorf("the query returned a %s; it must return a scalar or one series", val.Type())
	}
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("the query's value is %v, not a reading", f)
	}
	return f, nil
}

// Close drops the source's idle connections.
func (s *Source) Close() error {
	s.transport.CloseIdleConnections()
	return nil
}

// bounded is a RoundTripper whose answers' bodies fail past max bytes.
type bounded struct {
	rt  http.RoundTripper
	max int64
}

func (b bounded) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := b.rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{rc: resp.Body, left: b.max}
	return resp, nil
}

// limitedBody reads up to left bytes, then fails.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left <= 0 { // one byte more is one too many; none is the end
		var one [1]byte
		n, err := l.rc.Read(one[:])
		if n > 0 {
			return 0, errTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.rc.Read(p)
	l.left -= int64(n)
	return n, err
}

func (l *limitedBody) Close() error { return l.rc.Close() }

var errTooLarge = errors.New("the answer is too large")
