package upstream

import (
	"slices"
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
		id   uint64 // push, take
		gen  uint64 // push: the submit's generation; expire: fail those before it
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
			{op: "expire", gen: 2, want: []uint64{1, 3}},
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
					p.push(s.id, recordInto(&got, s.id), s.gen, 0)
				case "take":
					if cb, _ := p.take(s.id); cb != nil {
						cb(nil)
					}
				case "expire":
					for _, cb := range p.expire(s.gen, nil) {
						cb(nil)
					}
				}
				if !slices.Equal(got, s.want) && len(got)+len(s.want) > 0 {
					t.Fatalf("step %d (%+v): callbacks of %v, want %v", i, s, got, s.want)
				}
			}
			if p.live != tt.live {
				t.Fatalf("%d pending at the end, want %d", p.live, tt.live)
			}
		})
	}
}

// A long run with the pool answering in order except the first submit,
// which it never answers: the queue's slice stays the size of what is
// pending (before, the one unanswered submit kept every later one in it
// until it expired: 100,000 here, millions at a large site's rate), and
// drain returns exactly the submits never answered.
func TestPendingSubmitsReuseTheirMemory(t *testing.T) {
	var p pendingSubmits
	cb := func(*stratum.Error) {}
	for id := uint64(1); id <= 100_000; id++ {
		p.push(id, cb, 0, 0)
		if id > 17 { // 16 in flight, and submit 1
			if cb, _ := p.take(id - 16); cb == nil {
				t.Fatalf("take(%d) found no callback (%d live), want the pending submit's", id-16, p.live)
			}
		}
	}
	if p.live != 17 || cap(p.q) > 1024 {
		t.Fatalf("%d pending in a slice of %d, want 17 in a small one", p.live, cap(p.q))
	}
	if cb, _ := p.take(1); cb == nil {
		t.Fatalf("take(1) found no callback (%d live), want the first submit still pending", p.live)
	}
	for id := uint64(100_000); id > 99_990; id-- { // the newest ten, backwards
		if cb, _ := p.take(id); cb == nil {
			t.Fatalf("take(%d) found no callback (%d live), want the pending submit's", id, p.live)
		}
	}
	left := p.drain()
	if len(left) != 6 || p.live != 0 {
		t.Fatalf("drain gave %d callbacks, %d still pending; want 6 and 0", len(left), p.live)
	}
}

// A pool 4,096 answers behind, answering in order, and one that answers
// every pair the wrong way round.
func BenchmarkPendingSubmits(b *testing.B) {
	for _, swapped := range []bool{false, true} {
		b.Run(map[bool]string{false: "in-order", true: "pairs-swapped"}[swapped], func(b *testing.B) {
			var p pendingSubmits
			cb := func(*stratum.Error) {}
			b.ReportAllocs()
			id := uint64(0)
			for b.Loop() {
				id++
				p.push(id, cb, 0, 0)
				if id > 4096 {
					answer := id - 4096
					if swapped {
						answer ^= 1
					}
					p.take(answer)
				}
			}
		})
	}
}
