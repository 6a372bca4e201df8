package braiins

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/hashgate/hashgate/internal/emu"
)

// maxTokens bounds the tokens a rig remembers; the oldest goes first.
const maxTokens = 8

// Config is what the emulated miner accepts.
type Config struct {
	Addr     string        // listen address; "" is 127.0.0.1:0
	User     string        // "" is root
	Password string        // the web password
	TokenTTL time.Duration // timeout_s of the tokens it issues; 0 is 3600 s
	// StatusNames renders the deprecated status as its proto name
	// ("MINER_STATUS_PAUSED") instead of the number, as some gRPC-JSON
	// gateways do.
	StatusNames bool
	Now         func() time.Time
}

// Rig is one emulated Braiins OS miner. Addr and Close come from its
// emu.Endpoint.
type Rig struct {
	emu.Endpoint
	cfg Config
	dev *emu.Device

	mu     sync.Mutex
	tokens map[string]time.Time // token -> expiry
	order  []string
	logins int
	force  int // answer authenticated requests with this status (0: normal)
}

// Start serves dev's API until Close.
func Start(dev *emu.Device, cfg Config) (*Rig, error) {
	emu.Default(&cfg.User, "root")
	emu.Default(&cfg.TokenTTL, time.Hour)
	emu.DefaultNow(&cfg.Now)
	r := &Rig{cfg: cfg, dev: dev, tokens: map[string]time.Time{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/auth/login", r.login)
	mux.HandleFunc("PUT /api/v1/actions/pause", r.authed(r.pause))
	mux.HandleFunc("PUT /api/v1/actions/resume", r.authed(r.resume))
	mux.HandleFunc("GET /api/v1/miner/details", r.authed(r.details))
	mux.HandleFunc("GET /api/v1/miner/stats", r.authed(r.stats))
	mux.HandleFunc("GET /api/v1/pools/", r.authed(r.pools))
	mux.HandleFunc("PUT /api/v1/pools/batch", r.authed(r.setPools))
	return emu.StartHTTP(r, cfg.Addr, dev, mux)
}

// Logins counts the successful logins, for tests.
func (r *Rig) Logins() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.logins
}

// SetStatus makes every later authenticated request answered with code
// and nothing done, as the firmware answers 500 while bosminer
// reconfigures (0: back to normal).
func (r *Rig) SetStatus(code int) {
	r.mu.Lock()
	r.force = code
	r.mu.Unlock()
}

// RevokeTokens forgets every token, as a miner reboot does.
func (r *Rig) RevokeTokens() {
	r.mu.Lock()
	r.tokens, r.order = map[string]time.Time{}, nil
	r.mu.Unlock()
}

func (r *Rig) login(w http.ResponseWriter, req *http.Request) {
	var in struct{ Username, Password string }
	if err := json.NewDecoder(io.LimitReader(req.Body, 4096)).Decode(&in); err != nil {
		http.Error(w, `{"message":"invalid request payload"}`, http.StatusBadRequest)
		return
	}
	if in.Username != r.cfg.User || in.Password != r.cfg.Password {
		r.dev.AuthFailed()
		http.Error(w, `{"message":"invalid username or password"}`, http.StatusUnauthorized)
		return
	}
	tok := emu.RandomHex(12)
	r.mu.Lock()
	r.logins++
	if len(r.order) >= maxTokens {
		delete(r.tokens, r.order[0])
		r.order = r.order[1:]
	}
	r.tokens[tok] = r.cfg.Now().Add(r.cfg.TokenTTL)
	r.order = append(r.order, tok)
	r.mu.Unlock()
	emu.WriteJSON(w, http.StatusOK, map[string]any{"token": tok, "timeout_s": int(r.cfg.TokenTTL / time.Second)})
}

// authed refuses a request whose token is unknown or expired, and
// refreshes the token's validity otherwise (the firmware's behaviour).
func (r *Rig) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		tok := req.Header.Get("Authorization")
		now := r.cfg.Now()
		r.mu.Lock()
		exp, ok := r.tokens[tok]
		if ok && now.Before(exp) {
			r.tokens[tok] = now.Add(r.cfg.TokenTTL)
		}
		force := r.force
		r.mu.Unlock()
		if !ok || !now.Before(exp) {
			http.Error(w, `{"message":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		if force != 0 {
			http.Error(w, `{"message":"emulated failure"}`, force)
			return
		}
		h(w, req)
	}
}

func (r *Rig) pause(w http.ResponseWriter, _ *http.Request) {
	was := !r.dev.Peek().Mining
	r.dev.Curtail()
	emu.WriteJSON(w, http.StatusOK, was) // true: it was already paused
}

func (r *Rig) resume(w http.ResponseWriter, _ *http.Request) {
	was := r.dev.Peek().Mining
	r.dev.Resume()
	emu.WriteJSON(w, http.StatusOK, was) // true: it was already mining
}

func (r *Rig) details(w http.ResponseWriter, _ *http.Request) {
	s := r.dev.Read()
	status, detailed := any(3), map[string]any{"stopped": map[string]any{"reason": map[string]any{"user_pause": map[string]any{}}}}
	if s.Mining {
		status, detailed = 2, map[string]any{"running": map[string]any{"reason": map[string]any{"normal": map[string]any{}}}}
	}
	if r.cfg.StatusNames {
		status = map[int]string{2: "MINER_STATUS_NORMAL", 3: "MINER_STATUS_PAUSED"}[status.(int)]
	}
	emu.WriteJSON(w, http.StatusOK, map[string]any{
		"uid": "emu", "platform": 1, "bos_mode": 1, "hostname": "emu-braiins",
		"mac_address": "00:00:00:00:00:00", "system_uptime": 1, "system_uptime_s": 1,
		"bosminer_uptime_s": 1, "kernel_version": "emu", "control_board_soc_family": 1,
		"status": status, "detailed_status": map[string]any{"status": detailed},
	})
}

func (r *Rig) stats(w http.ResponseWriter, _ *http.Request) {
	s := r.dev.Read()
	gh := map[string]any{"gigahash_per_second": s.HashrateTHs * 1000}
	emu.WriteJSON(w, http.StatusOK, map[string]any{
		"miner_stats": map[string]any{
			"found_blocks": 0, "best_share": 0, "best_share_str": "0",
			"real_hashrate":    map[string]any{"last_5s": gh, "last_1m": gh},
			"nominal_hashrate": gh,
		},
		"power_stats": map[string]any{"approximated_consumption": map[string]any{"watt": int64(s.PowerW)}},
	})
}

func (r *Rig) pools(w http.ResponseWriter, _ *http.Request) {
	s := r.dev.Peek()
	pools := make([]map[string]any, 0, len(s.Pools))
	for _, u := range s.Pools {
		pools = append(pools, map[string]any{"uid": "p", "url": u, "user": "emu", "enabled": true, "alive": true, "active": false})
	}
	emu.WriteJSON(w, http.StatusOK, []map[string]any{{"uid": "g", "name": "Default", "pools": pools}})
}

func (r *Rig) setPools(w http.ResponseWriter, req *http.Request) {
	var groups []struct {
		Pools []struct {
			URL     string `json:"url"`
			Enabled *bool  `json:"enabled"`
		} `json:"pools"`
	}
	if err := json.NewDecoder(io.LimitReader(req.Body, 1<<16)).Decode(&groups); err != nil {
		http.Error(w, `{"message":"invalid request payload"}`, http.StatusBadRequest)
		return
	}
	var urls []string
	for _, g := range groups {
		for _, p := range g.Pools {
			if p.Enabled == nil || *p.Enabled {
				urls = append(urls, p.URL)
			}
		}
	}
	r.dev.SetPools(urls)
	emu.WriteJSON(w, http.StatusOK, groups)
}
