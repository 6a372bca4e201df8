package main

// The demo's firmware hall: emulated rigs of mixed firmware on 127.0.0.1
// (internal/emu/hall), one of which lies, and what the demo says about
// them: the hall's meter before and after a plan, the rigs asleep, the
// lying rig flagged with its evidence, and the rigs curtailed in its
// place.

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashgate/hashgate/internal/emu"
	"github.com/hashgate/hashgate/internal/emu/hall"
	"github.com/hashgate/hashgate/switcher"
)

// fwHall is the started firmware hall and what the demo last said of it.
type fwHall struct {
	h     *hall.Hall
	liar  string          // the rig that says ok and keeps mining
	rigs  map[string]bool // the hall's rig names
	saidW float64         // the meter as last said
	// planned: the rigs the last scripted plan curtails; a curtail of any
	// other rig after a lying rig is flagged is the planner compensating.
	planned map[string]bool
	flagged map[string]bool // rigs flagged curtail_failed and not cleared
	flags   int             // curtail_failed flags raised
	flagAt  time.Time       // the last curtail_failed event: compensation follows it
	retries int             // curtail_failed events of rigs already flagged: the curtail retried
}

// fwLiar is the rig of a hall of n that the planner curtails first: the
// last name in its order (the hall's groups share priority and J/TH, so
// names decide). Rigs are dealt to hall.Firmwares round robin.
func fwLiar(n int) int {
	liar, last := 0, ""
	for i := range n {
		if name := fmt.Sprintf(fwNames, hall.Firmwares[i%len(hall.Firmwares)], i); name > last {
			liar, last = i, name
		}
	}
	return liar
}

// startFWHall starts n emulated rigs and writes the demo's inventory
// (rigs.csv) and password file (fw.pass, mode 0600) into dir. It returns
// the hall and the policy's [[group]] tables for it.
func startFWHall(dir string, n int) (*fwHall, string, error) {
	liar := fwLiar(n)
	h, err := hall.Start(hall.Config{Rigs: n, NameFormat: fwNames, Password: demoPassword(),
		Faults: func(i int, _ string) emu.Faults { return emu.Faults{Lying: i == liar} }})
	if err != nil {
		return nil, "", err
	}
	f := &fwHall{h: h, liar: h.Rigs[liar].Name, rigs: map[string]bool{}, flagged: map[string]bool{}, planned: map[string]bool{}, saidW: h.PowerW()}
	for _, r := range h.Rigs {
		f.rigs[r.Name] = true
	}
	pw := filepath.Join(dir, "fw.pass")
	if err := h.WritePassword(pw); err != nil {
		h.Close()
		return nil, "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "rigs.csv"), h.InventoryCSV(), 0o644); err != nil {
		h.Close()
		return nil, "", err
	}
	return f, h.Groups(fwPrefix, fwPriority, fwJTH, pw, 2*time.Second), nil
}

// demoPassword is a fresh password for the emulated rigs: the demo never
// prints it, and nothing but the password file holds it.
func demoPassword() string {
	return "demo-" + randomHex(8)
}

func (f *fwHall) Close() error { return f.h.Close() }

// meterKW is the hall's emulated feeder meter.
func (f *fwHall) meterKW() float64 { return f.h.PowerW() / 1000 }

// reading is the hall's meter in W and the rigs asleep, now.
func (f *fwHall) reading() (w float64, asleep int) { return f.h.PowerW(), f.asleep() }

// asleep counts the hall's rigs not hashing.
func (f *fwHall) asleep() int { return len(f.h.Rigs) - f.h.Mining() }

// intro describes the hall for the demo's opening lines.
func (f *fwHall) intro(poll, verify time.Duration) string {
	return fmt.Sprintf("firmware hall: %d emulated rigs (%s) on 127.0.0.1, listed in rigs.csv, slept and woken through "+
		"their own APIs, read back every %s (verified within %s); %s lies: it answers ok and keeps mining. Meter: %.1f kW",
		len(f.h.Rigs), strings.Join(hall.Firmwares, ", "), poll, verify, f.liar, f.meterKW())
}

