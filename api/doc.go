// Package api owns hashgate's HTTP side: the JSON API the power desk and
// ops drive (status, workers, allocation, pins, dry-run plans, the audit
// log, groups, the site cap and the power desk's heartbeat), the
// Prometheus metrics, the health check and the dashboard: an embedded page
// (web/: HTML, CSS and a script, no outside asset) that polls the JSON
// API. docs/API.md is the reference of every route, field and metric.
//
// It reads the proxy (stratum/proxy) and the switcher (switcher) through
// their public snapshots and calls; neither imports it. Everything it
// shows is read at request or scrape time, except the history of the
// site's power (GET /api/v1/history): a bounded ring in memory, sampled
// by the handler's own goroutine until Close. The share path is never
// touched.
//
// # Auth
//
// Writes (PUT /api/v1/allocation, PUT /api/v1/cap, POST
// /api/v1/heartbeat, PUT /api/v1/rigs/{name}/pin) need
// "Authorization: Bearer TOKEN" of a token with role "write": without a
// valid token they answer 401 (with WWW-Authenticate: Bearer), with a read
// token 403, and nothing changes. The audit log records the token's name.
// POST /api/v1/plan changes nothing but makes a full plan, so it needs a
// valid token of either role. GET endpoints (status, workers, events,
// metrics, healthz, the dashboard) are open, as the contract asks only
// writes to be authenticated: bind [api] listen to a trusted network.
// /debug/pprof/ (only with Config.EnablePprof) needs a write token.
// Tokens are compared in constant time against every configured token.
//
// # Errors
//
// Errors are JSON, {"error": "message"}, with 400 (bad body or query), 401,
// 403, 404 (unknown path or rig), 405 (wrong method, with Allow), 413 (body
// over 64 KiB) and 503 (no switcher, or for /healthz no live pool).
package api
