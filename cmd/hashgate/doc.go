// Command hashgate is the daemon: the Stratum proxy, the power switcher
// with its firmware actuators, and the HTTP API, built and run by package
// site from the config file; this command owns the CLI around it (flags,
// logging, signals, `check`, `demo`, `health`). The README describes its
// CLI.
package main
