package switcher

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// A summary and its per-rig events are one write: the per-rig events
// first, pointing to the summary by Cause, the summary newest.
func TestAppendGroupOrdersAndLinks(t *testing.T) {
	a, err := OpenAuditLog(filepath.Join(t.TempDir(), "a.jsonl"), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.Append(Event{Kind: EventStart}); err != nil {
		t.Fatal(err)
	}
	details := []Event{{Kind: EventCurtail, Rig: "r1"}, {Kind: EventCurtail, Rig: "r2"}}
	head, err := a.AppendGroup(Event{Kind: EventAllocation, Who: "desk"}, details)
	if err != nil {
		t.Fatal(err)
	}
	if head.Seq != 4 || details[0].Seq != 2 || details[1].Seq != 3 || details[0].Cause != 4 || details[1].Cause != 4 {
		t.Fatalf("head %d, details %+v: want seqs 2, 3 with cause 4, head 4", head.Seq, details)
	}
	if a.LastSeq() != 4 {
		t.Fatalf("last seq %d, want 4", a.LastSeq())
	}
	// Reopened, the links are read back.
	a.Close()
	b, err := OpenAuditLog(a.path, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	evs, _ := b.Query(0, 0, EventFilter{Cause: 4})
	if len(evs) != 2 || evs[0].Rig != "r1" || evs[1].Rig != "r2" {
		t.Fatalf("cause=4 after reopening: %+v, want r1 and r2", evs)
	}
}

// Filters select across the rotated files and the cache, oldest first
// (Query) or the newest ones (Latest), each event once; retention is
// FILE plus keep rotated files.
func TestAuditFiltersAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	a, err := OpenAuditLog(filepath.Join(dir, "a.jsonl"), 2000, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.maxCache = 20 // older events are read from the files
	for i := range 200 {
		e := Event{Kind: EventCurtail, Rig: fmt.Sprintf("r%d", i%10)}
		if i%50 == 49 {
			e = Event{Kind: EventAllocation, Who: "desk", Fields: map[string]any{"i": i}}
		}
		if _, err := a.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	oldest, _ := a.Events(0, 1)
	if len(oldest) != 1 || oldest[0].Seq == 1 {
		t.Fatalf("oldest kept %+v: retention of 5 files of 2000 bytes must have dropped seq 1; want len(oldest) == 1, oldest[0].Seq != 1", oldest)
	}
	from := oldest[0].Seq
	// The newest allocations: two in memory would not be found in the
	// cache of 20 events alone.
	latest, err := a.Latest(3, EventFilter{Kinds: []string{EventAllocation}})
	if err != nil {
		t.Fatal(err)
	}
	var want []uint64
	for _, s := range []uint64{100, 150, 200} {
		if s >= from {
			want = append(want, s)
		}
	}
	if len(latest) != len(want) {
		t.Fatalf("latest allocations %+v, want seqs %v", latest, want)
	}
	for i, e := range latest {
		if e.Seq != want[i] || e.Who != "desk" {
			t.Fatalf("latest allocations %+v, want seqs %v by desk", latest, want)
		}
	}
	// One rig's events, oldest first, from the files into the cache.
	rig, err := a.Query(0, 0, EventFilter{Rig: "r3"})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range rig {
		if e.Rig != "r3" || (i > 0 && e.Seq <= rig[i-1].Seq) {
			t.Fatalf("rig=r3 event %d: %+v (after %+v); want e.Rig == \"r3\", !(i > 0 && e.Seq <= rig[i-1].Seq)", i, e, rig[max(i-1, 0)])
		}
	}
	if n := len(rig); n == 0 || rig[n-1].Seq < 190 {
		t.Fatalf("rig=r3: %d events, the last %+v; want up to the newest in memory", n, rig)
	}
	// Latest without a filter is the newest events, newest last.
	tail, _ := a.Latest(5, EventFilter{})
	if len(tail) != 5 || tail[0].Seq != 196 || tail[4].Seq != 200 {
		t.Fatalf("latest 5: %+v, want 196-200", tail)
	}
	// Decisions are answered from memory: without the rotated files the
	// answer is the same.
	for i := 1; i <= 4; i++ {
		_ = os.Remove(fmt.Sprintf("%s.%d", a.path, i))
	}
	again, _ := a.Latest(3, EventFilter{Kinds: []string{EventAllocation}})
	if len(again) != len(latest) || again[0].Seq != latest[0].Seq {
		t.Fatalf("latest allocations from memory %+v, want %+v", again, latest)
	}
}

// A batch larger than the memory's cache (a plan of 50,000 rigs) is
// written whole: no audit_gap, every event in the file.
func TestAppendBatchLargerThanMemory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.jsonl")
	a, err := OpenAuditLog(path, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.maxCache = 100
	details := make([]Event, 350)
	for i := range details {
		details[i] = Event{Kind: EventCurtail, Rig: fmt.Sprintf("r%d", i)}
	}
	head, err := a.AppendGroup(Event{Kind: EventAllocation}, details)
	if err != nil || head.Seq != 351 {
		t.Fatalf("head seq %d (%v), want 351", head.Seq, err)
	}
	evs, err := readEvents(path)
	if err != nil || len(evs) != 351 {
		t.Fatalf("%d events in the file (%v), want 351", len(evs), err)
	}
	for i, e := range evs {
		if e.Seq != uint64(i+1) || e.Kind == EventAuditGap {
			t.Fatalf("file event %d: %+v, want seq %d and no gap", i, e, i+1)
		}
	}
}

// Once memory has dropped its oldest decisions (it keeps maxDecisions at
// most, dropping a tenth at a time), a kind filter that memory cannot
// fill reads the files: ?kind=pin&limit=1000 answers the newest 1000 pins
// the files hold, not only the 950 memory still has.
func TestLatestDecisionsAfterMemoryDroppedSome(t *testing.T) {
	a, err := OpenAuditLog(filepath.Join(t.TempDir(), "a.jsonl"), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.maxCache = 100 // per-rig events push the pins out of the recent cache
	const pins = maxDecisions + maxDecisions/20
	var seqs []uint64
	for i := range pins {
		head, err := a.AppendGroup(Event{Kind: EventPin, Who: "desk"}, []Event{{Kind: EventCurtail, Rig: fmt.Sprintf("r%d", i)}})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, head.Seq)
	}
	evs, err := a.Latest(maxDecisions, EventFilter{Kinds: []string{EventPin}})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != maxDecisions {
		t.Fatalf("Latest(%d, kind=pin) of %d pins: got %d events, want %d", maxDecisions, pins, len(evs), maxDecisions)
	}
	want := seqs[pins-maxDecisions:]
	for i, e := range evs {
		if e.Seq != want[i] {
			t.Fatalf("event %d: seq %d, want %d (the newest pins, oldest first)", i, e.Seq, want[i])
		}
	}
}
