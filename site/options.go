package site

import (
	"github.com/hashgate/hashgate/stratum/proxy"
	"github.com/hashgate/hashgate/switcher"
	"github.com/hashgate/hashgate/switcher/device"
	"github.com/hashgate/hashgate/switcher/firmware"
)

// Option changes what New builds: what the config file does not hold,
// and what tests and harnesses replace.
type Option func(*options)

type options struct {
	version   string // the API's version; with it, the user agent hashgate/VERSION
	userAgent string // sent to pools; overrides the one from version
	drivers   map[string]device.Driver
	proxy     func(*proxy.Config)
	switcher  func(*switcher.Config)
	noListen  bool
	policy    *switcher.Policy
}

func newOptions(opts []Option) options {
	var o options
	for _, f := range opts {
		f(&o)
	}
	if o.drivers == nil {
		o.drivers = firmware.Drivers()
	}
	if o.userAgent == "" && o.version != "" {
		o.userAgent = "hashgate/" + o.version
	}
	return o
}

// WithVersion is the build's version: the API reports it, and the proxy
// sends the pools the user agent hashgate/VERSION.
func WithVersion(v string) Option { return func(o *options) { o.version = v } }

// WithUserAgent is the user agent sent to the pools, instead of the one
// WithVersion makes.
func WithUserAgent(ua string) Option { return func(o *options) { o.userAgent = ua } }

// WithDrivers are the firmware actuators by name (a policy group's
// actuator = "luxos" names its driver); default firmware.Drivers().
func WithDrivers(d map[string]device.Driver) Option {
	return func(o *options) { o.drivers = d }
}

// WithProxy adjusts the proxy's config after the file is mapped onto it
// (settings the file has no key for: back-off bounds in tests).
func WithProxy(f func(*proxy.Config)) Option { return func(o *options) { o.proxy = f } }

// WithSwitcher adjusts the switcher's config after the file is mapped
// onto it (tests: its clock, its tick, a fake device fleet).
func WithSwitcher(f func(*switcher.Config)) Option { return func(o *options) { o.switcher = f } }

// WithoutAPIListener builds the API handler but does not listen: the
// caller serves Handler() (tests: on an httptest server) and stops
// serving it before Close.
func WithoutAPIListener() Option { return func(o *options) { o.noListen = true } }

// WithPolicy runs the switcher on p instead of the config's policy file:
// no watcher, no inventory file, no reload (tests whose policy is text).
func WithPolicy(p *switcher.Policy) Option { return func(o *options) { o.policy = p } }
