package httpjson

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

	"github.com/hashgate/hashgate/switcher/meter"
)

// DefaultMaxBytes is Config.MaxBytes when zero.
const DefaultMaxBytes = 1 << 20

// DefaultTimeout bounds a Read whose context has no deadline (the meter
// Poller gives each read its own).
const DefaultTimeout = 5 * time.Second

// Config is one number served as JSON over HTTP.
type Config struct {
	URL      string  // http:// or https://, optionally with user:password@
	Field    string  // the dotted path to the number (see ParsePath)
	Scale    float64 // the value read × Scale; 0 means 1
	MaxBytes int64   // the longest body accepted (default DefaultMaxBytes)
	// Client makes the requests (default: a client of its own, no
	// timeout of its own: each Read's context bounds it).
	Client *http.Client
}

// Source reads the number. It is safe for concurrent use.
type Source struct {
	cfg      Config
	url      *url.URL
	redacted string // the URL with its password hidden, for errors and String
	path     Path
	client   *http.Client
	own      bool // client is ours to close
}

// New checks cfg and returns its Source; nothing is fetched until the
// first Read.
func New(cfg Config) (*Source, error) {
	u, err := ParseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	p, err := ParsePath(cfg.Field)
	if err != nil {
		return nil, err
	}
	if math.IsNaN(cfg.Scale) || math.IsInf(cfg.Scale, 0) {
		return nil, fmt.Errorf("httpjson: scale %v is not a finite number", cfg.Scale)
	}
	if cfg.Scale == 0 {
		cfg.Scale = 1
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	s := &Source{cfg: cfg, url: u, redacted: meter.RedactURL(u), path: p, client: cfg.Client}
	if s.client == nil {
		s.client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		s.own = true
	}
	return s, nil
}

// ParseURL checks an http or https URL with a host; its error shows the
// URL with any password and query value hidden.
func ParseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("the URL is not valid; expected http://host[:port]/path")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("URL %s: the scheme must be http or https", meter.RedactURL(u))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("URL %s has no host", meter.RedactURL(u))
	}
	return u, nil
}

// String says where the source reads: "http GET http://meter/reading
// field data.kw".
func (s *Source) String() string {
	out := "http GET " + s.redacted + " field " + s.path.String()
	if s.cfg.Scale != 1 {
		out += " ×" + strconv.FormatFloat(s.cfg.Scale, 'g', -1, 64)
	}
	return out
}

// Read fetches the document and returns the number at the field × scale.
func (s *Source) Read(ctx context.Context) (float64, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	body, err := s.fetch(ctx)
	if err != nil {
		return 0, err
	}
	v, err := Extract(body, s.path)
	if err != nil {
		return 0, err
	}
	return v * s.cfg.Scale, nil
}

// fetch GETs the URL and returns its body, refusing a non-2xx answer and
// a body over MaxBytes.
func (s *Source) fetch(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %v", s.redacted, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its URL is the request's: ours is redacted
		}
		return nil, fmt.Errorf("GET %s: %w", s.redacted, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // lets the connection be reused
		return nil, fmt.Errorf("GET %s: HTTP %s", s.redacted, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.cfg.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: reading the body: %w", s.redacted, err)
	}
	if int64(len(body)) > s.cfg.MaxBytes {
		return nil, fmt.Errorf("GET %s: the body is over %d bytes", s.redacted, s.cfg.MaxBytes)
	}
	return body, nil
}

// Close drops the source's idle connections (a Client given in Config
// is left alone).
func (s *Source) Close() error {
	if s.own {
		s.client.CloseIdleConnections()
	}
	return nil
}
