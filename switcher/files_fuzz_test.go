package switcher

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Fuzz targets for the files the switcher reads back: its state file, its
// audit log and the last good copy of the policy. A file may be damaged
// (a disk error, an edit by hand, a copy from another site); none may
// panic hashgate, and what one start writes the next must read.

// realFiles runs a switcher through an allocation, a pin and a curtail
// and returns the state file and the audit log it left: the seeds.
func realFiles(f *testing.F) (state, audit []byte) {
	dir := f.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	rec := &recorder{last: map[string]time.Time{}}
	pol, err := ParsePolicy(filepath.Join(dir, "policy.toml"), []byte(testPolicy))
	if err != nil {
		f.Fatal(err)
	}
	s, err := New(Config{StatePath: filepath.Join(dir, "state.json"), AuditPath: filepath.Join(dir, "audit.jsonl"), Now: clk.Now}, pol, rec, rec)
	if err != nil {
		f.Fatal(err)
	}
	for _, n := range []string{"a-1", "a-2", "a-3"} {
		s.RigConnected(n, "10.0.0.1:1")
	}
	s.step()
	if _, _, err := s.Allocate(AllocationRequest{AIKW: 85, Reason: "training", Until: clk.Now().Add(time.Hour)}, "desk"); err != nil {
		f.Fatal(err)
	}
	if _, _, err := s.SetPin("a-2", "off", "fan swap", "desk"); err != nil {
		f.Fatal(err)
	}
	if err := s.Close(); err != nil {
		f.Fatal(err)
	}
	if state, err = os.ReadFile(filepath.Join(dir, "state.json")); err != nil {
		f.Fatal(err)
	}
	if audit, err = os.ReadFile(filepath.Join(dir, "audit.jsonl")); err != nil {
		f.Fatal(err)
	}
	return state, audit
}

