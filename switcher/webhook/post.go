package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hashgate/hashgate/switcher/device"
)

// request is the body of every POST. Field order is the wire order.
type request struct {
	Rig     string `json:"rig"`
	Address string `json:"address"`
	Action  string `json:"action"`
	Time    string `json:"time"` // RFC 3339, UTC, nanoseconds
}

// Sign returns the X-Hashgate-Signature value of body under secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// post sends one signed request and returns the answer's body (at most
// maxBody bytes) when the receiver accepted it (2xx).
func (d *Driver) post(ctx context.Context, t *device.Target, action string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, t.Options.CallTimeout())
	defer cancel()
	target, err := endpoint(t)
	if err != nil {
		return nil, fmt.Errorf("webhook %s: %s: %w", t.Rig, action, err)
	}
	now := d.now().UTC()
	body, err := json.Marshal(request{Rig: t.Rig, Address: t.Address, Action: action, Time: now.Format(time.RFC3339Nano)})
	if err != nil {
		return nil, fmt.Errorf("webhook %s: %s: %w", t.Rig, action, err)
	}
	req, err := device.NewRequest(ctx, http.MethodPost, target.String(), body)
	if err != nil {
		return nil, fmt.Errorf("webhook %s: %s: %w", t.Rig, action, err)
	}
	req.Header.Set("User-Agent", "hashgate")
	req.Header.Set(HeaderSignature, Sign([]byte(t.Options.Secret.Reveal()), body))
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	resp, err := d.client.Do(req)
	if err != nil {
		// The URL may hold a token in its path or query: name the host only.
		return nil, fmt.Errorf("webhook %s: %s to %s: %w", t.Rig, action, target.Host, device.TransportError(err))
	}
	data, err := device.ReadBody(resp, maxBody)
	if err := statusError(resp.StatusCode); err != nil {
		return nil, fmt.Errorf("webhook %s: %s to %s: %w", t.Rig, action, target.Host, err)
	}
	if errors.Is(err, device.ErrTooLong) {
		return nil, nil // accepted, but not a reading we read
	}
	if err != nil {
		return nil, fmt.Errorf("webhook %s: %s to %s: reading the answer: %w", t.Rig, action, target.Host, err)
	}
	return data, nil
}

// endpoint checks the group's options: an http(s) URL and a secret.
func endpoint(t *device.Target) (*url.URL, error) {
	o := t.Options
	if o == nil || o.URL == "" {
		return nil, fmt.Errorf("no url configured: %w", device.ErrUnsupported)
	}
	if o.Secret.IsZero() {
		return nil, fmt.Errorf("no secret configured: %w", device.ErrAuth)
	}
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("url is not an http(s) URL: %w", device.ErrUnsupported)
	}
	return u, nil
}

// statusError: 2xx accepted; 401/403 the signature or secret refused;
// other 4xx a refusal; 5xx (and anything else) a retryable failure.
func statusError(code int) error { return device.StatusError(code, "receiver") }
