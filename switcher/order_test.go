package switcher

import (
	"cmp"
	"slices"
)

// The planner's order written plainly, as a reference the tests hold the
// planner's own (sort keys made once per plan, plansteps.go) against.

// CompareRigs is the planner's order: priority desc, J/TH asc, name asc.
// A nil Group sorts as priority 0, 0 J/TH.
func CompareRigs(a, b *Rig) int {
	var pa, pb int
	var ea, eb float64
	if a.Group != nil {
		pa, ea = a.Group.Priority, a.Group.EfficiencyJTH
	}
	if b.Group != nil {
		pb, eb = b.Group.Priority, b.Group.EfficiencyJTH
	}
	if c := cmp.Compare(pb, pa); c != 0 {
		return c
	}
	if c := cmp.Compare(ea, eb); c != 0 {
		return c
	}
	return cmp.Compare(a.Name, b.Name)
}

// Order sorts rigs (stably) into the planner's order; its head mines
// longest. Groups should be resolved (see CompareRigs).
func Order(rigs []Rig) {
	slices.SortStableFunc(rigs, func(a, b Rig) int { return CompareRigs(&a, &b) })
}
