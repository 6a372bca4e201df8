package switcher

// Bounding what the switcher remembers about rigs. Every worker name that
// authorizes becomes a rig record, and records are saved in the state
// file, so anyone who can reach the Stratum port could grow memory and the
// file without end (measured before this bound: 40 s of unique 8 KB names
// took RSS from 58 MiB to 2.19 GiB and the state file to 145 MB). Three
// rules bound it:
//
//   - A record is kept only for a name of 1 to MaxRigName bytes of UTF-8
//     without control characters (the rule pins already had): another
//     name is not admitted (held without work) and gets no record.
//   - Offline records are counted per source network (/24 for IPv4, /64
//     for IPv6 by default). Past MaxOfflinePerNetwork the oldest of them
//     that hold nothing worth keeping are forgotten; when none can be, a
//     new name from that network is not admitted. Live records are
//     bounded by the proxy's connection limit and are never refused.
//   - An offline record that holds nothing worth keeping is forgotten
//     ForgetAfter after it went offline.
//
// Worth keeping: a pin (or a pin made before the rig ever connected), a
// park of a rig curtailed from mining (one that is away may be hashing
// elsewhere; it is counted, and left_while_parked says so; a rig parked at
// admission, never given work, is offline once it disconnects and
// forgettable like any), and a rig that was mining moments ago
// (its room is kept for KnownMiningGrace). Ops forget any offline rig with
// Forget (DELETE /api/v1/rigs/{name}).

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"
	"unicode/utf8"
)

// Why a rig was not admitted or was forgotten, as counters and events say.
const (
	refusedName    = "name"         // a name no record is kept for
	refusedNetwork = "network_full" // its network holds MaxOfflinePerNetwork records worth keeping
	forgotAged     = "offline"      // offline longer than ForgetAfter
	forgotEvicted  = "network_full" // its network had too many offline records
	forgotLoaded   = "state_file"   // dropped while loading the state file
)

// boundReportEvery bounds the log lines and audit events about refused
// and forgotten rigs: a churn of names is one summary a minute.
const boundReportEvery = time.Minute

// boundSample is how many names a summary names.
const boundSample = 5

// boundReport accumulates refusals and forgets between summaries.
type boundReport struct {
	refused   map[string]int
	forgotten map[string]int
	sample    []string
	lastAt    time.Time
}

func (b *boundReport) add(m *map[string]int, reason, name string) {
	if *m == nil {
		*m = map[string]int{}
	}
	(*m)[reason]++
	if len(b.sample) < boundSample {
		b.sample = append(b.sample, shortName(name))
	}
}

// sampleNameBytes bounds a name in a summary: the names refused are the
// long ones, and a summary must not carry 8 KB of each.
const sampleNameBytes = 64

func shortName(name string) string {
	if len(name) <= sampleNameBytes {
		return name
	}
	cut := sampleNameBytes
	for cut > 0 && !utf8.RuneStart(name[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes)", name[:cut], len(name))
}

// rigNetwork is the network a remote address counts in. Addresses that
// are not IP (in-memory connections) and records loaded from an old state
// file share the zero Prefix.
func (s *Switcher) rigNetwork(remote string) netip.Prefix {
	var a netip.Addr
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		a = ap.Addr()
	} else if a, err = netip.ParseAddr(remote); err != nil {
		return netip.Prefix{}
	}
	a = a.Unmap().WithZone("")
	bits := s.cfg.NetworkPrefixV4
	if a.Is6() {
		bits = s.cfg.NetworkPrefixV6
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return netip.Prefix{}
	}
	return p
}

// markOfflineLocked counts r (no live connection) in its network; a rig
// in the inventory is not counted (its records are bounded by the
// inventory).
func (s *Switcher) markOfflineLocked(r *rigRec) {
	if r.listed {
		return
	}
	set := s.offline[r.net]
	if set == nil {
		set = map[*rigRec]struct{}{}
		s.offline[r.net] = set
	}
	set[r] = struct{}{}
}

// markOnlineLocked stops counting r as offline.
func (s *Switcher) markOnlineLocked(r *rigRec) {
	if set := s.offline[r.net]; set != nil {
		delete(set, r)
		if len(set) == 0 {
			delete(s.offline, r.net)
		}
	}
}

