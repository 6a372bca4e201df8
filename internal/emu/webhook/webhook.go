package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashgate/hashgate/internal/emu"
)

// seenMax bounds the signatures remembered against replays.
const seenMax = 64

// Config is what the receiver accepts.
type Config struct {
	Addr    string        // listen address; "" is 127.0.0.1:0
	Secret  string        // the HMAC key
	MaxSkew time.Duration // accepted distance of the signed time; 0 is 5 min
	// NoReadings: answer reads with an empty 204, as a receiver that
	// measures nothing does.
	NoReadings bool
	Now        func() time.Time
}

// Rig is one emulated receiver switching one device. Addr and Close
// come from its emu.Endpoint.
type Rig struct {
	emu.Endpoint
	cfg Config
	dev *emu.Device

	mu       sync.Mutex
	force    int // answer every request with this status (0: normal)
	requests int
	seen     []string // signatures accepted, oldest first
	last     Request
}

// Request is the last request the receiver accepted, for tests.
type Request struct {
	Rig     string `json:"rig"`
	Address string `json:"address"`
	Action  string `json:"action"`
	Time    string `json:"time"`
}

// Start serves the receiver until Close.
func Start(dev *emu.Device, cfg Config) (*Rig, error) {
	emu.Default(&cfg.MaxSkew, 5*time.Minute)
	emu.DefaultNow(&cfg.Now)
	r := &Rig{cfg: cfg, dev: dev}
	return emu.StartHTTP(r, cfg.Addr, dev, http.HandlerFunc(r.serve))
}

// SetStatus makes every later request answered with code, unread (0:
// back to normal).
func (r *Rig) SetStatus(code int) {
	r.mu.Lock()
	r.force = code
	r.mu.Unlock()
}

// Requests counts the requests that reached the receiver.
func (r *Rig) Requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests
}

// Last is the last request accepted.
func (r *Rig) Last() Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

func (r *Rig) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.requests++
	force := r.force
	r.mu.Unlock()
	if force != 0 {
		w.WriteHeader(force)
		return
	}
	if req.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<16))
	if err != nil {
		return
	}
	sig := req.Header.Get("X-Hashgate-Signature")
	if !r.signed(body, sig) {
		r.dev.AuthFailed()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var in Request
	if err := json.Unmarshal(body, &in); err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	if code, msg := r.fresh(in.Time, req.Header.Get("X-Hashgate-Timestamp"), sig); code != 0 {
		http.Error(w, msg, code)
		return
	}
	r.act(w, in)
}

// signed checks "sha256=<hex HMAC-SHA256(secret, body)>" in constant time.
func (r *Rig) signed(body []byte, header string) bool {
	got, err := hex.DecodeString(strings.TrimPrefix(header, "sha256="))
	if err != nil || !strings.HasPrefix(header, "sha256=") {
		return false
	}
	m := hmac.New(sha256.New, []byte(r.cfg.Secret))
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

// fresh rejects a signed time far from the clock or disagreeing with the
// timestamp header (401), and a signature already accepted (409).
func (r *Rig) fresh(signedTime, header, sig string) (int, string) {
	at, err := time.Parse(time.RFC3339Nano, signedTime)
	if err != nil {
		return http.StatusBadRequest, "bad time"
	}
	if header != strconv.FormatInt(at.Unix(), 10) {
		return http.StatusUnauthorized, "timestamp header differs from the signed time"
	}
	if d := r.cfg.Now().Sub(at); d > r.cfg.MaxSkew || d < -r.cfg.MaxSkew {
		return http.StatusUnauthorized, "stale request"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.seen {
		if s == sig {
			return http.StatusConflict, "replayed request"
		}
	}
	if len(r.seen) >= seenMax {
		r.seen = r.seen[1:]
	}
	r.seen = append(r.seen, sig)
	return 0, ""
}

func (r *Rig) act(w http.ResponseWriter, in Request) {
	switch in.Action {
	case "curtail":
		r.dev.Curtail()
	case "resume":
		r.dev.Resume()
	case "read":
		if r.cfg.NoReadings {
			r.record(in)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		s := r.dev.Read()
		state := "sleeping"
		if s.Mining {
			state = "mining"
		}
		r.record(in)
		emu.WriteJSON(w, http.StatusOK, map[string]any{"state": state, "power_w": s.PowerW, "hashrate_ths": s.HashrateTHs})
		return
	default:
		http.Error(w, "unknown action", http.StatusBadRequest)
		return
	}
	r.record(in)
	emu.WriteJSON(w, http.StatusOK, map[string]bool{"accepted": true})
}

func (r *Rig) record(in Request) {
	r.mu.Lock()
	r.last = in
	r.mu.Unlock()
}
