// Package fleet runs the firmware drivers (switcher/device.Driver) for
// thousands of rigs on the switcher's behalf. It implements
// switcher.DeviceFleet (SetRigs, Curtail, Resume) without importing
// package switcher, and reports back through Config.OnReading and
// Config.OnOutcome.
//
// What it owns: the set of managed rigs and, per rig, its last reading,
// its driver session (device.Target.Session), its pending intent and
// the command in progress; the worker pool that makes every device call;
// the poll schedule; the retry, back-off and verification of commands;
// the counters (Stats) the coordinator exports as metrics. It owns no
// policy: what to curtail is the switcher's, how to speak to a device
// is each driver's.
//
// Rules:
//
//   - Every device call runs in one of Config.Workers goroutines (the
//     bound on concurrent calls), under a ctx that carries the group's
//     per-call timeout (Options.CallTimeout) and is cancelled by Close
//     and by the rig's removal. A hung or dead rig holds one worker for
//     at most its timeout and never blocks another rig's call; the fleet
//     never runs two calls on one rig at once. Polls hold at most three
//     quarters of the workers (all of them below 4): when hung rigs
//     hold polls for their whole timeout, a quarter stay free for
//     commands and read-backs (the firmware benchmark saw an allocation
//     wait behind slow polls).
//   - Work is taken in this order: curtails, resumes (and pool
//     rewrites), read-backs (and the start-up reads of rigs wanted
//     asleep), polls. Each rig sits in at most one queue, so the queues
//     hold at most one entry per rig; a newer intent moves the rig
//     (intrusive lists, O(1)). Polls never delay a command.
//   - The latest intent per rig wins: Curtail replaces a queued or
//     waiting Resume and vice versa (the replaced command's outcome says
//     Err "superseded by …"); an intent arriving while a call runs on the
//     rig starts when that call returns. A repeat of the command in
//     progress is a no-op.
//   - A command is retried with exponential back-off and jitter (waits in
//     [d/2, d], d doubling from BackoffMin to BackoffMax; the wait holds
//     no worker) on device.Retryable errors, ErrBusy included, up to
//     Attempts. ErrAuth blocks every command to the rig (Curtail/Resume
//     answer at once with an outcome) until SetRigs hands it different
//     Options.
//   - An accepted command is read back every VerifyEvery until the rig
//     shows the wanted state or VerifyWithin (default 60 s: an Antminer
//     restarts its miner process after set_miner_conf.cgi) ends. Curtail
//     is verified by a reading with evidence of idleness (state sleeping,
//     or hashrate and power under MinHashTHs and the rig's IdleW) and
//     judged by device.Reading.Hashing, whatever the device's word; a
//     resume by a hashing reading; a pool rewrite by the pool list.
//     OnOutcome gets one Outcome per command: Accepted (the device's
//     word), Verified, Attempts, Err, Evidence (the last read-back),
//     Took. Accepted && !Verified is the lying device: counted
//     (UnverifiedCurtails, UnverifiedResumes) and commanded again.
//   - Every rig is read once per PollInterval; SetRigs spreads the rigs
//     evenly over the interval in the order of their names' hash (slot i
//     of n at i·interval/n), and a scheduler tick (interval/200, 1 to
//     50 ms) queues those whose slot has come. A failed read is a reading
//     with State Unreachable (counted; logged rate-limited, 5 a minute
//     per kind and a summary). A rig still busy at its slot is counted in
//     PollsLate and read at its next slot. Size Workers to cover the
//     polls: rigs × read latency / PollInterval (50,000 rigs read in
//     100 ms each every 10 s need 500), plus room for commands; a
//     growing PollsLate says the pool is short.
//   - Light polls: every FullReadEvery-th poll of a rig (default 6: once
//     a minute at 10 s) is a full read (Driver.Read, and the pool list
//     where BindPools wants it); the polls between use the driver's
//     device.LightReader when it has one, which skips what changes
//     rarely: an Antminer's get_miner_conf.cgi, a Braiins OS miner's
//     details, a Whatsminer's status connection. A light reading
//     without a state takes the last reading's state when its power and
//     hashrate agree (mining and hashing, sleeping and idle); else it
//     stays unknown and the rig's next poll is full. The first poll, the
//     one after a failed or stateless reading, read-backs and start-up
//     reads are full. Proposed config key: [switcher] poll_full_every.
//   - Reconcile: after a read, a rig with no command in progress whose
//     reading disagrees with its Want (hashing when wanted asleep, idle
//     when wanted mining) is commanded, at most once per RetryEvery after
//     a command for it ended failed or unverified. Want StateUnknown,
//     MonitorOnly, refused credentials or an unreachable rig never cause
//     a command, so a restart never wakes a sleeping rig. A new rig with
//     Want StateSleeping is read at once (ahead of polls) and curtailed
//     if hashing: a plan cut short by a restart is finished. A rig with
//     BindPools whose driver is a device.PoolDriver and whose pool list
//     differs is rewritten (Action SetPools), at most once per RetryEvery.
//   - MonitorOnly rigs are read, never commanded: Curtail/Resume on one
//     logs once and answers with an outcome carrying Err.
//   - Callbacks run holding no fleet lock, from worker goroutines (and,
//     for the immediate outcomes above, from inside Curtail/Resume); a
//     slow callback holds its worker. None runs after Close returns.
//
// Measured costs (2 shared cores, AMD EPYC, Go 1.26; the machine was
// loaded by other builds, so wall times are upper bounds):
//
//   - Polling 50,000 rigs on an in-memory driver, every second (ten
//     times the 10 s target): 3.8 to 4.7 µs of process CPU per poll
//     (runs on a loaded machine), GC included, 4 allocations per poll;
//     for 50,000 rigs every 10 s that is 1.9 to 2.3% of one core
//     (target: under 10%). BenchmarkPolling50k.
//     Network and parsing are the drivers' cost, not counted here.
//   - One poll's path without goroutine switches (queue, take, call,
//     record): 2.3 µs, 416 B and 5 allocations (a ctx with its timer,
//     mostly). BenchmarkPollPath.
//   - Memory: 630 bytes per rig with 50,000 rigs, each read once (last
//     reading with a two-URL pool list, a driver session, name and
//     address strings); the rig struct itself is 416 bytes. Budget:
//     2 KiB. TestMemoryPerRig. SetRigs of 50,000 rigs holds the fleet's
//     lock 76 ms when they are new, 45 ms when unchanged: call it when
//     the set changes, not every tick.
//   - 2,000 rigs curtailed through 100 workers over TCP at 20 ms a call,
//     31 of them hung (3 s timeout), 31 lying, ~20 dead ports: the fast
//     ones were all answered in 0.69 s (1.1 s under -race) against an
//     ideal n/(workers−hung)·20 ms = 0.56 s. TestScale2000.
package fleet
