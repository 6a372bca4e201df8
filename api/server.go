package api

import (
	"context"
	"errors"
	"fmt"
	stdlog "log"
	"net"
	"net/http"
	"time"

	"github.com/rs/zerolog"
)

// HTTP server timeouts. WriteTimeout leaves room for a 30 s CPU profile
// and for 50,000 workers over a slow link.
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 30 * time.Second
	WriteTimeout      = 60 * time.Second
	IdleTimeout       = 2 * time.Minute
	ShutdownTimeout   = 5 * time.Second
)

// Server is the API's HTTP server.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	log  zerolog.Logger
	done chan error
}

// Listen listens on listen (host:port; port 0 picks one) and serves h
// until Shutdown.
func Listen(listen string, h http.Handler, log zerolog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("api: listen: %w", err)
	}
	s := &Server{
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: ReadHeaderTimeout,
			ReadTimeout:       ReadTimeout,
			WriteTimeout:      WriteTimeout,
			IdleTimeout:       IdleTimeout,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          stdlog.New(log.With().Str("component", "http").Logger(), "", 0),
		},
		ln: ln, log: log, done: make(chan error, 1),
	}
	log.Info().Str("listen", ln.Addr().String()).Msg("api: serving")
	go func() {
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	return s, nil
}

// Addr is the address served.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Shutdown stops accepting, waits for the requests in flight (until ctx
// ends, then closes them) and returns once the server has stopped.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	if serr := <-s.done; err == nil {
		err = serr
	}
	s.done <- nil // a second Shutdown returns at once
	return err
}
