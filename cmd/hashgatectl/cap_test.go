package main

import (
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/internal/apitest"
	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/switcher/meter"
)

// cap and heartbeat against a real site: a meter reading handed to its
// switcher, the cap set, repeated, ended; usage errors exit 2.
func TestCapAndHeartbeatCommands(t *testing.T) {
	s := apitest.Start(t, apitest.Options{Policy: testPolicy, Miners: 20,
		Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel),
		Tokens: []config.Token{
			{Name: "power-desk", Token: writeToken, Role: config.RoleWrite},
			{Name: "viewer", Token: readToken, Role: config.RoleRead},
		},
	})
	sim.Eventually(t, 10*time.Second, func() bool { return s.Switcher.Status().MiningLoadKW == 60 }, "20 miners mining")
	env := map[string]string{"HASHGATE_API": s.API.URL, "HASHGATE_TOKEN": writeToken}
	s.Switcher.MeterReading(meter.Reading{Meter: "ai-racks", Measures: meter.AI, KW: 40, At: time.Now()})

	ctl(t, env, "cap").want(t, exitUsage, nil, []string{"cap needs the site's limit in kW"})
	ctl(t, env, "cap", "lots", "--reason", "x").want(t, exitUsage, nil, []string{`cap "lots": want a number of kW`})
	ctl(t, env, "cap", "90").want(t, exitUsage, nil, []string{"cap needs --reason"})
	ctl(t, env, "cap", "90", "--reason", "x", "--until", "soon").want(t, exitUsage, nil, []string{`--until "soon"`})
	ctl(t, map[string]string{"HASHGATE_API": s.API.URL, "HASHGATE_TOKEN": readToken}, "cap", "90", "--reason", "x").
		want(t, exitError, nil, []string{"forbidden: this token is read-only"})

	ctl(t, env, "cap", "95", "--reason", "first", "--until", "2h").want(t, 0, []string{"site cap in force: 95.0 kW"}, nil)
	until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	ctl(t, env, "cap", "90", "--reason", "substation", "--until", until).
		want(t, 0, []string{"site cap in force: 90.0 kW (the budget follows the cap rule)", "mining budget  50.0 kW", "curtail        2:"}, nil)
	ctl(t, env, "cap", "90", "--reason", "substation", "--until", until).want(t, 0, []string{"no change: this cap is already in force"}, nil)
	ctl(t, env, "cap", "0", "--reason", "lifted").want(t, 0, []string{"cap ended: no site cap in force", "mining budget  100.0 kW"}, nil)

	ctl(t, env, "heartbeat").want(t, 0, []string{"heartbeat sent as power-desk at "}, nil)
	ctl(t, env, "heartbeat", "extra").want(t, exitUsage, nil, []string{"heartbeat takes no arguments"})
	ctl(t, env, "help", "cap").want(t, 0, []string{"hashgatectl cap KW --reason TEXT [--until T]"}, nil)
}
