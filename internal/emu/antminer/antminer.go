package antminer

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/hashgate/hashgate/internal/emu"
)

// Config is what the emulated rig accepts and reports.
type Config struct {
	Addr     string // default 127.0.0.1:0
	User     string // default "root"
	Password string // default "root"
	Realm    string // default "antMiner Configuration"
	Model    string // default "Antminer S19j Pro"
	// ReportPower: stats.cgi carries "power" (W), as some models do.
	ReportPower bool
}

// Rig is one emulated Antminer web interface. Addr and Close come from
// its emu.Endpoint.
type Rig struct {
	emu.Endpoint
	dev *emu.Device
	cfg Config

	mu    sync.Mutex
	nonce string
	mode  int // the configured miner-mode (written at once)
	pools []pool
	start time.Time
}

type pool struct {
	URL  string `json:"url"`
	User string `json:"user"`
	Pass string `json:"pass"`
}

// Start serves a rig for dev.
func Start(dev *emu.Device, cfg Config) (*Rig, error) {
	emu.Default(&cfg.User, "root")
	emu.Default(&cfg.Password, "root")
	emu.Default(&cfg.Realm, "antMiner Configuration")
	emu.Default(&cfg.Model, "Antminer S19j Pro")
	r := &Rig{dev: dev, cfg: cfg, nonce: emu.RandomHex(16), start: time.Now()}
	snap := dev.Peek()
	if !snap.Mining {
		r.mode = 1
	}
	for _, u := range snap.Pools {
		r.pools = append(r.pools, pool{URL: u})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cgi-bin/get_miner_conf.cgi", r.auth(r.getConf))
	mux.HandleFunc("POST /cgi-bin/set_miner_conf.cgi", r.auth(r.setConf))
	mux.HandleFunc("GET /cgi-bin/stats.cgi", r.auth(r.stats))
	mux.HandleFunc("GET /cgi-bin/summary.cgi", r.auth(r.summary))
	return emu.StartHTTP(r, cfg.Addr, dev, mux)
}

// RotateNonce makes the server issue a new nonce, as lighttpd does when
// a nonce expires: clients holding the old one get a 401.
func (r *Rig) RotateNonce() {
	r.mu.Lock()
	r.nonce = emu.RandomHex(16)
	r.mu.Unlock()
}

// Mode is the configured miner-mode (what get_miner_conf.cgi says).
func (r *Rig) Mode() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mode
}

func (r *Rig) getConf(w http.ResponseWriter, _ *http.Request) {
	r.mu.Lock()
	slots := make([]pool, 3)
	copy(slots, r.pools)
	mode := r.mode
	r.mu.Unlock()
	emu.WriteJSON(w, http.StatusOK, map[string]any{
		"pools":              slots,
		"api-listen":         true,
		"api-network":        true,
		"api-groups":         "A:stats:pools:devs:summary:version",
		"api-allow":          "A:0/0,W:*",
		"bitmain-fan-ctrl":   false,
		"bitmain-fan-pwm":    "100",
		"bitmain-use-vil":    true,
		"bitmain-freq":       "675",
		"bitmain-voltage":    "1400",
		"bitmain-ccdelay":    "0",
		"bitmain-pwth":       "0",
		"bitmain-work-mode":  fmt.Sprint(mode),
		"bitmain-freq-level": "100",
	})
}
