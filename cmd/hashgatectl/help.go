package main

import (
	"fmt"
	"strings"
)

// commandHelp is each command's help, shown by `hashgatectl help CMD` and
// `CMD --help`; a usage error points to it.
var commandHelp = map[string]string{
	"status": `hashgatectl status

Proxy, pools, power and workers at a glance (GET /api/v1/status).

Exit status: 0 healthy and compliant (or no switcher); 1 error; 2 bad
usage; 3 the site is not compliant (its mining load is over the budget:
the reason is printed); 4 unhealthy: no live pool session (miners get no
work); 5 a decision or audit event is applied but not persisted. When
several apply, the first in that order. With --json the same codes.
`,
	"workers": `hashgatectl workers [--group G] [--state S] [--limit N] [--offset N]

Workers, sorted by name (GET /api/v1/workers). G is a policy group
(default included; an unknown one is an error), S is mining, idle,
curtailed or offline. --limit (API default 1000, max 50000) and
--offset page them.
`,
	"worker": `hashgatectl worker NAME

One worker or rig (GET /api/v1/rigs/NAME): state, pin, flags, hashrate,
shares, how it is counted in the mining load, its device. An unknown
name is an error (exit 1).
`,
	"allocate": `hashgatectl allocate --ai-kw N --reason TEXT [--until T] [--emergency] [--force]

Give N kW to AI (PUT /api/v1/allocation; write token); mining gets the
capacity less the reserve and N. --reason goes in the audit log.

--until T: the allocation in force before returns at T, an RFC 3339 time
(2025-06-01T18:00:00Z) or a duration (2h, 30m). A duration counts from
now, but when the same allocation (same kW, reason and emergency) is
already in force with an end, re-running the command is a no-op that
keeps that end: a duration within 10s of the one it was made with
changes nothing; a different one is refused (exit 1, nothing applied)
unless --force, which moves the end to now + the duration. An RFC 3339
time is sent as given (the same time again is a no-op).

--emergency ignores min_on, acts on every rig at once and holds every
resume until the next allocation that is not an emergency.
`,
	"cap": `hashgatectl cap KW --reason TEXT [--until T]

Set the site cap (PUT /api/v1/cap; write token): the site's limit at its
meter in kW. In cap mode the mining budget is the cap less the measured
non-mining load (the ai meters, else site minus mining) less the
reserve, or the allocation's budget when that is tighter. A cap set here
wins over the policy's site_cap_kw; 0 ends it (the policy's applies
again). --reason goes in the audit log.

--until T: the cap before returns at T, an RFC 3339 time
(2025-06-01T18:00:00Z) or a duration from now (2h).
`,
	"heartbeat": `hashgatectl heartbeat

Tell hashgate the power desk is alive (POST /api/v1/heartbeat; write
token). With heartbeat_timeout set in the policy, a heartbeat must come
that often or the mining budget falls to safe_budget_kw (the fail-safe)
until heartbeats have come again for failsafe_hold.
`,
	"plan": `hashgatectl plan --ai-kw N

What an allocation of N kW to AI would do, nothing applied
(POST /api/v1/plan; a read or write token).
`,
	"pin": `hashgatectl pin NAME on|off|auto [--reason TEXT]

Pin a rig (PUT /api/v1/rigs/NAME/pin; write token). on: never curtailed;
off: parked (maintenance) until pinned auto; auto: back to the planner.
A rig not connected, even one never seen, can be pinned: the pin waits
for it (pinned on, it counts no load until it connects).

Prints the rig's own outcome: its state now, whether the pin waits for
the rig, what the plan does with it (curtail, resume, held at admission,
resume waiting, stays parked, no change), the site's load, and a count
of what the plan did to other rigs (--json for the whole plan).
`,
	"forget": `hashgatectl forget NAME

Drop a rig that is not connected, whatever it held (pin, park,
left_while_parked): for a rig taken away (DELETE /api/v1/rigs/NAME;
write token). If it connects again it is a new rig.
`,
	"events": `hashgatectl events [--since SEQ] [--limit N]

The audit log, newest last (GET /api/v1/events); without --since the
latest N (API default 100).
`,
	"report": `hashgatectl report SEQ [--csv]

The evidence of event SEQ (GET /api/v1/events/SEQ/report): the
instruction, its target (the mining budget), the baseline (the average
load before it), the time to reach the target, the deviation from it
after, and each rig acted upon with what confirms it (its device's
state and power, the Stratum connection closed or a share) or says it
failed: at most 50 rigs, failed ones first. --csv prints the API's CSV, the samples included; --json its
JSON. A per-rig event (a curtail) is refused: ask for its decision
(CAUSE in hashgatectl events).
`,
	"version": `hashgatectl version [--client]

hashgatectl's version, and the version of the hashgate server the API
belongs to (--client: only hashgatectl's, no request).
`,
	"help": `hashgatectl help [COMMAND]

The whole help, or one command's.
`,
}

const globalFlagsHelp = `
Flags (before or after the command): --api URL, --token TOKEN, --json,
--timeout D (see hashgatectl help).
`

// helpText is the whole usage, or cmd's help.
func helpText(cmd string) string {
	h, ok := commandHelp[cmd]
	if !ok {
		return usage
	}
	return h + globalFlagsHelp
}

// help is `hashgatectl help [COMMAND]`.
func (c *cli) help(args []string) error {
	switch {
	case len(args) == 0:
		return errHelp
	case len(args) > 1:
		return usageError{msg: fmt.Sprintf("help takes one command at most, got %q", strings.Join(args, " ")), global: true}
	case commandHelp[args[0]] == "":
		return usageError{msg: fmt.Sprintf("unknown command %q", args[0]), global: true}
	}
	return helpError{args[0]}
}
