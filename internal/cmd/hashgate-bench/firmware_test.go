package main

import (
	"net/http"
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

// The floor servers answer each kind of exchange the floor part makes:
// a line on a fresh connection (closed after the answer), lines on a
// kept one, and an HTTP GET.
func TestFloorServers(t *testing.T) {
	s, tcp, web, err := startFloor("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	if len(tcp) != floorListeners || web == "" {
		t.Fatalf("got %d TCP listeners and HTTP %q, want %d and an address", len(tcp), web, floorListeners)
	}
	if err := floorFresh(tcp[0]); err != nil {
		t.Errorf("fresh exchange: got %v, want an answer", err)
	}
	st := &floorState{}
	for i := range 3 {
		if err := st.kept(tcp[1]); err != nil {
			t.Fatalf("kept exchange %d: got %v, want an answer", i, err)
		}
	}
	st.c.Close()
	if err := floorHTTP(&http.Client{}, web); err != nil {
		t.Errorf("HTTP exchange: got %v, want an answer", err)
	}
	if err := floorHTTPLean(web); err != nil {
		t.Errorf("lean HTTP exchange: got %v, want an answer", err)
	}
}
