// Package apitest is for tests: it starts a whole hashgate site on
// loopback, built by package site as `hashgate run` builds it, and closes
// it when the test ends. A site is a sim pool, the proxy on 127.0.0.1:0,
// the switcher with a given policy (site.WithPolicy; state and audit log
// in the test's TempDir), the stratumact bridge between them, the API
// handler on an httptest server and a sim fleet mining through the proxy.
//
// It takes a testing.TB, fails it on any error and registers the
// cleanups on it; nothing here is meant for a running hashgate.
package apitest
