package device

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"
)

// State is what a rig's own management interface says it is doing.
type State uint8

// States, as the API names them.
const (
	StateUnknown     State = iota // never read, or the firmware does not say
	StateMining                   // hashing (or its hashboards are up)
	StateSleeping                 // curtailed on the device: hashboards off
	StateUnreachable              // the last read failed: no answer, refused, bad credentials
)

var stateNames = [...]string{"unknown", "mining", "sleeping", "unreachable"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// MarshalText makes a State its name in JSON.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Reading is one read back of a rig. PowerW and HashrateTHs are only
// meaningful when their Has flag is set: many firmwares report no power.
type Reading struct {
	State       State
	PowerW      float64
	HasPower    bool
	HashrateTHs float64
	HasHashrate bool
	// Pools are the pool URLs configured on the device, in priority order,
	// when the driver read them (nil: not read).
	Pools []string
	At    time.Time // when it was read (set by the fleet)
}

// Hashing reports whether the reading shows the rig hashing, whatever its
// State says: field firmware reports "sleeping" or answers "ok" to a sleep
// command and keeps its hashboards up. minHashTHs and minPowerW are the
// thresholds under which hashrate and power count as idle.
func (r Reading) Hashing(minHashTHs, minPowerW float64) bool {
	if r.State == StateMining {
		return true
	}
	if r.HasHashrate && r.HashrateTHs > minHashTHs {
		return true
	}
	return r.HasPower && r.PowerW > minPowerW
}

// Driver is one firmware's management API. Every method must honour ctx
// (deadline and cancellation) on every network read and write, and return
// an error wrapping one of the Err values below where one applies.
// Drivers are safe for concurrent use on different targets; the fleet
// never runs two calls on the same target at once.
type Driver interface {
	// Name is the actuator name in the policy ("antminer", ...).
	Name() string
	// Curtail asks the rig to stop hashing (sleep, pause, power off its
	// hashboards). nil means the device accepted the command, not that
	// it stopped.
	Curtail(ctx context.Context, t *Target) error
	// Resume asks the rig to hash again.
	Resume(ctx context.Context, t *Target) error
	// Read reads the rig's state, and its power and hashrate where the
	// firmware reports them.
	Read(ctx context.Context, t *Target) (Reading, error)
}

// LightReader is implemented by drivers that have a cheaper read than
// Read: state, power and hashrate from fewer requests or connections,
// leaving out what changes rarely (the pool list, the configuration).
// Its Reading has Pools nil (not read), and its State may be
// StateUnknown where only Read's extra request says the state. The fleet
// polls with it between full reads (fleet.Config.FullReadEvery) and
// carries the state of the last full read over while the light
// reading's power and hashrate agree with it; read-backs after a
// command always use Read.
type LightReader interface {
	ReadLight(ctx context.Context, t *Target) (Reading, error)
}

// PoolDriver is implemented by drivers that can read and rewrite a rig's
// pool list (pool binding).
type PoolDriver interface {
	// Pools returns the rig's configured pool URLs in priority order.
	Pools(ctx context.Context, t *Target) ([]string, error)
	// SetPools replaces the rig's pool list with pools (URL, user,
	// password each).
	SetPools(ctx context.Context, t *Target, pools []Pool) error
}

// Pool is one pool entry written to a device.
type Pool struct {
	URL      string
	User     string
	Password string
}

// Target is one rig as a driver reaches it.
type Target struct {
	Rig     string // the rig's name in hashgate (for logs and errors)
	Address string // host, or host:port to override the firmware's default port
	Options *Options
	// Session is the driver's per-target state (a token, a session id),
	// kept by the fleet between calls; nil at first. A driver may set
	// it; it must stay small (the fleet budgets 2 KiB per rig in all).
	Session any
}

// Options are a group's actuator_options, resolved: credentials read from
// their files. One Options value is shared by every rig of a group.
type Options struct {
	User       string
	Password   Secret
	Port       int           // 0: the firmware's default
	APIVersion int           // whatsminer: 2 or 3 (0: 2)
	Timeout    time.Duration // per call; 0: DefaultTimeout
	URL        string        // webhook: where to POST
	Secret     Secret        // webhook: the HMAC-SHA256 key
}

// DefaultTimeout bounds one call when the group sets no timeout.
const DefaultTimeout = 30 * time.Second

// CallTimeout is the timeout of one call with these options.
func (o *Options) CallTimeout() time.Duration {
	if o == nil || o.Timeout <= 0 {
		return DefaultTimeout
	}
	return o.Timeout
}

// HostPort is the address to dial: the target's own port if its address
// has one, else the group's port option, else def.
func (t *Target) HostPort(def int) string {
	if host, port, err := net.SplitHostPort(t.Address); err == nil && port != "" {
		return net.JoinHostPort(host, port)
	}
	p := def
	if t.Options != nil && t.Options.Port > 0 {
		p = t.Options.Port
	}
	return net.JoinHostPort(t.Address, strconv.Itoa(p))
}

// Secret is a credential. It never prints: fmt, %v, JSON and logs see
// "[redacted]"; Reveal gives the value to the one call that sends it.
// The value sits behind a pointer so that even a Secret in an unexported
// field of a printed struct (where fmt cannot call Format) shows as an
// address, not the credential.
type Secret struct{ p *string }

// NewSecret wraps a credential.
func NewSecret(v string) Secret { return Secret{p: &v} }

// Reveal returns the credential itself.
func (s Secret) Reveal() string {
	if s.p == nil {
		return ""
	}
	return *s.p
}

// IsZero reports whether no credential is set.
func (s Secret) IsZero() bool { return s.p == nil || *s.p == "" }

// Equal reports whether two secrets hold the same credential.
func (s Secret) Equal(o Secret) bool { return s.Reveal() == o.Reveal() }

// Equal reports whether two options are the same, credentials compared
// by value (a reloaded policy reads its password files again).
func (o *Options) Equal(p *Options) bool {
	if o == nil || p == nil {
		return o == p
	}
	a, b := *o, *p
	if !a.Password.Equal(b.Password) || !a.Secret.Equal(b.Secret) {
		return false
	}
	a.Password, a.Secret, b.Password, b.Secret = Secret{}, Secret{}, Secret{}, Secret{}
	return a == b
}

const redacted = "[redacted]"

func (s Secret) String() string                { return redacted }
func (s Secret) GoString() string              { return redacted }
func (s Secret) MarshalText() ([]byte, error)  { return []byte(redacted), nil }
func (s Secret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(redacted)) }

// Errors every driver wraps, so the fleet decides retries the same way
// for every firmware.
var (
	// ErrAuth: the credentials were refused. Not retried until the
	// policy (or the password file) changes.
	ErrAuth = errors.New("credentials refused")
	// ErrBusy: the device is busy with someone else (a held LuxOS
	// session, a whatsminer token limit). Retried later, never fought.
	ErrBusy = errors.New("device busy")
	// ErrUnsupported: the firmware cannot do this (no power target, no
	// pool rewrite on this version).
	ErrUnsupported = errors.New("not supported by this firmware")
	// ErrProtocol: the device answered something the driver cannot
	// read. Retried.
	ErrProtocol = errors.New("unexpected answer")
	// ErrRefused: the device understood and said no (an error status).
	ErrRefused = errors.New("command refused")
)

// Retryable reports whether a failed call is worth retrying soon: not a
// credentials problem and not something the firmware cannot do.
func Retryable(err error) bool {
	return err != nil && !errors.Is(err, ErrAuth) && !errors.Is(err, ErrUnsupported)
}