func (s *Switcher) deleteRigLocked(r *rigRec) {
	s.markOnlineLocked(r)
	delete(s.rigs, r.name)
	s.dirty, s.stale = true, true
}

// forgettable: offline and holding nothing worth keeping.
func (s *Switcher) forgettable(r *rigRec, now time.Time) bool {
	return r.conns == 0 && r.state == RigOffline && r.pin == PinAuto && !r.pinnedAhead && !r.listed &&
		!(r.knownMining && now.Before(r.knownUntil))
}

// evictLocked forgets the oldest forgettable offline records of network n
// until it holds at most keep, and returns their names.
func (s *Switcher) evictLocked(n netip.Prefix, keep int, now time.Time) []string {
	set := s.offline[n]
	over := len(set) - keep
	if over <= 0 {
		return nil
	}
	var cand []*rigRec
	for r := range set {
		if s.forgettable(r, now) {
			cand = append(cand, r)
		}
	}
	slices.SortFunc(cand, func(a, b *rigRec) int {
		if c := a.since.Compare(b.since); c != 0 {
			return c
		}
		return cmp.Compare(a.name, b.name)
	})
	cand = cand[:min(over, len(cand))]
	return s.forgetLocked(cand, forgotEvicted)
}

// forgetLocked drops records the bounds forget, and returns their names.
func (s *Switcher) forgetLocked(recs []*rigRec, reason string) []string {
	names := make([]string, len(recs))
	s.devDirty = s.devDirty || len(recs) > 0
	for i, r := range recs {
		s.deleteRigLocked(r)
		names[i] = r.name
		s.bound.add(&s.bound.forgotten, reason, r.name)
	}
	s.counters.RigsForgotten.Add(uint64(len(recs)))
	return names
}

// evictBatch: an over-full network is brought down to 90 % of the cap, so
// a churn of names pays one scan of the network per tenth of the cap.
func evictBatch(limit int) int { return limit - limit/10 }

// admitNewLocked decides whether a name with no record may have one: its
// name is one a record is kept for, and its network has room. It returns
// the reason it may not ("" when it may) and records evicted to make room.
func (s *Switcher) admitNewLocked(name string, n netip.Prefix, now time.Time) (refused string, evicted []string) {
	if validRigName(name) != nil {
		refused = refusedName
	} else if limit := s.cfg.MaxOfflinePerNetwork; limit > 0 && len(s.offline[n]) >= limit {
		evicted = s.evictLocked(n, evictBatch(limit), now)
		if len(s.offline[n]) >= limit {
			refused = refusedNetwork
		}
	}
	if refused != "" {
		s.bound.add(&s.bound.refused, refused, name)
		if refused == refusedName {
			s.counters.RigsRefusedName.Add(1)
		} else {
			s.counters.RigsRefusedNetwork.Add(1)
		}
	}
	return refused, evicted
}

// forgetAgedLocked forgets the forgettable records offline longer than
// ForgetAfter. It scans the offline records at most every sweepEvery.
func (s *Switcher) forgetAgedLocked(now time.Time) []string {
	every := min(10*time.Second, s.cfg.ForgetAfter/4)
	if now.Sub(s.lastSweep) < every {
		return nil
	}
	s.lastSweep = now
	var old []*rigRec
	for _, set := range s.offline {
		for r := range set {
			if s.forgettable(r, now) && now.Sub(r.since) >= s.cfg.ForgetAfter {
				old = append(old, r)
			}
		}
	}
	return s.forgetLocked(old, forgotAged)
}

