package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/stratum/proxy"
	"github.com/hashgate/hashgate/switcher"
)

func TestWorkerStates(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	recent, old := now.Add(-time.Minute), now.Add(-time.Hour)
	ws := []proxy.WorkerSnapshot{
		{Name: "a.idle", Connections: 1, LastShare: old, FirstSeen: old},
		{Name: "a.mining", Connections: 1, LastShare: recent, FirstSeen: old, Hashrate1m: 2e12},
		{Name: "a.never", Connections: 1},
		{Name: "a.offline", LastShare: recent},
		{Name: "b.dup", Connections: 2, LastShare: recent},
		{Name: "b.parked", Connections: 1, LastShare: recent},
		{Name: "b.pending", Connections: 1},
		{Name: "b.second-worker", Connections: 1, LastShare: recent},
	}
	rigs := []switcher.RigStatus{
		{Name: "a.mining", Group: "g1", State: "mining", Connected: true, Flags: []string{}},
		{Name: "b.dup", Group: "g1", State: "mining", Connected: true, Flags: []string{switcher.FlagDuplicateName}},
		{Name: "b.gone", Group: "g2", State: "parked", Flags: []string{switcher.FlagLeftWhileParked}},
		{Name: "b.parked", Group: "g2", State: "parked", Connected: true, Flags: []string{switcher.FlagPinned}, Pin: "off"},
		{Name: "b.pending", Group: "g2", State: "pending", Connected: true, Flags: []string{}},
		{Name: "c.offline", Group: "g2", State: "offline", Flags: []string{}},
	}
	got := mergeWorkers(ws, rigs, func(string) *switcher.Group { return &switcher.Group{Name: "dflt", Actuator: "stratum"} }, now, 5*time.Minute)
	want := map[string]string{
		"a.idle": "idle", "a.mining": "mining", "a.never": "idle", "a.offline": "offline", "b.dup": "mining",
		"b.gone": "curtailed", "b.parked": "curtailed", "b.pending": "curtailed", "b.second-worker": "mining",
		"c.offline": "offline",
	}
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for i, w := range got {
		if i > 0 && got[i-1].Name >= w.Name {
			t.Fatalf("not sorted at %d: %s after %s; want !(i > 0 && got[i-1].Name >= w.Name)", i, w.Name, got[i-1].Name)
		}
		if w.State != want[w.Name] {
			t.Errorf("%s: state %s, want %s", w.Name, w.State, want[w.Name])
		}
		if w.Flags == nil {
			t.Errorf("%s: nil flags; want w.Flags != nil", w.Name)
		}
	}
	byName := func(n string) Worker {
		i := slices.IndexFunc(got, func(w Worker) bool { return w.Name == n })
		return got[i]
	}
	if w := byName("b.dup"); !slices.Equal(w.Flags, []string{"duplicate_name"}) || w.Group != "g1" {
		t.Errorf("b.dup %+v; want slices.Equal(w.Flags, []string{\"duplicate_name\"}), w.Group == \"g1\"", w)
	}
	if w := byName("b.second-worker"); w.Group != "dflt" || w.PowerState != "" {
		t.Errorf("a worker that is no rig: %+v; want w.Group == \"dflt\", w.PowerState == \"\"", w)
	}
	if w := byName("b.gone"); !slices.Equal(w.Flags, []string{"left_while_parked"}) || w.Connections != 0 {
		t.Errorf("b.gone %+v; want slices.Equal(w.Flags, []string{\"left_while_parked\"}), w.Connections == 0", w)
	}
	if w := byName("a.mining"); w.HashrateTHs != 2 {
		t.Errorf("hashrate of an old worker %v, want 2 (no correction)", w.HashrateTHs)
	}
	if w := byName("a.never"); w.LastShare != nil {
		t.Errorf("a.never last share %v; want w.LastShare == nil", w.LastShare)
	}
	counts := countStates(got)
	if counts["mining"] != 3 || counts["idle"] != 2 || counts["curtailed"] != 3 || counts["offline"] != 2 {
		t.Errorf("counts %v; want counts[\"mining\"] == 3, counts[\"idle\"] == 2, counts[\"curtailed\"] == 3, counts[\"offline\"] == 2", counts)
	}
}

func TestHashrateYoungWorker(t *testing.T) {
	// A worker seen for one minute at 1 TH/s: its 10-minute average
	// reached 1 − e^(−0.1) of it; corrected, it reads 1 TH/s.
	raw := 1e12 * (1 - 0.9048374180359595)
	if got := hashrateTHs(raw, time.Minute, 10*time.Minute); got < 0.999 || got > 1.001 {
		t.Fatalf("corrected %v TH/s, want 1", got)
	}
	if got := hashrateTHs(1e12, time.Hour, time.Minute); got != 1 {
		t.Fatalf("old worker %v; want got == 1", got)
	}
	if got := hashrateTHs(0, 0, time.Minute); got != 0 {
		t.Fatalf("no shares %v; want got == 0", got)
	}
}