// plan notes the firmware rigs a scripted plan curtails or resumes and
// says so with the meter before the plan, beforeW ("" when the plan
// leaves the hall alone). The fleet acts within milliseconds: the meter
// is read before the allocation is made.
func (f *fwHall) plan(p switcher.Plan, beforeW float64, beforeAsleep int) string {
	f.planned = map[string]bool{}
	curtail, resume := 0, 0
	for _, a := range p.Curtail {
		f.planned[a.Name] = true
		if f.rigs[a.Name] {
			curtail++
		}
	}
	for _, a := range p.Resume {
		if f.rigs[a.Name] {
			resume++
		}
	}
	if curtail+resume == 0 {
		return ""
	}
	f.saidW = beforeW
	return fmt.Sprintf("  firmware hall: the plan sleeps %d and wakes %d of %d rigs through their firmware; meter before: %.1f kW, %d asleep",
		curtail, resume, len(f.h.Rigs), beforeW/1000, beforeAsleep)
}

// meter says the hall's meter when it moved since last said ("" if not).
func (f *fwHall) meter() string {
	w := f.h.PowerW()
	if math.Abs(w-f.saidW) < 1 {
		return ""
	}
	before := f.saidW
	f.saidW = w
	return fmt.Sprintf("  firmware hall meter: %.1f -> %.1f kW, %d of %d rigs asleep", before/1000, w/1000, f.asleep(), len(f.h.Rigs))
}

// event says what an audit event shows of the firmware side: a rig
// flagged curtail_failed with its evidence, or a rig curtailed in a
// lying one's place ("" for anything else, and for a flagged rig's
// retries).
func (f *fwHall) event(e switcher.Event) string {
	switch {
	case e.Kind == switcher.EventCurtailFail && e.Fields["cleared"] != nil:
		delete(f.flagged, e.Rig)
	case e.Kind == switcher.EventCurtailFail && f.flagged[e.Rig]:
		f.retries++
		f.flagAt = e.Time
	case e.Kind == switcher.EventCurtailFail:
		f.flagged[e.Rig] = true
		f.flags++
		f.flagAt = e.Time
		return fmt.Sprintf("  %s flagged curtail_failed: answered ok, yet its device reads %s; "+
			"counted at that draw, so the planner curtails the next rig in order", e.Rig, evidenceText(e.Fields))
	case e.Kind == switcher.EventCurtail && f.flags > 0 && !f.planned[e.Rig] && e.Time.Sub(f.flagAt) < 3*time.Second:
		f.planned[e.Rig] = true
		return fmt.Sprintf("  compensation: %s curtailed in the lying rig's place", e.Rig)
	}
	return ""
}

// evidenceText is a curtail_failed event's evidence: state, power and
// hashrate as the device reported them.
func evidenceText(fields map[string]any) string {
	var parts []string
	if st, ok := fields["state"]; ok {
		parts = append(parts, fmt.Sprint(st))
	}
	if w, ok := fields["power_w"].(float64); ok {
		parts = append(parts, fmt.Sprintf("%.0f W", w))
	}
	if h, ok := fields["hashrate_ths"].(float64); ok {
		parts = append(parts, fmt.Sprintf("%.0f TH/s", h))
	}
	if len(parts) == 0 {
		return "no reading (" + fmt.Sprint(fields["evidence"]) + ")"
	}
	return strings.Join(parts, ", ")
}

// summary is the hall's line at the end of the demo.
func (f *fwHall) summary() string {
	return fmt.Sprintf("firmware hall: meter %.1f kW, %d of %d rigs asleep; %d curtail_failed flag(s) raised, %d failed retries",
		f.meterKW(), f.asleep(), len(f.h.Rigs), f.flags, f.retries)
}
