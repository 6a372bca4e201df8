package switcher

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"
)

// Event is one line of the audit log: who did what, when, and what came of
// it. Seq orders events; the API pages them with ?since=SEQ.
type Event struct {
	Seq    uint64    `json:"seq"`
	Time   time.Time `json:"time"`
	Kind   string    `json:"kind"`
	Who    string    `json:"who,omitempty"`
	Reason string    `json:"reason,omitempty"`
	Rig    string    `json:"rig,omitempty"`
	// Cause is the seq of the summary event (an allocation, a pin, a
	// plan, a mass flag) a per-rig event belongs to; 0: none. The
	// summary comes right after its per-rig events, so the newest event
	// after a mass action is the action itself.
	Cause  uint64         `json:"cause,omitempty"`
	Fields map[string]any `json:"fields,omitempty"`
}

// Event kinds.
const (
	EventAllocation   = "allocation"
	EventPlan         = "plan"
	EventCurtail      = "curtail"
	EventResume       = "resume"
	EventPark         = "park"
	EventPin          = "pin"
	EventPolicyReload = "policy_reload"
	EventPolicyRefuse = "policy_refused"
	EventCurtailFail  = "curtail_failed"
	EventResumeFail   = "resume_failed"
	EventLeftParked   = "left_while_parked"
	EventStart        = "start"
	// EventForget: rigs forgotten (by DELETE /api/v1/rigs/{name}, with
	// who; or a summary of those the bounds forgot).
	EventForget = "forget"
	// EventRigsRefused: a summary of rigs not admitted by the bounds on
	// rig records.
	EventRigsRefused = "rigs_refused"
	// EventStateNotPersisted and EventStatePersisted: the state file
	// could not be written, and then could again.
	EventStateNotPersisted = "state_not_persisted"
	EventStatePersisted    = "state_persisted"
	// EventAuditGap: events that could not be written to the audit log
	// and were no longer held in memory when it could be again.
	EventAuditGap = "audit_gap"
	// EventFailover: the proxy moved its miners to another pool, with the
	// rigs connected then, per group.
	EventFailover = "failover"
)

// EventKinds are every kind of event the switcher writes (for a filter
// that refuses a mistyped kind).
var EventKinds = []string{
	EventAllocation, EventPlan, EventCurtail, EventResume, EventPark, EventPin,
	EventPolicyReload, EventPolicyRefuse, EventCurtailFail, EventResumeFail,
	EventLeftParked, EventStart, EventForget, EventRigsRefused,
	EventStateNotPersisted, EventStatePersisted, EventAuditGap, EventFailover,
	EventInventory, EventDeviceCommands, EventDeviceCommandFailed, EventPoolsUnbound,
}

// AuditLog is an append-only JSON-lines file with size-based rotation
// (FILE, FILE.1 … FILE.N). The newest events are also kept in memory for
// the API; older ones are read back from the files when asked for.
//
// An event is in memory (and in Events) as soon as it is appended, even
// when the file cannot be written (a full disk): the file is closed, and
// reopened and caught up on the next append or Retry, with an EventAuditGap
// for any events the memory no longer held by then.
type AuditLog struct {
	mu       sync.Mutex
	path     string
	f        *os.File // nil after a write error, until reopened
	size     int64
	maxSize  int64
	keep     int
	seq      uint64
	written  uint64 // the newest seq in the file
	err      error  // the last write error; nil once caught up
	errSince time.Time
	closed   bool
	recent   []Event // ring of the newest events
	maxCache int
	// decisions are the newest events of decisionKinds (allocations,
	// pins, plans…), kept longer than recent: ?kind=allocation is
	// answered from memory however many per-rig events followed.
	decisions []Event
	// decisionsCut: decisions dropped its oldest to stay within
	// maxDecisions, so the files may hold older ones memory lacks.
	decisionsCut bool
}

