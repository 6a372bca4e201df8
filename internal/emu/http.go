package emu

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"sync"
	"time"
)

// HTTPServer serves one emulated device's web API on 127.0.0.1:0 (or a
// given address) with net/http, applying the device's Hang and Delay
// faults before the handler. Close stops it, ends held requests, and
// returns once every handler returned.
type HTTPServer struct {
	ln   net.Listener
	srv  *http.Server
	dev  *Device
	stop chan struct{}
	once sync.Once
	done chan struct{}
}

// ListenHTTP starts a web server for dev.
func ListenHTTP(addr string, dev *Device, h http.Handler) (*HTTPServer, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &HTTPServer{ln: ln, dev: dev, stop: make(chan struct{}), done: make(chan struct{})}
	s.srv = &http.Server{Handler: s.faulty(h), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// faulty applies the device's faults, then h.
func (s *HTTPServer) faulty(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := s.dev.Faults()
		if f.Hang {
			select {
			case <-r.Context().Done():
			case <-s.stop:
			}
			return
		}
		if f.Delay > 0 {
			t := time.NewTimer(f.Delay)
			defer t.Stop()
			select {
			case <-t.C:
			case <-r.Context().Done():
				return
			case <-s.stop:
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// Addr is the host:port the server listens on.
func (s *HTTPServer) Addr() string { return s.ln.Addr().String() }

// Close stops the server and returns once its goroutines have.
func (s *HTTPServer) Close() error {
	s.once.Do(func() { close(s.stop) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = s.srv.Close()
	}
	<-s.done
	return err
}

// WriteJSON answers v as JSON with status code, as the web APIs the
// emulators speak do.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
