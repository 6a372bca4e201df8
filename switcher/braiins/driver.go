package braiins

import (
	"context"
	"net/http"
	"time"

	"github.com/hashgate/hashgate/switcher/device"
)

// DefaultPort is the port of the Braiins OS web server that serves the
// public REST API.
const DefaultPort = 80

// DefaultUser is the firmware's only web user when the group names none.
const DefaultUser = "root"

// maxBody bounds one answer read from a miner.
const maxBody = 1 << 20

// Config tunes a Driver. The zero Config dials with net.Dialer and reads
// the clock with time.Now.
type Config struct {
	// Dial replaces the dialer (tests, a SOCKS hop to a site network).
	Dial device.DialFunc
	// Now is the clock used for token expiry.
	Now func() time.Time
}

// Driver talks to Braiins OS miners through their public REST API. It
// holds no per-rig state: each rig's token lives in its Target.Session.
// Safe for concurrent use on different targets.
type Driver struct {
	now    func() time.Time
	client *http.Client
}

var (
	_ device.Driver      = (*Driver)(nil)
	_ device.PoolDriver  = (*Driver)(nil)
	_ device.LightReader = (*Driver)(nil)
)

// New makes a driver with one shared HTTP client. A fleet polls tens of
// thousands of rigs and must not hold a socket to each between polls, so
// every call's last request closes its connection ("Connection: close");
// the requests before it (a login, a Read's details before its stats)
// reuse it, so a call makes one connection, not one per request
// (device.HTTPOptions.CallConn). The client follows no redirect: a
// miner that redirects is not speaking this API.
func New(cfg Config) *Driver {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Driver{
		now:    now,
		client: device.HTTPClient(device.HTTPOptions{Dial: cfg.Dial, CallConn: true, MaxHeaderBytes: 64 << 10}),
	}
}

// Name implements device.Driver.
func (d *Driver) Name() string { return "braiins" }

// Curtail pauses mining (PUT /api/v1/actions/pause).
func (d *Driver) Curtail(ctx context.Context, t *device.Target) error {
	ctx, cancel := callContext(ctx, t)
	defer cancel()
	return d.do(ctx, t, http.MethodPut, pathPause, nil, nil)
}

// Resume resumes mining (PUT /api/v1/actions/resume).
func (d *Driver) Resume(ctx context.Context, t *device.Target) error {
	ctx, cancel := callContext(ctx, t)
	defer cancel()
	return d.do(ctx, t, http.MethodPut, pathResume, nil, nil)
}

// Read reads the miner's state from its details, and its power and
// hashrate from its stats: two requests under one call timeout.
func (d *Driver) Read(ctx context.Context, t *device.Target) (device.Reading, error) {
	ctx, cancel := callContext(ctx, t)
	defer cancel()
	var r device.Reading
	var det details
	if err := d.doThenMore(ctx, t, http.MethodGet, pathDetails, nil, &det); err != nil {
		return r, err
	}
	var st stats
	if err := d.do(ctx, t, http.MethodGet, pathStats, nil, &st); err != nil {
		return r, err
	}
	r.State = det.state()
	r.PowerW, r.HasPower = st.power()
	r.HashrateTHs, r.HasHashrate = st.hashrate()
	return r, nil
}

// ReadLight reads the miner's stats alone (power and hashrate): one
// request instead of Read's two. The state is in the details, which only
// Read asks for, so it is unknown here.
func (d *Driver) ReadLight(ctx context.Context, t *device.Target) (device.Reading, error) {
	ctx, cancel := callContext(ctx, t)
	defer cancel()
	var r device.Reading
	var st stats
	if err := d.do(ctx, t, http.MethodGet, pathStats, nil, &st); err != nil {
		return r, err
	}
	r.PowerW, r.HasPower = st.power()
	r.HashrateTHs, r.HasHashrate = st.hashrate()
	return r, nil
}

// Pools returns the URLs of the enabled pools of every pool group, in
// the order the firmware lists them (GET /api/v1/pools/).
func (d *Driver) Pools(ctx context.Context, t *device.Target) ([]string, error) {
	ctx, cancel := callContext(ctx, t)
	defer cancel()
	var groups []poolGroup
	if err := d.do(ctx, t, http.MethodGet, pathPools, nil, &groups); err != nil {
		return nil, err
	}
	return poolURLs(groups), nil
}

// SetPools replaces every pool group with one group holding pools, in
// order (PUT /api/v1/pools/batch).
func (d *Driver) SetPools(ctx context.Context, t *device.Target, pools []device.Pool) error {
	ctx, cancel := callContext(ctx, t)
	defer cancel()
	return d.do(ctx, t, http.MethodPut, pathPoolsBatch, batchFor(pools), nil)
}

func callContext(ctx context.Context, t *device.Target) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, t.Options.CallTimeout())
}
