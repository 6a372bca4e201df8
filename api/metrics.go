package api

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hashgate/hashgate/switcher"
)

// collector exports the proxy's and the switcher's state at scrape time,
// from their snapshots: nothing is updated per share. work carries the
// per-group accepted work from one scrape to the next (metrics_groups.go).
type collector struct {
	h    *Handler
	work groupWork
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("hashgate_"+name, help, labels, nil)
}

var (
	descMiners          = desc("miners", "DEPRECATED, removed in the next release: use hashgate_workers, whose parked + pending are this curtailed. Workers by state: mining (a share within the mining window), idle (connected, no recent share), curtailed (held without work by the switcher: parked or pending), offline (known, disconnected).", "state")
	descConnections     = desc("connections", "Open miner connections.")
	descConnectionsTot  = desc("connections_total", "Miner connections accepted since start.")
	descNamesRefused    = desc("worker_names_refused_total", "mining.authorize answered 24 for a worker name over 256 bytes, not UTF-8 or with control characters (the connection stays; its log lines are rate-limited).")
	descRefused         = desc("connections_refused_total", "Miner connections refused, by reason (unauthenticated_per_address: over max_unauthenticated_per_address; handshake_evicted: the oldest connection still in its handshake, closed to make room for a newcomer; gate_refused: a rig the switcher keeps no record of, answered 24 and closed).", "reason")
	descHashrate        = desc("hashrate_hashes_per_second", "Hashrate of every worker over the last minute, from accepted shares.")
	descSharesAccepted  = desc("shares_accepted_total", "Shares accepted from miners.")
	descSharesRejected  = desc("shares_rejected_total", "Shares rejected, by reason.", "reason")
	descSharesForwarded = desc("shares_forwarded_total", "Accepted shares that met the pool's difficulty and were sent to it, by pool.", "pool")
	descPoolShares      = desc("pool_shares_total", "Forwarded shares by pool and the pool's verdict (accepted, rejected; not_sent: refused before sending, the pool had stopped reading or its connection had ended; lost: sent, never answered: the connection ended or the submit timed out first, after the miner was told the share was good). shares_forwarded_total minus these is the submits awaiting an answer.", "pool", "result")
	descBlocks          = desc("block_candidates_total", "Shares that met the network target.")
	descHealthy         = desc("upstream_healthy", "1 when the proxy has a live pool session.")
	descPoolState       = desc("pool_state", "1 for each pool's current state (active, standby, probing, failed), 0 for the others.", "pool", "state")
	descPoolSessions    = desc("pool_sessions", "Open sessions to each pool.", "pool")
	descPoolMiners      = desc("pool_miners", "Miners on each pool's sessions.", "pool")
	descPoolFailures    = desc("pool_failures", "Consecutive failed attempts at each pool.", "pool")
	descPoolRejecting   = desc("pool_rejecting", "1 while a pool refuses at least reject_ratio of the shares it answered over reject_window.", "pool")
	descPoolRejectRatio = desc("pool_reject_ratio", "Share of the answered shares each pool refused over reject_window (0 until reject_min_shares were answered).", "pool")
	descFailovers       = desc("pool_failovers_total", "Moves from one pool to another (hashgate_pool_failovers_by_pair_total says which).")
	descSlow            = desc("slow_consumers_total", "Miners cut for not reading their jobs in time.")
	descProtocolErrors  = desc("protocol_errors_total", "Miners dropped for protocol errors (garbage, long lines).")
	descAbuse           = desc("abuse_disconnects_total", "Miners dropped for bad shares.")
	descJobsNotified    = desc("jobs_notified_total", "Job notifications queued to miners.")
	descJobsDropped     = desc("jobs_dropped_total", "Queued jobs replaced by a newer one before a slow miner read them.")
	descJobsDirect      = desc("jobs_direct_total", "Jobs the fan-out wrote whole straight to an idle miner's socket, without a flusher goroutine.")
	descHandOffs        = desc("poller_handoffs_total", "Miners a read poller gave back to a goroutine: a request other than a share, a nearly full queue, or a long batch of lines. Rising with the share count means miners bounce between the two.")
	descPolled          = desc("miners_polled", "TCP miners whose reads an epoll poller holds (no goroutine each).")
	descKeepalives      = desc("parked_keepalives_total", "Messages sent to rigs held without work, so their firmware keeps the pool.")
	descMinersMoved     = desc("miners_moved_total", "Miners moved to a new pool session with mining.set_extranonce.")
	descMinersReconn    = desc("miners_reconnected_total", "client.reconnect sent to miners.")

	descCapacity      = desc("power_capacity_kw", "Site capacity from the policy.")
	descReserve       = desc("power_reserve_kw", "Reserve from the policy.")
	descAI            = desc("power_ai_kw", "kW allocated to AI by the allocation in force.")
	descBudget        = desc("power_mining_budget_kw", "kW mining may draw: capacity - reserve - AI, or tighter by cap mode or the fail-safe (hashgate_power_budget_rule says which).")
	descLoad          = desc("power_mining_load_kw", "Mining load as judged for compliance: each rig's measured draw where its device reports one, else from its state and the policy's figures (a rig parked through Stratum without evidence, pools_bound or a device readback, counts at rig_kw).")
	descLoadEst       = desc("power_mining_load_est_kw", "Mining load estimated from hashrate x J/TH (reported, never used to decide).")
	descCompliant     = desc("power_compliant", "1 when the mining load is within the budget.")
	descETA           = desc("power_eta_seconds", "Estimated seconds until the plan is fully applied.")
	descEmergency     = desc("power_emergency", "1 while an emergency allocation holds every resume.")
	descRigs          = desc("rigs", "Rigs by the switcher's state: mining, parked (held without work by a curtailment), pending (held without work until admitted), offline. hashgate_group_rigs splits it by group.", "state")
	descParked        = desc("rigs_parked", "DEPRECATED, removed in the next release: use hashgate_group_rigs{state=\"parked\"}. Parked rigs by policy group.", "group")
	descPolicyRefused = desc("policy_refused", "1 while the policy file on disk is refused and an older policy stays in force (after an edit, or its last good copy after a start on a broken file).")
	descActions       = desc("switcher_actions_total", "Switcher actions by kind and outcome: applied (decided and sent to the actuator), failed (verification: a curtailed rig kept sending shares, or a resumed one sent none; also counted in applied).", "action", "outcome")
	descActErrors     = desc("switcher_actuator_errors_total", "Actuator calls that returned an error.")
	descPlans         = desc("switcher_plans_total", "Plans made (ticks, allocations, pins).")
	descStatePersist  = desc("switcher_state_persisted", "1 when the switcher's state file holds every decision; 0 while a change is applied but its save fails (retried).")
	descAuditPersist  = desc("switcher_audit_persisted", "1 when the audit log file holds every event; 0 while it cannot be written (events are kept in memory and written when it can).")
	descSaveErrors    = desc("switcher_state_save_errors_total", "Failed writes of the state file.")
	descRigsForgotten = desc("switcher_rigs_forgotten_total", "Rig records forgotten: offline past forget_after, over max_offline_rigs_per_network, DELETE, or bounded at load.")
	descRigsRefused   = desc("switcher_rigs_refused_total", "Rigs the switcher keeps no record of, refused (the proxy answers 24 and closes them) by reason: name (not 1-256 bytes of UTF-8 without control characters), network_full (its network holds max_offline_rigs_per_network records worth keeping).", "reason")
	poolStates        = []string{"active", "standby", "probing", "failed"}
	switcherStates    = []string{switcher.RigMining.String(), switcher.RigParked.String(), switcher.RigPending.String(), switcher.RigOffline.String()}
	refusedReasons    = []string{"not_allowed", "full", "unauthenticated_per_address", "handshake_evicted", "gate_refused"}
	allDescriptions   = []*prometheus.Desc{
		descMiners, descConnections, descConnectionsTot, descRefused, descNamesRefused, descHashrate, descSharesAccepted,
		descSharesRejected, descSharesForwarded, descPoolShares, descBlocks, descHealthy, descPoolState,
		descPoolSessions, descPoolMiners, descPoolFailures, descPoolRejecting, descPoolRejectRatio, descFailovers, descSlow, descProtocolErrors,
		descAbuse, descJobsNotified, descJobsDropped, descJobsDirect, descHandOffs, descPolled, descKeepalives, descMinersMoved, descMinersReconn,
		descCapacity, descReserve, descAI, descBudget, descLoad, descLoadEst, descCompliant, descETA,
		descEmergency, descRigs, descParked, descActions, descActErrors, descPlans,
		descStatePersist, descAuditPersist, descSaveErrors, descRigsForgotten, descRigsRefused,
	}
)

