// Package whatsminer is hashgate's actuator for MicroBT Whatsminer rigs
// (btminer firmware): it powers the hashboards off and on through the
// btminer API v2 on TCP 4028 (or API v3 on TCP 4433), reads power, hashrate and state back, and
// reads and rewrites the pool list. It owns that protocol; the
// cryptography is in the wmcrypt subpackage, shared with the emulator
// (internal/emu/whatsminer).
//
// # Protocol facts and their sources
//
// Main sources: MicroBT's "WhatsMiner API V2.0.x" document (its text
// is copied in a web3mining docs repository in the search corpus, file
// "whitepaper", section "API TCP Worker"; pyasic links the original
// WhatsminerAPI V2.0.4 PDF), pyasic (UpstreamData/pyasic
// pyasic/rpc/btminer.py and pyasic/miners/backends/btminer.py) and
// asic-rs (its whatsminer v2 RPC: aes + ecb ZeroPadding + md5crypt).
//
//   - Transport: TCP 4028, one JSON request a connection, the reply is
//     JSON and the miner closes the connection; replies are read to the
//     end of the stream (or a NUL, tolerated). The miner closes a
//     connection that sends nothing for 10 seconds (API doc).
//   - Requests: {"cmd":"<name>", …parameters} (API doc; third-party
//     clients in the corpus send {"cmd": "get_token"}; pyasic sends
//     {"command": …}, also accepted by the firmware).
//   - Replies: btminer's own commands answer {"STATUS":"S"|"E",
//     "When":…, "Code":…, "Msg": string or object, "Description":…};
//     summary and pools answer cgminer-style, STATUS a list. Codes (API
//     doc): 14 invalid command or data, 23 invalid JSON, 45 permission
//     denied, 131 command OK, 132 command error, 134 get token OK, 135
//     check token error, 136 token over max times, 137 base64 decode
//     error.
//   - Tokens: get_token answers Msg {time, salt, newsalt}. key =
//     md5-crypt(admin password, salt) (the 22-character hash after
//     "$1$salt$", as `openssl passwd -1 -salt $salt $password`); sign =
//     md5-crypt(key + time, newsalt) (pyasic rpc/btminer.py get_token;
//     API doc "Generate aeskey step"). The miner serves at most 16
//     client IPs, 32 tokens an IP, and a token lives 30 minutes (API
//     doc). pyasic reuses a token for 30 minutes; this driver for 29
//     (Config.TokenTTL), kept in Target.Session, and gets a new one when
//     the miner answers 135. The salt is the firmware's constant, not a
//     device's: every get_token answer in the sources carries salt
//     "BQ5hoXV9" (the API document's example; in the search corpus, a
//     2020 Java client's test fixture whose answer says "whatsminer
//     v1.1", a 2025 Python client's get_token docstring, and API v3's
//     get.device.info answer both in a third-party v3 guide and in a
//     test built from a fleet running firmware 20241108.22.Rel; search
//     the string). So the key, md5-crypt(password, salt), is cached per
//     (password, salt) in the driver, bounded: a new token then costs
//     one md5-crypt (its sign) instead of two (about 0.2-0.4 ms of CPU
//     each here). At the limit get_token answers Msg "over
//     max connect" (third-party clients in the corpus check that exact
//     Msg and raise TokenOverMaxTimesError), code 136: ErrBusy.
//   - Privileged commands are ciphertext only (API doc): the command
//     JSON with "token": sign added is padded with NUL bytes to 16,
//     encrypted AES-256-ECB with key sha256(key string) (32 raw bytes),
//     base64-encoded, and sent as {"enc":1,"data":"<base64>"} (pyasic
//     create_privileged_cmd and _add_to_16; asic-rs ZeroPadding). The
//     reply is {"enc":"<base64>"} under the same key, NUL padding
//     stripped (pyasic parse_btminer_priviledge_data); errors may come
//     as plain replies.
//   - Wrong password: the sources do not show the miner's answer. A
//     wrong key makes the miner decrypt noise (code 23) or find a wrong
//     sign (135). This driver calls either ErrAuth when it comes on a
//     token it has just made; on a cached token it gets a new token and
//     tries once more. Code 45 (write API disabled: pyasic's note that
//     the password must first be changed with MicroBT's tool) is
//     ErrRefused.
//   - Curtail: power_off with "respbefore": "true" (answer before
//     acting); Resume: power_on (pyasic rpc/btminer.py power_off,
//     power_on). The answer is the command's acceptance, not the
//     boards' state.
//   - Read: summary (plain) SUMMARY[0]["Power"] in W, -1 meaning not
//     reported (pyasic backends/btminer.py _get_wattage), and hashrate
//     "MHS 1m" in MH/s (pyasic _get_hashrate), else "MHS av";
//     divided by 1e6 for TH/s. State: status (plain) Msg.mineroff
//     "true" / "false", older firmware Msg.btmineroff (pyasic
//     _is_mining). pyasic notes status cannot go in a multi-command, so
//     Read makes two connections. A status without either field leaves
//     the state unknown. ReadLight (the fleet's polls between full
//     reads) is summary alone, one connection, the state left unknown
//     for the fleet to carry over; a summary refused or without power
//     and hashrate falls back to status.
//   - Pools: pools POOLS[].URL; SetPools: update_pools with pool1..3,
//     worker1..3, passwd1..3, privileged (pyasic update_pools): at most
//     three pools, more is ErrUnsupported. A refused update_pools'
//     text is not passed on (it may quote a pool password).
//   - Password: Options.Password; "admin" (the factory default, pyasic
//     settings default_whatsminer_rpc_password) when none is set.
//     Options.User is not used: API v2 has one admin user.
//
// # API v3 (TCP 4433, Options.APIVersion = 3)
//
// Sources: asic-rs (b-rowan/asic-rs src/miners/backends/whatsminer/v3/
// rpc.rs and mod.rs) and iaon/ya-whatsminer-cli (whatsminer_cli/core.py,
// "Whatsminer API v3.0.1"; its README warns v3 is incompatible with v2).
//
//   - Framing: each request and each reply is a 4-byte little-endian
//     length followed by that many bytes of JSON (both sources). Replies
//     are bounded by Config.MaxAnswer before the body is read.
//   - Replies: {"code": 0 on success, "msg": …}; any other code is a
//     failure with msg as its text (asic-rs from_btminer_v3). The
//     sources give no list of codes: a refusal whose text speaks of the
//     token, password, account, permission or auth counts as a
//     credentials refusal, others as ErrRefused.
//   - Salt: get.device.info with param "salt" answers msg.salt (asic-rs
//     get_salt); it is cached in Target.Session (it is not secret) and
//     fetched again once when a command signed with a cached salt is
//     refused. A refusal with a fresh salt is ErrAuth.
//   - set.* commands carry "account", "ts" (unix seconds) and "token" =
//     the first 8 characters of base64(sha256(cmd + password + salt +
//     ts)) (both sources). Default account and password "super"
//     (asic-rs WhatsMinerRPCAPI::new); Options.User and
//     Options.Password override them.
//   - Curtail: set.miner.service param "stop"; Resume: "start" (asic-rs
//     Pause / Resume, citing apidoc.whatsminer.com btminer_service_set;
//     asic-rs notes "might not work as intended").
//   - Read: get.miner.status param "summary": msg.summary
//     "power-realtime" in W and "hash-realtime" in TH/s (asic-rs
//     Wattage, Hashrate). v3 gives no mining/sleeping flag in these
//     sources (asic-rs implements no is-mining for v3), so the state
//     reads as unknown and the fleet judges by power and hashrate.
//   - Pools: get.miner.status param "pools": msg.pools[].url (asic-rs
//     parse_pools).
//   - SetPools is not implemented on v3 (ErrUnsupported):
//     set.miner.pools sends its param AES-256-ECB encrypted under the
//     sha256 digest, and the sources disagree on the padding (asic-rs
//     zeros, ya-whatsminer-cli PKCS#7).
//   - The v3 emulator (internal/emu/whatsminer, Config.APIVersion = 3)
//     answers a bad token with its own code and text, since the
//     firmware's are not in the sources.
package whatsminer
