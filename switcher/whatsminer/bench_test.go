package whatsminer

import (
	"context"
	"testing"

	"github.com/hashgate/hashgate/internal/emu"
	emuwm "github.com/hashgate/hashgate/internal/emu/whatsminer"
	"github.com/hashgate/hashgate/switcher/device"
	"github.com/hashgate/hashgate/switcher/device/devicetest"
)

func startB(b *testing.B, cfg emuwm.Config) (*Driver, *device.Target) {
	cfg.Password = password
	cfg.TokenLimit = 1 << 30
	_, rig := devicetest.Start(b, emu.Config{MiningW: miningW, HashrateTHs: hashTHs}, emu.Faults{}, emuwm.Start, cfg)
	opts := &device.Options{Password: device.NewSecret(password), APIVersion: cfg.APIVersion}
	return New(Config{}), &device.Target{Rig: "b", Address: rig.Addr(), Options: opts}
}

// Loopback cost of a curtail with the token cached (one connection).
func BenchmarkCurtailCachedToken(b *testing.B) {
	d, t := startB(b, emuwm.Config{})
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		if err := d.Curtail(ctx, t); err != nil {
			b.Fatal(err)
		}
	}
}

// With a new token each time: get_token and two md5-crypts first.
func BenchmarkCurtailNewToken(b *testing.B) {
	d, t := startB(b, emuwm.Config{})
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		t.Session = nil
		if err := d.Curtail(ctx, t); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRead(b *testing.B) {
	d, t := startB(b, emuwm.Config{})
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := d.Read(ctx, t); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCurtailV3(b *testing.B) {
	d, t := startB(b, emuwm.Config{APIVersion: 3})
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		if err := d.Curtail(ctx, t); err != nil {
			b.Fatal(err)
		}
	}
}
