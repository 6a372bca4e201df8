package emu

import (
	"errors"
	"net"
	"sync"
	"time"
)

// Server accepts TCP connections on 127.0.0.1 and hands each to a
// handler in its own goroutine. It owns them: Close stops accepting,
// closes every open connection and returns once every handler returned.
// A device with the Hang fault gets its connections held open, unread
// and unanswered, until the client gives up or the server closes.
type Server struct {
	ln     net.Listener
	dev    *Device
	handle func(net.Conn)

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	stop   chan struct{} // closed by Close: delays end early
	wg     sync.WaitGroup
}

// Listen starts a server on 127.0.0.1:0 (or addr when not empty) for
// dev, serving each connection with handle. handle owns the connection
// until it returns; the server closes it afterwards.
func Listen(addr string, dev *Device, handle func(net.Conn)) (*Server, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{ln: ln, dev: dev, handle: handle, conns: map[net.Conn]struct{}{}, stop: make(chan struct{})}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr is the host:port the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		if !s.track(c) {
			c.Close()
			return
		}
		s.wg.Add(1)
		go s.serve(c)
	}
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) serve(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	f := s.dev.Faults()
	if f.Hang {
		// Held open and unanswered; the read returns when the client
		// hangs up or Close closes the connection.
		buf := make([]byte, 512)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-s.stop:
			t.Stop()
			return
		}
	}
	s.handle(c)
}

// Close stops the server and every connection, and returns once all its
// goroutines have.
func (s *Server) Close() error {
	s.mu.Lock()
	if !s.closed {
		close(s.stop)
	}
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

// WriteChunks writes b to c, in pieces of size bytes when size > 0 (so
// a client sees the answer arrive split), at once otherwise. It stops
// at the first failed write: the client hung up.
func WriteChunks(c net.Conn, b []byte, size int) {
	if size <= 0 {
		_, _ = c.Write(b)
		return
	}
	for len(b) > 0 {
		n := min(size, len(b))
		if _, err := c.Write(b[:n]); err != nil {
			return
		}
		b = b[n:]
	}
}
