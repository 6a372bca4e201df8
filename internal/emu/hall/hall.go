package hall

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/hashgate/hashgate/internal/emu"
	"github.com/hashgate/hashgate/internal/emu/antminer"
	"github.com/hashgate/hashgate/internal/emu/braiins"
	"github.com/hashgate/hashgate/internal/emu/luxos"
	"github.com/hashgate/hashgate/internal/emu/vnish"
	"github.com/hashgate/hashgate/internal/emu/whatsminer"
)

// Firmwares the hall can emulate, in the order rigs are dealt.
var Firmwares = []string{"antminer", "braiins", "luxos", "whatsminer", "vnish"}

// Config describes a hall.
type Config struct {
	Rigs int
	// Base is the index of the hall's first rig: rig k is dealt and named
	// as rig Base+k of a larger hall (a slice of it, in another process
	// or on another address). Default 0.
	Base int
	// Host is the address the rigs listen on, without the port; default
	// 127.0.0.1. One address has too few ports for tens of thousands of
	// rigs: slices of a hall go on 127.0.0.x.
	Host       string
	Firmwares  []string // dealt round robin; default Firmwares
	NameFormat string   // fmt with the firmware and the index; default "emu.%s-%05d"
	Password   string   // every rig's; default "hall-pass"
	MiningW    float64  // default 3250
	SleepingW  float64  // default 60
	HashTHs    float64  // default 100
	// Faults, when set, gives rig i its faults.
	Faults func(i int, firmware string) emu.Faults
}

// Rig is one emulated rig.
type Rig struct {
	Name     string
	Firmware string
	Addr     string // host:port of its management interface
	Dev      *emu.Device
	srv      endpoint
}

// Hall is a started hall.
type Hall struct {
	cfg  Config
	Rigs []*Rig
}

func (c *Config) fill() {
	if len(c.Firmwares) == 0 {
		c.Firmwares = Firmwares
	}
	if c.Host == "" {
		c.Host = "127.0.0.1"
	}
	if c.NameFormat == "" {
		c.NameFormat = "emu.%s-%05d"
	}
	if c.Password == "" {
		c.Password = "hall-pass"
	}
	if c.MiningW == 0 {
		c.MiningW = 3250
	}
	if c.SleepingW == 0 {
		c.SleepingW = 60
	}
	if c.HashTHs == 0 {
		c.HashTHs = 100
	}
}

// Start starts every rig of the hall, mining.
func Start(cfg Config) (*Hall, error) {
	cfg.fill()
	h := &Hall{cfg: cfg}
	for k := range cfg.Rigs {
		i := cfg.Base + k
		fw := cfg.Firmwares[i%len(cfg.Firmwares)]
		dev := emu.NewDevice(emu.Config{MiningW: cfg.MiningW, SleepingW: cfg.SleepingW, HashrateTHs: cfg.HashTHs})
		if cfg.Faults != nil {
			dev.SetFaults(cfg.Faults(i, fw))
		}
		srv, err := startOne(fw, dev, net.JoinHostPort(cfg.Host, "0"), cfg.Password)
		if err != nil {
			h.Close()
			return nil, fmt.Errorf("hall: rig %d (%s) on %s: %w", i, fw, cfg.Host, err)
		}
		h.Rigs = append(h.Rigs, &Rig{Name: fmt.Sprintf(cfg.NameFormat, fw, i), Firmware: fw, Addr: srv.Addr(), Dev: dev, srv: srv})
	}
	return h, nil
}

// endpoint is a started emulator.
type endpoint interface {
	Addr() string
	Close() error
}

// startOne starts one rig's emulator on addr (host:0).
func startOne(fw string, dev *emu.Device, addr, pw string) (endpoint, error) {
	switch fw {
	case "antminer":
		return started(antminer.Start(dev, antminer.Config{Addr: addr, Password: pw, ReportPower: true}))
	case "braiins":
		return started(braiins.Start(dev, braiins.Config{Addr: addr, Password: pw}))
	case "luxos":
		return started(luxos.Start(dev, luxos.Config{Addr: addr}))
	case "whatsminer":
		return started(whatsminer.Start(dev, whatsminer.Config{Addr: addr, Password: pw}))
	case "vnish":
		return started(vnish.Start(dev, vnish.Config{Addr: addr, Password: pw}))
	}
	return nil, fmt.Errorf("no emulator for firmware %q", fw)
}

// started turns an emulator's Start result into an endpoint, nil on
// error (not a typed nil pointer in a non-nil interface).
func started[R endpoint](r R, err error) (endpoint, error) {
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Close stops every rig and returns once all have stopped.
func (h *Hall) Close() error {
	var errs []error
	for _, r := range h.Rigs {
		if err := r.srv.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	h.Rigs = nil
	return errors.Join(errs...)
}

// InventoryCSV is the hall's rig inventory, as `[switcher] inventory`
// reads it.
func (h *Hall) InventoryCSV() []byte {
	var b bytes.Buffer
	b.WriteString("name,address,firmware\n")
	for _, r := range h.Rigs {
		fmt.Fprintf(&b, "%s,%s,%s\n", r.Name, r.Addr, r.Firmware)
	}
	return b.Bytes()
}

// WritePassword writes the rigs' password to path (mode 0600).
func (h *Hall) WritePassword(path string) error {
	return os.WriteFile(path, []byte(h.cfg.Password+"\n"), 0o600)
}

// Groups is the policy's [[group]] tables for the hall: one group per
// firmware, named prefix-FIRMWARE, each rig at its nameplate, priority
// and efficiency as given, reached with the password file at pwFile and
// a per-call timeout.
func (h *Hall) Groups(prefix string, priority int, jth float64, pwFile string, timeout time.Duration) string {
	var b strings.Builder
	idleKW := h.cfg.SleepingW / 1000 * 1.5
	for _, fw := range h.cfg.Firmwares {
		glob := strings.Replace(strings.Replace(h.cfg.NameFormat, "%s", fw, 1), "%05d", "*", 1)
		fmt.Fprintf(&b, "\n[[group]]\nname = %q\nworkers = [%q]\nrig_kw = %g\nidle_kw = %g\nefficiency_j_th = %g\npriority = %d\nactuator = %q\n",
			prefix+"-"+fw, glob, h.cfg.MiningW/1000, idleKW, jth, priority, fw)
		fmt.Fprintf(&b, "[group.actuator_options]\ntimeout = %q\n", timeout.String())
		if fw != "luxos" {
			fmt.Fprintf(&b, "password_file = %q\n", pwFile)
		}
		switch fw {
		case "antminer", "braiins":
			b.WriteString("user = \"root\"\n")
		}
	}
	return b.String()
}

// PowerW is the hall's measured draw now: what a meter on its feeder
// would read.
func (h *Hall) PowerW() float64 {
	var w float64
	for _, r := range h.Rigs {
		w += r.Dev.Peek().PowerW
	}
	return w
}

// Mining counts the rigs hashing now.
func (h *Hall) Mining() int {
	n := 0
	for _, r := range h.Rigs {
		if r.Dev.Peek().Mining {
			n++
		}
	}
	return n
}
