package firmware

import (
	"github.com/hashgate/hashgate/switcher/antminer"
	"github.com/hashgate/hashgate/switcher/braiins"
	"github.com/hashgate/hashgate/switcher/device"
	"github.com/hashgate/hashgate/switcher/luxos"
	"github.com/hashgate/hashgate/switcher/vnish"
	"github.com/hashgate/hashgate/switcher/webhook"
	"github.com/hashgate/hashgate/switcher/whatsminer"
)

// Drivers returns a fresh driver of every firmware, by actuator name.
func Drivers() map[string]device.Driver {
	m := map[string]device.Driver{}
	for _, d := range []device.Driver{
		antminer.New(antminer.Config{}),
		braiins.New(braiins.Config{}),
		luxos.New(luxos.Config{}),
		vnish.New(vnish.Config{}),
		webhook.New(webhook.Config{}),
		whatsminer.New(whatsminer.Config{}),
	} {
		m[d.Name()] = d
	}
	return m
}

// Names are the firmware actuator names, as a policy's actuator or
// monitor key gives them.
func Names() []string {
	return []string{"antminer", "braiins", "luxos", "whatsminer", "vnish", "webhook"}
}
