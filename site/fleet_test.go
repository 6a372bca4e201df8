package site

import (
	"testing"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/switcher"
	"github.com/hashgate/hashgate/switcher/device"
)

// The fleet and the switcher judge a reading the same way: a rig the
// fleet verifies asleep is not one the switcher then flags
// curtail_failed (a scrypt rig hashes a few GH/s, under the fleet's
// default 1 TH/s: the fleet said idle, the switcher hashing).
func TestFleetJudgesHashingAsTheSwitcher(t *testing.T) {
	fc := FleetConfig(&config.Config{}, nil, zerolog.Nop(), func() *switcher.Switcher { return nil })
	if fc.MinHashTHs != switcher.MinHashingTHs {
		t.Fatalf("fleet MinHashTHs %v, switcher's %v: want the same", fc.MinHashTHs, switcher.MinHashingTHs)
	}
	rd := device.Reading{State: device.StateSleeping, HashrateTHs: 0.0095, HasHashrate: true}
	if !rd.Hashing(fc.MinHashTHs, 100) {
		t.Fatalf("a 'sleeping' device at 9.5 GH/s: the fleet's threshold %v says idle, want hashing", fc.MinHashTHs)
	}
}
