package antminer

import (
	"context"
	"fmt"
	"net/http"

	"github.com/hashgate/hashgate/switcher/device"
)

// DefaultPort is the stock web interface's port.
const DefaultPort = 80

// DefaultUser is the stock web interface's user.
const DefaultUser = "root"

// MaxBody bounds every answer read from a rig.
const MaxBody = 1 << 20

// Config tunes a Driver. The zero Config works.
type Config struct {
	// Dial replaces the TCP dialer (tests, a SOCKS hop).
	Dial device.DialFunc
	// MaxBody bounds an answer (0: MaxBody).
	MaxBody int64
}

// Driver speaks the Bitmain stock web API. Safe for concurrent use.
type Driver struct {
	client  *http.Client
	maxBody int64
}

var (
	_ device.Driver      = (*Driver)(nil)
	_ device.PoolDriver  = (*Driver)(nil)
	_ device.LightReader = (*Driver)(nil)
)

// New makes a driver. It shares one HTTP client: a fleet of tens of
// thousands of rigs must not hold a socket each, so every call's last
// request closes its connection ("Connection: close"), and the requests
// before it (get_miner_conf.cgi before stats.cgi or set_miner_conf.cgi,
// a digest challenge's 401) reuse it: one connection per call
// (device.HTTPOptions.CallConn).
func New(cfg Config) *Driver {
	d := &Driver{client: device.HTTPClient(device.HTTPOptions{Dial: cfg.Dial, CallConn: true}), maxBody: cfg.MaxBody}
	if d.maxBody <= 0 {
		d.maxBody = MaxBody
	}
	return d
}

// Name is the actuator name.
func (d *Driver) Name() string { return "antminer" }

// Curtail sets the miner to sleep mode (miner-mode 1).
func (d *Driver) Curtail(ctx context.Context, t *device.Target) error {
	return d.setMode(ctx, t, modeSleep)
}

// Resume sets the miner to normal mode (miner-mode 0).
func (d *Driver) Resume(ctx context.Context, t *device.Target) error {
	return d.setMode(ctx, t, modeNormal)
}

func (d *Driver) setMode(ctx context.Context, t *device.Target, mode int) error {
	ctx, cancel := context.WithTimeout(ctx, t.Options.CallTimeout())
	defer cancel()
	conf, err := d.conf(ctx, t, true)
	if err != nil {
		return err
	}
	body, err := conf.writePayload(mode, nil)
	if err != nil {
		return d.fail(t, "set_miner_conf", err)
	}
	return d.write(ctx, t, body)
}

func (d *Driver) write(ctx context.Context, t *device.Target, body []byte) error {
	b, err := d.call(ctx, t, http.MethodPost, "/cgi-bin/set_miner_conf.cgi", body, true)
	if err != nil {
		return d.fail(t, "set_miner_conf", err)
	}
	if err := parseSetResult(b); err != nil {
		return d.fail(t, "set_miner_conf", err)
	}
	return nil
}

// conf reads get_miner_conf.cgi; more: the call sends another request
// after it (the connection stays open for it).
func (d *Driver) conf(ctx context.Context, t *device.Target, more bool) (minerConf, error) {
	b, err := d.call(ctx, t, http.MethodGet, "/cgi-bin/get_miner_conf.cgi", nil, !more)
	if err == nil {
		var c minerConf
		if c, err = parseConf(b); err == nil {
			return c, nil
		}
	}
	return minerConf{}, d.fail(t, "get_miner_conf", err)
}

// Read reads the running miner's mode, hashrate and power (stats.cgi)
// and the configured pools (get_miner_conf.cgi). The state comes from
// the running miner, so a mode change reads as the old state until the
// miner process has restarted.
func (d *Driver) Read(ctx context.Context, t *device.Target) (device.Reading, error) {
	ctx, cancel := context.WithTimeout(ctx, t.Options.CallTimeout())
	defer cancel()
	conf, err := d.conf(ctx, t, true)
	if err != nil {
		return device.Reading{}, err
	}
	s, err := d.stats(ctx, t)
	if err != nil {
		return device.Reading{}, err
	}
	r := s.reading()
	r.Pools = conf.poolURLs()
	if !s.hasMode {
		r.State = stateOf(conf.mode())
	}
	return r, nil
}

// ReadLight reads stats.cgi alone: one request instead of Read's two.
// The state is the running miner's "miner-mode" where stats has it,
// else unknown (the configured mode is in get_miner_conf.cgi, which
// only Read asks for); no pool list.
func (d *Driver) ReadLight(ctx context.Context, t *device.Target) (device.Reading, error) {
	ctx, cancel := context.WithTimeout(ctx, t.Options.CallTimeout())
	defer cancel()
	s, err := d.stats(ctx, t)
	if err != nil {
		return device.Reading{}, err
	}
	return s.reading(), nil
}

