package luxos

import (
	"crypto/rand"
	"encoding/hex"
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

// Rig is one emulated LuxOS miner.
type Rig struct {
	cfg Config
	dev *emu.Device
	srv *emu.Server

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
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = time.Minute
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &Rig{cfg: cfg, dev: dev}
	for _, u := range dev.Peek().Pools {
		r.pools = append(r.pools, poolRec{id: r.nextPool, url: u})
		r.nextPool++
	}
	srv, err := emu.Listen(cfg.Addr, dev, r.serve)
	if err != nil {
		return nil, err
	}
	r.srv = srv
	return r, nil
}

// Addr is the host:port the rig listens on.
func (r *Rig) Addr() string { return r.srv.Addr() }

// Close stops the rig and returns once its goroutines have.
func (r *Rig) Close() error { return r.srv.Close() }

// HoldSession makes another client hold the session: with forever,
// until ReleaseSession; without, until it expires after SessionTTL.
func (r *Rig) HoldSession(forever bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sid, r.lastUse, r.held = newID(), r.cfg.Now(), forever
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

func newID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
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
	if r.cfg.Chunk <= 0 {
		_, _ = c.Write(b)
		return
	}
	for len(b) > 0 {
		n := min(r.cfg.Chunk, len(b))
		if _, err := c.Write(b[:n]); err != nil {
			return
		}
		b = b[n:]
	}
}
