package evidence

import (
	"bytes"
	"encoding/json"
	"math"
	"time"
)

// Sample is the site's figures at one instant, as the switcher had them.
type Sample struct {
	At time.Time
	// MiningKW is the mining load as counted (unverified parks at
	// rig_kw, measured draws where devices report them); MeasuredKW the
	// sum of what devices report, by MeasuredRigs rigs.
	MiningKW     float64
	MeasuredKW   float64
	MeasuredRigs int
	// MiningMeterKW is the sum of the good readings of the meters that
	// measure mining (nil: none).
	MiningMeterKW *float64
	BudgetKW      float64 // the mining budget in force
	CapKW         float64 // the site cap (0: no cap mode)
	AIKW          float64 // the AI figure the budget was made with
	AIKWMeasured  *float64
	SiteLoadKW    *float64
	Failsafe      bool
	// Meters are the meters' last good readings, kW by name.
	Meters map[string]float64
}

// LoadKW is the mining load a target is judged by: the mining meter
// where there is one, else the counted load.
func (s *Sample) LoadKW() float64 {
	if s.MiningMeterKW != nil {
		return *s.MiningMeterKW
	}
	return s.MiningKW
}

// sampleRec is a Sample on disk: short keys, time in Unix microseconds,
// kW rounded to the watt.
type sampleRec struct {
	T  int64              `json:"t"`
	L  float64            `json:"l"`
	D  float64            `json:"d,omitempty"`
	N  int                `json:"n,omitempty"`
	MM *float64           `json:"mm,omitempty"`
	B  float64            `json:"b"`
	C  float64            `json:"c,omitempty"`
	A  float64            `json:"a,omitempty"`
	AM *float64           `json:"am,omitempty"`
	S  *float64           `json:"s,omitempty"`
	F  bool               `json:"f,omitempty"`
	M  map[string]float64 `json:"m,omitempty"`
}

// watt rounds kW to the watt; NaN and infinities (never a reading) are 0.
func watt(kw float64) float64 {
	if math.IsNaN(kw) || math.IsInf(kw, 0) {
		return 0
	}
	return math.Round(kw*1000) / 1000
}

func wattPtr(p *float64) *float64 {
	if p == nil {
		return nil
	}
	v := watt(*p)
	return &v
}

func encodeSample(s *Sample) ([]byte, error) {
	r := sampleRec{T: s.At.UnixMicro(), L: watt(s.MiningKW), D: watt(s.MeasuredKW), N: s.MeasuredRigs,
		MM: wattPtr(s.MiningMeterKW), B: watt(s.BudgetKW), C: watt(s.CapKW), A: watt(s.AIKW),
		AM: wattPtr(s.AIKWMeasured), S: wattPtr(s.SiteLoadKW), F: s.Failsafe}
	if len(s.Meters) > 0 {
		r.M = make(map[string]float64, len(s.Meters))
		for k, v := range s.Meters {
			r.M[k] = watt(v)
		}
	}
	b, err := json.Marshal(r)
	return append(b, '\n'), err
}

// decodeSample reads one line of the sample log.
func decodeSample(line []byte) (Sample, bool) {
	var r sampleRec
	if len(line) == 0 || json.Unmarshal(line, &r) != nil || r.T <= 0 {
		return Sample{}, false
	}
	return Sample{At: time.UnixMicro(r.T).UTC(), MiningKW: r.L, MeasuredKW: r.D, MeasuredRigs: r.N,
		MiningMeterKW: r.MM, BudgetKW: r.B, CapKW: r.C, AIKW: r.A, AIKWMeasured: r.AM, SiteLoadKW: r.S,
		Failsafe: r.F, Meters: r.M}, true
}

// sampleTime reads only a line's time (its first key, as written).
func sampleTime(line []byte) (time.Time, bool) {
	const key = `{"t":`
	if !bytes.HasPrefix(line, []byte(key)) {
		return time.Time{}, false
	}
	var us int64
	for _, c := range line[len(key):] {
		if c < '0' || c > '9' {
			break
		}
		us = us*10 + int64(c-'0')
		if us > math.MaxInt64/100 {
			return time.Time{}, false
		}
	}
	return time.UnixMicro(us).UTC(), us > 0
}

// Sample appends one sample. The file is fsynced at most every
// SyncEvery.
func (l *Log) Sample(s Sample) error {
	b, err := encodeSample(&s)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if err := l.samples.write(b); err != nil {
		return err
	}
	if now := time.Now(); now.Sub(l.lastSync) >= l.opts.SyncEvery {
		l.lastSync = now
		return l.samples.sync()
	}
	return nil
}

// maxSamples bounds the samples one read answers.
const maxSamples = 100000

// Samples are the samples from..to (inclusive), oldest first, at most
// maxSamples. Files whose samples are all older than from are skipped
// after reading their first line.
func (l *Log) Samples(from, to time.Time) ([]Sample, error) {
	l.mu.Lock()
	files := l.samples.files()
	l.mu.Unlock()
	firsts := make([]time.Time, len(files))
	for i, f := range files {
		_ = scanFile(f, func(line []byte) bool {
			t, ok := sampleTime(line)
			firsts[i] = t
			return !ok // the first line that has a time
		})
	}
	var out []Sample
	for i, f := range files {
		// files[i+1] starts after every sample of files[i].
		if i+1 < len(files) && !firsts[i+1].IsZero() && firsts[i+1].Before(from) {
			continue
		}
		if !firsts[i].IsZero() && firsts[i].After(to) {
			break
		}
		err := scanFile(f, func(line []byte) bool {
			t, ok := sampleTime(line)
			if !ok || t.Before(from) {
				return true
			}
			if t.After(to) {
				return false
			}
			if s, ok := decodeSample(line); ok {
				out = append(out, s)
			}
			return len(out) < maxSamples
		})
		if err != nil || len(out) >= maxSamples {
			return out, err
		}
	}
	return out, nil
}
