package upstream

import (
	"testing"

	"github.com/hashgate/hashgate/stratum"
)

// A callback that records which submit it belongs to.
func recordInto(got *[]uint64, id uint64) SubmitResult {
	return func(*stratum.Error) { *got = append(*got, id) }
}

func TestPendingSubmits(t *testing.T) {
	type step struct {
		op   string // push, take, expire
		id   uint64 // push, take: the id; expire: the generation
		gen  uint64 // push: the generation
		want []uint64
	}
	tests := []struct {
		name  string
		steps []step
		live  int
	}{
		{"in order", []step{
			{op: "push", id: 10}, {op: "push", id: 11}, {op: "push", id: 12},
			{op: "take", id: 10, want: []uint64{10}}, {op: "take", id: 11, want: []uint64{11}}, {op: "take", id: 12, want: []uint64{12}},
		}, 0},
		{"out of order, with gaps (pings)", []step{
			{op: "push", id: 10}, {op: "push", id: 13}, {op: "push", id: 14}, {op: "push", id: 20},
			{op: "take", id: 14, want: []uint64{14}}, {op: "take", id: 20, want: []uint64{20}},
			{op: "take", id: 11}, {op: "take", id: 15}, // pings' ids: nothing
			{op: "take", id: 10, want: []uint64{10}},
		}, 1},
		{"an answer twice, and out of range", []step{
			{op: "push", id: 5}, {op: "push", id: 6},
			{op: "take", id: 6, want: []uint64{6}}, {op: "take", id: 6}, {op: "take", id: 4}, {op: "take", id: 7},
		}, 1},
		{"expire takes the old generations only, settled ones silently", []step{
			{op: "push", id: 1, gen: 0}, {op: "push", id: 2, gen: 0}, {op: "push", id: 3, gen: 1}, {op: "push", id: 4, gen: 2},
			{op: "take", id: 2, want: []uint64{2}},
			{op: "expire", id: 2, want: []uint64{1, 3}},
			{op: "take", id: 1}, {op: "take", id: 3}, // late answers: already failed
			{op: "take", id: 4, want: []uint64{4}},
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p pendingSubmits
			var got []uint64
			for i, s := range tt.steps {
				got = got[:0]
				switch s.op {
				case "push":
					p.push(s.id, recordInto(&got, s.id), s.gen)
				case "take":
					if cb := p.take(s.id); cb != nil {
						cb(nil)
					}
				case "expire":
					for _, cb := range p.expire(s.id, nil) {
						cb(nil)
					}
				}
				if len(got) != len(s.want) || (len(got) > 0 && !equalIDs(got, s.want)) {
					t.Fatalf("step %d (%s %d): callbacks of %v, want %v", i, s.op, s.id, got, s.want)
				}
			}
			if p.len() != tt.live {
				t.Fatalf("%d pending at the end, want %d", p.len(), tt.live)
			}
		})
	}
}

func equalIDs(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A long run with the pool answering in order, then a few out of order:
// the queue's slice stays the size of what is pending, and drain returns
// exactly the submits never answered.
func TestPendingSubmitsReuseTheirMemory(t *testing.T) {
	var p pendingSubmits
	calls := 0
	cb := func(*stratum.Error) { calls++ }
	for id := uint64(1); id <= 100_000; id++ {
		p.push(id, cb, 0)
		if id > 16 { // 16 in flight
			if p.take(id-16) == nil {
				t.Fatalf("submit %d not pending", id-16)
			}
		}
	}
	if p.len() != 16 || cap(p.q) > 1024 {
		t.Fatalf("%d pending in a slice of %d, want 16 in a small one", p.len(), cap(p.q))
	}
	for id := uint64(100_000); id > 99_990; id-- { // the newest ten, backwards
		if p.take(id) == nil {
			t.Fatalf("submit %d not pending", id)
		}
	}
	left := p.drain()
	if len(left) != 6 || p.len() != 0 {
		t.Fatalf("drain gave %d callbacks, %d still pending; want 6 and 0", len(left), p.len())
	}
}

func BenchmarkPendingSubmits(b *testing.B) {
	var p pendingSubmits
	cb := func(*stratum.Error) {}
	b.ReportAllocs()
	for i := range b.N {
		id := uint64(i) + 1
		p.push(id, cb, 0)
		if id > 4096 { // a pool ~4,096 answers behind
			p.take(id - 4096)
		}
	}
}
