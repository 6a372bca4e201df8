// Package lograte bounds the log lines of mass events: anything anyone on
// the network can cause at tens of thousands a second (connections
// refused, timed out or reset; requests with a bad API token; duplicate
// names at a failover). A line each once wrote 67 MB in 45 s. Per key (an
// event and its reason: a constant of the code, so the set of keys is
// small and fixed) the first burst events of an interval are logged in
// full; the rest are counted, and one summary line per key and interval
// gives their number.
package lograte
