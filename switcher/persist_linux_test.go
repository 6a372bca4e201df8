package switcher

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// diskFullChild is set in the environment of the test binary that runs a
// disk-full test on its own (runAlone).
const diskFullChild = "HASHGATE_TEST_DISK_FULL_CHILD"

// runAlone runs test t in a child test process and reports whether this
// process is that child (then the test goes on). RLIMIT_FSIZE is
// process-wide: in the parent it also failed the go command's test log
// ("testlog.txt: file too large", a cached `go test ./...` in CI) and any
// test writing a file meanwhile.
func runAlone(t *testing.T) bool {
	t.Helper()
	if os.Getenv(diskFullChild) == "1" {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), diskFullChild+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s in a child process: %v\n%s", t.Name(), err, out)
	}
	t.Logf("%s in a child process:\n%s", t.Name(), out)
	return false
}

// diskFull makes every write past the current end of a file fail the way
// a full disk does, for real: RLIMIT_FSIZE at limit bytes (the write
// fails with EFBIG; Go ignores SIGXFSZ). It is process-wide: only a test
// running alone in its process (runAlone) may use it. The returned func
// lifts it.
func diskFull(t *testing.T, limit uint64) (freed func()) {
	t.Helper()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: limit, Max: old.Max}); err != nil {
		t.Skipf("cannot set RLIMIT_FSIZE: %v", err)
	}
	done := false
	freed = func() {
		if !done {
			done = true
			if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Cleanup(freed)
	return freed
}

// While the audit log cannot be written, its events are in Events (from
// memory), the status and the write's answer say so; once space is freed
// the file catches up (each event once, in order), and events memory no
// longer held are named by an audit_gap event.
func TestAuditResumesAfterDiskFull(t *testing.T) {
	if !runAlone(t) {
		return
	}
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	rec := &recorder{last: map[string]time.Time{}}
	s := newTestSwitcher(t, dir, clk, rec)
	defer s.Close()
	s.RigConnected("a-1", "10.0.0.1:1")
	s.step()
	auditPath := filepath.Join(dir, "audit.jsonl")
	freed := diskFull(t, uint64(fileSize(t, auditPath)))

	_, _, err := s.Allocate(AllocationRequest{AIKW: 10, Reason: "while full"}, "desk")
	var np *NotPersistedError
	if !errors.As(err, &np) {
		t.Fatalf("Allocate with the disk full: %v, want a NotPersistedError", err)
	}
	allocSeq := uint64(0)
	evs, _ := s.Events(0, 1000)
	for _, e := range evs {
		if e.Kind == EventAllocation && e.Reason == "while full" {
			allocSeq = e.Seq
		}
	}
	if allocSeq == 0 {
		t.Fatalf("Events while the file cannot be written: got kinds %v, want the allocation (while full)", eventKinds(s))
	}
	if st := s.Status(); st.AuditError == "" {
		t.Errorf("status while the audit log cannot be written: audit_error %q, want one", st.AuditError)
	}
	freed()
	s.step()
	if st := s.Status(); st.AuditError != "" {
		t.Fatalf("audit_error %q after space was freed and a tick; want st.AuditError == \"\"", st.AuditError)
	}
	if _, _, err := s.Allocate(AllocationRequest{AIKW: 20, Reason: "after"}, "desk"); err != nil {
		t.Fatalf("Allocate after space was freed: %v", err)
	}
	file, err := readEvents(auditPath)
	if err != nil {
		t.Fatal(err)
	}
	var prev uint64
	seen := map[string]bool{}
	for _, e := range file {
		if e.Seq <= prev {
			t.Fatalf("audit file seq %d after %d: not once each, in order; want e.Seq > prev", e.Seq, prev)
		}
		prev = e.Seq
		seen[e.Reason] = true
	}
	if !seen["while full"] || !seen["after"] {
		t.Errorf("the audit file lacks the allocation made while full (%v) or the one after (%v); want seen[\"while full\"], seen[\"after\"]", seen["while full"], seen["after"])
	}
	if prev != s.LastEventSeq() {
		t.Errorf("audit file ends at seq %d, the log at %d; want prev == s.LastEventSeq()", prev, s.LastEventSeq())
	}

	// Longer than memory holds: the file says what it lacks.
	s.audit.mu.Lock()
	s.audit.maxCache = 20
	s.audit.mu.Unlock()
	freed = diskFull(t, uint64(fileSize(t, auditPath)))
	for i := range 30 {
		s.PolicyRefused(errors.New("event " + string(rune('a'+i%26))))
	}
	freed()
	s.step()
	file, _ = readEvents(auditPath)
	gap := file[len(file)-1]
	if gap.Kind != EventAuditGap {
		t.Fatalf("last event in the file after a long outage: %+v, want audit_gap", gap)
	}
	if from, to := gap.Fields["missing_from"].(float64), gap.Fields["missing_to"].(float64); from != float64(prev+1) || to < from {
		t.Errorf("audit_gap names %v..%v, want from %d", from, to, prev+1)
	}
}
