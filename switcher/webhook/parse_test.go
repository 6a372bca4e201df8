package webhook

import (
	"encoding/json"
	"net"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/hashgate/hashgate/switcher/device"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// newPlainServer serves h on 127.0.0.1:0 until the test ends.
func newPlainServer(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
	return ln.Addr().String()
}

func TestParseReading(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want device.Reading
	}{
		{`{"state":"mining","power_w":3100.5,"hashrate_ths":98}`, device.Reading{State: device.StateMining, PowerW: 3100.5, HasPower: true, HashrateTHs: 98, HasHashrate: true}},
		{`{"state":"sleeping","power_w":0}`, device.Reading{State: device.StateSleeping, HasPower: true}},
		{`{"state":"off"}`, device.Reading{}},
		{`{"power_w":-3}`, device.Reading{}},
		{`{"power_w":"12"}`, device.Reading{}},
		{`ok`, device.Reading{}},
		{``, device.Reading{}},
		{`{"state":"mining","hashrate_ths":null}`, device.Reading{State: device.StateMining}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := parseReading([]byte(tc.in)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parse %q: got %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func FuzzParseReading(f *testing.F) {
	for _, s := range []string{`{"state":"mining","power_w":3100,"hashrate_ths":98}`, `{"state":"sleeping"}`, `ok`, `{"power_w":1e400}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := parseReading(b)
		if (r.HasPower && r.PowerW < 0) || (r.HasHashrate && r.HashrateTHs < 0) {
			t.Fatalf("parse %q: got %+v, want no negative measurement", b, r)
		}
		if r.State != device.StateUnknown && r.State != device.StateMining && r.State != device.StateSleeping {
			t.Fatalf("parse %q: state %v; want !(r.State != device.StateUnknown && r.State != device.StateMining && r.State != device.StateSleeping)", b, r.State)
		}
	})
}
