package luxos

import (
	"context"
	"testing"

	"github.com/hashgate/hashgate/internal/emu"
	emuluxos "github.com/hashgate/hashgate/internal/emu/luxos"
	"github.com/hashgate/hashgate/switcher/device/devicetest"
)

// Loopback cost of one call against the emulator (no emulated delay).
func BenchmarkCurtail(b *testing.B) {
	w := startB(b)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		if err := w.drv.Curtail(ctx, w.tgt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRead(b *testing.B) {
	w := startB(b)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := w.drv.Read(ctx, w.tgt); err != nil {
			b.Fatal(err)
		}
	}
}

func startB(b *testing.B) *world {
	dev, rig := devicetest.Start(b, emu.Config{MiningW: miningW, HashrateTHs: hashTHs}, emu.Faults{}, emuluxos.Start, emuluxos.Config{})
	w := &world{dev: dev, rig: rig, drv: New(Config{})}
	w.tgt = newTarget(rig.Addr())
	return w
}
