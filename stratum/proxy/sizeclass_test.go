package proxy

import (
	"testing"
	"unsafe"
)

// Every connected rig has one minerConn and one workerStats. Both are
// sized to a Go allocator size class: a field that pushes either over its
// class costs a whole step (minerConn 896 -> 1024 bytes, workerStats 320
// -> 352) for every rig, which the hardening's first merge did (7.0 -> 7.6 KiB
// per in-memory session). Shrink another field, or say here why the step
// is worth it, before raising these.
func TestPerRigStructsStayInTheirSizeClass(t *testing.T) {
	for _, c := range []struct {
		name      string
		size, max uintptr
	}{
		{"minerConn", unsafe.Sizeof(minerConn{}), 896},
		{"workerStats", unsafe.Sizeof(workerStats{}), 320},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.size > c.max {
				t.Errorf("%s is %d bytes, want at most %d (its size class)", c.name, c.size, c.max)
			}
		})
	}
}
