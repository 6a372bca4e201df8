package registers

import (
	"errors"
	"fmt"
	"log"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/simonvetter/modbus"

	"github.com/hashgate/hashgate/switcher"
)

// Defaults of Config.
const (
	DefaultRefresh     = time.Second
	DefaultMaxClients  = 8
	DefaultIdleTimeout = 2 * time.Minute
	DefaultUnitID      = 1
	MaxRefresh         = 2 * time.Second // the bound: figures at most this old
)

// StatusSource is what the server reads: the switcher.
type StatusSource interface {
	Status() switcher.Status
}

// Config says where the server listens and what it serves.
type Config struct {
	// Listen is host:port ("0.0.0.0:502"). Port 0 picks a free port
	// (tests; see Addr).
	Listen string
	// UnitID is the Modbus unit the figures answer at; 255 (the Modbus
	// TCP spec's "no unit" value) is answered too. Default 1.
	UnitID uint8
	// Refresh is how often the snapshot is taken from Status; at most
	// MaxRefresh. Default DefaultRefresh.
	Refresh time.Duration
	// MaxClients bounds concurrent connections (more are closed at
	// once); IdleTimeout closes a connection silent this long.
	MaxClients  uint
	IdleTimeout time.Duration

	Switcher StatusSource
	// Connected is how many miners are connected (the proxy's count);
	// nil serves 0.
	Connected func() int64
	Log       zerolog.Logger
	Now       func() time.Time // tests; default time.Now
}

// Server is a read-only Modbus TCP server of the site's figures. Start
// returns once it listens, Close once it has stopped.
type Server struct {
	cfg     Config
	addr    string
	snap    atomic.Pointer[Snapshot]
	counter uint32
	mb      *modbus.ModbusServer
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// New checks cfg and fills its defaults; nothing runs until Start.
func New(cfg Config) (*Server, error) {
	if cfg.Switcher == nil {
		return nil, errors.New("modbus server: no switcher")
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = DefaultRefresh
	}
	if cfg.Refresh > MaxRefresh {
		return nil, fmt.Errorf("modbus server: refresh %v is above %v", cfg.Refresh, MaxRefresh)
	}
	if cfg.UnitID == 0 {
		cfg.UnitID = DefaultUnitID
	}
	if cfg.MaxClients == 0 {
		cfg.MaxClients = DefaultMaxClients
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Connected == nil {
		cfg.Connected = func() int64 { return 0 }
	}
	if _, _, err := net.SplitHostPort(cfg.Listen); err != nil {
		return nil, fmt.Errorf("modbus server: listen %q: %w", cfg.Listen, err)
	}
	return &Server{cfg: cfg, stop: make(chan struct{}), done: make(chan struct{})}, nil
}

// Start takes the first snapshot, listens and starts the refresher.
func (s *Server) Start() error {
	s.refresh()
	addr, err := resolveListen(s.cfg.Listen)
	if err != nil {
		return err
	}
	mb, err := modbus.NewServer(&modbus.ServerConfiguration{
		URL: "tcp://" + addr, Timeout: s.cfg.IdleTimeout, MaxClients: s.cfg.MaxClients,
		Logger: log.New(debugWriter{s.cfg.Log}, "", 0),
	}, handler{s})
	if err != nil {
		return fmt.Errorf("modbus server: %w", err)
	}
	if err := mb.Start(); err != nil {
		return fmt.Errorf("modbus server: listen on %s: %w", addr, err)
	}
	s.mb, s.addr = mb, addr
	go s.refresher()
	s.cfg.Log.Info().Str("listen", addr).Uint8("unit_id", s.cfg.UnitID).Dur("refresh", s.cfg.Refresh).Msg("modbus server running")
	return nil
}

// resolveListen turns port 0 into a free port: the library listens itself
// and does not tell its address. Another process could take the port
// between; port 0 is for tests.
func resolveListen(listen string) (string, error) {
	host, port, _ := net.SplitHostPort(listen)
	if port != "0" {
		return listen, nil
	}
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return "", fmt.Errorf("modbus server: listen on %s: %w", listen, err)
	}
	p := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	return net.JoinHostPort(host, strconv.Itoa(p)), nil
}

// Addr is where the server listens (after Start).
func (s *Server) Addr() string { return s.addr }

// Close stops the refresher, the listener and every client connection.
// The library's per-connection goroutines end as their sockets close.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		close(s.stop)
		if s.mb == nil {
			return
		}
		<-s.done
		err = s.mb.Stop()
	})
	return err
}

func (s *Server) refresher() {
	defer close(s.done)
	t := time.NewTicker(s.cfg.Refresh)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.refresh()
		}
	}
}

// refresh takes a snapshot of the switcher's status.
func (s *Server) refresh() {
	st := s.cfg.Switcher.Status()
	s.counter++
	s.snap.Store(Encode(&st, s.cfg.Connected(), s.counter, s.cfg.Now()))
}

// Snapshot is the block served now.
func (s *Server) Snapshot() *Snapshot { return s.snap.Load() }

// debugWriter hands the library's log lines to zerolog at debug level
// (they are per connection).
type debugWriter struct{ log zerolog.Logger }

func (w debugWriter) Write(p []byte) (int, error) {
	w.log.Debug().Str("from", "modbus").Msg(string(trimNewline(p)))
	return len(p), nil
}

func trimNewline(p []byte) []byte {
	for len(p) > 0 && (p[len(p)-1] == '\n' || p[len(p)-1] == '\r') {
		p = p[:len(p)-1]
	}
	return p
}
