package api

import (
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	descBuild        = desc("build_info", "1, labelled with the build: version (the module version, or BuildVersion when the binary sets it), revision (the VCS commit, \"unknown\" when not recorded; a -dirty suffix for uncommitted changes) and goversion.", "version", "revision", "goversion")
	descNotCompliant = desc("power_not_compliant", "1 for the reason the site is not compliant, 0 for the others (all 0 while compliant): no_plan (no plan made yet), over_allocated (the AI allocation and the reserve exceed the capacity), parks_unverified (the plan fits, but parks without evidence, or still submitting, count at rig_kw), left_while_parked (over even as planned, with parked rigs that left counted at rig_kw), nothing_to_curtail (over even as planned: rigs pinned on, the idle draw of parked rigs). The status's not_compliant_reason says it in words.", "reason")
)

func init() { allDescriptions = append(allDescriptions, descBuild, descNotCompliant) }

// BuildVersion is the version hashgate_build_info shows; empty: the main
// module's version as Go recorded it ("(devel)" for a local build). The
// binary sets it from the version it was built with.
var BuildVersion string

var buildLabels = sync.OnceValue(func() [3]string {
	version, revision, dirty := "", "unknown", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		version = bi.Main.Version
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if dirty {
		revision += "-dirty"
	}
	if version == "" {
		version = "unknown"
	}
	return [3]string{version, revision, runtime.Version()}
})

func collectBuildInfo(gauge func(*prometheus.Desc, float64, ...string)) {
	l := buildLabels()
	if BuildVersion != "" {
		l[0] = BuildVersion
	}
	gauge(descBuild, 1, l[0], l[1], l[2])
}

// Reasons of hashgate_power_not_compliant, every one exported.
var notCompliantReasons = []string{"no_plan", "over_allocated", "parks_unverified", "left_while_parked", "nothing_to_curtail"}

// notCompliantReason classifies the status's not_compliant_reason from
// the figures it is made from ("" when compliant).
func notCompliantReason(pw *Power) string {
	switch {
	case pw.Compliant:
		return ""
	case pw.NotCompliantReason == noPlanReason:
		return "no_plan"
	case pw.CapacityKW-pw.ReserveKW-pw.AIKW < -1e-9:
		return "over_allocated"
	case pw.PlannedCompliant:
		return "parks_unverified"
	case pw.Counted["left_while_parked"].Rigs > 0:
		return "left_while_parked"
	}
	return "nothing_to_curtail"
}

// noPlanReason is the switcher's not_compliant_reason before its first plan.
const noPlanReason = "no plan made yet"

func collectNotCompliant(pw *Power, gauge func(*prometheus.Desc, float64, ...string)) {
	why := notCompliantReason(pw)
	for _, r := range notCompliantReasons {
		gauge(descNotCompliant, b2f(r == why), r)
	}
}
