// Package evidence keeps what a demand-response settlement or a dispute
// needs to see of each decision the switcher made, and builds the
// report of one decision from it.
//
// It owns two append-only, size-bounded logs in one directory (by
// default next to the audit log: hashgate-audit.evidence/):
//
//   - samples.jsonl: one small record per sample interval (default 1 s):
//     the mining load as counted, the load the devices measure, the
//     mining budget, the site cap, the AI figure and the measured AI and
//     site loads, the fail-safe flag, and every meter's last good
//     reading in kW. Written with one write(2) per sample (a crash of
//     the process loses nothing written; the power failing loses at most
//     SyncEvery of samples: the file is fsynced that often).
//   - rigs.jsonl: per decision (the seq of its audit event), the rigs it
//     acted upon (grouped by action and group, up to 1,000 names a line)
//     and, as they arrive, each rig's confirmations: its device's first
//     reading showing the wanted state (state, power, hashrate), the
//     Stratum evidence (a parked rig's connection closed with no share
//     since; a resumed rig's first share) and a failure (curtail_failed,
//     resume_failed). A decision's rig list is written and fsynced
//     before the decision is acted upon; confirmations are written and
//     fsynced once per switcher step.
//
// Each log rotates like the audit log (FILE, FILE.1 … FILE.N; the oldest
// is deleted): MaxBytes bounds the two together, half each (a decision's
// list is written whole to one file: one larger than a file's share
// makes that file larger). Nothing is
// held in memory but the confirmations of one step (bounded: a full
// queue is written at once). Both logs are read back from disk, so a
// report for yesterday's event works after a restart, as long as the
// retention still holds its samples. A report reads only the files that
// can hold its samples (by each file's first sample time) and its rigs
// (by the first decision listed in each file: lists are written in seq
// order, each before its confirmations).
//
// Measured sizes (TestRecordSizes): a sample is 77 bytes with no meter
// and no cap, 182 with the cap, the measured site and AI loads, a mining
// meter and three meters; a rig acted upon costs its name plus 3 bytes
// in the decision's list (12 bytes for "rig-00001"), and each of its
// confirmations about 105 bytes. With the default 256 MiB (128 MiB
// each), 1 s samples are kept about 8 days at 182 bytes (20 days at 77),
// and the rig log holds about 100 decisions over 10,000 rigs each with a
// device confirmation per rig (1.2 MB each).
//
// Report builds the report of one decision: the samples of a baseline
// window before it and of a window after it (until the target is
// reached plus a margin, at most MaxAfter), the baseline (the average
// before), the time to reach the target, the deviation from the target
// after it, and each rig acted upon with its confirmations. The switcher
// (switcher/evidence.go) feeds the logs and looks the event up in its
// audit log; this package knows nothing of the switcher's types.
package evidence
