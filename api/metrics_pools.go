package api

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hashgate/hashgate/internal/latency"
	"github.com/hashgate/hashgate/stratum/proxy"
)

// Per pool: share verdicts, accepted work, submit round trips and
// failovers; and the job fan-out's latency. The proxy counts them with
// atomics (an add per share, a histogram per job or pool answer); they
// are read here at scrape time. Pools are bounded by the config.

// hashesPerDiff1 turns a sum of share difficulties into expected hashes.
const hashesPerDiff1 = 4294967296.0 // 2^32

var (
	descWork         = desc("work_accepted_hashes_total", "Work of the shares accepted from miners, difficulty-weighted: the sum of each share's credited difficulty x 2^32, in expected hashes. rate() of it is the hashrate in H/s, smoother and exact over any range where hashgate_hashrate_hashes_per_second is a 1-minute estimate.")
	descPoolWork     = desc("pool_work_accepted_hashes_total", "hashgate_work_accepted_hashes_total by the pool whose session the miner was on: rate() is each pool's hashrate in H/s.", "pool")
	descFailoverPair = desc("pool_failovers_by_pair_total", "Failovers by the pool left (from) and the pool taken (to); every ordered pair of configured pools is present from the start.", "from", "to")
	descRoundTrip    = desc("pool_submit_round_trip_seconds", "From a share read from its miner to the pool's answer to it being read, for the forwarded shares the pool answered (lost and not_sent ones are not in it).", "pool")
	descFanOut       = desc("job_fanout_seconds", "From a pool job's arrival to its offer to every miner of the session: written straight to the socket, or queued for a miner that is still reading the one before.")
)

func init() {
	allDescriptions = append(allDescriptions, descWork, descPoolWork, descFailoverPair, descRoundTrip, descFanOut)
}

// poolResults are pool_shares_total's result values, every one present
// for every pool.
var poolResults = []string{"accepted", "rejected", "not_sent", "lost"}

func collectPools(ch chan<- prometheus.Metric, pools []proxy.PoolCounters, fanOut latency.Snapshot, counter func(*prometheus.Desc, uint64, ...string)) {
	var work float64
	for _, p := range pools {
		counter(descSharesForwarded, p.Forwarded, p.Name)
		for i, n := range []uint64{p.Accepted, p.Rejected, p.NotSent, p.Lost} {
			counter(descPoolShares, n, p.Name, poolResults[i])
		}
		ch <- prometheus.MustNewConstMetric(descPoolWork, prometheus.CounterValue, p.WorkAccepted*hashesPerDiff1, p.Name)
		work += p.WorkAccepted
		for to, n := range p.FailoversTo {
			counter(descFailoverPair, n, p.Name, to)
		}
		ch <- histogram(descRoundTrip, p.RoundTrip, p.Name)
	}
	ch <- prometheus.MustNewConstMetric(descWork, prometheus.CounterValue, work*hashesPerDiff1)
	ch <- histogram(descFanOut, fanOut)
}

func histogram(d *prometheus.Desc, s latency.Snapshot, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstHistogram(d, s.Count, s.Sum, s.Buckets, labels...)
}
