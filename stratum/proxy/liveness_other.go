//go:build !linux

package proxy

import (
	"net"
	"time"
)

// setLiveness arms TCP keepalive so that a dead host holding a connection
// that sends nothing by design (a parked rig) is found (see the Linux
// version, which also bounds unacknowledged data).
func setLiveness(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: 30 * time.Second, Interval: 15 * time.Second, Count: 4})
	}
}
