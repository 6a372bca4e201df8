// Package antminer is hashgate's actuator for Bitmain's stock Antminer
// firmware, through the miner's own web interface only (the cgminer API
// on 4028 is not used). It owns: the HTTP digest client (the challenge
// kept per rig in device.Target.Session), sleeping and waking the miner
// with set_miner_conf.cgi, reading state, hashrate and power back, and
// reading and rewriting the pool list (PoolDriver).
//
// Protocol facts and their sources:
//
//   - Web interface on port 80, HTTP digest authentication, user "root"
//     (default password "root"). Every command is /cgi-bin/<name>.cgi:
//     GET for reads, POST of a JSON body for writes. Sources: pyasic
//     pyasic/web/antminer.py (AntminerModernWebAPI: httpx.DigestAuth,
//     POST json.dumps(params)); asic-rs asic-rs-firmwares/antminer/src/
//     backends/v2020/web.rs (send_digest_auth, .json(), port 80, root/root).
//   - The digest scheme is RFC 2617 / RFC 7616 MD5 with qop="auth" as
//     lighttpd's mod_auth issues it (realm "antMiner Configuration").
//     The client also answers MD5-sess, SHA-256 and qop-less challenges;
//     a 401 with a fresh challenge that is refused again is ErrAuth.
//     Sources: captured Authorization headers in public scripts (e.g. a
//     Ruby Asic::A3::Update client: realm "antMiner Configuration",
//     uri "/cgi-bin/set_miner_conf.cgi", qop=auth, nc=00000084, cnonce;
//     found with find_string, repository not named by the index); the
//     Foreman pickaxe's AntminerDetectionStrategy("antMiner
//     Configuration") detects stock firmware by that realm.
//   - Sleep / wake: POST set_miner_conf.cgi with "miner-mode": 1 (sleep)
//     or 0 (normal); 2 and 3 are high and low power modes. The body is
//     the whole configuration the web UI sends: "bitmain-fan-ctrl",
//     "bitmain-fan-pwm", "freq-level", the mode, and "pools" (three
//     slots of {"url","user","pass"}), read first from get_miner_conf.cgi.
//     Sources: pyasic pyasic/miners/backends/antminer.py (stop_mining /
//     resume_mining: get_config then send_config), pyasic
//     pyasic/config/__init__.py MinerConfig.as_am_modern (fan keys,
//     "freq-level": "100", "miner-mode", pools); asic-rs v2020/mod.rs
//     (browser_miner_conf_payload, miner_conf_with_miner_mode: the same
//     keys, and the mode written to both "miner-mode" and
//     "bitmain-work-mode" as an integer). We send both, as asic-rs does.
//   - Field quirk: some firmware answers success to a write carrying only
//     "bitmain-work-mode" and ignores it (issue 11 of this project; asic-rs
//     and pyasic both send "miner-mode"). The emulator models it.
//   - The answer to set_miner_conf.cgi is {"stats":"success","code":
//     "M000","msg":"OK!"} when accepted. Sources: asic-rs v2020/mod.rs
//     pause/resume (checks "stats" == "success"); pyasic send_config
//     (checks "code" == "M000"). It can take ~20 s, and the miner process
//     then restarts: the config reads back at once, the running miner
//     changes only after the restart. asic-rs v2020/mod.rs notes that an
//     immediate follow-up read can race the miner restarting.
//   - Pool writes: set_miner_conf.cgi overwrites only the slots it is sent,
//     so unused slots are sent blank; stock firmware keeps three (asic-rs
//     v2020/mod.rs pools_payload, parse_pools_config truncate(3)). More
//     than three pools is ErrUnsupported.
//   - get_miner_conf.cgi: "pools", "bitmain-fan-ctrl", "bitmain-fan-pwm",
//     "bitmain-freq-level", and the mode as "bitmain-work-mode" (a string,
//     "0"/"1", on S19-era firmware) or "miner-mode". pyasic is_mining reads
//     "bitmain-work-mode" == 1 as not mining; asic-rs reads either key.
//   - stats.cgi: {"STATUS":{…},"INFO":{…},"STATS":[{"elapsed","rate_5s",
//     "rate_30m","rate_avg","rate_ideal","rate_unit":"GH","chain_num",
//     "fan","miner-mode","freq-level","chain":[…]}]}: the running miner's
//     mode and rates. summary.cgi has the same rates under "SUMMARY" with
//     a "status" list. Rates are in "rate_unit", GH/s when absent (asic-rs
//     asic-rs-firmwares/antminer/src/backends/telemetry.rs rate_unit).
//     Power, where a model reports it, is "power", "Power", "watt" (W) or
//     "chain_power" ("3250 W") in the stats row (telemetry.rs wattage;
//     those rows are the cgminer API's, which stats.cgi mirrors: not
//     verified on a device). Most S19 stock firmware reports no power:
//     HasPower is then false.
//
// Operational consequences: a group's timeout must exceed the ~20 s
// answer of set_miner_conf.cgi, or a curtail returns a timeout error
// although the firmware may have applied it (the read-back tells). Every
// Curtail and Resume rewrites the configuration and so restarts the
// miner process, even when the rig is already in the wanted mode.
//
// Read uses get_miner_conf.cgi (pools, configured mode) and stats.cgi
// (running mode, hashrate, power); the state is the running miner's
// "miner-mode" when stats has it, else the configured mode. Every call is
// bounded by ctx and Options.CallTimeout, answers by MaxBody. A call's
// requests share one connection and its last request asks for
// "Connection: close" (RFC 9112 §9.6): one connect per call, and no
// socket held to a rig between calls (at most 64 left open for 5 s by
// calls that failed half way).
package antminer
