package device

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"time"
)

// HTTPOptions choose the client HTTPClient builds.
type HTTPOptions struct {
	// Dial replaces the TCP dialer (nil: net.Dialer).
	Dial DialFunc
	// TLS configures https (nil: net/http's defaults).
	TLS *tls.Config
	// CallConn keeps a call's connection open between its requests: the
	// call's last request must set Request.Close ("Connection: close"),
	// so a call makes one connection, not one per request, and none
	// stays open after it. Without CallConn, keep-alives are off and
	// every request makes its own connection.
	CallConn bool
	// MaxHeaderBytes bounds an answer's headers (0: net/http's default).
	MaxHeaderBytes int64
	// TLSHandshakeTimeout bounds a TLS handshake (0: only ctx bounds it).
	TLSHandshakeTimeout time.Duration
}

// Idle connections an HTTPClient with CallConn keeps: at most
// CallConnIdle in all (the oldest closes first), one a host, each for
// at most CallConnIdleFor. Only a call that fails between its requests
// leaves one open.
const (
	CallConnIdle    = 64
	CallConnIdleFor = 5 * time.Second
)

// HTTPClient makes the one shared HTTP client of a driver. A fleet talks
// to tens of thousands of rigs and must not hold a socket to each
// between calls, so connections close after each call (CallConn) or
// each request. The client never follows a redirect (a rig that
// redirects is not speaking its API; a webhook redirect would resend a
// signed command elsewhere) and asks for no compression.
func HTTPClient(o HTTPOptions) *http.Client {
	dial := o.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	tr := &http.Transport{
		DialContext:            dial,
		TLSClientConfig:        o.TLS,
		DisableCompression:     true,
		MaxResponseHeaderBytes: o.MaxHeaderBytes,
		TLSHandshakeTimeout:    o.TLSHandshakeTimeout,
	}
	if o.CallConn {
		tr.MaxIdleConns = CallConnIdle
		tr.MaxIdleConnsPerHost = 1
		tr.IdleConnTimeout = CallConnIdleFor
	} else {
		tr.DisableKeepAlives = true
	}
	return &http.Client{Transport: tr, CheckRedirect: noRedirect}
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// ReadBody reads and closes resp's body, at most max bytes. A longer
// body is ErrProtocol and ErrTooLong; a read error comes as it is. It
// does not look at the status.
func ReadBody(resp *http.Response, max int64) ([]byte, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: %w: over %d bytes", ErrProtocol, ErrTooLong, max)
	}
	return b, nil
}

// DrainBody reads at most max bytes of resp's body and closes it, so a
// kept-alive connection can serve the next request.
func DrainBody(resp *http.Response, max int64) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, max))
	resp.Body.Close()
}

// StatusError maps an HTTP status to the typed errors: 2xx is nil,
// 401/403 ErrAuth, another 4xx ErrRefused, 5xx a retryable failure of
// peer ("miner", "receiver"), anything else ErrProtocol. The error says
// the code ("HTTP 503: miner error").
func StatusError(code int, peer string) error {
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return fmt.Errorf("HTTP %d: %w", code, ErrAuth)
	case code >= 400 && code < 500:
		return fmt.Errorf("HTTP %d: %w", code, ErrRefused)
	case code >= 500:
		return fmt.Errorf("HTTP %d: %s error", code, peer)
	}
	return fmt.Errorf("HTTP %d: %w", code, ErrProtocol)
}

// NewRequest makes a request to url bound to ctx. A non-nil body is sent
// as application/json; a nil body sends none. An error (a malformed URL
// or method) is ErrProtocol.
func NewRequest(ctx context.Context, method, url string, body []byte) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// TransportError drops the *url.Error an http.Client wraps its errors
// in: it names the whole URL, which may hold a token in its path or
// query. The cause stays, so errors.Is(err, context.DeadlineExceeded)
// holds. Any other error comes back as it is.
func TransportError(err error) error {
	var ue *neturl.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}