// How parks are counted (see the switcher's planner).
var (
	descLoadPlanned = desc("power_mining_load_planned_kw", "Mining load the plan is made with: every park at idle_kw.")
	descCounted     = desc("rigs_counted", "Rigs by how they are counted in the mining load: mining, parked_bound (pools_bound), parked_verified (device readback), parked_unverified (at rig_kw: nothing shows the park holds), curtail_failed (at rig_kw: parked but still submitting, or its device did not sleep), device_hashing (its device hashes though it is not mining as the switcher sees it: at its measured draw or rig_kw, planned so too), resume_failed (its device did not wake: at its measured draw or idle_kw), left_while_parked, released, offline.", "as")
	descCountedKW   = desc("power_mining_load_counted_kw", "The mining load split by how each rig is counted (the as label of hashgate_rigs_counted).", "as")
)

// Firmware actuators and device readings.
var (
	descLoadMeasured = desc("power_mining_load_measured_kw", "Sum of the power the rigs' devices report (fresh readings); mining_load_kw uses it for those rigs.")
	descRigsMeasured = desc("rigs_measured", "Rigs whose device reports their power.")
	descDevices      = desc("devices", "Rigs read through a firmware API by their device's state (mining, sleeping, unreachable, unknown: not read yet).", "state")
	descDeviceCmds   = desc("device_commands_total", "Firmware commands by action (curtail, resume, set_pools) and outcome: verified (a read back shows it done) or failed (refused, timed out, or not shown done: flagged curtail_failed / resume_failed).", "action", "outcome")
	descDeviceErrors = desc("device_command_errors_total", "Firmware command outcomes that ended with an error (after the fleet's retries).")
	descDeviceReads  = desc("device_readings_total", "Device readings taken by the switcher.")
	deviceStates     = []string{"mining", "sleeping", "unreachable", "unknown"}
)

