package switcher

import "time"

// Economic curtailment across a restart: the groups curtailed for the
// price, since when, and the last good price and hashprice, kept in the
// state file. A restart is no evidence the price fell: without this,
// every group curtailed for the price would resume at start (a decision
// lost) and, min_hold later, be curtailed again when the price came back.
//
// The price read before the restart is still judged by its own time; and
// a price the restart made stale (hashgate down longer than
// price_stale_after) is given price_stale_after from the start for a
// first new reading before economic curtailment stops, as a meter is
// given its stale_after.

// persistedEcon is the economic part of the state file.
type persistedEcon struct {
	Price     *persistedPrice               `json:"price,omitempty"`
	Hashprice *persistedPrice               `json:"hashprice,omitempty"`
	Groups    map[string]persistedEconGroup `json:"groups,omitempty"`
}

// persistedPrice is a good reading: a price in USD/MWh or a hashprice in
// USD per PH/s per day.
type persistedPrice struct {
	Value  float64   `json:"value"`
	At     time.Time `json:"at"`
	Source string    `json:"source,omitempty"`
}

type persistedEconGroup struct {
	Curtailed bool      `json:"curtailed"`
	Since     time.Time `json:"since"`
}

// persistEconLocked is the economic state to save (nil: nothing to keep).
func (s *Switcher) persistEconLocked() *persistedEcon {
	e := &s.econ
	pe := &persistedEcon{}
	if !e.price.At.IsZero() {
		pe.Price = &persistedPrice{Value: e.price.USDPerMWh, At: e.price.At.UTC(), Source: e.price.Source}
	}
	if !e.hash.At.IsZero() {
		pe.Hashprice = &persistedPrice{Value: e.hash.USDPerPHDay, At: e.hash.At.UTC(), Source: e.hash.Source}
	}
	for name, g := range e.groups {
		if g.curtailed {
			if pe.Groups == nil {
				pe.Groups = map[string]persistedEconGroup{}
			}
			pe.Groups[name] = persistedEconGroup{Curtailed: true, Since: g.since.UTC()}
		}
	}
	if pe.Price == nil && pe.Hashprice == nil && pe.Groups == nil {
		return nil
	}
	return pe
}

// restoreEcon puts the saved economic state back at start (now).
func (s *Switcher) restoreEcon(pe *persistedEcon, now time.Time) {
	if pe == nil {
		return
	}
	e := &s.econ
	if p := pe.Price; p != nil {
		e.price = PriceReading{USDPerMWh: p.Value, At: p.At, Source: p.Source}
	}
	if h := pe.Hashprice; h != nil {
		e.hash = HashpriceReading{USDPerPHDay: h.Value, At: h.At, Source: h.Source}
	}
	e.groups = map[string]*econGroup{}
	for name, g := range pe.Groups {
		e.groups[name] = &econGroup{curtailed: g.Curtailed, since: g.Since}
	}
	e.restartGrace = now.Add(s.policy.Economic.PriceStaleAfter)
}
