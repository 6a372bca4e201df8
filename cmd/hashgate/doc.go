// Command hashgate is the daemon: the Stratum proxy, the power switcher
// with its firmware actuators, and the HTTP API. The README describes its
// CLI.
package main
