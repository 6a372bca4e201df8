package bench

import (
	"time"

	"github.com/hashgate/hashgate/internal/emu"
	"github.com/hashgate/hashgate/internal/emu/hall"
)

// FWRigsConfig describes a slice of an emulated hall of mixed firmware,
// as internal/emu/hall deals it (rig i runs hall.Firmwares[i % 5] and is
// named emu.FIRMWARE-%05d, so hall.Groups' globs match it), listening on
// one local address. 50,000 rigs need more ports than one address has,
// so the harness spreads its emulator processes over 127.0.0.x.
type FWRigsConfig struct {
	Host     string // listen address without the port; "" is 127.0.0.1
	Rigs     int    // in this slice
	Base     int    // global index of the first rig
	Password string // every rig's; "" is hall-pass (hall's default)
	// Delay, when set, gives every rig of a firmware that delay before
	// each answer (the emulators' Delay fault): to model real firmware's
	// answer times, scaled. Zero: the emulators answer at once.
	Delay func(firmware string) time.Duration
}

// FWRigs is a started slice of a hall: a hall.Hall from Base on Host.
type FWRigs = hall.Hall

// StartFWRigs starts every rig of the slice, mining (hall's nameplate:
// 3,250 W mining, 60 W asleep, 100 TH/s).
func StartFWRigs(cfg FWRigsConfig) (*FWRigs, error) {
	hc := hall.Config{Host: cfg.Host, Rigs: cfg.Rigs, Base: cfg.Base, Password: cfg.Password}
	if cfg.Delay != nil {
		hc.Faults = func(_ int, fw string) emu.Faults { return emu.Faults{Delay: cfg.Delay(fw)} }
	}
	return hall.Start(hc)
}
