package fleet

import (
	"context"
	"time"
	"unsafe"

	"github.com/hashgate/hashgate/switcher/device"
)

// phase is where a rig's active command is.
type phase uint8

const (
	phNone         phase = iota
	phQueued             // in a command queue
	phRunning            // the command call is in flight
	phBackoff            // waiting (wake heap) to try again
	phVerifyWait         // accepted; waiting (wake heap) for the next read-back
	phVerifyQueued       // read-back queued (qPri)
	phVerifying          // read-back in flight
)

// qid names the queue a rig is in; a rig is in at most one.
type qid uint8

const (
	qNone    qid = iota
	qCurtail     // curtail commands: served first
	qResume      // resume and set-pools commands
	qPri         // read-backs and start-up reconcile reads
	qPoll        // scheduled polls: served last
	nQueues
)

// rig is the fleet's state of one managed rig. Guarded by Fleet.mu.
type rig struct {
	m       device.Managed
	drv     device.Driver
	session any // the driver's Target.Session, kept between calls
	last    device.Reading
	want    device.State
	gen     uint32 // bumped when address, options or driver change
	offset  time.Duration
	hash    uint64 // of the name: the rig's place in the poll order

	prev, next *rig // queue links
	inQ        qid
	busy       bool // a call runs on it
	removed    bool
	authFailed bool // ErrAuth under these Options: no commands until they change
	warnedMon  bool
	phase      phase
	cmd        device.Action // the active command (0 none)
	intent     device.Action // a newer command waiting for the active one or a call to end
	accepted   bool
	attempts   uint16
	lightPolls uint16 // light polls since the last full read
	heapIdx    int32

	cmdStart    time.Time
	verifyBy    time.Time
	wakeAt      time.Time
	retryAt     time.Time // no reconcile command before this
	poolRetryAt time.Time
	lastErr     string
	cancel      context.CancelFunc // of the call in flight
}

// queue is an intrusive FIFO of rigs: O(1) push, pop and removal, so a
// newer intent moves a rig between queues without leaving stale entries;
// its length is bounded by the number of rigs.
type queue struct {
	head, tail *rig
	n          int
}

func (q *queue) push(r *rig, id qid) {
	r.inQ, r.prev, r.next = id, q.tail, nil
	if q.tail != nil {
		q.tail.next = r
	} else {
		q.head = r
	}
	q.tail = r
	q.n++
}

func (q *queue) remove(r *rig) {
	if r.prev != nil {
		r.prev.next = r.next
	} else {
		q.head = r.next
	}
	if r.next != nil {
		r.next.prev = r.prev
	} else {
		q.tail = r.prev
	}
	r.prev, r.next, r.inQ = nil, nil, qNone
	q.n--
}

func (q *queue) pop() *rig {
	r := q.head
	if r != nil {
		q.remove(r)
	}
	return r
}

// wakeHeap orders rigs waiting for a back-off or a read-back by wakeAt.
type wakeHeap []*rig

func (h wakeHeap) Len() int           { return len(h) }
func (h wakeHeap) Less(i, j int) bool { return h[i].wakeAt.Before(h[j].wakeAt) }
func (h wakeHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx, h[j].heapIdx = int32(i), int32(j)
}
func (h *wakeHeap) Push(x any) {
	r := x.(*rig)
	r.heapIdx = int32(len(*h))
	*h = append(*h, r)
}
func (h *wakeHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	r.heapIdx = -1
	return r
}

// sizeofRig is the size of the rig struct (its strings, reading pools
// and session are extra), for the memory test's report.
const sizeofRig = unsafe.Sizeof(rig{})
