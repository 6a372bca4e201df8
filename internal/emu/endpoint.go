package emu

import (
	"cmp"
	"net"
	"net/http"
	"time"
)

// Endpoint is where an emulated rig answers: its Server (a TCP API) or
// its HTTPServer (a web API). Each emulator's Rig embeds one and gets
// Addr and Close from it; StartTCP and StartHTTP set it.
type Endpoint struct {
	ln interface {
		Addr() string
		Close() error
	}
}

// Addr is the host:port the rig listens on.
func (e *Endpoint) Addr() string { return e.ln.Addr() }

// Close stops the rig and returns once its goroutines have.
func (e *Endpoint) Close() error { return e.ln.Close() }

func (e *Endpoint) endpoint() *Endpoint { return e }

// rig is an emulator's Rig: a type that embeds an Endpoint.
type rig interface{ endpoint() *Endpoint }

// StartTCP serves r's TCP API for dev on addr (default 127.0.0.1:0),
// each connection with handle (see Listen). It returns r once it
// listens, or nil and the error when it cannot.
func StartTCP[R rig](r R, addr string, dev *Device, handle func(net.Conn)) (R, error) {
	srv, err := Listen(addr, dev, handle)
	if err != nil {
		return failed[R](err)
	}
	r.endpoint().ln = srv
	return r, nil
}

// StartHTTP serves r's web API for dev on addr (default 127.0.0.1:0)
// with h (see ListenHTTP). It returns r once it listens, or nil and the
// error when it cannot.
func StartHTTP[R rig](r R, addr string, dev *Device, h http.Handler) (R, error) {
	srv, err := ListenHTTP(addr, dev, h)
	if err != nil {
		return failed[R](err)
	}
	r.endpoint().ln = srv
	return r, nil
}

// failed is a Start's answer when the rig cannot listen: no rig.
func failed[R rig](err error) (R, error) {
	var none R
	return none, err
}

// Default fills a Config field left unset: *field becomes v when it is
// the zero value, or for a number or a duration, when it is not above
// zero (a negative timeout or limit means nothing either).
func Default[T cmp.Ordered](field *T, v T) {
	var zero T
	if *field <= zero {
		*field = v
	}
}

// DefaultNow fills an unset clock with time.Now.
func DefaultNow(now *func() time.Time) {
	if *now == nil {
		*now = time.Now
	}
}
