package evidence

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

var t0 = time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)

func openTest(t *testing.T, dir string, maxBytes int64) *Log {
	t.Helper()
	l, err := Open(Options{Dir: dir, MaxBytes: maxBytes})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func kwp(v float64) *float64 { return &v }

func sampleAt(i int) Sample {
	return Sample{At: t0.Add(time.Duration(i) * time.Second), MiningKW: float64(i % 1000), BudgetKW: 500,
		AIKWMeasured: kwp(1200.5), Meters: map[string]float64{"site": 1800.25, "ai": 1200.5}}
}

// dirBytes is the size of the files in dir.
func dirBytes(t *testing.T, dir string) int64 {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}

// The sample log is read back after a restart, rotates at its bound
// (the oldest samples go) and never holds more than MaxBytes.
func TestSampleLogRestartAndRotation(t *testing.T) {
	dir := t.TempDir()
	const maxBytes = 2 * (keepFiles + 1) * minFileBytes // each file at its minimum
	l := openTest(t, dir, maxBytes)
	const n = 20000 // ~100 bytes each: about three times the bound
	for i := range n {
		if err := l.Sample(sampleAt(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := dirBytes(t, dir); got > maxBytes/2+200 {
		t.Errorf("%d bytes on disk; want at most %d (half of MaxBytes for samples, the rig log empty)", got, maxBytes/2)
	}
	if _, err := os.Stat(filepath.Join(dir, fmt.Sprintf("samples.jsonl.%d", keepFiles))); err != nil {
		t.Errorf("no oldest rotated file: %v", err)
	}
	l = openTest(t, dir, maxBytes)
	got, err := l.Samples(t0.Add((n-10)*time.Second), t0.Add(n*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 10 || !got[0].At.Equal(t0.Add((n-10)*time.Second)) {
		t.Fatalf("after a restart: %d samples from %v; want the last 10 from %v", len(got), first(got), t0.Add((n-10)*time.Second))
	}
	if g, w := got[3], sampleAt(n-7); g.MiningKW != w.MiningKW || g.Meters["site"] != 1800.25 || *g.AIKWMeasured != 1200.5 {
		t.Errorf("sample read back %+v; want %+v", g, w)
	}
	if old, _ := l.Samples(t0, t0.Add(100*time.Second)); len(old) != 0 {
		t.Errorf("%d of the oldest samples still read; want none: rotated away", len(old))
	}
	// A new sample goes on after the ones written before the restart.
	if err := l.Sample(sampleAt(n)); err != nil {
		t.Fatal(err)
	}
	if got, _ := l.Samples(t0.Add((n-1)*time.Second), t0.Add(n*time.Second)); len(got) != 2 {
		t.Errorf("%d samples around the restart; want 2", len(got))
	}
}

func first(s []Sample) any {
	if len(s) == 0 {
		return "none"
	}
	return s[0].At
}

// A line cut short by a crash is skipped, and the next record starts a
// line of its own.
func TestTornLastLine(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir, 0)
	for i := range 3 {
		if err := l.Sample(sampleAt(i)); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	f, err := os.OpenFile(filepath.Join(dir, "samples.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"t":17650`)
	f.Close()
	l = openTest(t, dir, 0)
	if err := l.Sample(sampleAt(3)); err != nil {
		t.Fatal(err)
	}
	got, err := l.Samples(t0, t0.Add(time.Hour))
	if err != nil || len(got) != 4 {
		t.Fatalf("%d samples (err %v); want 4: the torn line skipped, the next one whole", len(got), err)
	}
}

// A decision's rigs and their confirmations are read back after a
// restart, apart from another decision's.
func TestRigsAndConfirmations(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir, 0)
	at := t0.Add(time.Minute)
	if err := l.Decision(41, at, []RigAction{{Rig: "r1", Group: "g", Action: ActionCurtail}, {Rig: "r2", Group: "g", Action: ActionCurtail}, {Rig: "r3", Group: "h", Action: ActionResume}}); err != nil {
		t.Fatal(err)
	}
	if err := l.Decision(411, at, []RigAction{{Rig: "r1", Group: "g", Action: ActionResume}}); err != nil {
		t.Fatal(err)
	}
	confirm := func(seq uint64, c Confirmation) {
		if err := l.Confirm(seq, c); err != nil {
			t.Fatal(err)
		}
	}
	confirm(41, Confirmation{Rig: "r1", OK: true, Source: SourceStratum, Detail: "connection closed", At: at.Add(time.Millisecond)})
	confirm(41, Confirmation{Rig: "r1", OK: true, Source: SourceDevice, State: "sleeping", PowerW: kwp(60), HashrateTHs: kwp(0), At: at.Add(3 * time.Second)})
	confirm(41, Confirmation{Rig: "r2", Source: SourceStratum, Detail: "curtail_failed", At: at.Add(40 * time.Second)})
	confirm(411, Confirmation{Rig: "r1", OK: true, Source: SourceDevice, State: "mining", At: at.Add(time.Hour)})
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	l.Close()
	l = openTest(t, dir, 0)
	rigs, err := l.Rigs(41)
	if err != nil {
		t.Fatal(err)
	}
	if len(rigs) != 3 {
		t.Fatalf("%d rigs of decision 41; want 3", len(rigs))
	}
	r1, r2, r3 := rigs[0], rigs[1], rigs[2]
	if r1.Status() != "confirmed" || r1.Device == nil || *r1.Device.PowerW != 60 || r1.Stratum == nil || r1.Device.State != "sleeping" {
		t.Errorf("r1: %s device %+v stratum %+v; want confirmed by both, asleep at 60 W", r1.Status(), r1.Device, r1.Stratum)
	}
	if r2.Status() != "failed" || r2.Failure == nil || r2.Failure.Detail != "curtail_failed" {
		t.Errorf("r2: %s failure %+v; want failed: curtail_failed", r2.Status(), r2.Failure)
	}
	if r3.Status() != "unconfirmed" || r3.Action != ActionResume || r3.Group != "h" {
		t.Errorf("r3: %+v (%s); want an unconfirmed resume in group h", r3, r3.Status())
	}
}

// Build: the baseline is the average before, the time to target runs to
// the first sample at or under its budget, the window ends a margin
// later, and the deviation is load − budget after the event.
func TestBuildFigures(t *testing.T) {
	ev := Event{Seq: 7, Time: t0.Add(10 * time.Second), Kind: "allocation", Fields: map[string]any{"mining_budget_kw": 50.0}}
	var ss []Sample
	for i := range 40 {
		s := Sample{At: t0.Add(time.Duration(i) * time.Second), MiningKW: 100, BudgetKW: 120}
		if i >= 10 {
			s.BudgetKW = 50
			s.MiningKW = max(40, 100-float64(i-10)*10) // 100, 90, …, 40 at i = 16
		}
		if i%2 == 0 {
			s.MiningMeterKW = kwp(s.MiningKW + 1) // a mining meter on even seconds
		}
		ss = append(ss, s)
	}
	o := Options{Interval: time.Second, Before: 10 * time.Second, Margin: 5 * time.Second, MaxAfter: time.Minute}
	rep := Build(ev, ss, nil, o, t0.Add(time.Hour))
	if rep.Baseline.Samples != 10 || *rep.Baseline.LoadKW != 100.5 || *rep.Baseline.BudgetKW != 120 {
		t.Errorf("baseline %+v; want 10 samples, 100.5 kW (meter on even seconds), budget 120", rep.Baseline)
	}
	// i=15: counted 50, no meter (odd) → 50 ≤ 50: reached 5 s after.
	if !rep.Reached || *rep.TimeToTargetSeconds != 5 {
		t.Errorf("reached %v after %v s; want 5 s", rep.Reached, rep.TimeToTargetSeconds)
	}
	if !rep.Window.Complete || !rep.Window.To.Equal(t0.Add(20*time.Second)) || len(rep.Samples) != 21 {
		t.Errorf("window %+v with %d samples; want to %v (reached + 5 s), 21 samples", rep.Window, len(rep.Samples), t0.Add(20*time.Second))
	}
	if rep.LoadSource != "mining_meter" || *rep.TargetKW != 50 {
		t.Errorf("load source %s target %v; want mining_meter, 50", rep.LoadSource, *rep.TargetKW)
	}
	// After: 101, 90, 81, 70, 61, 50, 41, 40, 41, 40, 41 − 50.
	if d := rep.Deviation; d.Samples != 11 || d.MaxKW != 51 || d.Over != 5 {
		t.Errorf("deviation %+v; want 11 samples, max 51, 5 over", d)
	}
	if d := rep.DeviationAfterReached; d == nil || d.Samples != 6 || d.MaxKW != 0 || d.Over != 0 {
		t.Errorf("deviation after reached %+v; want 6 samples, max 0, none over", d)
	}
	// Not reached: the window runs to MaxAfter, incomplete before then.
	high := slices.Clone(ss)
	for i := range high {
		high[i].MiningKW, high[i].MiningMeterKW = 100, nil
	}
	rep = Build(ev, high, nil, o, t0.Add(30*time.Second))
	if rep.Reached || rep.Window.Complete || !rep.Window.To.Equal(t0.Add(30*time.Second)) {
		t.Errorf("never reached: reached %v, window %+v; want not reached, incomplete to now", rep.Reached, rep.Window)
	}
}

// TestRecordSizes measures what a sample, a rig in a decision's list
// and a confirmation cost on disk (the figures doc.go gives).
func TestRecordSizes(t *testing.T) {
	bare, _ := encodeSample(&Sample{At: t0, MiningKW: 12345.678, MeasuredKW: 12001.5, MeasuredRigs: 3800, BudgetKW: 13000, AIKW: 7000})
	full, _ := encodeSample(&Sample{At: t0, MiningKW: 12345.678, MeasuredKW: 12001.5, MeasuredRigs: 3800, BudgetKW: 13000, AIKW: 7000,
		CapKW: 25000, AIKWMeasured: kwp(11234.5), SiteLoadKW: kwp(23580.2), MiningMeterKW: kwp(12340.1),
		Meters: map[string]float64{"site": 23580.2, "ai-racks": 11234.5, "mining": 12340.1}})
	rigs := make([]RigAction, 10000)
	for i := range rigs {
		rigs[i] = RigAction{Rig: fmt.Sprintf("rig-%05d", i), Group: "s19", Action: ActionCurtail}
	}
	list, _ := encodeActions(123456, t0, rigs)
	conf, _ := encodeConfirm(123456, &Confirmation{Rig: "rig-00001", OK: true, Source: SourceDevice, State: "sleeping",
		PowerW: kwp(61.5), HashrateTHs: kwp(0), At: t0})
	perRig := float64(len(list)) / float64(len(rigs))
	t.Logf("sample: %d bytes bare, %d with cap, site, AI, mining meter and 3 meters; decision list: %.1f bytes a rig (names of 9 bytes); device confirmation: %d bytes",
		len(bare), len(full), perRig, len(conf))
	if len(bare) > 100 || len(full) > 260 || perRig > 14 || len(conf) > 130 {
		t.Errorf("sizes grew: sample %d/%d, %.1f a rig, confirmation %d; want ≤ 100/260, 14, 130 (doc.go's figures)", len(bare), len(full), perRig, len(conf))
	}
}

// scanLines reads the same lines however its input is split, skips a
// line over maxLine and a last line without its newline.
func TestScanLinesSplitInput(t *testing.T) {
	long := strings.Repeat("x", maxLine+10)
	mid := strings.Repeat("y", 100<<10) // over the reader's buffer, under maxLine
	in := "a\n" + long + "\nb\n" + mid + "\n\nc\ntorn"
	want := []string{"a", "b", mid, "", "c"}
	for name, r := range map[string]func() io.Reader{
		"whole":    func() io.Reader { return strings.NewReader(in) },
		"one byte": func() io.Reader { return iotest.OneByteReader(strings.NewReader(in)) },
		"half":     func() io.Reader { return iotest.HalfReader(strings.NewReader(in)) },
	} {
		var got []string
		if err := scanLines(r(), func(line []byte) bool { got = append(got, string(line)); return true }); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %d lines %q…; want %d lines", name, len(got), trunc(got), len(want))
		}
	}
}

func trunc(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s[:min(len(s), 10)]
	}
	return out
}

func FuzzDecodeSample(f *testing.F) {
	b, _ := encodeSample(&Sample{At: t0, MiningKW: 1, BudgetKW: 2, Meters: map[string]float64{"m": 3}})
	f.Add(bytes.TrimSpace(b))
	f.Add([]byte(`{"t":99999999999999999999999}`))
	f.Add([]byte(`{"t":1,"m":{"a":null}}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		s, ok := decodeSample(line)
		if !ok {
			return
		}
		back, err := encodeSample(&s)
		if err != nil {
			t.Fatalf("a decoded sample does not encode: %v", err)
		}
		if s2, ok := decodeSample(bytes.TrimSpace(back)); !ok || !s2.At.Equal(s.At) {
			t.Fatalf("round trip: %v %v; want %v", ok, s2.At, s.At)
		}
	})
}

func FuzzRigLine(f *testing.F) {
	a, _ := encodeActions(5, t0, []RigAction{{Rig: "r", Group: "g", Action: ActionCurtail}})
	c, _ := encodeConfirm(5, &Confirmation{Rig: "r", OK: true, Source: SourceDevice, At: t0})
	f.Add(bytes.TrimSpace(a), bytes.TrimSpace(c))
	f.Add([]byte(`{"s":5,"r":null}`), []byte(`{"s":5,"k":"ok","r":""}`))
	f.Fuzz(func(t *testing.T, first, second []byte) {
		idx := map[string]int{}
		out := applyRigLine(first, nil, idx)
		out = applyRigLine(second, out, idx)
		if len(out) != len(idx) {
			t.Fatalf("%d rigs, %d indexed; want len(out) == len(idx)", len(out), len(idx))
		}
		for _, r := range out {
			_ = r.Status()
		}
	})
}

// The rig log stays within its bound however many decisions over 10,000
// rigs are written (a file holds at least one whole decision), and the
// newest decision reads back whole.
func TestRigLogBound(t *testing.T) {
	dir := t.TempDir()
	const maxBytes = 2 * (keepFiles + 1) * minFileBytes
	l := openTest(t, dir, maxBytes)
	rigs := make([]RigAction, 10000)
	for i := range rigs {
		rigs[i] = RigAction{Rig: fmt.Sprintf("rig-%05d", i), Group: "s19", Action: ActionCurtail}
	}
	one, _ := encodeActions(1, t0, rigs)
	for seq := uint64(1); seq <= 20; seq++ {
		at := t0.Add(time.Duration(seq) * time.Minute)
		if err := l.Decision(seq, at, rigs); err != nil {
			t.Fatal(err)
		}
		for _, r := range rigs[:100] {
			if err := l.Confirm(seq, Confirmation{Rig: r.Rig, OK: true, Source: SourceDevice, State: "sleeping", PowerW: kwp(60), At: at.Add(time.Second)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	// Each file is at most max(its share, one decision and its
	// confirmations); there are keepFiles+1 of them.
	perFile := max(int64(maxBytes/2/(keepFiles+1)), int64(len(one))+100*130)
	if got := dirBytes(t, dir); got > (keepFiles+1)*perFile {
		t.Errorf("rig log %d bytes; want at most %d", got, (keepFiles+1)*perFile)
	}
	l = openTest(t, dir, maxBytes)
	got, err := l.Rigs(20)
	if err != nil {
		t.Fatal(err)
	}
	confirmed := 0
	for _, r := range got {
		if r.Status() == "confirmed" {
			confirmed++
		}
	}
	if len(got) != 10000 || confirmed != 100 {
		t.Errorf("decision 20: %d rigs, %d confirmed; want 10000, 100", len(got), confirmed)
	}
	if old, _ := l.Rigs(1); len(old) != 0 {
		t.Errorf("decision 1: %d rigs; want none (rotated away)", len(old))
	}
}

// A confirmation of an older decision, dated before a newer one, at the
// head of a file does not hide the newer decision in the file before.
func TestRigsAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir, 2*(keepFiles+1)*minFileBytes)
	at := t0.Add(time.Hour)
	if err := l.Decision(1, at, []RigAction{{Rig: "old", Action: ActionResume}}); err != nil {
		t.Fatal(err)
	}
	if err := l.Decision(2, at.Add(time.Minute), []RigAction{{Rig: "new", Action: ActionCurtail}}); err != nil {
		t.Fatal(err)
	}
	// Fill the file, so the next write starts another.
	for l.rigs.size < l.opts.fileBytes()-200 {
		if err := l.Confirm(2, Confirmation{Rig: "new", OK: true, Source: SourceDevice, At: at.Add(2 * time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if err := l.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	// Decision 1's share, 30 s after it and before decision 2, opens the
	// next file.
	for range 3 {
		if err := l.Confirm(1, Confirmation{Rig: "old", OK: true, Source: SourceStratum, At: at.Add(30 * time.Second)}); err != nil {
			t.Fatal(err)
		}
		if err := l.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if len(l.rigs.files()) < 2 {
		t.Fatalf("%d rig files; want the log rotated", len(l.rigs.files()))
	}
	for seq, name := range map[uint64]string{1: "old", 2: "new"} {
		got, err := l.Rigs(seq)
		if err != nil || len(got) != 1 || got[0].Rig != name || got[0].Status() != "confirmed" {
			t.Errorf("decision %d: %+v (err %v); want %s confirmed", seq, got, err, name)
		}
	}
}
