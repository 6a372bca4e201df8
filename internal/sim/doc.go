// Package sim is hashgate's in-process Stratum V1 test world: a pool that
// validates every share it is sent ([Pool]) and a simulated fleet of miners
// that find real shares at tiny difficulties ([Fleet]). The proxy's tests,
// the load harness and `hashgate demo` all drive the proxy with them.
//
// Everything speaks the real protocol over real TCP, and only ever on
// loopback: [StartPool] listens on 127.0.0.1:0, and [StartFleet] refuses an
// address that is not a loopback one (the load harness may instead hand the
// fleet in-memory connections through [FleetConfig.Dial]).
//
// # The pool
//
// [Pool] serves mining.configure (BIP310 version rolling),
// mining.subscribe, mining.extranonce.subscribe, mining.authorize,
// mining.suggest_difficulty and mining.submit. Each connection gets its own
// 4-byte extranonce1. After a successful mining.subscribe the pool sends
// mining.set_difficulty and the current job (clean_jobs=true) at once, as
// ckpool and most public pools do, without waiting for mining.authorize; a
// client must therefore cope with notifications arriving before the
// authorize answer. Every submitted share is validated: the job must be
// known and not stale, extranonce2 must have the announced size, rolled
// version bits must lie inside the granted mask, ntime must lie in [job
// ntime, job ntime+7000], the share must not be a duplicate, and its header
// hash (built with the connection's extranonce1) must meet the target.
// Rejections answer with the usual codes 20-25 and are counted by reason in
// [PoolStats]. Jobs carry [PoolConfig.NBits]; with [RegtestNBits] every
// share is also a block candidate.
//
// Fault knobs for failover tests: [Pool.SetSilent], [Pool.DropAll],
// [Pool.SetRefuseAuthorize], [Pool.SendRaw] and [Pool.Close].
//
// # The fleet
//
// [Fleet] runs many miners, each a single goroutine that owns its
// connection. About [FleetConfig.ASICFraction] of them behave like ASIC
// firmware (bmminer, Braiins OS, Whatsminer: mining.configure with version
// rolling, mining.extranonce.subscribe, some send mining.suggest_difficulty
// first), the rest like cpuminer (plain subscribe and authorize, sometimes
// with string request ids). Miners follow set_difficulty, notify,
// set_extranonce, set_version_mask and client.reconnect, search for real
// shares with package stratum/sharehash, and check every answer: a share the
// miner computed as valid that comes back rejected is a wrong answer
// ([FleetStats.WrongAnswers]) unless the work changed while it was in flight
// ([FleetStats.Stale]). After mining.set_extranonce a miner submits nothing
// until the next job, since the pool holds earlier work void.
// [FleetConfig.OnAccepted] reports every accepted share with its header hash.
//
// About [FleetConfig.BadFraction] of the miners also misbehave: after every
// [FleetConfig.BadEvery] valid shares they send one bad submit, rotating
// through [BadKinds] (duplicate 22, stale 21, low difficulty 23, bad ntime
// 20, unauthorized worker 24, short extranonce2 20, version bits outside the
// mask 20), and check it is answered with that code
// ([FleetStats.BadRejectedAsExpected], [FleetStats.BadByKind]). Another
// answer is a wrong answer unless the work changed meanwhile
// ([FleetStats.BadStale]). Bad submits never touch the valid-share counters.
//
// # Lifetimes
//
// Every goroutine has an owner that stops it: [Pool.Close] and [Fleet.Close]
// close every connection and wait for every goroutine they started. Every
// network read and write has a deadline. Tests wait for conditions with
// [Eventually] or [Fleet.WaitFor], which poll; nothing sleeps to wait.
package sim
