package site

import (
	"fmt"

	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/switcher"
	"github.com/hashgate/hashgate/switcher/meter"
	"github.com/hashgate/hashgate/switcher/meter/httpjson"
)

// The power price and hashprice inputs of economic curtailment (the
// config's [price] table; the policy's [economic] says what is done with
// them). With source = "http" they are read like meters: one meter
// Poller of its own with up to two meters, "price" (url + field, every
// interval) and "hashprice" (hashprice_url + hashprice_field, every
// hashprice_interval), each an httpjson source (switcher/meter/httpjson);
// priceSink hands their readings to the switcher. With source = "mqtt"
// the grid subscription delivers {"price_usd_per_mwh": N} to
// Switcher.SetPrice itself (site/grid.go); a hashprice_url is still read
// by a Poller.

// The price Poller's meter names (Reading.Meter); the number a reading
// carries in its KW field is USD/MWh for the first and USD per PH/s per
// day for the second (httpjson reads "one number", whatever its unit).
const (
	priceMeter     = "price"
	hashpriceMeter = "hashprice"
)

// priceSpecs are the price Poller's meters as the config's [price] table
// gives them (none without one): the price itself with source = "http",
// the hashprice with a hashprice_url. where says, by meter name, what
// each reads, for the switcher's status and audit (the URL without its
// credentials and query).
func priceSpecs(c config.Price) (specs []meter.Spec, where map[string]string) {
	where = map[string]string{}
	if c.Source == config.PriceHTTP {
		specs = append(specs, meter.Spec{Name: priceMeter, Measures: priceMeter, Interval: c.Interval.Duration})
		where[priceMeter] = config.PriceURLForLog(c.URL) + " " + c.Field
	}
	if c.HashpriceURL != "" {
		specs = append(specs, meter.Spec{Name: hashpriceMeter, Measures: hashpriceMeter, Interval: c.HashpriceInterval.Duration})
		where[hashpriceMeter] = config.PriceURLForLog(c.HashpriceURL) + " " + c.HashpriceField
	}
	return specs, where
}

// priceSink is the price Poller's sink: each reading goes to the
// switcher as a price or a hashprice, a failed one as such (the last good
// value ages); a reading of any other meter is not the Poller's and is
// dropped.
func priceSink(sw *switcher.Switcher, where map[string]string) func(meter.Reading) {
	return func(r meter.Reading) {
		switch r.Meter {
		case priceMeter:
			sw.SetPrice(switcher.PriceReading{USDPerMWh: r.KW, At: r.At, Source: where[priceMeter], Err: r.Err})
		case hashpriceMeter:
			sw.SetHashprice(switcher.HashpriceReading{USDPerPHDay: r.KW, At: r.At, Source: where[hashpriceMeter], Err: r.Err})
		}
	}
}

// newPrice builds the price Poller: none without a switcher or without
// an HTTP price or hashprice to read.
func (s *Site) newPrice() error {
	specs, where := priceSpecs(s.cfg.Price)
	if len(specs) == 0 || s.switcher == nil {
		return nil
	}
	c := s.cfg.Price
	var ms []meter.Meter
	for _, sp := range specs {
		url, field := c.URL, c.Field
		if sp.Name == hashpriceMeter {
			url, field = c.HashpriceURL, c.HashpriceField
		}
		src, err := httpjson.New(httpjson.Config{URL: url, Field: field})
		if err != nil {
			closeSources(ms)
			return fmt.Errorf("[price] %s: %w", sp.Name, err)
		}
		ms = append(ms, meter.Meter{Spec: sp, Source: src})
	}
	p, err := s.newPoller(ms, priceSink(s.switcher, where), "price")
	s.price = p
	return err
}
