package whatsminer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hashgate/hashgate/switcher/device"
	"github.com/hashgate/hashgate/switcher/whatsminer/wmcrypt"
)

// Default ports: API v2 and API v3.
const (
	DefaultPort   = 4028
	DefaultPortV3 = 4433
)

// DefaultMaxAnswer bounds one answer's size.
const DefaultMaxAnswer = 1 << 20

// DefaultTokenTTL is how long a token is reused: under the 30 minutes a
// token lives on the miner.
const DefaultTokenTTL = 29 * time.Minute

// DefaultPassword is the factory admin password, used when the group
// sets none.
const DefaultPassword = "admin"

// Config tunes a Driver. The zero Config works.
type Config struct {
	// Dial opens connections (default net.Dialer.DialContext).
	Dial device.DialFunc
	// MaxAnswer bounds one answer in bytes (default DefaultMaxAnswer).
	MaxAnswer int64
	// TokenTTL: a token older than this is replaced before use (default
	// DefaultTokenTTL). A token the miner refuses earlier is replaced
	// then.
	TokenTTL time.Duration
	Now      func() time.Time
}

// Driver drives Whatsminer rigs through the btminer API v2. Safe for
// concurrent use on different targets.
type Driver struct {
	cfg       Config
	maxAnswer int64
	keys      keyCache
}

// New makes a Driver.
func New(cfg Config) *Driver {
	if cfg.MaxAnswer <= 0 {
		cfg.MaxAnswer = DefaultMaxAnswer
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Driver{cfg: cfg, maxAnswer: cfg.MaxAnswer}
}

var (
	_ device.Driver      = (*Driver)(nil)
	_ device.PoolDriver  = (*Driver)(nil)
	_ device.LightReader = (*Driver)(nil)
)

// Name is the actuator name.
func (d *Driver) Name() string { return "whatsminer" }

func bound(ctx context.Context, t *device.Target) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, t.Options.CallTimeout())
}

// errSetPoolsV3: set.miner.pools sends its param AES-encrypted, and the
// sources disagree on the padding (asic-rs: zeros; ya-whatsminer-cli:
// PKCS#7), so it is not sent.
var errSetPoolsV3 = fmt.Errorf("%w: set.miner.pools on API v3 is not implemented", device.ErrUnsupported)

func v3(t *device.Target) bool { return t.Options != nil && t.Options.APIVersion == 3 }

func wrap(t *device.Target, what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("whatsminer %s %s: %w", t.Rig, what, err)
}

// Curtail powers the hashboards off: power_off, answering before it acts.
func (d *Driver) Curtail(ctx context.Context, t *device.Target) error {
	return d.act(ctx, t, "curtail", "power_off", map[string]string{"respbefore": "true"})
}

// Resume powers the hashboards on: power_on.
func (d *Driver) Resume(ctx context.Context, t *device.Target) error {
	return d.act(ctx, t, "resume", "power_on", nil)
}

func (d *Driver) act(ctx context.Context, t *device.Target, what, cmd string, params map[string]string) error {
	ctx, cancel := bound(ctx, t)
	defer cancel()
	if v3(t) {
		// v3: set.miner.service stop / start (asic-rs pause / resume).
		param := "stop"
		if cmd == "power_on" {
			param = "start"
		}
		return wrap(t, what, d.setV3(ctx, t, "set.miner.service", param))
	}
	return wrap(t, what, d.privileged(ctx, t, cmd, params))
}

// Read reads power and hashrate (summary) and state (status).
func (d *Driver) Read(ctx context.Context, t *device.Target) (device.Reading, error) {
	ctx, cancel := bound(ctx, t)
	defer cancel()
	if v3(t) {
		r, err := d.readV3(ctx, t)
		return r, wrap(t, "read", err)
	}
	return d.readV2(ctx, t, false)
}

