package proxy

import (
	"net"
	"syscall"
	"time"
)

// userTimeout bounds how long data sent to a miner may stay unacknowledged
// before the kernel drops the connection (TCP_USER_TIMEOUT). Without it a
// rig that lost power while parked (it sends nothing, and read_timeout no
// longer applies to it) is found dead only after ~15 minutes of
// retransmissions of its keepalives (tcp_retries2); TCP keepalive probes do
// not run while data is unacknowledged.
const userTimeout = 2 * time.Minute

// setLiveness arms the liveness bound of a rig that sends nothing by design
// (parked, or waiting for admission): TCP keepalive probes find a dead host
// when nothing is in flight, TCP_USER_TIMEOUT when the parked keepalives
// are. A live rig holding its connection answers both and stays.
func setLiveness(c net.Conn) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	_ = tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: 30 * time.Second, Interval: 15 * time.Second, Count: 4})
	if rc, err := tc.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, tcpUserTimeout, int(userTimeout/time.Millisecond))
		})
	}
}

// tcpUserTimeout is TCP_USER_TIMEOUT (linux/tcp.h); package syscall does
// not name it.
const tcpUserTimeout = 0x12
