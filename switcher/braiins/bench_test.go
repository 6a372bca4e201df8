package braiins

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/hashgate/hashgate/internal/emu"
	emubraiins "github.com/hashgate/hashgate/internal/emu/braiins"
	"github.com/hashgate/hashgate/switcher/device"
	"github.com/hashgate/hashgate/switcher/device/devicetest"
)

// TestSessionSmall: the per-rig state must fit the fleet's budget with
// room to spare (2 KiB per rig for everything).
func TestSessionSmall(t *testing.T) {
	w := newWorld(t, emubraiins.Config{})
	if err := New(Config{}).Curtail(devicetest.Context(t), w.tgt); err != nil {
		t.Fatal(err)
	}
	s := w.tgt.Session.(*session)
	size := int(unsafe.Sizeof(*s)) + len(s.token)
	if size > 256 {
		t.Fatalf("session: got %d bytes, want at most 256", size)
	}
	t.Logf("session: %d bytes (token %d)", size, len(s.token))
}

func benchRigs(b *testing.B, n int) []*device.Target {
	b.Helper()
	opts := &device.Options{Password: device.NewSecret(testPassword), Timeout: 5 * time.Second}
	tgts := make([]*device.Target, n)
	for i := range tgts {
		_, rig := devicetest.Start(b, emu.Config{MiningW: 3250, SleepingW: 40, HashrateTHs: 110}, emu.Faults{}, emubraiins.Start, emubraiins.Config{Password: testPassword})
		tgts[i] = &device.Target{Rig: "r", Address: rig.Addr(), Options: opts}
	}
	return tgts
}

// BenchmarkRead is one rig read (details + stats) over loopback, token
// already held.
func BenchmarkRead(b *testing.B) {
	tgt := benchRigs(b, 1)[0]
	d := New(Config{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Read(context.Background(), tgt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCurtailParallel curtails and resumes rigs from many
// goroutines at once, each goroutine on its own targets.
func BenchmarkCurtailParallel(b *testing.B) {
	tgts := benchRigs(b, 64)
	d := New(Config{})
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		own := &device.Target{}
		*own = *tgts[int(next.Add(1))%len(tgts)]
		own.Session = nil
		i := 0
		for pb.Next() {
			var err error
			if i%2 == 0 {
				err = d.Curtail(context.Background(), own)
			} else {
				err = d.Resume(context.Background(), own)
			}
			if err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkFleetCurtail curtails 1000 emulated rigs through 64 workers
// (tokens held after the first round), the shape of a fleet plan.
func BenchmarkFleetCurtail(b *testing.B) {
	const rigs, workers = 1000, 64
	tgts := benchRigs(b, rigs)
	d := New(Config{})
	b.ResetTimer()
	for b.Loop() {
		jobs := make(chan *device.Target, rigs)
		for _, t := range tgts {
			jobs <- t
		}
		close(jobs)
		errs := make(chan error, workers)
		for range workers {
			go func() {
				var first error
				for t := range jobs {
					if err := d.Curtail(context.Background(), t); err != nil && first == nil {
						first = err
					}
				}
				errs <- first
			}()
		}
		for range workers {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/rigs, "ns/rig")
}
