package webhook

import (
	"context"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/emu"
	emuhook "github.com/hashgate/hashgate/internal/emu/webhook"
	"github.com/hashgate/hashgate/switcher/device"
	"github.com/hashgate/hashgate/switcher/device/devicetest"
)

// BenchmarkCurtail is one signed curtail over loopback, verified by the
// receiver.
func BenchmarkCurtail(b *testing.B) {
	_, rig := devicetest.Start(b, emu.Config{MiningW: 3000}, emu.Faults{}, emuhook.Start, emuhook.Config{Secret: testSecret})
	tgt := &device.Target{Rig: "r", Address: "10.0.0.1", Options: &device.Options{URL: "http://" + rig.Addr() + "/", Secret: device.NewSecret(testSecret), Timeout: 5 * time.Second}}
	d := New(Config{})
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Curtail(context.Background(), tgt); err != nil {
			b.Fatal(err)
		}
	}
}
