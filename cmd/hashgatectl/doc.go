// Command hashgatectl is the ops and power-desk client of hashgate's HTTP
// API: status, workers and one worker, allocations, the site cap and the
// power desk's heartbeat, dry-run plans, pins and the audit log. It prints human tables, or with --json the API's
// JSON as is.
//
// It reads HASHGATE_API (default http://127.0.0.1:8080) and HASHGATE_TOKEN;
// --api and --token override them. Exit status: 0 done, 1 the API refused
// or could not be reached, 2 bad usage (one line and "see hashgatectl
// help CMD"); status also 3 not compliant, 4 unhealthy, 5 not persisted.
// docs/API.md has the details (allocate --until re-runs, pin's outcome).
package main
