// Package prometheus reads a meter as a PromQL instant query: a
// meter.Source on the Prometheus client's HTTP API package
// (github.com/prometheus/client_golang/api and api/prometheus/v1).
//
// Facts used (Prometheus HTTP API, https://prometheus.io/docs/prometheus/latest/querying/api/):
//
//   - A read is one instant query, POST /api/v1/query with the form
//     field query (the client falls back to GET when the server answers
//     405 or 501), evaluated at the server's own time (no time= sent, so
//     hashgate's clock does not matter). The answer is
//     {"status":"success","data":{"resultType":...,"result":...}}, or
//     "status":"error" with errorType and error, which the read's error
//     quotes ("bad_data: parse error ...").
//   - The query must give one number: a scalar (resultType "scalar"), or
//     an instant vector of exactly one series. An empty vector (the
//     exporter is down, the metric is misspelt) and a vector of several
//     series (wrap the query in sum(...)) are failed reads that say so; a
//     range vector or a string is refused. NaN and ±Inf are refused.
//   - The value is in the query's unit times Config.Scale: write the
//     query to give kW. DCGM's DCGM_FI_DEV_POWER_USAGE is watts per GPU,
//     so the AI racks' draw is sum(DCGM_FI_DEV_POWER_USAGE) / 1000.
//   - The URL is the server's base (http://prom:9090, or a path prefix
//     behind a proxy); user:password@ in it is sent as Basic
//     authentication and shown as "xxxxx". The answer's body is bounded
//     (Config.MaxBytes, default 1 MiB).
//
// A sample's timestamp in an instant vector is the evaluation time, not
// the scrape's: a target that stopped being scraped drops out of the
// result after Prometheus's 5-minute lookback, which is why an empty
// result is a failed read rather than zero.
package prometheus
