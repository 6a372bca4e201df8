package bench

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hashgate/hashgate/internal/emu"
	"github.com/hashgate/hashgate/internal/emu/antminer"
	"github.com/hashgate/hashgate/internal/emu/braiins"
	"github.com/hashgate/hashgate/internal/emu/hall"
	"github.com/hashgate/hashgate/internal/emu/luxos"
	"github.com/hashgate/hashgate/internal/emu/vnish"
	"github.com/hashgate/hashgate/internal/emu/whatsminer"
)

// FWRigsConfig describes a slice of an emulated hall of mixed firmware,
// as internal/emu/hall deals it (rig i runs hall.Firmwares[i % 5] and is
// named emu.FIRMWARE-%05d, so hall.Groups' globs match it), listening on
// one local address. hall.Start listens on 127.0.0.1 only: 50,000 rigs
// need more ports than one address has, so the harness spreads its
// emulator processes over 127.0.0.x.
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

// FWRig is one emulated rig.
type FWRig struct {
	Name, Firmware, Addr string
	dev                  *emu.Device
	srv                  io.Closer
}

// FWRigs is a started slice of a hall.
type FWRigs struct {
	Rigs []*FWRig
}

// StartFWRigs starts every rig of the slice, mining (hall's nameplate:
// 3,250 W mining, 60 W asleep, 100 TH/s).
func StartFWRigs(cfg FWRigsConfig) (*FWRigs, error) {
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if cfg.Password == "" {
		cfg.Password = "hall-pass"
	}
	h := &FWRigs{Rigs: make([]*FWRig, 0, cfg.Rigs)}
	for k := range cfg.Rigs {
		i := cfg.Base + k
		fw := hall.Firmwares[i%len(hall.Firmwares)]
		dev := emu.NewDevice(emu.Config{MiningW: 3250, SleepingW: 60, HashrateTHs: 100})
		if cfg.Delay != nil {
			if d := cfg.Delay(fw); d > 0 {
				dev.SetFaults(emu.Faults{Delay: d})
			}
		}
		srv, addr, err := startFWRig(fw, dev, cfg.Host+":0", cfg.Password)
		if err != nil {
			_ = h.Close()
			return nil, fmt.Errorf("rig %d (%s) on %s: %w", i, fw, cfg.Host, err)
		}
		h.Rigs = append(h.Rigs, &FWRig{Name: fmt.Sprintf("emu.%s-%05d", fw, i), Firmware: fw, Addr: addr, dev: dev, srv: srv})
	}
	return h, nil
}

// startFWRig is hall's startOne with a listen address.
func startFWRig(fw string, dev *emu.Device, addr, pw string) (io.Closer, string, error) {
	switch fw {
	case "antminer":
		r, err := antminer.Start(dev, antminer.Config{Addr: addr, Password: pw, ReportPower: true})
		if err != nil {
			return nil, "", err
		}
		return r, r.Addr(), nil
	case "braiins":
		r, err := braiins.Start(dev, braiins.Config{Addr: addr, Password: pw})
		if err != nil {
			return nil, "", err
		}
		return r, r.Addr(), nil
	case "luxos":
		r, err := luxos.Start(dev, luxos.Config{Addr: addr})
		if err != nil {
			return nil, "", err
		}
		return r, r.Addr(), nil
	case "whatsminer":
		r, err := whatsminer.Start(dev, whatsminer.Config{Addr: addr, Password: pw})
		if err != nil {
			return nil, "", err
		}
		return r, r.Addr(), nil
	case "vnish":
		r, err := vnish.Start(dev, vnish.Config{Addr: addr, Password: pw})
		if err != nil {
			return nil, "", err
		}
		return r, r.Addr(), nil
	}
	return nil, "", fmt.Errorf("no emulator for firmware %q", fw)
}

// Mining counts the rigs hashing now.
func (h *FWRigs) Mining() int {
	n := 0
	for _, r := range h.Rigs {
		if r.dev.Peek().Mining {
			n++
		}
	}
	return n
}

// PowerW is the slice's summed draw now (its meter).
func (h *FWRigs) PowerW() float64 {
	var w float64
	for _, r := range h.Rigs {
		w += r.dev.Peek().PowerW
	}
	return w
}

// Close stops every rig and returns once all have stopped.
func (h *FWRigs) Close() error {
	var errs []error
	for _, r := range h.Rigs {
		if err := r.srv.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	h.Rigs = nil
	return errors.Join(errs...)
}