// reportBoundLocked logs and audits what was refused and forgotten since
// the last summary, at most once per boundReportEvery.
func (s *Switcher) reportBoundLocked(now time.Time) {
	b := &s.bound
	if len(b.refused)+len(b.forgotten) == 0 || now.Sub(b.lastAt) < boundReportEvery {
		return
	}
	if len(b.refused) > 0 {
		s.log.Warn().Interface("by_reason", b.refused).Strs("sample", b.sample).
			Int("max_offline_per_network", s.cfg.MaxOfflinePerNetwork).
			Msg("rigs not admitted: a name no record is kept for (1-256 bytes of UTF-8, no control characters), or a network full of offline rigs")
		s.event(Event{Kind: EventRigsRefused, Fields: map[string]any{"by_reason": b.refused, "sample": b.sample}})
	}
	if len(b.forgotten) > 0 {
		s.log.Info().Interface("by_reason", b.forgotten).Strs("sample", b.sample).Dur("forget_after", s.cfg.ForgetAfter).
			Msg("offline rigs forgotten")
		s.event(Event{Kind: EventForget, Fields: map[string]any{"by_reason": b.forgotten, "sample": b.sample}})
	}
	*b = boundReport{lastAt: now}
}

// Forgetter is implemented by an Actuator that keeps something per rig
// (the Stratum bridge: the proxy's account of the worker); it is told the
// names the switcher forgot, outside the switcher's lock.
type Forgetter interface {
	Forget(rigs []string)
}

func (s *Switcher) tellForgotten(names []string) {
	if len(names) == 0 {
		return
	}
	if f, ok := s.act.(Forgetter); ok {
		f.Forget(names)
	}
}

// ErrRigConnected refuses to forget a rig that has a live connection: its
// record is what the connection is counted by.
var ErrRigConnected = errors.New("rig is connected")

// ErrRigListed refuses to forget a rig in the rig inventory: the
// inventory makes its record.
var ErrRigListed = errors.New("rig is in the inventory")

// Forget drops the record of a rig that is not connected, whatever it
// holds (a pin, a park, left_while_parked): ops use it for a rig that was
// taken away. It is audited with who. A rig that connects later is new.
// A NotPersistedError says it was done but could not be saved yet.
func (s *Switcher) Forget(name, who string) (was RigStatus, err error) {
	s.mu.Lock()
	r := s.rigs[name]
	switch {
	case r == nil:
		s.mu.Unlock()
		return RigStatus{}, fmt.Errorf("%w %q", ErrUnknownRig, name)
	case r.conns > 0:
		s.mu.Unlock()
		return RigStatus{}, fmt.Errorf("%w: %q has %d live connection(s); it can be forgotten once it disconnects", ErrRigConnected, name, r.conns)
	case r.listed:
		s.mu.Unlock()
		return RigStatus{}, fmt.Errorf("%w: %q is in the rig inventory; remove it there (the inventory is reloaded with the policy)", ErrRigListed, name)
	}
	was = RigStatus{Name: name, Group: r.group.Name, State: r.state.String(), Since: r.since, Pin: string(r.pin), PinReason: r.pinReason, Flags: []string{}}
	if r.leftParked {
		was.Flags = append(was.Flags, FlagLeftWhileParked)
	}
	s.deleteRigLocked(r)
	s.devDirty = true
	s.counters.RigsForgotten.Add(1)
	s.event(Event{Kind: EventForget, Who: who, Rig: name, Fields: map[string]any{"state": was.State, "pin": was.Pin, "left_while_parked": r.leftParked}})
	err = s.persistLocked()
	s.mu.Unlock()
	s.poke() // a forgotten left_while_parked rig no longer counts
	s.tellForgotten([]string{name})
	s.log.Info().Str("who", who).Str("worker", name).Str("state", was.State).Msg("rig forgotten")
	return was, err
}

// boundLoadedLocked applies the bounds to the records of a state file
// written before them: names no record is kept for (unless pinned: ops
// made those), records past ForgetAfter, and over-full networks.
func (s *Switcher) boundLoadedLocked(now time.Time) {
	var drop []*rigRec
	for _, r := range s.rigs {
		pinned := r.pin != PinAuto || r.pinnedAhead
		if (!pinned && validRigName(r.name) != nil) || (s.forgettable(r, now) && now.Sub(r.since) >= s.cfg.ForgetAfter) {
			drop = append(drop, r)
		}
	}
	s.forgetLocked(drop, forgotLoaded)
	if limit := s.cfg.MaxOfflinePerNetwork; limit > 0 {
		for n, set := range s.offline {
			if len(set) > limit {
				s.evictLocked(n, limit, now)
			}
		}
	}
}
