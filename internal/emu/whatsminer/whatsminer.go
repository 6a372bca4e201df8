package whatsminer

import (
	"crypto/rand"
	"encoding/json"
	"net"
	"sync"
	"time"

	"github.com/hashgate/hashgate/internal/emu"
	"github.com/hashgate/hashgate/switcher/whatsminer/wmcrypt"
)

// Config tunes a Rig. The zero Config works.
type Config struct {
	Addr string // listen address; default 127.0.0.1:0
	// APIVersion: 2 (default: TCP 4028 protocol) or 3 (length-prefixed
	// JSON, salt and per-command tokens, as on TCP 4433).
	APIVersion int
	// Password it accepts: default "admin" (v2) or "super" (v3).
	Password string
	// User: the v3 account it accepts (default "super").
	User string
	// TokenLimit: live tokens one client IP may hold (default 32); past
	// it get_token answers code 136 "over max connect".
	TokenLimit int
	// TokenTTL: a token's life (default 30 minutes).
	TokenTTL time.Duration
	// NoSummaryAsleep: summary answers an error while the hashboards
	// are off (older btminer stops its miner process on power_off).
	NoSummaryAsleep bool
	// Chunk: when > 0, answers are written in pieces of this size.
	Chunk int
	// ReadTimeout: a connection that sends no request within it is
	// closed (default 10 s, as the firmware does).
	ReadTimeout time.Duration
	// Salt: the admin password's md5-crypt salt that get_token answers
	// (default DefaultSalt: the firmware's, the same on every miner).
	Salt string
	Now  func() time.Time
}

// DefaultSalt is the salt get_token answers on every Whatsminer in the
// sources (switcher/whatsminer doc.go): a firmware constant, not a
// per-device one.
const DefaultSalt = "BQ5hoXV9"

// keys caches md5-crypt(password, salt) for the process: thousands of
// emulated rigs share the firmware's salt and, in a hall, a password.
var keys sync.Map // salt + "\x00" + password -> key

func keyFor(password, salt string) string {
	id := salt + "\x00" + password
	if k, ok := keys.Load(id); ok {
		return k.(string)
	}
	k := wmcrypt.Key(password, salt)
	keys.Store(id, k)
	return k
}

// Rig is one emulated Whatsminer. Addr and Close come from its
// emu.Endpoint.
type Rig struct {
	emu.Endpoint
	cfg  Config
	dev  *emu.Device
	salt string // the admin password's md5-crypt salt (Config.Salt)
	key  string

	mu     sync.Mutex
	tokens map[string][]token // by client IP
}

type token struct {
	sign string
	exp  time.Time
}

// Start serves dev's Whatsminer API v2.
func Start(dev *emu.Device, cfg Config) (*Rig, error) {
	if cfg.APIVersion == 3 {
		emu.Default(&cfg.Password, "super")
	}
	emu.Default(&cfg.Password, "admin")
	emu.Default(&cfg.User, "super")
	emu.Default(&cfg.TokenLimit, 32)
	emu.Default(&cfg.TokenTTL, 30*time.Minute)
	emu.Default(&cfg.ReadTimeout, 10*time.Second)
	emu.Default(&cfg.Salt, DefaultSalt)
	emu.DefaultNow(&cfg.Now)
	r := &Rig{cfg: cfg, dev: dev, salt: cfg.Salt, tokens: map[string][]token{}}
	r.key = keyFor(cfg.Password, r.salt)
	serve := r.serve
	if cfg.APIVersion == 3 {
		serve = r.serveV3
	}
	return emu.StartTCP(r, cfg.Addr, dev, serve)
}

// ExpireTokens ends every token at once (the miner restarted, or 30
// minutes passed).
func (r *Rig) ExpireTokens() {
	r.mu.Lock()
	clear(r.tokens)
	r.mu.Unlock()
}

// Tokens is how many live tokens the rig holds for all clients.
func (r *Rig) Tokens() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for ip := range r.tokens {
		n += len(r.liveLocked(ip))
	}
	return n
}

const saltChars = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func randSalt() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = saltChars[int(b[i])%len(saltChars)]
	}
	return string(b[:])
}

func (r *Rig) serve(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(r.cfg.ReadTimeout))
	ip, _, _ := net.SplitHostPort(c.RemoteAddr().String())
	var req map[string]any
	var ans any
	if err := json.NewDecoder(c).Decode(&req); err != nil {
		ans = plain("E", codeInvalidJSON, "invalid json message")
	} else {
		ans = r.handle(ip, req)
	}
	b, _ := json.Marshal(ans)
	emu.WriteChunks(c, b, r.cfg.Chunk)
}
