package luxos

import (
	"context"
	"testing"

	"github.com/hashgate/hashgate/internal/emu"
	emuluxos "github.com/hashgate/hashgate/internal/emu/luxos"
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
	dev := emu.NewDevice(emu.Config{MiningW: miningW, HashrateTHs: hashTHs})
	rig, err := emuluxos.Start(dev, emuluxos.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = rig.Close() })
	w := &world{dev: dev, rig: rig, drv: New(Config{})}
	w.tgt = newTarget(rig.Addr())
	return w
}
