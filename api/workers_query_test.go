package api

import (
	"encoding/json"
	"io"
	"testing"
	"time"
)

// BenchmarkSelectWorkers50k is the API's own part of a worker page at
// 50,000 rigs: merge the proxy's and the switcher's views, filter, sort,
// page 50 rows and encode them (reading the two views is not included).
func BenchmarkSelectWorkers50k(b *testing.B) {
	now := time.Now()
	ws, rigs := fleet50k(now)
	for _, c := range []struct {
		name string
		q    workerQuery
	}{
		{"page-500", workerQuery{sort: workerSorts["name"], byName: true, limit: 50, offset: 25000}},
		{"name-desc", workerQuery{sort: workerSorts["name"], byName: true, desc: true, limit: 50}},
		{"search", workerQuery{sort: workerSorts["name"], byName: true, q: "s19-04999", limit: 50}},
		{"hashrate-desc-curtailed", workerQuery{sort: workerSorts["hashrate_ths"], desc: true, state: StateCurtailed, limit: 50}},
		{"last-share-group", workerQuery{sort: workerSorts["last_share"], group: "hall-b", limit: 50}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				page, total := c.q.selectWorkers(mergeWorkers(ws, rigs, nil, now, 5*time.Minute))
				if total == 0 || len(page) == 0 {
					b.Fatalf("total %d, page %d", total, len(page))
				}
				if err := json.NewEncoder(io.Discard).Encode(page); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
