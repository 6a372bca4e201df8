// Package site owns a running hashgate: the pieces wired from a config,
// started in order, closed in reverse. The pieces are the Stratum proxy,
// and, when the config names a policy, the policy and inventory watcher,
// the switcher, the firmware actuators' fleet and the stratumact bridge
// between proxy and switcher; then the HTTP API and dashboard over them.
//
// `hashgate run`, `hashgate demo`, the load harness and the tests all
// build their hashgate here, so they run the same wiring: New builds
// every piece (nothing runs yet), Start starts them (fleet, switcher,
// proxy, then the API listener) and returns once they run, Close stops
// them in the reverse order (API, proxy, watcher, switcher, fleet) and
// returns once they have stopped.
//
// The mapping of the config file onto each piece's settings lives here
// too (ProxyConfig, SwitcherConfig, FleetConfig), so that the libraries
// (stratum, switcher, api) never import config's file layout for it.
// Options replace what tests and harnesses must: the switcher's clock
// and tick (WithSwitcher), proxy settings the file has no key for
// (WithProxy), the actuators by name (WithDrivers), and whether the API
// listens itself (WithoutAPIListener).
//
// Import direction: site imports config, stratum/..., switcher/... and
// api; cmd/... and the test helpers import site; nothing under stratum,
// switcher or api imports it.
package site
