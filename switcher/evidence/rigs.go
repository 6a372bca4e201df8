package evidence

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"time"
)

// Actions on a rig, as a decision's rig list names them.
const (
	ActionCurtail = "curtail" // parked from mining
	ActionResume  = "resume"
	ActionPark    = "park" // held without work at admission
)

// Sources of a confirmation.
const (
	SourceDevice  = "device"  // the rig's firmware, read back
	SourceStratum = "stratum" // the proxy: connection closed, shares
)

// RigAction is one rig a decision acted upon.
type RigAction struct {
	Rig    string
	Group  string
	Action string // ActionCurtail, ActionResume, ActionPark
}

// Confirmation is evidence that a rig did what it was asked (OK), or
// that it did not (a failure).
type Confirmation struct {
	Rig    string
	OK     bool
	Source string // SourceDevice, SourceStratum
	// State, PowerW and HashrateTHs are the device's reading (PowerW
	// and HashrateTHs nil when it does not report them).
	State       string
	PowerW      *float64
	HashrateTHs *float64
	Detail      string
	At          time.Time
}

// maxNamesPerLine bounds the rig names one line of a decision's list holds.
const maxNamesPerLine = 1000

// actionRec is one line of a decision's rig list: rigs of one group that
// one action applied to.
type actionRec struct {
	S uint64   `json:"s"`
	T int64    `json:"t"`
	A string   `json:"a"`
	G string   `json:"g,omitempty"`
	R []string `json:"r"`
}

// confirmRec is one confirmation or failure of one rig.
type confirmRec struct {
	S   uint64   `json:"s"`
	T   int64    `json:"t"`
	R   string   `json:"r"`
	K   string   `json:"k"` // "ok" | "fail"
	Src string   `json:"src,omitempty"`
	St  string   `json:"st,omitempty"`
	W   *float64 `json:"w,omitempty"`
	H   *float64 `json:"h,omitempty"`
	D   string   `json:"d,omitempty"`
}

// encodeActions are the lines of a decision's rig list: its rigs by
// action and group (in the order first met), at most maxNamesPerLine a
// line.
func encodeActions(seq uint64, at time.Time, rigs []RigAction) ([]byte, error) {
	type key struct{ a, g string }
	var order []key
	by := map[key][]string{}
	for _, r := range rigs {
		k := key{r.Action, r.Group}
		if _, ok := by[k]; !ok {
			order = append(order, k)
		}
		by[k] = append(by[k], r.Rig)
	}
	var buf []byte
	for _, k := range order {
		names := by[k]
		for len(names) > 0 {
			n := min(len(names), maxNamesPerLine)
			b, err := json.Marshal(actionRec{S: seq, T: at.UnixMicro(), A: k.a, G: k.g, R: names[:n]})
			if err != nil {
				return nil, err
			}
			buf = append(append(buf, b...), '\n')
			names = names[n:]
		}
	}
	return buf, nil
}

func encodeConfirm(seq uint64, c *Confirmation) ([]byte, error) {
	r := confirmRec{S: seq, T: c.At.UnixMicro(), R: c.Rig, K: "fail", Src: c.Source, St: c.State,
		W: wattPtr(c.PowerW), H: wattPtr(c.HashrateTHs), D: c.Detail}
	if c.OK {
		r.K = "ok"
	}
	b, err := json.Marshal(r)
	return append(b, '\n'), err
}

// Decision writes the rigs decision seq acted upon and fsyncs them,
// before the decision is acted upon. No rigs: nothing is written.
func (l *Log) Decision(seq uint64, at time.Time, rigs []RigAction) error {
	if len(rigs) == 0 {
		return nil
	}
	buf, err := encodeActions(seq, at, rigs)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	// Confirmations of earlier decisions first: the log stays in order.
	if err := l.writeQueueLocked(); err != nil {
		return err
	}
	if err := l.rigs.write(buf); err != nil {
		return err
	}
	return l.rigs.sync()
}

// maxQueue bounds the confirmations held between flushes; a full queue
// is written at once (without an fsync).
const maxQueue = 4096

// Confirm queues a confirmation (or failure) of a rig of decision seq;
// Flush writes the queue.
func (l *Log) Confirm(seq uint64, c Confirmation) error {
	b, err := encodeConfirm(seq, &c)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	l.queue = append(l.queue, b...)
	l.queued++
	if l.queued >= maxQueue {
		return l.writeQueueLocked()
	}
	return nil
}

