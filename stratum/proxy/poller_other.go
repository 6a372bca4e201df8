//go:build !linux

package proxy

import "errors"

// readPoller exists on Linux only (epoll); elsewhere every miner keeps its
// reader goroutine.
type readPoller struct{ scratch []byte }

func newReadPoller(*Server) (*readPoller, error) {
	return nil, errors.New("proxy: no read poller on this system")
}
func (p *readPoller) run()                 {}
func (p *readPoller) detacher()            {}
func (p *readPoller) stop()                {}
func (p *readPoller) park(*minerConn) bool { return false }
func (p *readPoller) forget(*minerConn)    {}
func (p *readPoller) readNow(*minerConn, []byte) (int, error) {
	return 0, errors.New("proxy: no read poller on this system")
}

var errWouldBlock = errors.New("proxy: no input now")

func (p *readPoller) parked() int { return 0 }

func (p *readPoller) waitsInRuntime() bool { return false }

func (p *readPoller) closeMiner(m *minerConn, reason closeReason, cause error) {
	m.close(reason, cause)
}

func (p *readPoller) pause()  {}
func (p *readPoller) resume() {}