// readV2 reads summary, then status unless light and the summary gave
// power or hashrate (a light read then makes one connection).
func (d *Driver) readV2(ctx context.Context, t *device.Target, light bool) (device.Reading, error) {
	addr := t.HostPort(DefaultPort)
	b, err := d.roundtrip(ctx, addr, "summary", []byte(`{"cmd":"summary"}`))
	if err != nil {
		return device.Reading{}, wrap(t, "read", err)
	}
	// A summary the device refuses (older btminer stops its miner
	// process on power_off) still leaves status to read.
	s, serr := parseSummary(b)
	r := device.Reading{PowerW: s.PowerW, HasPower: s.HasPower, HashrateTHs: s.HashTHs, HasHashrate: s.HasHashes}
	if light && serr == nil && (s.HasPower || s.HasHashes) {
		return r, nil
	}
	b, err = d.roundtrip(ctx, addr, "status", []byte(`{"cmd":"status"}`))
	if err != nil {
		return r, wrap(t, "read status", err)
	}
	// A status the firmware does not give leaves the state unknown; the
	// fleet still judges by power and hashrate.
	r.State, _ = parseStatus(b)
	if serr != nil && r.State == device.StateUnknown {
		return device.Reading{}, wrap(t, "read", serr)
	}
	return r, nil
}

// ReadLight reads power and hashrate from summary alone: one connection
// instead of Read's two (the API takes one command a connection, and
// status cannot join a multi-command). The state is in status, so it is
// unknown here; a summary refused or without power and hashrate (older
// btminer after power_off) falls back to status, as Read. API v3's
// read is one request already: ReadLight is Read.
func (d *Driver) ReadLight(ctx context.Context, t *device.Target) (device.Reading, error) {
	if v3(t) {
		return d.Read(ctx, t)
	}
	ctx, cancel := bound(ctx, t)
	defer cancel()
	return d.readV2(ctx, t, true)
}

// Pools returns the rig's pool URLs in order.
func (d *Driver) Pools(ctx context.Context, t *device.Target) ([]string, error) {
	ctx, cancel := bound(ctx, t)
	defer cancel()
	if v3(t) {
		ps, err := d.poolsV3(ctx, t)
		return ps, wrap(t, "pools", err)
	}
	b, err := d.roundtrip(ctx, t.HostPort(DefaultPort), "pools", []byte(`{"cmd":"pools"}`))
	if err != nil {
		return nil, wrap(t, "pools", err)
	}
	ps, err := parsePools(b)
	return ps, wrap(t, "pools", err)
}

// SetPools writes up to three pools with update_pools.
func (d *Driver) SetPools(ctx context.Context, t *device.Target, pools []device.Pool) error {
	if v3(t) {
		return wrap(t, "set pools", errSetPoolsV3)
	}
	if len(pools) > 3 {
		return wrap(t, "set pools", fmt.Errorf("%w: update_pools takes at most 3 pools, got %d", device.ErrUnsupported, len(pools)))
	}
	params := map[string]string{}
	for i := 0; i < 3; i++ {
		var p device.Pool
		if i < len(pools) {
			p = pools[i]
		}
		n := strconv.Itoa(i + 1)
		params["pool"+n], params["worker"+n], params["passwd"+n] = p.URL, p.User, p.Password
	}
	ctx, cancel := bound(ctx, t)
	defer cancel()
	err := d.privileged(ctx, t, "update_pools", params)
	if errors.Is(err, device.ErrRefused) {
		err = device.ErrRefused // the device's text may quote a pool password
	}
	return wrap(t, "set pools", err)
}

// privileged sends one encrypted command with the rig's token, getting
// a new token when there is none, it is old, or the miner refuses it.
func (d *Driver) privileged(ctx context.Context, t *device.Target, cmd string, params map[string]string) error {
	addr := t.HostPort(DefaultPort)
	for {
		s, fresh, err := d.token(ctx, t, addr)
		if err != nil {
			return err
		}
		b, err := d.roundtrip(ctx, addr, cmd, sealCommand(s, cmd, params))
		if err != nil {
			return err
		}
		err = parsePrivileged(s.key, b)
		if err == nil || !(errors.Is(err, errToken) || errors.Is(err, errGarbled)) {
			return err
		}
		t.Session = nil
		if fresh {
			// A token just made from the password is refused: the
			// password is wrong.
			return fmt.Errorf("%w: %w", device.ErrAuth, err)
		}
	}
}

// sealCommand builds {"enc":1,"data":base64(aes(json))}, the command
// JSON holding cmd, its parameters and the token's sign.
func sealCommand(s *session, cmd string, params map[string]string) []byte {
	m := make(map[string]string, len(params)+2)
	for k, v := range params {
		m[k] = v
	}
	m["cmd"], m["token"] = cmd, s.sign
	plain, _ := json.Marshal(m)
	out, _ := json.Marshal(struct {
		Enc  int    `json:"enc"`
		Data string `json:"data"`
	}{1, wmcrypt.Seal(s.key, plain)})
	return out
}