// fleet50k builds the proxy's and the switcher's views of 50,000 rigs.
func fleet50k(now time.Time) ([]proxy.WorkerSnapshot, []switcher.RigStatus) {
	const n = 50000
	ws := make([]proxy.WorkerSnapshot, n)
	rigs := make([]switcher.RigStatus, n)
	for i := range n {
		name := fmt.Sprintf("acct.s19-%06d", i)
		ws[i] = proxy.WorkerSnapshot{Name: name, Remote: "10.0.0.1:4000", Connections: 1, Difficulty: 65536,
			Accepted: 1000, LastShare: now.Add(-time.Duration(i%600) * time.Second), FirstSeen: now.Add(-time.Hour),
			Hashrate1m: 100e12, Hashrate10m: 100e12, Rejected: map[string]uint64{}}
		state := "mining"
		if i%5 == 0 {
			state = "parked"
		}
		rigs[i] = switcher.RigStatus{Name: name, Group: []string{"hall-a", "hall-b"}[i%2], State: state, Connected: true, Flags: []string{}}
	}
	return ws, rigs
}

// 50,000 rows merged, filtered and encoded: what GET /api/v1/workers does.
func TestWorkers50k(t *testing.T) {
	now := time.Now()
	ws, rigs := fleet50k(now)
	start := time.Now()
	rows := mergeWorkers(ws, rigs, nil, now, 5*time.Minute)
	merged := time.Since(start)
	if len(rows) != 50000 {
		t.Fatalf("%d rows; want len(rows) == 50000", len(rows))
	}
	counts := countStates(rows)
	if counts["curtailed"] != 10000 || counts["mining"]+counts["idle"] != 40000 {
		t.Fatalf("counts %v; want counts[\"curtailed\"] == 10000, counts[\"mining\"]+counts[\"idle\"] == 40000", counts)
	}
	start = time.Now()
	if err := json.NewEncoder(io.Discard).Encode(rows); err != nil {
		t.Fatal(err)
	}
	t.Logf("50,000 rows: merged in %v, encoded in %v", merged, time.Since(start))
}

func BenchmarkMergeWorkers50k(b *testing.B) {
	now := time.Now()
	ws, rigs := fleet50k(now)
	b.ResetTimer()
	for b.Loop() {
		rows := mergeWorkers(ws, rigs, nil, now, 5*time.Minute)
		if len(rows) != 50000 {
			b.Fatal(len(rows))
		}
	}
}

// The newest events are found past the audit log's in-memory cache (10,000
// events), and again after more come.
func TestEventTail(t *testing.T) {
	pol, err := switcher.ParsePolicy("p.toml", []byte("site_capacity_kw = 10.0\n"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sw, err := switcher.New(switcher.Config{StatePath: filepath.Join(dir, "s.json"), AuditPath: filepath.Join(dir, "a.log"), Log: zerolog.Nop()}, pol, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sw.Close()
	var tail eventTail
	check := func(wantLast uint64) {
		t.Helper()
		last, err := tail.lastSeq(sw)
		if err != nil || last != wantLast {
			t.Fatalf("last seq %d (%v), want %d", last, err, wantLast)
		}
		evs, err := tail.latest(sw, 3)
		if err != nil || len(evs) != 3 || evs[2].Seq != wantLast || evs[0].Seq != wantLast-2 {
			t.Fatalf("latest 3: %+v (%v); want err == nil, len(evs) == 3, evs[2].Seq == wantLast, evs[0].Seq == wantLast-2", evs, err)
		}
	}
	// New writes the "start" event: seq 1.
	for range 2 {
		sw.PolicyRefused(errors.New("test"))
	}
	check(3)
	for range 12000 {
		sw.PolicyRefused(errors.New("test"))
	}
	check(12003)
	sw.PolicyRefused(errors.New("test"))
	check(12004)
	// A fresh tail (a restart of the API) finds it too.
	tail = eventTail{}
	check(12004)
	evs, err := tail.latest(sw, 20000)
	if err != nil || len(evs) != 10000 || evs[len(evs)-1].Seq != 12004 {
		t.Fatalf("latest 20000: %d events (%v); want err == nil, len(evs) == 10000, evs[len(evs)-1].Seq == 12004", len(evs), err)
	}
}

// The status's pool URL never shows credentials, however the proxy was
// given the pool (the config refuses them in a URL; a proxy built by other
// code might not).
func TestPoolURLHidesCredentials(t *testing.T) {
	for _, c := range []struct{ addr, want string }{
		{"pool.example:3333", "stratum+tcp://pool.example:3333"},
		{"acct:hunter2@pool.example:3333", "stratum+tcp://REDACTED@pool.example:3333"},
		{"stratum+tcp://acct:hunter2@pool.example:3333", "stratum+tcp://REDACTED@pool.example:3333"},
	} {
		t.Run(c.addr, func(t *testing.T) {
			if got := poolURL(c.addr); got != c.want {
				t.Errorf("poolURL(%q) = %q, want %q", c.addr, got, c.want)
			}
		})
	}
}
