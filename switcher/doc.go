// Package switcher owns the power side of hashgate: the ops' policy (groups
// of rigs with their power draw, efficiency, priority and actuator), the
// planner that turns "AI takes N kW" into which rigs stop and which come
// back, the actuators that park and resume rigs, and the state and audit
// log that survive restarts.
//
// It sees rigs through small interfaces and knows nothing of sockets; the
// Stratum actuator adapter (wired by cmd) is the one bridge to the proxy,
// and a DeviceFleet (Config.Devices, switcher/fleet) the one to the rigs'
// firmware: a firmware-actuated rig is put to sleep through its device and
// parked through Stratum at the same moment when it is connected; the
// fleet's readings and outcomes come back through DeviceReading and
// DeviceOutcome. The rig inventory (SetInventory) names rigs managed and
// counted whether or not they connect through the proxy.
//
// # The curtailment planner
//
// MakePlan is a pure function from (policy, rigs, allocations,
// ramp window, now) to a plan. It holds no state, reads no clock and does no
// I/O; the caller persists what the plan hands back (the ramp window, the
// allocation stack) and applies its actions through the actuators.
//
// # Power accounting
//
//	mining budget = site_capacity_kw − reserve_kw − AI kW of the allocation in force (≥ 0)
//	load          = Σ draw of every rig, where draw is
//	  measured by its device       the power it reports (Rig.MeasuredKW), whatever
//	                               its state below: the measured draw replaces the
//	                               policy's figures wherever a device reports one
//	  mining, connected            ReportedKW if > 0, else the group's rig_kw
//	  parked, connected            idle_kw
//	  parked, disconnected         idle_kw (it was just kicked and is reconnecting),
//	                               unless LeftWhileParked: then rig_kw (it may hash on a
//	                               backup pool), or 0 once it has been away for
//	                               release_vanished_after (> 0; 0 = never released).
//	                               Only a rig curtailed from mining is parked and
//	                               away: one parked at admission (never given work
//	                               in this park) is offline when it disconnects
//	                               (the caller's rule)
//	  pending (connected, waiting) idle_kw (it is held without work)
//	  not mining, device hashing   its measured draw, else rig_kw (device_hashing):
//	                               parked, pending or offline as the switcher sees
//	                               it, but its device reports it hashing
//	  mining, device will not wake its measured draw, else idle_kw (resume_failed)
//	  offline, or mining/pending
//	  but disconnected             0: it is not drawing through us; when it comes back
//	                               it is Pending and goes through admission again
//
// "Connected" includes Rig.Reached: a rig in the rig inventory, or a
// firmware-actuated rig the switcher holds parked or mining whose device
// it reaches, is on the site whatever the proxy says, and counted as if
// connected (an inventory rig never seen is mining at rig_kw until its
// device says otherwise). The planner acts on a rig that is connected or
// Rig.ByDevice (its firmware actuator reaches it); a reached rig that is
// neither (a Stratum rig in the inventory that does not connect) is
// counted but never acted on.
//
// That is the load the plan is made with (Plan.LoadKW, LoadAfterKW,
// Compliant). The load reported and judged for compliance (Plan.Counted*,
// the status's mining_load_kw and compliant) differs in one way: a rig held
// without work through Stratum (parked or pending, connected or not yet
// flagged left_while_parked) counts at its full draw unless something shows
// the hold holds: its group's pools_bound (every pool entry of the rig is
// hashgate, or the network blocks the others), a device readback that
// shows it asleep (Rig.VerifiedIdle), or its measured draw. Withholding
// work is not evidence: real cgminer 4.13.6 took its backup pool 10 s
// after a park and mined there for the whole curtailment, keeping the
// parked connection open. The plan still uses idle_kw for such a rig:
// counting it at rig_kw when planning would curtail the whole site for
// rigs no curtailment can reach, and stop nothing they draw. Plan.NotCompliantReason
// says so when it is the cause. A rig whose device shows it hashing is
// different: that is evidence, not the want of it, so device_hashing is
// planned at its draw too, and the plan curtails the next rig in order to
// make up for it (its curtail is retried; the plan never resumes it,
// which would cost nothing and end the retries). CountedAs names how each
// rig is counted.
//
// # Device evidence
//
// The switcher (devices.go) turns the fleet's readings into the fields
// above. A reading counts while it is fresh (Config.DeviceStaleAfter),
// reachable, and made after the switcher's last command to the rig (a
// curtail, a resume, a device put to sleep at admission): a rig just
// curtailed counts as an unverified park, not at the power it drew while
// mining. Within Config.DeviceVerifyWindow of a curtail a reading still
// hashing is the command taking effect (an unverified park); after it the
// rig is flagged curtail_failed and counted device_hashing (a fleet
// outcome with Verified false flags it at once; without a reading that
// shows it hashing, an unreachable device say, it counts curtail_failed:
// at rig_kw, planned at idle_kw like any park without evidence, if it is
// connected and so parked through Stratum too; one that is not connected
// has nothing holding it and counts device_hashing, planned at its draw);
// a reading asleep clears the flag and verifies the park. After a
// restart, a parked rig's window starts at its first reading, not at the
// load: the fleet reads it then and curtails it if the restart cut its
// curtail short. Flagging sends the curtail again once. A pin "on"
// resumes a device_hashing rig; the plan never does otherwise. The same
// for a resume: asleep after the window is resume_failed. Hashing means the device's state is mining, or
// it reports more than 1 GH/s, or more power than its group's idle_kw
// with a margin (1.5 × idle_kw, at least idle_kw + 0.1 kW): field firmware
// says "sleeping" and keeps its hashboards up. The draw a device measures
// while hashing becomes the rig's ReportedKW, its own nameplate for
// what curtailing saves and resuming costs; unreachable, a rig falls back
// to the policy's figures.
//
// A hashrate × J/TH figure is reported as Plan.LoadEstKW and never decides
// anything. Curtailing a rig saves what it draws now − idle_kw (its
// measured draw, or rig_kw; nothing for one that did not wake); resuming
// one costs its full draw − what it draws now. All arithmetic is done in
// integer milliwatts, so sums are exact and planning the same state twice
// gives the same answer to the last digit.
//
// # One order
//
// Rigs are sorted once by (priority desc, efficiency_j_th asc, name asc);
// rigs with the same name (duplicate connections) keep their input order.
// The plan is made in four steps over that order:
//
//  1. Pinned "off" rigs that are mining are curtailed (maintenance), whatever
//     min_on says and even when the budget has room.
//  2. Pinned "on" rigs that are parked or pending are resumed, from the head,
//     whatever the budget says (rigs below them make room in step 3); they still
//     wait for min_off, the ramp and an emergency hold, which protect hardware and
//     grid rather than the budget. Then (step 2b, economic.go, only with
//     the policy's [economic]) rigs of the groups curtailed for the power
//     price (Input.Uneconomic) are curtailed if mining, parked if pending
//     and kept parked otherwise, reason ReasonUneconomic + the price and
//     break-even; pinned rigs are left to their pin.
//  3. Over budget: curtail mining rigs from the tail until load ≤ budget. Rigs
//     resumed less than min_on ago are skipped while others can be curtailed;
//     if the budget is still breached they are curtailed too, from the tail.
//     An emergency allocation ignores min_on. Pinned "on" rigs are never
//     curtailed; if they alone breach the budget the plan is not Compliant.
//     Curtailing stops at the first rig that brings load ≤ budget, and then
//     any rig curtailed on the way that is no longer needed (the budget holds
//     with it back on) is kept mining, head first: a small rig at the tail is
//     not stopped when a big one above it has to go anyway. Curtailing is not
//     rate limited.
//  4. Resume and admission, walking from the head with room = budget − load:
//     each parked or pending rig that is connected is taken in turn (a parked
//     rig that is away is passed over silently until it reconnects); one whose
//     delta does not fit the room is passed over and the walk goes on (a
//     smaller rig further down may fit). A rig that fits but must wait (min_off,
//     ramp, emergency hold) keeps its room reserved, so rigs below it do not
//     take its place. A pending rig that does not fit is parked at once
//     (Plan.Park); one that fits but waits for the ramp stays pending ("waits
//     its turn"). A pending rig known as mining before a restart (KnownMining)
//     is readmitted at once: not ramp limited (its power was on the site before
//     the restart) but still only if it fits the budget, else it is parked. An
//     offline KnownMining rig keeps its room reserved before the walk starts
//     (head first), so neither rigs that reconnect early after a restart nor
//     parked rigs above it in the order take the place of those that reconnect late;
//     the caller clears KnownMining once the rig is readmitted or after its own
//     grace period. Under an emergency hold nothing is resumed or admitted:
//     rigs that would fit are deferred ("emergency hold", pending ones stay
//     pending), pending rigs that would not are parked. A park holds a
//     rig's draw as it was (the plan assumes no change; a firmware rig's
//     device is put to sleep too, and its readings say when it is).
//
// Checks in step 4 come in this order, and the first that applies is the
// reason given: pinned off, does not fit budget, emergency hold, min_off,
// ramp limit.
//
// After step 3 curtailed anything, step 4 can only use the room left over by
// the rigs curtailed (never one of them): curtailing a big rig may let a small
// parked one in. The rule is built so that applying a plan and planning again
// at the same instant yields no action.
//
// # Ramp
//
// Resuming (steps 2 and 4, not KnownMining readmissions) is limited to
// ramp_up_kw_per_min of added load (draw − idle_kw of each resumed rig) per
// one-minute window. The window opens at the first resume after the previous
// window ended, and is carried by the caller in Input.Ramp / Plan.Ramp. A rig
// that alone exceeds the limit may open an empty window (else it could never
// come back). ramp_up_kw_per_min ≤ 0 means no limit.
//
// ETASeconds estimates when the resumes the plan wants but defers (min_off,
// ramp) are all done: the later of the last min_off end and the start of the
// ramp window that takes the last of the ramp-deferred load. It is 0 when
// nothing waits and under an emergency hold (nothing is wanted then).
//
// # Allocations
//
// Input.Allocations is a stack, oldest first. The allocation in force is the
// newest one whose Until is zero or still ahead; an allocation whose Until has
// passed gives way to the one in force before it. With none in force AI takes
// 0 kW. The emergency hold is the Emergency flag of the allocation in force: it
// lasts until a non-emergency allocation is pushed (or an emergency one with
// Until gives way to a non-emergency one). PushAllocation maintains the stack.
//
// # Budget limits
//
// Input.Limits bound the budget besides the allocation: cap mode's (cap −
// measured non-mining load − reserve) and the fail-safe's (safe_budget_kw).
// The budget is the tightest of the allocation's and theirs; Plan.BudgetRule
// names the rule that bound it ("allocation" on a tie). capmode.go says how
// the switcher derives them from the meters and the heartbeat.
//
// # Pins
//
// Pin "on": never curtailed, counted in the load, resumed if parked (step 2).
// Pin "off": curtailed if mining, parked at once if pending, never resumed.
// Anything else (including "auto") leaves the rig to the planner.
//
// # Cost
//
// One pass to compute draws and sort keys, one sort (keys compare as
// integers: the group's priority and J/TH and 16 bytes of the name after
// the prefix all names share, strings only on a tie), then a few linear
// passes over the rigs in order: O(n log n), about 25 ms and 60 allocations
// for 50,000 rigs on a slow 2-core machine (BenchmarkPlan).
package switcher
