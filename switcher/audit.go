package switcher

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Event is one line of the audit log: who did what, when, and what came of
// it. Seq orders events; the API pages them with ?since=SEQ.
type Event struct {
	Seq    uint64         `json:"seq"`
	Time   time.Time      `json:"time"`
	Kind   string         `json:"kind"`
	Who    string         `json:"who,omitempty"`
	Reason string         `json:"reason,omitempty"`
	Rig    string         `json:"rig,omitempty"`
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
)

// AuditLog is an append-only JSON-lines file with size-based rotation
// (FILE, FILE.1 … FILE.N). The newest events are also kept in memory for
// the API; older ones are read back from the files when asked for.
type AuditLog struct {
	mu       sync.Mutex
	path     string
	f        *os.File
	w        *bufio.Writer
	size     int64
	maxSize  int64
	keep     int
	seq      uint64
	recent   []Event // ring of the newest events
	maxCache int
}

// OpenAuditLog opens (or creates) the log at path and continues its
// sequence. maxSize is the size at which it rotates, keep how many rotated
// files are kept.
func OpenAuditLog(path string, maxSize int64, keep int) (*AuditLog, error) {
	if maxSize <= 0 {
		maxSize = 16 << 20
	}
	if keep <= 0 {
		keep = 5
	}
	a := &AuditLog{path: path, maxSize: maxSize, keep: keep, maxCache: 10000}
	// Recover the sequence and the cache from what is on disk, oldest file first.
	for i := keep; i >= 0; i-- {
		evs, err := readEvents(a.file(i))
		if err != nil && !os.IsNotExist(err) {
			return nil, err
		}
		for _, e := range evs {
			a.remember(e)
			if e.Seq > a.seq {
				a.seq = e.Seq
			}
		}
	}
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

func (a *AuditLog) open() error {
	if err := os.MkdirAll(filepath.Dir(a.path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(a.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	a.f, a.w, a.size = f, bufio.NewWriter(f), st.Size()
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

func (a *AuditLog) remember(e Event) {
	if len(a.recent) >= a.maxCache {
		copy(a.recent, a.recent[a.maxCache/10:])
		a.recent = a.recent[:len(a.recent)-a.maxCache/10]
	}
	a.recent = append(a.recent, e)
}

// Append writes e (its Seq and Time are set here) and flushes it to the
// file before returning: an event the API answered with is on disk.
func (a *AuditLog) Append(e Event) (Event, error) {
	evs := []Event{e}
	err := a.AppendAll(evs)
	return evs[0], err
}

// AppendAll writes a batch of events (a plan's curtails and resumes) with
// one flush: parking thousands of rigs must not cost thousands of writes.
// Seq and Time are set in evs.
func (a *AuditLog) AppendAll(evs []Event) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now().UTC()
	for i := range evs {
		e := &evs[i]
		a.seq++
		e.Seq = a.seq
		if e.Time.IsZero() {
			e.Time = now
		}
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		b = append(b, '\n')
		if a.size+int64(len(b)) > a.maxSize && a.size > 0 {
			if err := a.rotate(); err != nil {
				return err
			}
		}
		if _, err := a.w.Write(b); err != nil {
			return err
		}
		a.size += int64(len(b))
		a.remember(*e)
	}
	return a.w.Flush()
}

func (a *AuditLog) rotate() error {
	if err := a.w.Flush(); err != nil {
		return err
	}
	if err := a.f.Close(); err != nil {
		return err
	}
	_ = os.Remove(a.file(a.keep))
	for i := a.keep - 1; i >= 0; i-- {
		if err := os.Rename(a.file(i), a.file(i+1)); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return a.open()
}

// Events returns up to limit events with Seq > since, oldest first (newest
// last). Events older than the in-memory cache are read from the files.
func (a *AuditLog) Events(since uint64, limit int) ([]Event, error) {
	if limit <= 0 || limit > 10000 {
		limit = 10000
	}
	a.mu.Lock()
	inCache := len(a.recent) > 0 && a.recent[0].Seq <= since+1
	var out []Event
	if inCache || len(a.recent) == 0 {
		for _, e := range a.recent {
			if e.Seq > since {
				out = append(out, e)
				if len(out) == limit {
					break
				}
			}
		}
		a.mu.Unlock()
		return out, nil
	}
	a.mu.Unlock()
	// Older than the cache: scan the files, oldest first.
	for i := a.keep; i >= 0; i-- {
		evs, err := readEvents(a.file(i))
		if err != nil && !os.IsNotExist(err) {
			return nil, err
		}
		for _, e := range evs {
			if e.Seq > since {
				out = append(out, e)
				if len(out) == limit {
					return out, nil
				}
			}
		}
	}
	return out, nil
}

// LastSeq is the sequence number of the newest event (0: none).
func (a *AuditLog) LastSeq() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.seq
}

// Close flushes and closes the file.
func (a *AuditLog) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f == nil {
		return nil
	}
	err := a.w.Flush()
	if cerr := a.f.Close(); err == nil {
		err = cerr
	}
	a.f = nil
	return err
}

var _ io.Closer = (*AuditLog)(nil)
