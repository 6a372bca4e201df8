package api

import (
	"encoding/json"
	"io"
	"slices"
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

// The query's filters, search, sort and paging, on 50,000 rows.
func TestSelectWorkers(t *testing.T) {
	now := time.Now()
	ws, rigs := fleet50k(now)
	rigs[7].Flags = []string{"pinned"}
	rigs[10].Flags = []string{"curtail_failed", "pinned"}
	all := mergeWorkers(ws, rigs, nil, now, 5*time.Minute)
	names := func(rows []Worker) []string {
		out := make([]string, len(rows))
		for i := range rows {
			out[i] = rows[i].Name
		}
		return out
	}
	byName := workerSorts["name"]
	for _, c := range []struct {
		name      string
		q         workerQuery
		wantTotal int
		wantNames []string
	}{
		{"first page", workerQuery{sort: byName, byName: true, limit: 2}, 50000, []string{"acct.s19-000000", "acct.s19-000001"}},
		{"page past the middle", workerQuery{sort: byName, byName: true, limit: 2, offset: 25000}, 50000, []string{"acct.s19-025000", "acct.s19-025001"}},
		{"past the end", workerQuery{sort: byName, byName: true, limit: 2, offset: 60000}, 50000, []string{}},
		{"name descending", workerQuery{sort: byName, byName: true, desc: true, limit: 2}, 50000, []string{"acct.s19-049999", "acct.s19-049998"}},
		{"search", workerQuery{sort: byName, byName: true, q: "s19-04999", limit: 3}, 10, []string{"acct.s19-049990", "acct.s19-049991", "acct.s19-049992"}},
		{"flag", workerQuery{sort: byName, byName: true, flag: "pinned", limit: 5}, 2, []string{"acct.s19-000007", "acct.s19-000010"}},
		{"flag and state", workerQuery{sort: byName, byName: true, flag: "pinned", state: StateMining, limit: 5}, 1, []string{"acct.s19-000007"}},
		{"group and state", workerQuery{sort: byName, byName: true, group: "hall-b", state: StateCurtailed, limit: 2}, 5000, []string{"acct.s19-000005", "acct.s19-000015"}},
		// last_share is now − (i mod 600) s: the newest are i ≡ 0 (mod 600),
		// ties in name order.
		{"last share, newest first", workerQuery{sort: workerSorts["last_share"], desc: true, limit: 3}, 50000, []string{"acct.s19-000000", "acct.s19-000600", "acct.s19-001200"}},
		{"last share, oldest first", workerQuery{sort: workerSorts["last_share"], limit: 2}, 50000, []string{"acct.s19-000599", "acct.s19-001199"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			page, total := c.q.selectWorkers(slices.Clone(all))
			if got := names(page); total != c.wantTotal || !slices.Equal(got, c.wantNames) {
				t.Errorf("%s: total %d, page %v; want %d, %v", c.name, total, got, c.wantTotal, c.wantNames)
			}
		})
	}
}
