package proxy_test

import (
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/stratum/proxy"
)

// The pollers wait parked in the runtime's poller, not in a blocking
// epoll_wait (a thread hand-off per wake-up), wherever the runtime can
// watch an epoll set; a sandbox that cannot gets the blocking wait.
func TestPollersWaitInRuntime(t *testing.T) {
	want := nestedEpollPollable(t)
	pool := startPool(t, sim.PoolConfig{})
	srv := startProxy(t, quickConfig(t, pool))
	startWorker(t, srv, "acct.waits")
	sim.WaitFor(t, 5*time.Second, "parked (polled(srv) == 1)", func() (bool, any) {
		got := polled(srv)
		return got == 1, got
	})
	if got := proxy.PollersWaitInRuntime(srv); got != want {
		t.Fatalf("pollers wait in the runtime: %v; this system can watch an epoll set: %v", got, want)
	}
	if !want {
		t.Log("this system cannot watch an epoll set from the runtime: the pollers wait in epoll_wait")
	}
}

// nestedEpollPollable reports whether the runtime's poller takes an epoll
// descriptor here (it refuses a deadline for a file it does not watch).
func nestedEpollPollable(t *testing.T) bool {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "probe")
	defer f.Close()
	return f.SetReadDeadline(time.Time{}) == nil
}
