package config

import (
	"net/url"
	"strings"
	"time"
)

// Price is the [price] table: where the power price (and, optionally,
// the hashprice) is read for economic curtailment (the policy's
// [economic] table says what is done with them).
//
//	[price]
//	source = "http"                     # "http" | "mqtt"
//	url = "https://prices.example/rt"   # http: a JSON document
//	field = "data.price_usd_per_mwh"    # http: dotted path to the number, USD/MWh
//	interval = "1m"                     # http: how often it is read (default 1m)
//	hashprice_url = "https://hp.example/hashprice"  # optional, USD per PH/s per day
//	hashprice_field = "data.hashprice"              # required with hashprice_url
//	hashprice_interval = "1h"                       # default 1h
//
// source = "mqtt": the price arrives on the grid signal subscription (the
// [mqtt] table), as {"price_usd_per_mwh": N}, delivered to the switcher's
// SetPrice; url, field and interval are not taken then.
//
// The reads are made by the meter Poller (switcher/meter) with an
// httpjson source each: a read's deadline is the Poller's, three
// quarters of the interval and at most 10 s. A URL may carry credentials
// (user:password@, HTTP basic auth) or an API key in its query: errors
// and logs show a price URL as scheme://host/path only (PriceURLForLog).
type Price struct {
	Source            string // "" (no [price] table), "http" or "mqtt"
	URL               string
	Field             string
	Interval          Duration
	HashpriceURL      string
	HashpriceField    string
	HashpriceInterval Duration
}

// Price sources.
const (
	PriceHTTP = "http"
	PriceMQTT = "mqtt"
)

// Defaults of the [price] table.
const (
	DefaultPriceInterval     = time.Minute
	DefaultHashpriceInterval = time.Hour
)

var priceKeys = []string{"source", "url", "field", "interval", "hashprice_url", "hashprice_field", "hashprice_interval"}

// price reads the [price] table (absent: c stays zero, no price input);
// mqtt says whether the [mqtt] table is there (source = "mqtt" needs it).
func (d *decoder) price(raw map[string]any, c *Price, mqtt bool) {
	m, ok := d.Table(raw, "", "price")
	if !ok {
		return
	}
	const p = "price"
	*c = Price{Interval: Duration{DefaultPriceInterval}, HashpriceInterval: Duration{DefaultHashpriceInterval}}
	d.Unknown(p, m, priceKeys)
	if _, ok := m["source"]; !ok {
		d.Errorf(p, `price: source is required: "http" (a JSON document read every interval) or "mqtt" (the [mqtt] subscription)`)
	} else if d.Str(m, p, "source", &c.Source) && c.Source != PriceHTTP && c.Source != PriceMQTT {
		d.Errorf(p+".source", `price.source: %q is not a price source; expected "http" or "mqtt"`, c.Source)
	}
	d.Duration(m, p, "interval", &c.Interval.Duration)
	switch c.Source {
	case PriceHTTP:
		d.priceURL(m, p, "url", "field", &c.URL, &c.Field, true)
	case PriceMQTT:
		if !mqtt {
			d.Errorf(p+".source", `price.source: "mqtt" needs the [mqtt] table: the price arrives on its subscription as {"price_usd_per_mwh": N}`)
		}
		for _, k := range []string{"url", "field", "interval"} {
			if _, ok := m[k]; ok {
				d.Errorf(p+"."+k, "price.%s: not taken with source = \"mqtt\": the price arrives on the [mqtt] subscription", k)
			}
		}
	}
	d.priceURL(m, p, "hashprice_url", "hashprice_field", &c.HashpriceURL, &c.HashpriceField, false)
	d.Duration(m, p, "hashprice_interval", &c.HashpriceInterval.Duration)
}

// priceURL reads a URL key and its field key; required: the URL must be
// there.
func (d *decoder) priceURL(m map[string]any, p, urlKey, fieldKey string, dst, field *string, required bool) {
	_, hasURL := m[urlKey]
	switch {
	case !hasURL && required:
		d.Errorf(p, `price: %s is required with source = "http", e.g. %s = "https://prices.example/rt"`, urlKey, urlKey)
	case hasURL && d.Str(m, p, urlKey, dst):
		if err := checkPriceURL(*dst); err != "" {
			d.Errorf(p+"."+urlKey, "price.%s %q: %s", urlKey, PriceURLForLog(*dst), err)
		}
	}
	_, hasField := m[fieldKey]
	switch {
	case !hasField && hasURL:
		d.Errorf(p, `price: %s is required with %s: a dotted path to the number in the JSON, e.g. %s = "data.price"`, fieldKey, urlKey, fieldKey)
	case hasField && !hasURL && !required:
		d.Errorf(p+"."+fieldKey, "price.%s: set without %s", fieldKey, urlKey)
	case hasField && d.Str(m, p, fieldKey, field):
		if err := CheckFieldPath(*field); err != "" {
			d.Errorf(p+"."+fieldKey, "price.%s %q: %s", fieldKey, *field, err)
		}
	}
}

// checkPriceURL says what is wrong with a price URL ("" when nothing).
func checkPriceURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "":
		return "not an absolute URL such as https://prices.example/rt"
	case u.Scheme != "http" && u.Scheme != "https":
		return "scheme must be http or https"
	}
	return ""
}

// CheckFieldPath says what is wrong with a dotted JSON path such as
// "data.price" ("" when nothing): one or more non-empty names separated
// by dots.
func CheckFieldPath(s string) string {
	if s == "" {
		return "must not be empty"
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" {
			return `an empty name between dots; write names separated by single dots, e.g. "data.price"`
		}
	}
	return ""
}

// PriceURLForLog is a price URL without its userinfo, query and fragment
// (which may hold an API key): scheme://host/path.
func PriceURLForLog(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid URL)"
	}
	u.User, u.RawQuery, u.Fragment, u.RawFragment = nil, "", "", ""
	u.ForceQuery = false
	return u.String()
}
