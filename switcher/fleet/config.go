package fleet

import (
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/switcher/device"
)

// Defaults of Config's zero fields. The config file's [switcher]
// poll_interval, device_workers, verify_within and retry_every defaults
// (config.Default) are Workers, PollInterval, VerifyWithin and RetryEvery.
const (
	DefaultWorkers      = 256
	DefaultPollInterval = 10 * time.Second
	DefaultAttempts     = 3
	DefaultBackoffMin   = time.Second
	DefaultBackoffMax   = 30 * time.Second
	DefaultVerifyEvery  = 5 * time.Second
	// DefaultVerifyWithin covers an Antminer's miner-process restart after
	// set_miner_conf.cgi (the answer itself can take ~20 s; it is timed
	// by the call, before the window starts).
	DefaultVerifyWithin = 60 * time.Second
	DefaultRetryEvery   = 2 * time.Minute
	DefaultMinHashTHs   = 1.0
	// DefaultFullReadEvery: one poll in six is a full read (pool list,
	// configuration, the state where only the full read says it): once
	// a minute at the default interval.
	DefaultFullReadEvery = 6
	// MaxFullReadEvery bounds FullReadEvery.
	MaxFullReadEvery = 1000
	DefaultIdleW     = 100.0
)

// Config configures a Fleet. Zero fields take the defaults above;
// negative durations and counts are refused.
type Config struct {
	// Drivers by actuator name; each key must equal its Driver's Name().
	Drivers map[string]device.Driver
	// Workers bounds the device calls running at once (commands, reads).
	Workers int
	// PollInterval: every rig is read once per interval, spread evenly.
	PollInterval time.Duration
	// Attempts per command (first try included) on retryable errors.
	Attempts int
	// BackoffMin, BackoffMax bound the exponential back-off between
	// attempts; each wait is jittered in [d/2, d].
	BackoffMin, BackoffMax time.Duration
	// VerifyEvery is the gap between read-backs after an accepted
	// command; VerifyWithin the window in which the rig must show the
	// wanted state before the outcome says Verified=false.
	VerifyEvery, VerifyWithin time.Duration
	// RetryEvery: how often a rig whose reading disagrees with its Want
	// (or its BindPools) is commanded again once a command for it ended
	// unverified or failed.
	RetryEvery time.Duration
	// FullReadEvery: every FullReadEvery-th poll of a rig is a full read
	// (Driver.Read, and the pool list where BindPools wants it); the
	// polls between are light reads where the driver is a
	// device.LightReader (state, power and hashrate only: one request
	// or connection instead of two). 1: every poll is full. A light
	// reading that disagrees with the last full one makes the rig's
	// next poll full. Read-backs and start-up reads are always full.
	FullReadEvery int
	// MinHashTHs: hashrate at or under which a rig counts as idle.
	MinHashTHs float64
	// IdleW: the idle power threshold of rigs whose Managed.IdleW is 0.
	IdleW float64
	// OnReading gets every reading (polls and read-backs; a failed read
	// is a reading with State Unreachable). Called holding no fleet lock,
	// from worker goroutines, concurrently for different rigs.
	OnReading func(rig string, r device.Reading)
	// OnOutcome gets one outcome per command (see Fleet.Curtail). Same
	// calling rules as OnReading; some outcomes (monitor-only, refused
	// credentials, superseded) are delivered from inside Curtail/Resume.
	OnOutcome func(o device.Outcome)
	Log       zerolog.Logger
	Now       func() time.Time
}

func (c *Config) fill() error {
	if len(c.Drivers) == 0 {
		return errors.New("fleet: no drivers")
	}
	for name, d := range c.Drivers {
		if d == nil || d.Name() != name {
			return fmt.Errorf("fleet: driver under %q is nil or names itself otherwise", name)
		}
	}
	if c.Workers < 0 || c.PollInterval < 0 || c.Attempts < 0 || c.BackoffMin < 0 ||
		c.BackoffMax < 0 || c.VerifyEvery < 0 || c.VerifyWithin < 0 || c.RetryEvery < 0 ||
		c.MinHashTHs < 0 || c.IdleW < 0 || c.FullReadEvery < 0 {
		return errors.New("fleet: negative workers, interval, attempts, duration or threshold")
	}
	setDefault(&c.Workers, DefaultWorkers)
	setDefault(&c.PollInterval, DefaultPollInterval)
	setDefault(&c.Attempts, DefaultAttempts)
	setDefault(&c.BackoffMin, DefaultBackoffMin)
	setDefault(&c.BackoffMax, DefaultBackoffMax)
	setDefault(&c.VerifyEvery, DefaultVerifyEvery)
	setDefault(&c.VerifyWithin, DefaultVerifyWithin)
	setDefault(&c.RetryEvery, DefaultRetryEvery)
	setDefault(&c.MinHashTHs, DefaultMinHashTHs)
	setDefault(&c.FullReadEvery, DefaultFullReadEvery)
	if c.FullReadEvery > MaxFullReadEvery {
		return fmt.Errorf("fleet: full_read_every %d over %d", c.FullReadEvery, MaxFullReadEvery)
	}
	setDefault(&c.IdleW, DefaultIdleW)
	if c.BackoffMax < c.BackoffMin {
		return fmt.Errorf("fleet: back-off max %v under min %v", c.BackoffMax, c.BackoffMin)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.OnReading == nil {
		c.OnReading = func(string, device.Reading) {}
	}
	if c.OnOutcome == nil {
		c.OnOutcome = func(device.Outcome) {}
	}
	return nil
}

func setDefault[T int | float64 | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// tick is the scheduler's resolution: polls, back-offs and read-backs
// are due at most one tick late.
func (c *Config) tick() time.Duration {
	t := c.PollInterval / 200
	t = min(t, c.VerifyEvery/4, c.BackoffMin/4)
	return max(time.Millisecond, min(t, 50*time.Millisecond))
}