func init() {
	allDescriptions = append(allDescriptions, descLoadPlanned, descCounted, descCountedKW,
		descLoadMeasured, descRigsMeasured, descDevices, descDeviceCmds, descDeviceErrors, descDeviceReads)
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescriptions {
		ch <- d
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	h := c.h
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}

	accounts, rigs, ws := c.readWorkers()
	byState := countStates(ws)
	var hashrate float64
	rigStates := make(map[string]int, len(switcherStates))
	for i := range ws {
		hashrate += ws[i].HashrateTHs * 1e12
		if ws[i].PowerState != "" {
			rigStates[ws[i].PowerState]++
		}
	}
	for _, s := range States {
		gauge(descMiners, float64(byState[s]), s)
	}
	collectWorkerStates(ws, gauge)
	gauge(descHashrate, hashrate)
	collectBuildInfo(gauge, h.cfg.Version)

	st := h.proxy.Stats()
	gauge(descConnections, float64(st.Connections))
	counter(descConnectionsTot, st.TotalConnections)
	counter(descRefused, st.RefusedNotAllowed, refusedReasons[0])
	counter(descRefused, st.RefusedFull, refusedReasons[1])
	counter(descRefused, st.RefusedPerAddress, refusedReasons[2])
	counter(descRefused, st.EvictedUnauthenticated, refusedReasons[3])
	counter(descRefused, st.RefusedByGate, refusedReasons[4])
	counter(descNamesRefused, st.NamesRefused)
	counter(descSharesAccepted, st.SharesAccepted)
	for reason, n := range st.SharesRejected {
		counter(descSharesRejected, n, reason)
	}
	collectPools(ch, h.proxy.PoolCounters(), st.FanOut, counter)
	counter(descBlocks, st.BlockCandidates)
	counter(descFailovers, st.Failovers)
	counter(descSlow, st.SlowConsumers)
	counter(descProtocolErrors, st.ProtocolErrors)
	counter(descAbuse, st.AbuseDisconnects)
	counter(descJobsNotified, st.JobsNotified)
	counter(descJobsDropped, st.JobsDropped)
	counter(descJobsDirect, st.JobsDirect)
	counter(descHandOffs, st.PollerHandOffs)
	gauge(descPolled, float64(st.MinersPolled))
	counter(descKeepalives, st.Keepalives)
	counter(descMinersMoved, st.MinersMoved)
	counter(descMinersReconn, st.MinersReconnected)

	gauge(descHealthy, b2f(h.proxy.Healthy()))
	for _, p := range h.proxy.Pools() {
		for _, s := range poolStates {
			gauge(descPoolState, b2f(p.State == s), p.Name, s)
		}
		gauge(descPoolSessions, float64(p.Sessions), p.Name)
		gauge(descPoolMiners, float64(p.Miners), p.Name)
		gauge(descPoolFailures, float64(p.Failures), p.Name)
		gauge(descPoolRejecting, b2f(p.Rejecting), p.Name)
		gauge(descPoolRejectRatio, p.RejectRatio, p.Name)
	}

	if h.sw == nil {
		return
	}
	pw, _ := h.power()
	c.collectGroups(ch, accounts, rigs, ws, gauge)
	collectNotCompliant(pw, gauge)
	gauge(descCapacity, pw.CapacityKW)
	gauge(descReserve, pw.ReserveKW)
	gauge(descAI, pw.AIKW)
	gauge(descBudget, pw.MiningBudgetKW)
	gauge(descLoad, pw.MiningLoadKW)
	gauge(descLoadEst, pw.MiningLoadEstKW)
	gauge(descCompliant, b2f(pw.Compliant))
	gauge(descETA, pw.ETASeconds)
	gauge(descEmergency, b2f(pw.Emergency))
	gauge(descPolicyRefused, b2f(pw.PolicyError != ""))
	gauge(descLoadPlanned, pw.MiningLoadPlannedKW)
	// Every way of counting, so series do not come and go.
	for as := range switcher.NumCountedAs {
		l := pw.Counted[as.String()]
		gauge(descCounted, float64(l.Rigs), as.String())
		gauge(descCountedKW, l.KW, as.String())
	}
	for _, s := range switcherStates {
		gauge(descRigs, float64(rigStates[s]), s)
	}
	cs := h.sw.Counters()
	counter(descActions, cs.Curtails.Load(), "curtail", "applied")
	counter(descActions, cs.CurtailFailed.Load(), "curtail", "failed")
	counter(descActions, cs.Resumes.Load(), "resume", "applied")
	counter(descActions, cs.ResumeFailed.Load(), "resume", "failed")
	counter(descActions, cs.Parks.Load(), "park", "applied")
	counter(descActErrors, cs.ActionErrors.Load())
	counter(descPlans, cs.Plans.Load())
	gauge(descStatePersist, b2f(pw.StateError == ""))
	gauge(descAuditPersist, b2f(pw.AuditError == ""))
	counter(descSaveErrors, cs.StateSaveErrors.Load())
	counter(descRigsForgotten, cs.RigsForgotten.Load())
	counter(descRigsRefused, cs.RigsRefusedName.Load(), "name")
	counter(descRigsRefused, cs.RigsRefusedNetwork.Load(), "network_full")
	collectDevices(pw, cs, gauge, counter)
	collectEconomic(pw, gauge) // metrics_price.go
	h.collectCap(pw, cs, gauge, counter)
}

