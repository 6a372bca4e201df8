package luxos

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashgate/hashgate/switcher/device"
)

// DefaultPort is the LuxOS API's TCP port.
const DefaultPort = 4028

// DefaultMaxAnswer bounds one answer's size.
const DefaultMaxAnswer = 1 << 20

// Config tunes a Driver. The zero Config works.
type Config struct {
	// Dial opens connections (default net.Dialer.DialContext).
	Dial device.DialFunc
	// MaxAnswer bounds one answer in bytes (default DefaultMaxAnswer).
	MaxAnswer int64
}

// Driver drives LuxOS rigs through their TCP API. Safe for concurrent
// use on different targets.
type Driver struct {
	cfg       Config
	maxAnswer int64
}

// New makes a Driver.
func New(cfg Config) *Driver {
	d := &Driver{cfg: cfg, maxAnswer: cfg.MaxAnswer}
	if d.maxAnswer <= 0 {
		d.maxAnswer = DefaultMaxAnswer
	}
	return d
}

var (
	_ device.Driver     = (*Driver)(nil)
	_ device.PoolDriver = (*Driver)(nil)
)

// Name is the actuator name.
func (d *Driver) Name() string { return "luxos" }

// session is what the driver keeps in Target.Session: a session id of
// ours whose logoff failed, so the next call drops it first instead of
// waiting a minute for it to expire. Never another client's session.
type session struct{ stale string }

// String keeps the id out of logs.
func (s *session) String() string { return "luxos session" }

func bound(ctx context.Context, t *device.Target) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, t.Options.CallTimeout())
}

// Curtail puts the rig to sleep: logon, curtail sleep, logoff.
func (d *Driver) Curtail(ctx context.Context, t *device.Target) error {
	return d.curtail(ctx, t, "sleep")
}

// Resume wakes the rig: logon, curtail wakeup, logoff.
func (d *Driver) Resume(ctx context.Context, t *device.Target) error {
	return d.curtail(ctx, t, "wakeup")
}

func (d *Driver) curtail(ctx context.Context, t *device.Target, action string) error {
	ctx, cancel := bound(ctx, t)
	defer cancel()
	addr := t.HostPort(DefaultPort)
	d.dropStale(ctx, t, addr)
	sid, err := d.logon(ctx, addr)
	if err != nil {
		return d.wrap(t, "curtail "+action, err)
	}
	err = d.command(ctx, addr, request{Command: "curtail", Parameter: sid + "," + action})
	if lerr := d.command(ctx, addr, request{Command: "logoff", Parameter: sid}); lerr != nil {
		t.Session = &session{stale: sid}
	} else {
		t.Session = nil
	}
	return d.wrap(t, "curtail "+action, err)
}

// dropStale logs off a session of ours left over by a failed logoff.
// Its answer does not matter: the session may have expired meanwhile.
func (d *Driver) dropStale(ctx context.Context, t *device.Target, addr string) {
	s, ok := t.Session.(*session)
	if !ok || s.stale == "" {
		return
	}
	_ = d.command(ctx, addr, request{Command: "logoff", Parameter: s.stale})
	t.Session = nil
}

func (d *Driver) logon(ctx context.Context, addr string) (string, error) {
	b, err := d.roundtrip(ctx, addr, request{Command: "logon"})
	if err != nil {
		return "", err
	}
	return parseLogon(b)
}

// command runs a command whose answer is only a STATUS.
func (d *Driver) command(ctx context.Context, addr string, req request) error {
	b, err := d.roundtrip(ctx, addr, req)
	if err != nil {
		return err
	}
	if err := parseStatus(b); err != nil {
		return fmt.Errorf("%s: %w", req.Command, err)
	}
	return nil
}

func (d *Driver) wrap(t *device.Target, what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("luxos %s %s: %w", t.Rig, what, err)
}

// Read reads state (config CurtailMode), power (power Watts) and
// hashrate (summary GHS 5s) in one multi-command round trip.
func (d *Driver) Read(ctx context.Context, t *device.Target) (device.Reading, error) {
	ctx, cancel := bound(ctx, t)
	defer cancel()
	b, err := d.roundtrip(ctx, t.HostPort(DefaultPort), request{Command: "summary+power+config"})
	if err != nil {
		return device.Reading{}, d.wrap(t, "read", err)
	}
	r, err := parseReading(b)
	return r, d.wrap(t, "read", err)
}

// Pools returns the rig's pool URLs in priority order.
func (d *Driver) Pools(ctx context.Context, t *device.Target) ([]string, error) {
	ctx, cancel := bound(ctx, t)
	defer cancel()
	ps, err := d.pools(ctx, t.HostPort(DefaultPort))
	if err != nil {
		return nil, d.wrap(t, "pools", err)
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.URL
	}
	return out, nil
}

func (d *Driver) pools(ctx context.Context, addr string) ([]pool, error) {
	b, err := d.roundtrip(ctx, addr, request{Command: "pools"})
	if err != nil {
		return nil, err
	}
	return parsePools(b)
}

// SetPools replaces the pool list: addpool for each new pool in order,
// then removepool for each old one. Neither needs a session. A field
// holding a comma cannot be sent (the parameter is comma-separated).
func (d *Driver) SetPools(ctx context.Context, t *device.Target, pools []device.Pool) error {
	ctx, cancel := bound(ctx, t)
	defer cancel()
	for _, p := range pools {
		if strings.ContainsAny(p.URL+p.User+p.Password, ",\\") {
			return d.wrap(t, "set pools", fmt.Errorf("%w: a pool field holds a comma or backslash", device.ErrUnsupported))
		}
	}
	addr := t.HostPort(DefaultPort)
	old, err := d.pools(ctx, addr)
	if err != nil {
		return d.wrap(t, "set pools", err)
	}
	for i, p := range pools {
		param := p.URL + "," + p.User + "," + p.Password
		if err := d.command(ctx, addr, request{Command: "addpool", Parameter: param}); err != nil {
			if errors.Is(err, device.ErrRefused) {
				// The device's message may quote the parameter, which
				// holds the pool password: keep it out.
				err = device.ErrRefused
			}
			return d.wrap(t, "set pools", fmt.Errorf("addpool %d: %w", i, err))
		}
	}
	for _, p := range old {
		if err := d.command(ctx, addr, request{Command: "removepool", Parameter: fmt.Sprint(p.ID)}); err != nil {
			return d.wrap(t, "set pools", err)
		}
	}
	return nil
}
