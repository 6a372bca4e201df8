// Package vnish is hashgate's actuator for VNish firmware (Antminers
// running VNish), through its web API. It owns: unlocking with the
// password for a token (kept per rig in device.Target.Session, renewed
// once when refused), stopping and starting mining, reading state,
// hashrate, power and pools from the summary, and rewriting the pools
// through the settings (PoolDriver).
//
// Protocol facts and their sources:
//
//   - Web API on port 80 under /api/v1/, JSON bodies. Sources: pyasic
//     pyasic/web/vnish.py (VNishWebAPI: http://ip:port/api/v1/<command>);
//     asic-rs asic-rs-firmwares/vnish/src/backends/v1_2_0/web.rs and
//     v1_2_0/mod.rs (VnishWebAPI::new(ip, 80, auth)).
//   - Unlock: POST /api/v1/unlock {"pw": password} answers 200
//     {"token": "..."}; any other status is a refused password. There is
//     no user name (default password "admin"). Sources: pyasic
//     VNishWebAPI.auth; asic-rs web.rs authenticate (non-success status
//     => AuthenticationFailed, token at /token), mod.rs default_auth
//     MinerAuth::new("", "admin"). The exact status of a wrong password
//     is not in either source; the emulator answers 401.
//   - Authorization header: asic-rs sends "Bearer <token>" on every call;
//     pyasic sends the bare token, and "Bearer <token>" only for system/*
//     commands. The sources disagree; we send "Bearer <token>" (asic-rs is
//     the newer client, and VNish 1.2.x accepts it there); the emulator
//     accepts both.
//   - A 401 on a call means the token is no longer valid: clear it,
//     unlock again and retry once (asic-rs web.rs send_command; pyasic
//     re-auths on any non-200 and retries).
//   - Mining stop / start: POST /api/v1/mining/stop and
//     /api/v1/mining/start, no body (pyasic stop_mining / start_mining;
//     asic-rs pause / resume use the same paths). pyasic also has
//     mining/pause and mining/resume (pause keeps the miner process up);
//     stop is what powers the hashboards down, so Curtail uses stop. The
//     answer's body is little or nothing: pyasic substitutes
//     {"success": true} for an empty JSON answer and reads "success";
//     we accept any 2xx answer unless it says "success": false.
//   - State, hashrate, power: GET /api/v1/summary. State is
//     miner.miner_status.miner_state (pyasic _is_mining: mining unless
//     "stopped", "shutting-down" or "failure"); asic-rs reads the same
//     labels from GET /api/v1/status miner_state and counts only "mining"
//     and "auto-tuning" as mining, "paused", "idle" and "failure" among
//     the others (backends/operating_state.rs). Hashrate is
//     miner.hr_realtime in GH/s on SHA-256 models (asic-rs v1_2_0/mod.rs:
//     /info hr_measure gives the unit, GH/s by default); we divide by
//     1000 for TH/s. Power: pyasic reads miner.power_usage, asic-rs
//     miner.power_consumption (VNish versions differ); we read either,
//     power_consumption first, and report none when both are absent.
//   - Pools: GET summary miner.pools[].url (asic-rs parse_pools, the
//     order of the list). Write: POST /api/v1/settings
//     {"miner":{"pools":[{"url","user","pass","order","id"}]}} (asic-rs
//     v1_2_0/mod.rs set_pools_config; pyasic send_config posts the whole
//     as_vnish config to settings). The answer is {"restart_required":…,
//     "reboot_required":…} whether or not it took effect (pyasic
//     set_power_limit comment), so pool binding must be verified by
//     reading back. asic-rs sends the URL as host:port (no scheme); we
//     send the URL as configured.
//
// Every call is bounded by ctx and Options.CallTimeout, answers by
// MaxBody; the shared transport has keep-alives off.
package vnish