// FuzzStateFile: a start on any state file either refuses it with an error
// or runs (a plan, a dry run, a status with a budget in 0..capacity), and
// the state it saves is read by the next start.
func FuzzStateFile(f *testing.F) {
	state, _ := realFiles(f)
	f.Add(state)
	f.Add(bytes.Replace(state, []byte(`"mining"`), []byte(`"sideways"`), 1))
	f.Add([]byte(`{"version":1,"allocations":[{"ai_kw":1e300,"reason":"x","at":"2026-01-01T00:00:00Z"}],"rigs":{"a-1":{"state":"parked","pin":"on"}}}`))
	f.Add([]byte(`{"rigs":{"":{"state":"mining","since":"0001-01-01T00:00:00Z"}},"ramp":{"resumed_kw":-5}}`))
	f.Add([]byte(`{"version":1,"rigs":null}`))
	f.Add([]byte(`{"allocations":[{"ai_kw":-500,"reason":"edited by hand","at":"2026-01-01T00:00:00Z"}]}`))
	f.Add(state[:len(state)/2]) // torn
	pol, err := ParsePolicy("policy.toml", []byte(testPolicy))
	if err != nil {
		f.Fatal(err)
	}
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 30, 0, 0, time.UTC)}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		cfg := Config{StatePath: filepath.Join(dir, "state.json"), AuditPath: filepath.Join(dir, "audit.jsonl"), Now: clk.Now}
		if err := os.WriteFile(cfg.StatePath, data, 0o600); err != nil {
			t.Fatal(err)
		}
		rec := &recorder{last: map[string]time.Time{}}
		s, err := New(cfg, pol, rec, rec)
		if err != nil {
			if !strings.Contains(err.Error(), cfg.StatePath) {
				t.Fatalf("the error does not name the file: %v", err)
			}
			return
		}
		s.step()
		if _, err := s.DryRun(50); err != nil {
			t.Fatal(err)
		}
		st := s.Status()
		for _, v := range []float64{st.AIKW, st.MiningBudgetKW, st.MiningLoadKW, st.ETASeconds} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("status with a non-finite number: %+v; want !math.IsNaN(v), !math.IsInf(v, 0)", st)
			}
		}
		if st.MiningBudgetKW < 0 || st.MiningBudgetKW > st.CapacityKW-st.ReserveKW {
			t.Fatalf("mining budget %v kW on a site of %v kW, %v in reserve; want st.MiningBudgetKW >= 0, st.MiningBudgetKW <= st.CapacityKW-st.ReserveKW", st.MiningBudgetKW, st.CapacityKW, st.ReserveKW)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		again, err := New(cfg, pol, rec, rec)
		if err != nil {
			saved, _ := os.ReadFile(cfg.StatePath)
			t.Fatalf("the state saved is not read back: %v\n%s", err, saved)
		}
		if err := again.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzAuditLog: an audit log damaged anywhere (a torn line, garbage, a
// line of another program) opens, serves its events in sequence order
// with none made up, and the next event numbers after every one kept.
func FuzzAuditLog(f *testing.F) {
	_, audit := realFiles(f)
	f.Add(audit)
	f.Add(audit[:len(audit)-7]) // torn last line
	f.Add(append(bytes.Repeat([]byte("x"), 100), audit...))
	f.Add([]byte(`{"seq":18446744073709551615,"kind":"plan"}` + "\n" + `{"seq":3}`))
	f.Add([]byte(`{"seq":2,"fields":{"a":[1,{"b":null}]}}` + "\n\n" + `{"seq":1,"time":"x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "audit.jsonl")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		a, err := OpenAuditLog(path, 0, 0)
		if err != nil {
			return // a line longer than the reader's 16 MiB bound
		}
		defer a.Close()
		evs, err := a.Events(0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(data, []byte("\n")) + 1; len(evs) > n {
			t.Fatalf("%d events from %d lines; want len(evs) <= n", len(evs), n)
		}
		last := a.LastSeq()
		for _, e := range evs {
			if e.Seq == 0 || e.Seq > last {
				t.Fatalf("event %d served, last seq %d; want e.Seq != 0, e.Seq <= last", e.Seq, last)
			}
		}
		if last == math.MaxUint64 {
			return // no next number: what Append does then is not this test's
		}
		e, err := a.Append(Event{Kind: EventStart})
		if err != nil || e.Seq != last+1 {
			t.Fatalf("appended seq %d (%v), want %d", e.Seq, err, last+1)
		}
	})
}

// FuzzLastGoodCopy: the last good copy of the policy is used only when it
// is a copy of this policy file and a valid policy, and then the policy it
// holds is the one the copy's body parses to.
func FuzzLastGoodCopy(f *testing.F) {
	const path = "/etc/hashgate/policy.toml"
	good := copyHeader(path) + "\n" + testPolicy
	f.Add([]byte(good))
	f.Add([]byte(copyHeader("/etc/hashgate/other.toml") + "\n" + testPolicy))
	f.Add([]byte(copyHeader(path) + "\r\n" + testPolicy))
	f.Add([]byte(copyHeader(path)))
	f.Add([]byte(testPolicy))
	f.Fuzz(func(t *testing.T, data []byte) {
		copyPath := filepath.Join(t.TempDir(), "policy.last-good.toml")
		if err := os.WriteFile(copyPath, data, 0o600); err != nil {
			t.Fatal(err)
		}
		p, body, err := readLastGood(path, copyPath)
		if err != nil {
			if p != nil {
				t.Fatalf("readLastGood: got a policy %+v and error %v, want no policy with an error", p, err)
			}
			return
		}
		if !bytes.HasPrefix(data, []byte(copyHeader(path)+"\n")) {
			t.Fatalf("a copy not of %s taken: %q; want bytes.HasPrefix(data, []byte(copyHeader(path)+\"\\n\"))", path, data)
		}
		q, err := ParsePolicy(path, []byte(body))
		if err != nil {
			t.Fatalf("the copy parses, its body does not: %v", err)
		}
		if p.Summary() != q.Summary() {
			t.Fatalf("the copy holds %s, its body %s; want p.Summary() == q.Summary()", p.Summary(), q.Summary())
		}
	})
}

// A state file with a negative AI allocation (edited by hand: hashgate
// never writes one) is refused, not read as more power for mining than the
// site has.
func TestStateFileRefusesNegativeNumbers(t *testing.T) {
	pol, err := ParsePolicy("policy.toml", []byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	for body, want := range map[string]string{
		`{"allocations":[{"ai_kw":-500,"reason":"x","at":"2026-01-01T00:00:00Z"}]}`: "allocations[0]: ai_kw -500 is negative",
		`{"ramp":{"ResumedKW":-5}}`: "ramp: resumed_kw -5 is negative",
	} {
		dir := t.TempDir()
		cfg := Config{StatePath: filepath.Join(dir, "state.json"), AuditPath: filepath.Join(dir, "audit.jsonl")}
		if err := os.WriteFile(cfg.StatePath, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := New(cfg, pol, nil, nil)
		if err == nil {
			st := s.Status()
			s.Close()
			t.Fatalf("%s: started (mining budget %v kW), want an error %q", body, st.MiningBudgetKW, want)
		}
		if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), cfg.StatePath) {
			t.Fatalf("%s: error %q, want %q and the file's name", body, err, want)
		}
	}
}
