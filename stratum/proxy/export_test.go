package proxy

import "net"

// MinerPrefixes lists, for every miner attached to a session, its
// extranonce1 ‖ prefix as the miner was told it: tests check no two miners
// share one.
func MinerPrefixes(s *Server) []string {
	s.mu.Lock()
	miners := make([]*minerConn, 0, len(s.miners))
	for m := range s.miners {
		miners = append(miners, m)
	}
	s.mu.Unlock()
	var out []string
	for _, m := range miners {
		m.mu.Lock()
		us, p := m.sess, m.prefixHex
		m.mu.Unlock()
		if us != nil {
			en1, _ := us.minerExtranonce(p)
			out = append(out, en1)
		}
	}
	return out
}

// UpstreamSessions counts live sessions on the pool in use.
func UpstreamSessions(s *Server) int {
	s.pools.mu.Lock()
	defer s.pools.mu.Unlock()
	return len(s.pools.sessions)
}

// TryWriterOf is the non-blocking writer the proxy uses for c.
func TryWriterOf(c net.Conn) TryWriter { return tryWriterOf(c) }

// PollersWaitInRuntime reports whether every read poller waits parked in
// the Go runtime's poller (not in a blocking epoll_wait).
func PollersWaitInRuntime(s *Server) bool {
	for _, p := range s.pollers {
		if !p.waitsInRuntime() {
			return false
		}
	}
	return len(s.pollers) > 0
}