// OpenAuditLog opens (or creates) the log at path and continues its
// sequence. maxSize is the size at which it rotates, keep how many rotated
// files are kept.
func OpenAuditLog(path string, maxSize int64, keep int) (*AuditLog, error) {
	if maxSize <= 0 {
		maxSize = DefaultAuditMaxBytes
	}
	if keep <= 0 {
		keep = DefaultAuditKeep
	}
	a := &AuditLog{path: path, maxSize: maxSize, keep: keep, maxCache: 10000}
	// Recover the sequence and the cache from what is on disk, oldest file first.
	for i := keep; i >= 0; i-- {
		evs, err := readEvents(a.file(i))
		if err != nil && !os.IsNotExist(err) {
			return nil, err
		}
		for _, e := range evs {
			if e.Seq > a.seq { // a line written twice (a retried write) once
				a.remember(e)
				a.seq = e.Seq
			}
		}
	}
	a.written = a.seq
	if err := a.open(); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *AuditLog) file(i int) string {
	if i == 0 {
		return a.path
	}
	return fmt.Sprintf("%s.%d", a.path, i)
}

// open opens the file for appending. A last line cut short by a failed
// write is ended first, so that the next event is a line of its own.
func (a *AuditLog) open() error {
	if err := os.MkdirAll(filepath.Dir(a.path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(a.path, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err == nil && st.Size() > 0 {
		last := make([]byte, 1)
		if _, err = f.ReadAt(last, st.Size()-1); err == nil && last[0] != '\n' {
			_, err = f.Write([]byte{'\n'})
		}
	}
	if err == nil {
		st, err = f.Stat()
	}
	if err != nil {
		f.Close()
		return err
	}
	a.f, a.size = f, st.Size()
	return nil
}

// readEvents reads one log file; a torn last line (a crash mid-write) is
// skipped.
func readEvents(path string) ([]Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Event
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var e Event
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Seq > 0 {
			out = append(out, e)
		}
	}
	return out, sc.Err()
}

// decisionKinds are the kinds kept in AuditLog.decisions, at most
// maxDecisions of them.
var decisionKinds = []string{EventAllocation, EventPlan, EventPin, EventPolicyReload, EventPolicyRefuse, EventFailover, EventStart}

const maxDecisions = 1000

func (a *AuditLog) remember(e Event) {
	if slices.Contains(decisionKinds, e.Kind) {
		if len(a.decisions) >= maxDecisions {
			a.decisions = slices.Delete(a.decisions, 0, maxDecisions/10)
			a.decisionsCut = true
		}
		a.decisions = append(a.decisions, e)
	}
	if len(a.recent) >= a.maxCache {
		copy(a.recent, a.recent[a.maxCache/10:])
		a.recent = a.recent[:len(a.recent)-a.maxCache/10]
	}
	a.recent = append(a.recent, e)
}

// Append writes e (its Seq and Time are set here) to the file before
// returning: an event the API answered with is on disk, or the error says
// it is not (it is in memory, and written when the file can be).
func (a *AuditLog) Append(e Event) (Event, error) {
	evs := []Event{e}
	err := a.AppendAll(evs)
	return evs[0], err
}

// AppendAll writes a batch of events (a plan's curtails and resumes) with
// one write: parking thousands of rigs must not cost thousands of writes.
// Seq and Time are set in evs.
func (a *AuditLog) AppendAll(evs []Event) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now().UTC()
	for i := range evs {
		a.addLocked(&evs[i], now)
	}
	return a.catchUpLocked()
}

// AppendGroup writes a summary event and the per-rig events it caused
// with one write: the per-rig events first, each with Cause set to the
// summary's seq, then the summary, so that it is the newest of them.
// Seq and Time are set in head (returned) and in details.
func (a *AuditLog) AppendGroup(head Event, details []Event) (Event, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now().UTC()
	headSeq := a.seq + uint64(len(details)) + 1
	for i := range details {
		details[i].Cause = headSeq
		a.addLocked(&details[i], now)
	}
	a.addLocked(&head, now)
	return head, a.catchUpLocked()
}

func (a *AuditLog) addLocked(e *Event, now time.Time) {
	a.seq++
	e.Seq = a.seq
	if e.Time.IsZero() {
		e.Time = now
	}
	if a.err == nil && a.seq-a.written > uint64(a.maxCache/2) {
		// A batch of more events than memory holds (a plan of 50,000
		// rigs): write what it has so far before memory drops any of
		// it. A failure is the file's error (Err) until a catch-up.
		_ = a.catchUpLocked()
	}
	a.remember(*e)
}

// Retry writes what a failed write left in memory; nil when the file is
// up to date.
func (a *AuditLog) Retry() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.catchUpLocked()
}