// collectDevices exports the firmware side: measured load, device states
// and command outcomes (every series present, so none come and go).
func collectDevices(pw *Power, cs *switcher.Counters, gauge func(*prometheus.Desc, float64, ...string), counter func(*prometheus.Desc, uint64, ...string)) {
	gauge(descLoadMeasured, pw.MiningLoadMeasuredKW)
	gauge(descRigsMeasured, float64(pw.MeasuredRigs))
	for _, s := range deviceStates {
		gauge(descDevices, float64(pw.Devices[s]), s)
	}
	counter(descDeviceCmds, cs.DeviceCurtailOK.Load(), "curtail", "verified")
	counter(descDeviceCmds, cs.DeviceCurtailFailed.Load(), "curtail", "failed")
	counter(descDeviceCmds, cs.DeviceResumeOK.Load(), "resume", "verified")
	counter(descDeviceCmds, cs.DeviceResumeFailed.Load(), "resume", "failed")
	counter(descDeviceCmds, cs.DevicePoolsOK.Load(), "set_pools", "verified")
	counter(descDeviceCmds, cs.DevicePoolsFailed.Load(), "set_pools", "failed")
	counter(descDeviceErrors, cs.DeviceErrors.Load())
	counter(descDeviceReads, cs.DeviceReadings.Load())
}
