package registers

import (
	"math"
	"time"

	"github.com/hashgate/hashgate/switcher"
)

// MapVersion is the register map's version, served at AddrMapVersion; it
// changes when an address or a meaning does.
const MapVersion = 1

// The register map (0-based addresses, the same in the holding and the
// input registers). A float32 or uint32 is two registers, high word first,
// each word big-endian. See doc.go for the table.
const (
	AddrMiningLoadKW     = 0  // float32 kW: the mining load as reported and judged
	AddrMiningBudgetKW   = 2  // float32 kW: the mining budget in force
	AddrCapKW            = 4  // float32 kW: the site cap in force (0: no cap mode)
	AddrAIMeasuredKW     = 6  // float32 kW: measured non-mining load (0 when unknown; flag bit)
	AddrSiteLoadKW       = 8  // float32 kW: measured site load (0 when unknown; flag bit)
	AddrCapacityKW       = 10 // float32 kW: the policy's site capacity
	AddrPriceUSDPerMWh   = 12 // float32 USD/MWh: the power price in force (0 when unknown; flag bit)
	AddrAIAllocatedKW    = 14 // float32 kW: the AI allocation in force
	AddrMiningMeasuredKW = 16 // float32 kW: the sum of the devices' reported power
	AddrReserveKW        = 18 // float32 kW: the policy's reserve
	AddrCurtailedRigs    = 20 // uint32: rigs parked by the switcher
	AddrConnectedRigs    = 22 // uint32: miners connected to the proxy
	AddrCounter          = 24 // uint32: refreshes since start (wraps)
	AddrTimestamp        = 26 // uint32 unix seconds: when the snapshot was taken
	AddrCompliant        = 28 // uint16 0/1: the mining load is within the budget
	AddrFailsafe         = 29 // uint16 0/1: the mining budget is the fail-safe budget
	AddrFlags            = 30 // uint16 bit field (Flag...)
	AddrMapVersion       = 31 // uint16: MapVersion

	// NumRegisters is the map's size: addresses 0..NumRegisters-1.
	NumRegisters = 32
)

// Bits of the register at AddrFlags.
const (
	FlagCompliant       = 1 << 0 // as AddrCompliant
	FlagFailsafe        = 1 << 1 // as AddrFailsafe
	FlagEmergency       = 1 << 2 // the allocation in force is an emergency one
	FlagAIMeasured      = 1 << 3 // AddrAIMeasuredKW holds a measurement
	FlagSiteLoadMeasure = 1 << 4 // AddrSiteLoadKW holds a measurement
	FlagPriceKnown      = 1 << 5 // AddrPriceUSDPerMWh holds a price
	FlagCapMode         = 1 << 6 // a site cap is in force
)

// Snapshot is the register block as served: NumRegisters words.
type Snapshot [NumRegisters]uint16

// Encode fills a snapshot from a status, the connected miners, the
// refresh counter and the time it was taken.
func Encode(st *switcher.Status, connected int64, counter uint32, at time.Time) *Snapshot {
	var s Snapshot
	s.float(AddrMiningLoadKW, st.MiningLoadKW)
	s.float(AddrMiningBudgetKW, st.MiningBudgetKW)
	s.float(AddrCapKW, st.CapKW)
	flags := uint16(0)
	if st.AIKWMeasured != nil {
		s.float(AddrAIMeasuredKW, *st.AIKWMeasured)
		flags |= FlagAIMeasured
	}
	if st.SiteLoadKW != nil {
		s.float(AddrSiteLoadKW, *st.SiteLoadKW)
		flags |= FlagSiteLoadMeasure
	}
	s.float(AddrCapacityKW, st.CapacityKW)
	if st.PriceUSDPerMWh != nil {
		s.float(AddrPriceUSDPerMWh, *st.PriceUSDPerMWh)
		flags |= FlagPriceKnown
	}
	s.float(AddrAIAllocatedKW, st.AIKW)
	s.float(AddrMiningMeasuredKW, st.MiningLoadMeasuredKW)
	s.float(AddrReserveKW, st.ReserveKW)
	s.uint32(AddrCurtailedRigs, uint32(max(st.Curtailed, 0)))
	s.uint32(AddrConnectedRigs, uint32(min(max(connected, 0), math.MaxUint32)))
	s.uint32(AddrCounter, counter)
	s.uint32(AddrTimestamp, uint32(min(max(at.Unix(), 0), math.MaxUint32)))
	if st.Compliant {
		s[AddrCompliant] = 1
		flags |= FlagCompliant
	}
	if st.Failsafe {
		s[AddrFailsafe] = 1
		flags |= FlagFailsafe
	}
	if st.Emergency {
		flags |= FlagEmergency
	}
	if st.CapKW > 0 {
		flags |= FlagCapMode
	}
	s[AddrFlags] = flags
	s[AddrMapVersion] = MapVersion
	return &s
}

// float writes v as a float32 at addr (NaN and infinities as 0: a SCADA
// reads a number).
func (s *Snapshot) float(addr int, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	s.uint32(addr, math.Float32bits(float32(v)))
}

func (s *Snapshot) uint32(addr int, v uint32) {
	s[addr], s[addr+1] = uint16(v>>16), uint16(v)
}

// Float reads the float32 at addr.
func (s *Snapshot) Float(addr int) float32 { return math.Float32frombits(s.Uint32(addr)) }

// Uint32 reads the uint32 at addr.
func (s *Snapshot) Uint32(addr int) uint32 { return uint32(s[addr])<<16 | uint32(s[addr+1]) }