func (d *Driver) stats(ctx context.Context, t *device.Target) (stats, error) {
	b, err := d.call(ctx, t, http.MethodGet, "/cgi-bin/stats.cgi", nil, true)
	if err != nil {
		return stats{}, d.fail(t, "stats", err)
	}
	s, err := parseStats(b)
	if err != nil {
		return stats{}, d.fail(t, "stats", err)
	}
	return s, nil
}

// reading is what stats.cgi alone says: the state from the running
// miner's mode (unknown without one), hashrate, power.
func (s stats) reading() device.Reading {
	return device.Reading{State: stateOf(s.mode, s.hasMode), HashrateTHs: s.hashTHs, HasHashrate: s.hasHash,
		PowerW: s.powerW, HasPower: s.hasPower}
}

func stateOf(mode int, ok bool) device.State {
	switch {
	case !ok:
		return device.StateUnknown
	case mode == modeSleep:
		return device.StateSleeping
	case mode == modeNormal || mode == 2 || mode == 3: // normal, high, low
		return device.StateMining
	}
	return device.StateUnknown
}

// Pools returns the configured pool URLs (empty slots left out).
func (d *Driver) Pools(ctx context.Context, t *device.Target) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, t.Options.CallTimeout())
	defer cancel()
	c, err := d.conf(ctx, t, false)
	if err != nil {
		return nil, err
	}
	return c.poolURLs(), nil
}

// SetPools writes pools into the three slots (unused ones blank),
// keeping the configured mode and the rest of the configuration.
func (d *Driver) SetPools(ctx context.Context, t *device.Target, pools []device.Pool) error {
	if len(pools) > poolSlots {
		return d.fail(t, "set pools", fmt.Errorf("%w: %d pools, the firmware keeps %d", device.ErrUnsupported, len(pools), poolSlots))
	}
	ctx, cancel := context.WithTimeout(ctx, t.Options.CallTimeout())
	defer cancel()
	c, err := d.conf(ctx, t, true)
	if err != nil {
		return err
	}
	ps := make([]confPool, 0, poolSlots)
	for _, p := range pools {
		ps = append(ps, confPool{URL: p.URL, User: p.User, Pass: p.Password})
	}
	mode, ok := c.mode()
	if !ok {
		mode = modeNormal
	}
	body, err := c.writePayload(mode, ps)
	if err != nil {
		return d.fail(t, "set pools", err)
	}
	return d.write(ctx, t, body)
}

func (d *Driver) fail(t *device.Target, op string, err error) error {
	return fmt.Errorf("antminer %s: %s: %w", t.Rig, op, err)
}

// call makes one authenticated request: with the cached digest
// challenge when there is one, answering a 401 with the fresh challenge
// once. A refusal of a fresh challenge is ErrAuth.
// call makes one request, answering a digest challenge (a 401 keeps the
// connection for the retry). last: the connection closes after the
// answer.
func (d *Driver) call(ctx context.Context, t *device.Target, method, path string, body []byte, last bool) ([]byte, error) {
	user, pass := credentials(t)
	ch, _ := t.Session.(*challenge)
	fresh := false
	for i := 0; i < 3; i++ {
		resp, err := d.send(ctx, t, method, path, body, ch, user, pass, last)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode == http.StatusUnauthorized {
			device.DrainBody(resp, d.maxBody)
			next, err := parseChallenge(resp.Header.Get("WWW-Authenticate"))
			if err != nil {
				return nil, fmt.Errorf("%w: %v", device.ErrProtocol, err)
			}
			if fresh && !next.stale {
				t.Session = nil
				return nil, fmt.Errorf("%w: HTTP 401 for user %q", device.ErrAuth, user)
			}
			ch, fresh = &next, true
			t.Session = ch
			continue
		}
		return d.readBody(resp)
	}
	return nil, fmt.Errorf("%w: digest challenge repeated", device.ErrAuth)
}

func (d *Driver) send(ctx context.Context, t *device.Target, method, path string, body []byte, ch *challenge, user, pass string, last bool) (*http.Response, error) {
	req, err := device.NewRequest(ctx, method, "http://"+t.HostPort(DefaultPort)+path, body)
	if err != nil {
		return nil, err
	}
	req.Close = last
	if ch != nil {
		req.Header.Set("Authorization", ch.authorization(method, path, user, pass))
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
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%w: HTTP %d", device.ErrProtocol, resp.StatusCode)
	}
	return b, nil
}

func credentials(t *device.Target) (string, string) {
	if t.Options == nil {
		return DefaultUser, ""
	}
	user := t.Options.User
	if user == "" {
		user = DefaultUser
	}
	return user, t.Options.Password.Reveal()
}
