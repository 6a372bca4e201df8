package luxos

import (
	"encoding/json"
	"net"
	"sync"
	"time"

	"github.com/hashgate/hashgate/internal/emu"
)

// Config tunes a Rig. The zero Config works.
type Config struct {
	Addr string // listen address; default 127.0.0.1:0
	// SessionTTL: a session not used for this long expires (LuxOS: one
	// minute).
	SessionTTL time.Duration
	// Chunk: when > 0, answers are written in pieces of this many bytes,
	// so clients see them arrive split.
	Chunk int
	// NoNUL: answers end with the connection's close alone, without the
	// NUL terminator.
	NoNUL bool
	// ReadTimeout bounds how long a connection may take to send its
	// request (default 10 s).
	ReadTimeout time.Duration
	Now         func() time.Time
}

// Rig is one emulated LuxOS miner. Addr and Close come from its
// emu.Endpoint.
type Rig struct {
	emu.Endpoint
	cfg Config
	dev *emu.Device

	mu       sync.Mutex
	sid      string    // the active session, "" when none
	lastUse  time.Time // its last use
	held     bool      // held by another client, forever
	pools    []poolRec
	nextPool int
}

type poolRec struct {
	id        int
	url, user string
}

// Start serves dev's LuxOS API.
func Start(dev *emu.Device, cfg Config) (*Rig, error) {
	emu.Default(&cfg.SessionTTL, time.Minute)
	emu.Default(&cfg.ReadTimeout, 10*time.Second)
	emu.DefaultNow(&cfg.Now)
	r := &Rig{cfg: cfg, dev: dev}
	for _, u := range dev.Peek().Pools {
		r.pools = append(r.pools, poolRec{id: r.nextPool, url: u})
		r.nextPool++
	}
	return emu.StartTCP(r, cfg.Addr, dev, r.serve)
}

// HoldSession makes another client hold the session: with forever,
// until ReleaseSession; without, until it expires after SessionTTL.
func (r *Rig) HoldSession(forever bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sid, r.lastUse, r.held = emu.RandomHex(4), r.cfg.Now(), forever
}

// ReleaseSession ends any session.
func (r *Rig) ReleaseSession() {
	r.mu.Lock()
	r.sid, r.held = "", false
	r.mu.Unlock()
}

// Session is the active session id, "" when none.
func (r *Rig) Session() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expireLocked()
	return r.sid
}

func (r *Rig) expireLocked() {
	if r.sid != "" && !r.held && r.cfg.Now().Sub(r.lastUse) >= r.cfg.SessionTTL {
		r.sid = ""
	}
}

// request is one command as LuxOS reads it.
type request struct {
	Command   string `json:"command"`
	Parameter string `json:"parameter"`
}

func (r *Rig) serve(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(r.cfg.ReadTimeout))
	var req request
	if err := json.NewDecoder(c).Decode(&req); err != nil {
		r.write(c, fail(14, "Invalid JSON"))
		return
	}
	r.write(c, r.dispatch(req))
}

func (r *Rig) write(c net.Conn, ans any) {
	b, _ := json.Marshal(ans)
	if !r.cfg.NoNUL {
		b = append(b, 0)
	}
	emu.WriteChunks(c, b, r.cfg.Chunk)
}
