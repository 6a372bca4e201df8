//go:build unix

package config

import "syscall"

// openFileLimit returns the process's soft RLIMIT_NOFILE, and false when it
// is unknown or unlimited. (Go raises the soft limit to the hard one at
// startup, so this is the limit the daemon will actually run with.)
func openFileLimit() (uint64, bool) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, false
	}
	limit := uint64(r.Cur)
	if limit >= 1<<62 { // RLIM_INFINITY, whichever way the platform spells it
		return 0, false
	}
	return limit, true
}
