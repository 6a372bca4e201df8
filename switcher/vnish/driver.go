package vnish

import (
	"context"
	"fmt"
	"net/http"

	"github.com/hashgate/hashgate/switcher/device"
)

// DefaultPort is the VNish web interface's port.
const DefaultPort = 80

// MaxBody bounds every answer read from a rig.
const MaxBody = 1 << 20

// Config tunes a Driver. The zero Config works.
type Config struct {
	// Dial replaces the TCP dialer (tests, a SOCKS hop).
	Dial device.DialFunc
	// MaxBody bounds an answer (0: MaxBody).
	MaxBody int64
}

// Driver speaks the VNish web API. Safe for concurrent use.
type Driver struct {
	client  *http.Client
	maxBody int64
}

var (
	_ device.Driver     = (*Driver)(nil)
	_ device.PoolDriver = (*Driver)(nil)
)

// session is the per-rig state kept in device.Target.Session: the
// token unlock gave (a Secret, so it never prints).
type session struct{ token device.Secret }

// Format keeps the token out of any print of the session (fmt does not
// reach the Secret's own Format through an unexported field).
func (s *session) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte("vnish-session[redacted]")) }

// New makes a driver. It shares one HTTP client with keep-alives off:
// a fleet of tens of thousands of rigs must not hold a socket each.
func New(cfg Config) *Driver {
	d := &Driver{client: device.HTTPClient(device.HTTPOptions{Dial: cfg.Dial}), maxBody: cfg.MaxBody}
	if d.maxBody <= 0 {
		d.maxBody = MaxBody
	}
	return d
}

// Name is the actuator name.
func (d *Driver) Name() string { return "vnish" }

// Curtail stops mining (POST /api/v1/mining/stop).
func (d *Driver) Curtail(ctx context.Context, t *device.Target) error {
	return d.command(ctx, t, "mining/stop")
}

// Resume starts mining (POST /api/v1/mining/start).
func (d *Driver) Resume(ctx context.Context, t *device.Target) error {
	return d.command(ctx, t, "mining/start")
}

func (d *Driver) command(ctx context.Context, t *device.Target, path string) error {
	ctx, cancel := context.WithTimeout(ctx, t.Options.CallTimeout())
	defer cancel()
	b, err := d.call(ctx, t, http.MethodPost, path, nil)
	if err == nil {
		err = parseCommand(b)
	}
	if err != nil {
		return d.fail(t, path, err)
	}
	return nil
}

// Read reads GET /api/v1/summary: miner state, hashrate, power, pools.
func (d *Driver) Read(ctx context.Context, t *device.Target) (device.Reading, error) {
	ctx, cancel := context.WithTimeout(ctx, t.Options.CallTimeout())
	defer cancel()
	b, err := d.call(ctx, t, http.MethodGet, "summary", nil)
	if err != nil {
		return device.Reading{}, d.fail(t, "summary", err)
	}
	r, err := parseSummary(b)
	if err != nil {
		return device.Reading{}, d.fail(t, "summary", err)
	}
	return r, nil
}

// Pools returns the pool URLs the summary lists, in its order.
func (d *Driver) Pools(ctx context.Context, t *device.Target) ([]string, error) {
	r, err := d.Read(ctx, t)
	if err != nil {
		return nil, err
	}
	return r.Pools, nil
}

// SetPools replaces the pool list through POST /api/v1/settings.
func (d *Driver) SetPools(ctx context.Context, t *device.Target, pools []device.Pool) error {
	ctx, cancel := context.WithTimeout(ctx, t.Options.CallTimeout())
	defer cancel()
	body, err := poolsPayload(pools)
	if err != nil {
		return d.fail(t, "settings", err)
	}
	b, err := d.call(ctx, t, http.MethodPost, "settings", body)
	if err == nil {
		err = parseCommand(b)
	}
	if err != nil {
		return d.fail(t, "settings", err)
	}
	return nil
}

func (d *Driver) fail(t *device.Target, op string, err error) error {
	return fmt.Errorf("vnish %s: %s: %w", t.Rig, op, err)
}

// call makes one request with the rig's token, unlocking first when
// there is none, and once more when a cached token is refused (it
// expired or the miner rebooted).
func (d *Driver) call(ctx context.Context, t *device.Target, method, path string, body []byte) ([]byte, error) {
	s, _ := t.Session.(*session)
	fresh := false
	for {
		if s == nil {
			tok, err := d.unlock(ctx, t)
			if err != nil {
				return nil, err
			}
			s, fresh = &session{token: tok}, true
			t.Session = s
		}
		resp, err := d.send(ctx, t, method, path, body, s.token.Reveal())
		if err != nil {
			return nil, err
		}
		if resp.StatusCode == http.StatusUnauthorized {
			device.DrainBody(resp, d.maxBody)
			t.Session, s = nil, nil
			if fresh {
				return nil, fmt.Errorf("%w: a fresh token was refused", device.ErrAuth)
			}
			continue
		}
		return d.readBody(resp)
	}
}

// unlock trades the password for a token: POST /api/v1/unlock {"pw"}.
func (d *Driver) unlock(ctx context.Context, t *device.Target) (device.Secret, error) {
	var pw string
	if t.Options != nil {
		pw = t.Options.Password.Reveal()
	}
	body, err := unlockPayload(pw)
	if err != nil {
		return device.Secret{}, err
	}
	resp, err := d.send(ctx, t, http.MethodPost, "unlock", body, "")
	if err != nil {
		return device.Secret{}, fmt.Errorf("unlock: %w", err)
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		device.DrainBody(resp, d.maxBody)
		return device.Secret{}, fmt.Errorf("unlock: %w: HTTP %d", device.ErrAuth, resp.StatusCode)
	}
	b, err := d.readBody(resp)
	if err != nil {
		return device.Secret{}, fmt.Errorf("unlock: %w", err)
	}
	tok, err := parseUnlock(b)
	if err != nil {
		return device.Secret{}, fmt.Errorf("unlock: %w", err)
	}
	return device.NewSecret(tok), nil
}

func (d *Driver) send(ctx context.Context, t *device.Target, method, path string, body []byte, token string) (*http.Response, error) {
	req, err := device.NewRequest(ctx, method, "http://"+t.HostPort(DefaultPort)+"/api/v1/"+path, body)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, device.TransportError(err)
	}
	return resp, nil
}

func (d *Driver) readBody(resp *http.Response) ([]byte, error) {
	b, err := device.ReadBody(resp, d.maxBody)
	if err != nil {
		return nil, device.TransportError(err)
	}
	switch {
	case resp.StatusCode/100 == 2:
		return b, nil
	case resp.StatusCode/100 == 4:
		return nil, fmt.Errorf("%w: HTTP %d", device.ErrRefused, resp.StatusCode)
	}
	return nil, fmt.Errorf("%w: HTTP %d", device.ErrProtocol, resp.StatusCode)
}
