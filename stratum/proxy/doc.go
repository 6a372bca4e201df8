// Package proxy owns the miner side of hashgate's Stratum V1 proxy and the
// plumbing between miners and pools: the listener and its admission rules
// (allow list, connection cap, the share of slots for connections still
// in their handshake), one small state machine per miner
// connection, the split of each pool session's extranonce space into
// per-miner prefixes, hashgate's own job ids, the fan-out of each job to
// every miner on a session (encoded once, written in connection order
// straight to idle sockets, queued to bounded per-miner queues for the
// rest), and the choice of pool: failover to the next healthy pool and
// failback to the primary.
//
// Reading: a miner's handshake runs on a goroutine of its own; once it is
// at work, a TCP miner on Linux is parked in an epoll read poller (one per
// core) that validates and answers its submits, and its goroutine ends
// (~4 KiB of stack saved per miner). Anything but a plain submit hands it
// back to a goroutine, which parks it again when it is quiet. A poller
// itself waits parked in the Go runtime's poller (its epoll set is
// pollable), and writes the answers of one wake-up together after its
// reads. While a job is being fanned out the pollers wait: a late answer
// costs nothing, a late job makes stale shares.
//
// It asks a Gate whether an authorized rig may get jobs; it never imports
// the switcher. A rig is its name from one address: a second connection
// from there (hashgate as primary and backup pool) is the rig's standby
// connection, told to the Gate once. Mass events are logged through a
// limiter that summarizes past a few lines per reason (internal/lograte). Pool connections themselves are stratum/upstream's.
//
// # Where each concern lives
//
//   - server.go: Config and its defaults; the Server: listeners, the
//     accept loop, the admission of connections (allow list, connection
//     cap, the handshake share of the slots), rigs and what the Gate says
//     of them (rigConns, named, decided, SetAdmission, forget), Close, the
//     idle loop.
//   - miner.go: minerConn, its fields grouped by the lock that guards
//     them; its construction; the reader (serve, serveFrom, read
//     deadlines); the dispatch of requests (handle).
//   - handshake.go: mining.configure, subscribe, authorize (the rig's
//     name, worker accounts, a standby connection's promotion) and
//     suggest_difficulty; the handshake deadline and the wait for a pool.
//   - work.go: whether and where a miner works: admission and the start
//     of work, its pool session and prefix, moves between sessions.
//   - shares.go: mining.submit (onSubmit): the checks, duplicates, the
//     merkle root kept between shares, difficulty epochs and changes,
//     rejections and the abuse buckets. reject.go: the table of share
//     rejections (code, label, message).
//   - outbound.go: what goes to a miner: the bounded queue, the flusher,
//     direct writes from the fan-out and the poller, answers, jobs,
//     keepalives. trywrite.go: the non-blocking socket write under them.
//   - close.go: why a connection ended; closing in two halves (closeConn,
//     detachClosed), the last answers before a close, reconnect requests.
//   - session.go: one pool session's miners, prefixes (prefix.go) and
//     jobs, and the fan-out of each job. pools.go: the choice of pool,
//     dialing, failover, failback; rejectwatch.go: the rejection watch.
//   - poller_linux.go: the epoll read pollers (poller_other.go: none).
//   - accounting.go: worker accounts; stats.go: counters (and the
//     fan-out histogram); poolcounters.go: per configured pool, the
//     verdicts and round trips its sessions count, accepted work and
//     failovers by pair; gate.go: the Gate; epoch.go, liveness_*.go,
//     fromconfig.go: small helpers.
//
// # Lock order
//
// A lock may be taken while holding those to its left on a line, never
// one to its right:
//
//	readPoller.yield → minerConn.diffMu → Server.mu → minerConn.mu → registry shard → workerStats.mu
//	readPoller.yield → minerConn.diffMu → poolManager.mu → upSession.mu → minerConn.mu
//	poolManager.mu → upstream.Session's locks
//	leaves, nothing locked under them: minerConn.qmu, readPoller.mu
//
// Server.mu guards the indexes of connections and rigs and the handshake
// share of the slots (with minerConn's unauthAt, inHandshake and rig);
// poolManager.mu the pools' states, the sessions in use and the miners
// waiting for one; upSession.mu one session's miners, prefixes, jobs and
// the pool's difficulty and mask. The nestings are: Server.mu →
// minerConn.mu in named and checkHandshakeLocked, and on to
// workerStats.mu when forget promotes a standby connection; minerConn.mu
// → registry shard → workerStats.mu in addWorker; poolManager.mu →
// upSession.mu in allocLocked, sessionsWantedLocked, failbackLocked,
// dialDone and status; upSession.mu → minerConn.mu in attach
// (setPrefix); poolManager.mu → minerConn.mu in sessionLost (canMove);
// poolManager.mu → upstream.Session in the rejection watch (Verdicts);
// diffMu → mu in sendWork and changeDifficulty. Server.mu never nests
// with poolManager.mu or upSession.mu: the pool manager calls back into
// the server (a miner waiting for a pool) only after it let go of its
// lock.
//
// minerConn.mu guards a miner's protocol state (handshake flags, names
// and accounts, vardiff, difficulty epochs, session and prefix); it is
// held briefly and nothing is queued or written under it. diffMu makes
// the difficulty changes of one miner (and the first sending of its
// work) one at a time, so its set_difficulty lines go out in the order
// they were made; it is taken with no lock held but a poller's yield,
// before mu, and held while the line is queued: under it come qmu,
// workerStats.mu and, when the queue is full and the miner is cut as a
// slow consumer, every lock a close takes. The share-path state (line
// reader, recent shares, reject streak, root cache) has no lock: only the
// reader touches it, the miner's goroutine or its poller.
//
// minerConn.qmu guards the outbound queue (queue, flushing, closed, room,
// reconnT). Nothing else of the proxy is locked under it (only atomic
// counters, the socket's own non-blocking write and deadline, a timer),
// and it is never taken while holding Server.mu, poolManager.mu,
// upSession.mu or minerConn.mu: only diffMu and a poller's yield may be
// held above it. A close lets go of qmu before it detaches the miner.
// Methods of minerConn named …Locked are called with qmu held
// (waitRoomLocked lets go of it); those of Server, poolManager and
// upSession with that type's mu held (or, setExtranonceLocked, before the
// session is shared).
//
// A read poller has two locks of its own. readPoller.mu guards its set of
// parked miners and the life of its epoll descriptor (closed); it is
// taken with no lock held above it but a yield or a closing miner's
// diffMu (forget runs after closeConn let go of qmu), and nothing is
// locked under it. readPoller.yield comes first of all: a poller holds
// its own (write) while it serves one wake-up, so every lock of the share
// path, of answering and of closing is taken under it; a job's fan-out
// holds every poller's (read, taken in the pollers' order with no other
// lock held) while it queues the job. A poller never takes another
// poller's yield.
//
// The Gate is called with none of these mutexes held, except that a close
// from the share path or a fan-out (a slow consumer, an abusive miner)
// may hold a poller's yield or the miner's diffMu while it tells the Gate
// the rig is gone: a Gate must not wait for the proxy (the switcher calls
// SetAdmission after it let go of its own lock). stratum/upstream calls
// the upSession methods (Notify, Closed, ...) and the verdict callbacks
// of forwarded shares with none of its locks held.
package proxy
