package webhook

import (
	"context"
	"crypto/tls"
	"net/http"
	"time"

	"github.com/hashgate/hashgate/switcher/device"
)

// Headers of every request.
const (
	// HeaderSignature is "sha256=" and the hex HMAC-SHA256 of the exact
	// body, keyed with the group's secret.
	HeaderSignature = "X-Hashgate-Signature"
	// HeaderTimestamp is the body's time in Unix seconds.
	HeaderTimestamp = "X-Hashgate-Timestamp"
)

// Actions, as the body's "action" names them.
const (
	ActionCurtail = "curtail"
	ActionResume  = "resume"
	ActionRead    = "read"
)

// maxBody bounds the answer read from a receiver.
const maxBody = 1 << 20

// Config tunes a Driver. The zero Config dials with net.Dialer, uses the
// system's TLS roots and reads the clock with time.Now.
type Config struct {
	// Dial replaces the dialer.
	Dial device.DialFunc
	// TLS is the client TLS configuration for https URLs (nil: defaults).
	TLS *tls.Config
	// Now is the clock written into each request.
	Now func() time.Time
}

// Driver posts signed JSON requests to a group's webhook URL. It holds
// no per-rig state and one HTTP client, keep-alives off, for every rig.
// It never retries: retries, back-off and jitter are the fleet's.
type Driver struct {
	now    func() time.Time
	client *http.Client
}

var _ device.Driver = (*Driver)(nil)

// New makes a driver. Its client follows no redirect: a redirect would
// resend a signed command elsewhere.
func New(cfg Config) *Driver {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Driver{
		now: now,
		client: device.HTTPClient(device.HTTPOptions{Dial: cfg.Dial, TLS: cfg.TLS,
			MaxHeaderBytes: 64 << 10, TLSHandshakeTimeout: 10 * time.Second}),
	}
}

// Name implements device.Driver.
func (d *Driver) Name() string { return "webhook" }

// Curtail posts action "curtail". nil means the receiver answered 2xx.
func (d *Driver) Curtail(ctx context.Context, t *device.Target) error {
	_, err := d.post(ctx, t, ActionCurtail)
	return err
}

// Resume posts action "resume".
func (d *Driver) Resume(ctx context.Context, t *device.Target) error {
	_, err := d.post(ctx, t, ActionResume)
	return err
}

// Read posts action "read". A receiver that answers JSON with "state",
// "power_w" or "hashrate_ths" gives a reading; one that answers anything
// else (an empty 204, text) gives state unknown.
func (d *Driver) Read(ctx context.Context, t *device.Target) (device.Reading, error) {
	body, err := d.post(ctx, t, ActionRead)
	if err != nil {
		return device.Reading{}, err
	}
	return parseReading(body), nil
}