// Err is the write error the file is behind by (nil: up to date) and
// since when.
func (a *AuditLog) Err() (error, time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err, a.errSince
}

// catchUpLocked writes the events the file lacks, from memory; those the
// memory no longer holds are named by an EventAuditGap.
func (a *AuditLog) catchUpLocked() error {
	if a.written == a.seq {
		return nil
	}
	if a.closed {
		return os.ErrClosed
	}
	if a.f == nil {
		if err := a.open(); err != nil {
			return a.failLocked(err)
		}
	}
	first := sort.Search(len(a.recent), func(i int) bool { return a.recent[i].Seq > a.written })
	if first == len(a.recent) || a.recent[first].Seq > a.written+1 {
		lostTo := a.seq
		if first < len(a.recent) {
			lostTo = a.recent[first].Seq - 1
		}
		a.seq++
		a.remember(Event{Seq: a.seq, Time: time.Now().UTC(), Kind: EventAuditGap, Fields: map[string]any{
			"missing_from": a.written + 1, "missing_to": lostTo, "error": fmt.Sprint(a.err)}})
		first = sort.Search(len(a.recent), func(i int) bool { return a.recent[i].Seq > a.written })
	}
	var buf []byte
	var bufLast uint64
	for _, e := range a.recent[first:] {
		b, err := json.Marshal(e)
		if err != nil {
			b, _ = json.Marshal(Event{Seq: e.Seq, Time: e.Time, Kind: e.Kind, Rig: e.Rig, Who: e.Who, Cause: e.Cause, Reason: "fields not encodable: " + err.Error()})
		}
		if a.size+int64(len(buf)+len(b)+1) > a.maxSize && a.size+int64(len(buf)) > 0 {
			if err := a.writeLocked(buf, bufLast); err != nil {
				return err
			}
			buf = buf[:0]
			if err := a.rotate(); err != nil {
				return a.failLocked(err)
			}
		}
		buf = append(append(buf, b...), '\n')
		bufLast = e.Seq
	}
	if err := a.writeLocked(buf, bufLast); err != nil {
		return err
	}
	a.err = nil
	return nil
}

// writeLocked appends whole lines ending with event seq last.
func (a *AuditLog) writeLocked(buf []byte, last uint64) error {
	if len(buf) == 0 {
		return nil
	}
	n, err := a.f.Write(buf)
	a.size += int64(n)
	if err != nil {
		return a.failLocked(err)
	}
	a.written = last
	return nil
}

// failLocked closes the file after a failed write or open: the next
// catch-up reopens it (a file replaced meanwhile is the one written).
func (a *AuditLog) failLocked(err error) error {
	if a.err == nil {
		a.errSince = time.Now()
	}
	a.err = err
	if a.f != nil {
		a.f.Close()
		a.f = nil
	}
	return err
}

func (a *AuditLog) rotate() error {
	if err := a.f.Close(); err != nil {
		a.f = nil
		return err
	}
	a.f = nil
	_ = os.Remove(a.file(a.keep))
	for i := a.keep - 1; i >= 0; i-- {
		if err := os.Rename(a.file(i), a.file(i+1)); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	a.forgetRotatedLocked()
	return a.open()
}

// forgetRotatedLocked drops from memory the decisions older than the
// oldest file kept: what retention deleted is gone from the API too.
func (a *AuditLog) forgetRotatedLocked() {
	for i := a.keep; i >= 0; i-- {
		first, ok := firstSeq(a.file(i))
		if !ok {
			continue
		}
		n := 0
		for n < len(a.decisions) && a.decisions[n].Seq < first {
			n++
		}
		a.decisions = slices.Delete(a.decisions, 0, n)
		return
	}
}

// firstSeq is the seq of the first event in a log file.
func firstSeq(path string) (uint64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var e struct {
			Seq uint64 `json:"seq"`
		}
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Seq > 0 {
			return e.Seq, true
		}
	}
	return 0, false
}

// LastSeq is the sequence number of the newest event (0: none).
func (a *AuditLog) LastSeq() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.seq
}

// Close writes what the file lacks, if it can, and closes it.
func (a *AuditLog) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	err := a.catchUpLocked()
	a.closed = true
	if a.f != nil {
		if cerr := a.f.Close(); err == nil {
			err = cerr
		}
		a.f = nil
	}
	return err
}

var _ io.Closer = (*AuditLog)(nil)
