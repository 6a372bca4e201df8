package main

import (
	"testing"
	"time"
)

func TestFirmwareOfHallNames(t *testing.T) {
	for name, want := range map[string]string{
		"emu.antminer-00000": "antminer", "emu.whatsminer-49999": "whatsminer",
		"emu.vnish-00004": "vnish", "other": "", "emu.": "",
	} {
		if got := firmwareOf(name); got != want {
			t.Errorf("firmwareOf(%q): got %q, want %q", name, got, want)
		}
	}
}

// The real-firmware figure: summed latencies over the workers, plus the
// measured run, plus at most the longest latency.
func TestComputeReal(t *testing.T) {
	f := &fwOptions{workers: 256, realAM: 20 * time.Second, realOther: time.Second}
	var planned []string
	for range 2000 {
		planned = append(planned, "emu.antminer-00000")
	}
	for range 8000 {
		planned = append(planned, "emu.braiins-00001")
	}
	r := &allocResult{AllAnswered: 10 * time.Second}
	r.computeReal(f, planned)
	if want := 48000*time.Second/256 + 10*time.Second; r.RealLower != want || r.RealUpper != want+20*time.Second {
		t.Fatalf("got %v to %v, want %v to %v", r.RealLower, r.RealUpper, want, want+20*time.Second)
	}
	if !hasPart("alloc,poll", "poll") || hasPart("alloc,poll", "reads") || hasPart("", "alloc") {
		t.Errorf("hasPart: got wrong answers for alloc,poll / poll, reads and the empty list")
	}
}
