package vnish

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/hashgate/hashgate/internal/emu"
)

// Power fields: VNish versions differ (pyasic reads power_usage, asic-rs
// power_consumption).
const (
	PowerConsumption = "power_consumption"
	PowerUsage       = "power_usage"
	PowerNone        = "none"
)

// Config is what the emulated rig accepts and reports.
type Config struct {
	Addr     string // default 127.0.0.1:0
	Password string // default "admin"
	// PowerField names the summary's power key (default PowerConsumption).
	PowerField string
	Model      string // default "Antminer S19j Pro (Vnish 1.2.6)"
}

// Rig is one emulated VNish web interface. Addr and Close come from its
// emu.Endpoint.
type Rig struct {
	emu.Endpoint
	dev *emu.Device
	cfg Config

	mu    sync.Mutex
	token string
	users []string // pool users, index-aligned with the device's pools
}

// Start serves a rig for dev.
func Start(dev *emu.Device, cfg Config) (*Rig, error) {
	emu.Default(&cfg.Password, "admin")
	emu.Default(&cfg.PowerField, PowerConsumption)
	emu.Default(&cfg.Model, "Antminer S19j Pro (Vnish 1.2.6)")
	r := &Rig{dev: dev, cfg: cfg, token: emu.RandomHex(16)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/unlock", r.unlock)
	mux.HandleFunc("POST /api/v1/mining/stop", r.auth(func(w http.ResponseWriter, _ *http.Request) {
		dev.Curtail()
		emu.WriteJSON(w, http.StatusOK, map[string]any{})
	}))
	mux.HandleFunc("POST /api/v1/mining/start", r.auth(func(w http.ResponseWriter, _ *http.Request) {
		dev.Resume()
		emu.WriteJSON(w, http.StatusOK, map[string]any{})
	}))
	mux.HandleFunc("GET /api/v1/summary", r.auth(r.summary))
	mux.HandleFunc("POST /api/v1/settings", r.auth(r.settings))
	return emu.StartHTTP(r, cfg.Addr, dev, mux)
}

// ExpireTokens invalidates the issued token (a reboot, a timeout).
func (r *Rig) ExpireTokens() {
	r.mu.Lock()
	r.token = emu.RandomHex(16)
	r.mu.Unlock()
}

func (r *Rig) unlock(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Pw string `json:"pw"`
	}
	b, _ := io.ReadAll(io.LimitReader(req.Body, 64<<10))
	if json.Unmarshal(b, &body) != nil || body.Pw != r.cfg.Password {
		r.dev.AuthFailed()
		emu.WriteJSON(w, http.StatusUnauthorized, map[string]string{"err": "Unauthorized"})
		return
	}
	r.mu.Lock()
	tok := r.token
	r.mu.Unlock()
	emu.WriteJSON(w, http.StatusOK, map[string]string{"token": tok})
}

// auth accepts "Bearer <token>" (asic-rs) and the bare token (pyasic).
func (r *Rig) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		got := strings.TrimSpace(strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer "))
		r.mu.Lock()
		ok := got != "" && got == r.token
		r.mu.Unlock()
		if !ok {
			emu.WriteJSON(w, http.StatusUnauthorized, map[string]string{"err": "Unauthorized"})
			return
		}
		h(w, req)
	}
}

func (r *Rig) summary(w http.ResponseWriter, _ *http.Request) {
	s := r.dev.Read()
	state := "stopped"
	if s.Mining {
		state = "mining"
	}
	r.mu.Lock()
	pools := make([]map[string]any, 0, len(s.Pools))
	for i, u := range s.Pools {
		user := ""
		if i < len(r.users) {
			user = r.users[i]
		}
		pools = append(pools, map[string]any{"id": i + 1, "url": u, "user": user, "status": "working", "accepted": 0, "rejected": 0})
	}
	r.mu.Unlock()
	miner := map[string]any{
		"miner_type":   r.cfg.Model,
		"miner_status": map[string]any{"miner_state": state, "miner_state_time": 60},
		"hr_realtime":  s.HashrateTHs * 1000, "hr_average": s.HashrateTHs * 1000, "hr_nominal": s.HashrateTHs * 1000,
		"pools": pools, "chains": []any{},
	}
	if r.cfg.PowerField != PowerNone {
		miner[r.cfg.PowerField] = s.PowerW
	}
	emu.WriteJSON(w, http.StatusOK, map[string]any{"miner": miner, "system": map[string]any{"network_status": map[string]any{"hostname": "vnish"}}})
}

func (r *Rig) settings(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Miner *struct {
			Pools *[]struct {
				URL  string `json:"url"`
				User string `json:"user"`
			} `json:"pools"`
		} `json:"miner"`
	}
	b, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if json.Unmarshal(b, &body) != nil {
		emu.WriteJSON(w, http.StatusBadRequest, map[string]string{"err": "Bad request"})
		return
	}
	if body.Miner != nil && body.Miner.Pools != nil {
		urls, users := []string{}, []string{}
		for _, p := range *body.Miner.Pools {
			urls, users = append(urls, p.URL), append(users, p.User)
		}
		r.mu.Lock()
		r.users = users
		r.mu.Unlock()
		r.dev.SetPools(urls)
	}
	emu.WriteJSON(w, http.StatusOK, map[string]bool{"restart_required": false, "reboot_required": false})
}
