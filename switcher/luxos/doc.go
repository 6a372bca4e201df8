// Package luxos is hashgate's actuator for rigs running Luxor's LuxOS
// firmware: it curtails (sleep) and resumes (wakeup) a rig through the
// LuxOS TCP API, reads its state, power and hashrate back, and reads and
// rewrites its pool list. It owns that protocol and nothing else: which
// rig to act on, retries and verification belong to the fleet.
//
// # Protocol facts and their sources
//
//   - Transport: TCP port 4028, cgminer-style JSON requests
//     {"command":"…","parameter":"…"}, one request a connection; the
//     answer is JSON, sometimes NUL-terminated, and the connection
//     closes after it. luxos-tooling reads byte by byte up to a NUL or
//     the end (LuxorLabs/luxos-tooling src/luxos/asyncops.py,
//     _roundtrip); the docs' examples use `nc $MINER_IP 4028`
//     (docs.luxor.tech/firmware/api/luxminer/curtail). Parameters are
//     comma-separated in one string (asyncops.py rexec joins them with
//     ","), so a value holding a comma cannot be sent: SetPools refuses
//     such a pool with ErrUnsupported.
//   - Answers carry STATUS: a list whose first entry has STATUS ("S"
//     success, "E" error), Code, Msg, Description, When, and "id": 1
//     (docs.luxor.tech/firmware/api/sessions; asyncops.py
//     validate_message).
//   - No credentials: the API has no user or password. Sessions are
//     "not a security feature", only a way for several actors to take
//     turns changing the configuration (docs.luxor.tech/firmware/api/
//     sessions). Options.User and Options.Password are therefore
//     ignored and this driver never returns ErrAuth.
//   - Sessions: `logon` (no parameter) answers SESSION[0].SessionID,
//     Code 316 "Session created". At most one session exists at a time;
//     it expires one minute after its last use (docs sessions page).
//     While another is active, logon answers STATUS Code 402, Msg
//     "Another session is active" with no SESSION (luxos-tooling
//     asyncops.py logon, which raises MinerCommandSessionAlreadyActive).
//     A third-party mock (a LuxOS mock in the search corpus, file
//     scripts/mock-luxos.mjs) answers "Session in use" instead: both
//     wordings and Code 402 map to ErrBusy. The driver never takes the
//     other actor's session: pyasic's LUXMiner backend reads the active
//     id with the `session` command and reuses it
//     (UpstreamData/pyasic pyasic/miners/backends/luxminer.py
//     _get_session); we do not, so a held session is "handled, not
//     fought" and the fleet retries later. `logoff` takes the session
//     id as parameter (asyncops.py logoff). When our logoff fails the
//     id is kept in Target.Session and logged off first on the next
//     call; it is ours, never another client's. `kill` (forced session
//     kill, pyasic rpc/luxminer.py) is never used.
//   - Why a curtail makes three connections (logon, curtail, logoff):
//     the API answers one request a connection (cgminer's api() loop
//     accepts, reads once, answers and closes the socket: api.c, e.g.
//     BitSyncom/cgminer api.c, CLOSESOCKET(c) after send_result), and a
//     multi-command refuses any command that is not "joinable" (the
//     same loop answers MSG_ACCDENY), so logon, curtail and logoff
//     cannot share one. Keeping the session between commands would
//     lock every other actor out for up to a minute after each
//     command; luxos-tooling's rexec does what this driver does (logon,
//     the command, logoff at once: src/luxos/asyncops.py rexec), so the
//     driver keeps it. A curtail is the rarest call (reads need no
//     session), so this costs two connections per command, not per
//     poll.
//   - Which commands need a session: curtail, logoff yes; pools,
//     addpool, removepool, summary, power, config, session no
//     (luxos-tooling src/luxos/api.json, logon_required).
//   - Curtail: `curtail` with parameter "<session_id>,sleep" or
//     "<session_id>,wakeup"; sleep turns off the hashboards and the
//     power supply; wakeup turns them on and ramps the boards "similar
//     to what happens on a reboot". Success: CURTAIL[0].Action "sleep
//     mode" / "wake up", Code 335, Msg "Curtailment command sent". The
//     sleep state persists across a restart of the miner
//     (docs.luxor.tech/firmware/api/luxminer/curtail; pyasic
//     rpc/luxminer.py curtail/wakeup). The answer comes once the
//     command is sent, not when the boards are down: the fleet verifies
//     by reading back.
//   - Power: `power` answers POWER[0].Watts (and PSU) (pyasic
//     miners/backends/luxminer.py _get_wattage). The docs call it the
//     estimated power usage (pyasic rpc/luxminer.py power docstring).
//   - Hashrate: `summary` SUMMARY[0]["GHS 5s"] in GH/s (pyasic
//     backends/luxminer.py _get_hashrate); "GHS av" is used when "GHS
//     5s" is missing or zero. Divided by 1000 for TH/s. Numbers are
//     accepted as JSON numbers or numeric strings.
//   - State: `config` CONFIG[0].CurtailMode, "None" while mining and
//     "Sleep" after curtail sleep (a Home Assistant LuxOS integration
//     in the search corpus reads is_mining as config.CurtailMode ==
//     "None"; bitcap-ipr mod/ipr_asic/rpc/luxminer.py lists the
//     CurtailMode field; the LuxOS mock above answers "Sleep"). "Idle"
//     (the other mode the curtail docs name) reads as sleeping; any
//     other value as unknown.
//   - Read sends the multi-command "summary+power+config": cgminer's
//     "a+b" form, answered as {"summary":[<answer>],"power":[…],
//     "config":[…]} (pyasic uses multicommand for LuxOS in
//     backends/luxminer.py get_config); one connection per read
//     instead of three. A part answered with STATUS E leaves its
//     fields unset (Has flags false).
//   - Pools: `pools` answers POOLS[] with POOL (id), URL, User,
//     Priority (pyasic backends/luxminer.py _get_pools). `addpool`
//     "url,user,pass" and `removepool` "<id>" need no session
//     (luxos-tooling api.json; pyasic rpc/luxminer.py addpool,
//     removepool). SetPools adds the new pools in order, then removes
//     the old ones; a refused addpool's message is not passed on, since
//     it may quote the pool password.
//
// # Not done
//
// The curtail command's ramp options (voltage_step, frequency_step,
// mode=unsafe) and power targets (the docs' power targeting feature)
// are not used. The exact answer to a curtail with an expired or wrong
// session id is not in the sources read; it surfaces as ErrRefused.
package luxos