// Flush writes the queued confirmations and fsyncs them.
func (l *Log) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	return l.flushLocked()
}

func (l *Log) flushLocked() error {
	if l.queued == 0 {
		return nil
	}
	if err := l.writeQueueLocked(); err != nil {
		return err
	}
	return l.rigs.sync()
}

// writeQueueLocked writes the queue; a failed write drops it (the
// confirmations are lost, the rig list stands).
func (l *Log) writeQueueLocked() error {
	if l.queued == 0 {
		return nil
	}
	err := l.rigs.write(l.queue)
	l.queue, l.queued = l.queue[:0], 0
	return err
}

// RigEvidence is one rig a decision acted upon and what confirms it.
type RigEvidence struct {
	Rig    string
	Group  string
	Action string
	// Device and Stratum are the first confirmation of each source (nil:
	// none), Failure the first failure.
	Device, Stratum, Failure *Confirmation
	// Last is the newest of them (nil: none): it says the rig's status.
	Last *Confirmation
}

// Status is "confirmed", "failed" (the newest evidence is a failure) or
// "unconfirmed" (none yet).
func (r *RigEvidence) Status() string {
	switch {
	case r.Last == nil:
		return "unconfirmed"
	case r.Last.OK:
		return "confirmed"
	}
	return "failed"
}

// Rigs reads decision seq back: its rigs and their confirmations, sorted
// by name. Decisions' lists are written in seq order, each before its
// confirmations: a file is skipped when the next one holds an earlier
// (or the same) decision's list. Lines of other decisions are told by
// their prefix, unparsed.
func (l *Log) Rigs(seq uint64) ([]RigEvidence, error) {
	l.mu.Lock()
	files := l.rigs.files()
	l.mu.Unlock()
	prefix := []byte(`{"s":` + strconv.FormatUint(seq, 10) + `,`)
	idx := map[string]int{}
	var out []RigEvidence
	for i, f := range files {
		if i+1 < len(files) {
			if next, ok := firstDecision(files[i+1]); ok && next <= seq {
				continue
			}
		}
		err := scanFile(f, func(line []byte) bool {
			if bytes.HasPrefix(line, prefix) {
				out = applyRigLine(line, out, idx)
			}
			return true
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Rig < out[j].Rig })
	return out, nil
}

// firstDecision is the seq of the first decision's list in a rig log
// file (ok false: none).
func firstDecision(path string) (seq uint64, ok bool) {
	_ = scanFile(path, func(line []byte) bool {
		var r struct {
			S uint64 `json:"s"`
			K string `json:"k"`
		}
		if json.Unmarshal(line, &r) == nil && r.S > 0 && r.K == "" {
			seq, ok = r.S, true
			return false
		}
		return true
	})
	return seq, ok
}

// applyRigLine adds one line of the rig log to out (idx: rig → index).
func applyRigLine(line []byte, out []RigEvidence, idx map[string]int) []RigEvidence {
	var probe struct {
		K string `json:"k"`
	}
	if json.Unmarshal(line, &probe) != nil {
		return out
	}
	if probe.K == "" {
		var a actionRec
		if json.Unmarshal(line, &a) != nil {
			return out
		}
		for _, name := range a.R {
			if _, ok := idx[name]; !ok {
				idx[name] = len(out)
				out = append(out, RigEvidence{Rig: name, Group: a.G, Action: a.A})
			}
		}
		return out
	}
	var c confirmRec
	if json.Unmarshal(line, &c) != nil || c.R == "" {
		return out
	}
	i, ok := idx[c.R]
	if !ok {
		return out // a confirmation of a rig the list lacks (a lost write)
	}
	conf := &Confirmation{Rig: c.R, OK: c.K == "ok", Source: c.Src, State: c.St, PowerW: c.W, HashrateTHs: c.H,
		Detail: c.D, At: time.UnixMicro(c.T).UTC()}
	r := &out[i]
	switch {
	case !conf.OK && r.Failure == nil:
		r.Failure = conf
	case conf.OK && conf.Source == SourceDevice && r.Device == nil:
		r.Device = conf
	case conf.OK && conf.Source == SourceStratum && r.Stratum == nil:
		r.Stratum = conf
	}
	if r.Last == nil || !conf.At.Before(r.Last.At) {
		r.Last = conf
	}
	return out
}
