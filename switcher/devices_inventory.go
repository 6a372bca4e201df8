package switcher

// The rig inventory: rigs managed and counted whether or not they connect
// through the proxy (see devices.go).

import "time"

// SetInventory puts the rig inventory in force: every rig listed is
// managed and counted whether or not it connects through the proxy, and
// reached at its listed address. A rig listed that the switcher does not
// hold parked is counted as mining at its group's rig_kw (the safe side)
// until its device reports otherwise. Records of listed rigs are bounded
// by the inventory and are neither capped per network nor forgotten while
// listed; a rig no longer listed goes back to the common rules. Call it
// before Start (after New), so the first plan counts the inventory.
// Entries with a name no record is kept for, or no address, are skipped
// (the inventory's parser refuses them first).
func (s *Switcher) SetInventory(rigs []InventoryRig) {
	now := s.cfg.Now()
	want := make(map[string]string, len(rigs))
	skipped := 0
	for _, ir := range rigs {
		if validRigName(ir.Name) != nil || ir.Address == "" {
			skipped++
			continue
		}
		want[ir.Name] = ir.Address
	}
	s.mu.Lock()
	removed, added := 0, 0
	for name, r := range s.rigs {
		if _, ok := want[name]; r.listed && !ok {
			s.unlistLocked(r, now)
			removed++
		}
	}
	for name, addr := range want {
		r := s.rigs[name]
		if r == nil {
			r = &rigRec{name: name, group: s.policy.GroupFor(name), state: RigMining}
			s.rigs[name] = r
			added++
		}
		if !r.listed {
			s.markOnlineLocked(r) // not counted in its network's offline records any more
			r.listed, r.pinnedAhead = true, false
			if r.conns == 0 && r.state != RigParked {
				r.state, r.knownMining = RigMining, false
			}
		}
		r.devAddr = addr
	}
	s.stale, s.dirty, s.devDirty = true, true, true
	s.mu.Unlock()
	if skipped > 0 {
		s.log.Warn().Int("skipped", skipped).Msg("inventory: entries without a valid name or address skipped")
	}
	s.log.Info().Int("rigs", len(want)).Int("new", added).Int("removed", removed).Msg("inventory in force")
	s.event(Event{Kind: EventInventory, Fields: map[string]any{"rigs": len(want), "new": added, "removed": removed, "skipped": skipped}})
	s.poke()
}

// unlistLocked returns r, no longer in the inventory, to the common
// rules: reached at its remote host when it connects, offline (and
// counted in its network) when it does not, unless it is a firmware rig
// held parked, which its device still reaches.
func (s *Switcher) unlistLocked(r *rigRec, now time.Time) {
	r.listed = false
	if h := remoteHost(r.remote); r.conns > 0 && h != "" {
		r.devAddr = h
	}
	if r.conns > 0 {
		return
	}
	switch {
	case r.state == RigParked && s.deviceActsLocked(r):
	case r.state == RigParked:
		if r.awaySince.IsZero() {
			r.awaySince = now
		}
	case r.state == RigMining:
		r.state, r.since = RigOffline, now
		r.knownMining, r.knownUntil, r.knownByReconnect = true, now.Add(s.cfg.KnownMiningGrace), true
	default:
		r.state, r.since = RigOffline, now
	}
	s.markOfflineLocked(r)
}
