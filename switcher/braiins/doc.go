// Package braiins is the actuator for miners running Braiins OS (25.07
// and later) through the firmware's public REST API: it owns the login
// token of each rig (in Target.Session), pausing and resuming mining,
// reading the miner's state, approximated power and real hashrate, and
// reading and replacing its pool groups. It holds no per-rig state of its
// own and one HTTP client for every rig. Each call's last request asks
// for "Connection: close" (RFC 9112 §9.6) and the requests before it
// (a login, a read's details) reuse the connection: one connect per
// call, and no socket held to a rig between calls (at most 64 left open
// for 5 s by calls that failed half way).
//
// Not implemented: the gRPC form of the same API (package braiins.bos.v1,
// port 50051, github.com/braiins/bos-plus-api) that older fleets use, the
// GraphQL/LuCI API of Braiins OS before 23.03, and power targets
// (PUT /api/v1/performance/power-target exists but curtailment here is
// pause / resume only).
//
// # Protocol facts and their sources
//
// Sources, cited below by letter:
//
//	[O] Braiins OS Public REST API OpenAPI document 1.7.0, served by the
//	    miner at /api/v1/docs/openapi.json and published at
//	    https://developer.braiins-os.com/latest/openapi.json; read from the
//	    verbatim copy in github.com/api-evangelist/braiins-academy,
//	    openapi/_original/braiins-academy-braiins-os-public-rest-api-openapi.json
//	[A] asic-rs (github.com/b-rowan/asic-rs),
//	    asic-rs-firmwares/braiins/src/backends/v25_07/web.rs and mod.rs
//	[H] Braiins OS Home Assistant integration
//	    (github.com/MrChurch/Braiins-OS-HA),
//	    custom_components/braiins_os_plus/api.py
//	[P] braiins/bos-plus-api proto/bos/v1/miner.proto (MinerStatus), as
//	    cited by [A] mod.rs GetIsMining
//	[I] github.com/braiins/bos-plus-api issue #33 (firmware 25.05): the
//	    gRPC login with bad credentials fails UNAUTHENTICATED "Bad
//	    credentials"
//
// Transport: plain HTTP on port 80, JSON bodies, paths under /api/v1
// ([O] servers "http://miner/", [A] port 80).
//
// Login: POST /api/v1/auth/login with {"username","password"} answers
// 200 {"token": string, "timeout_s": int}. timeout_s is the token's
// validity and "is refreshed to this value with each request" [O
// LoginResponse]. The token goes in the Authorization header of every
// later request, as is, without a "Bearer " prefix [O login description;
// A web.rs sends header("Authorization", token); H: "The API expects the
// header to be 'Authorization: <token>' without the 'Bearer ' prefix",
// written as a fix after a Bearer form failed]. Sources disagree here: the
// api-evangelist overlay of [O]
// (authentication/braiins-academy-authentication.yml) describes it as an
// HTTP bearer scheme, but that is its own derivation (the document
// declares no security scheme); we follow the two clients that talk to
// miners.
// The default user is root ([A] and [O] example); the password is the
// miner's web password. What the firmware answers to wrong credentials is
// not in [O] (it documents 200 only); the gRPC form answers
// UNAUTHENTICATED [I], which a REST gateway renders as 401 (our
// inference, not seen on a device); [A] treats any non-2xx login as an
// authentication failure, [H] re-logs in on a 401 to a request. We treat
// 401 and 403 as refused credentials (device.ErrAuth), other 4xx as
// device.ErrRefused. We keep the token with an expiry of 90% of
// timeout_s after the last successful request, and on a 401 to a request
// log in once more and repeat it once (as [H] does).
//
// Curtail: PUT /api/v1/actions/pause, no body; 200 with a JSON boolean,
// true if it was already paused [O pauseMining; A Pause; H pause_mining].
// Resume: PUT /api/v1/actions/resume, 200 with true if it was already
// mining [O resumeMining]. Both are PUT, not POST. How fast the
// hashboards ramp down and up on pause and resume is the miner's "quick
// ramping" setting (down_s / up_s seconds, PUT
// /api/v1/performance/quick-ramping; [O] QuickRampingResponse "used in
// curtailments"); we do not change it. [H] notes the miner answers 500
// to reads while it reconfigures: we return that as a retryable error.
//
// State: GET /api/v1/miner/details. Its detailed_status.status is a
// one-key object: stopped, starting, running or stopping, each with a
// reason (user_pause, thermal_pause, dead_pools, missing_license, ...)
// [O MinerDetailedStatus, Status, StopDetailedReason]. running and
// starting read as mining (a starting miner is powering its boards),
// stopped and stopping as sleeping. Without detailed_status we read the
// deprecated status, the MinerStatus enum: 1 not started, 2 normal, 3
// paused, 4 suspended, 5 restricted [O GetMinerDetailsResponse.status; P;
// A mod.rs treats only 2 as mining]; 2 and 5 (mining with a restricted
// license) read as mining, 1, 3 and 4 as sleeping. [O] gives it as an
// integer; some gRPC-JSON renderings give the proto name
// ("MINER_STATUS_PAUSED"), which we also accept.
//
// Power and hashrate: GET /api/v1/miner/stats.
// power_stats.approximated_consumption.watt is the draw in W, an integer
// (a string in gRPC-JSON renderings of uint64; both accepted); it is the
// firmware's estimate, not a meter [O MinerPowerStats; A Wattage].
// miner_stats.real_hashrate.last_5s.gigahash_per_second is the hashrate
// in GH/s (we divide by 1000 for TH/s; last_1m when last_5s is absent)
// [O WorkSolverStats, RealHashrate; A Hashrate uses last_5s]. A read is
// two requests (details, stats) on one connection under one call
// timeout.
//
// Pools: GET /api/v1/pools/ lists pool groups [{uid, name, pools: [{uid,
// url, user, enabled, alive, active, stats}], strategy}] [O getPools; A
// reads /0/pools]. We report the URLs of the enabled pools, group by
// group. PUT /api/v1/pools/batch with a list of PoolGroupConfiguration
// {name, pools: [{url, user, password, enabled}], load_balance_strategy:
// {quota: {value}}} "sets the pool groups with new configurations,
// replacing the existing ones" [O setBatchPools; A set_pools_config];
// SetPools writes one group named "hashgate".
package braiins
