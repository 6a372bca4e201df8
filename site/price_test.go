package site

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/switcher"
	"github.com/hashgate/hashgate/switcher/meter"
	"github.com/rs/zerolog"
)

func TestPriceSpecs(t *testing.T) {
	c := config.Price{Source: config.PriceHTTP, URL: "https://u:p@prices.example/rt?key=SECRET", Field: "data.price",
		Interval: config.Duration{Duration: time.Minute}, HashpriceURL: "https://hp.example/v1", HashpriceField: "hp",
		HashpriceInterval: config.Duration{Duration: time.Hour}}
	specs, where := priceSpecs(c)
	if len(specs) != 2 || specs[0].Name != priceMeter || specs[0].Interval != time.Minute || specs[1].Name != hashpriceMeter || specs[1].Interval != time.Hour {
		t.Fatalf("specs %+v, want price every 1m and hashprice every 1h", specs)
	}
	if got := where[priceMeter]; got != "https://prices.example/rt data.price" {
		t.Errorf("price source %q, want the URL without credentials or query, and the field", got)
	}
	c.Source = config.PriceMQTT
	if specs, _ := priceSpecs(c); len(specs) != 1 || specs[0].Name != hashpriceMeter {
		t.Errorf("mqtt: specs %+v, want the hashprice only", specs)
	}
	if specs, _ := priceSpecs(config.Price{}); len(specs) != 0 {
		t.Errorf("no [price]: specs %+v, want none", specs)
	}
}

// The sink hands readings to a real switcher: price, hashprice, a failed
// read; another meter's reading is dropped.
func TestPriceSink(t *testing.T) {
	dir := t.TempDir()
	pol, err := switcher.ParsePolicy("policy.toml", []byte(testPolicy+"\n[economic]\nenabled = true\n"))
	if err != nil {
		t.Fatal(err)
	}
	sw, err := switcher.New(switcher.Config{StatePath: filepath.Join(dir, "state.json"), AuditPath: filepath.Join(dir, "audit.jsonl")}, pol, nopActuator{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sw.Close()
	sink := priceSink(sw, map[string]string{priceMeter: "https://p/rt data.price", hashpriceMeter: "https://hp/ hp"})
	now := time.Now()
	sink(meter.Reading{Meter: priceMeter, KW: 88.5, At: now})
	sink(meter.Reading{Meter: hashpriceMeter, KW: 48, At: now})
	sink(meter.Reading{Meter: "ai-racks", KW: 1e6, At: now})
	ec := sw.Economic()
	if ec.PriceUSDPerMWh == nil || *ec.PriceUSDPerMWh != 88.5 || ec.PriceSource != "https://p/rt data.price" {
		t.Fatalf("price %v from %q, want 88.5 from the price meter", ec.PriceUSDPerMWh, ec.PriceSource)
	}
	if ec.HashpriceUSDPerPHDay == nil || *ec.HashpriceUSDPerPHDay != 48 || ec.HashpriceSource != "https://hp/ hp" {
		t.Fatalf("hashprice %v from %q, want 48 from the hashprice meter", ec.HashpriceUSDPerPHDay, ec.HashpriceSource)
	}
	sink(meter.Reading{Meter: priceMeter, At: now.Add(time.Second), Err: "http 503"})
	if ec := sw.Economic(); *ec.PriceUSDPerMWh != 88.5 || !strings.Contains(ec.PriceError, "503") {
		t.Errorf("after a failed read: price %v error %q, want 88.5 kept and the error", *ec.PriceUSDPerMWh, ec.PriceError)
	}
}

type nopActuator struct{}

func (nopActuator) Park(string) error   { return nil }
func (nopActuator) Resume(string) error { return nil }

// A site with [price] source = "http" reads the price and the hashprice
// over HTTP and hands them to its switcher; Close stops the reader.
func TestSiteReadsThePrice(t *testing.T) {
	pool, err := sim.StartPool(sim.PoolConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/rt":
			fmt.Fprint(w, `{"data":{"price":"121.5"}}`)
		case "/hp":
			fmt.Fprint(w, `{"hashprice":[{"usd":47.25}]}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	cfg := testConfig(t, pool, testPolicy+"\n[economic]\nenabled = true\n")
	cfg.Price = config.Price{Source: config.PriceHTTP, URL: srv.URL + "/rt", Field: "data.price",
		Interval: config.Duration{Duration: 50 * time.Millisecond}, HashpriceURL: srv.URL + "/hp", HashpriceField: "hashprice.0.usd",
		HashpriceInterval: config.Duration{Duration: 50 * time.Millisecond}}
	s, err := New(cfg, zerolog.Nop(), WithoutAPIListener())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	sim.WaitFor(t, 5*time.Second, "the price and hashprice read over HTTP", func() (bool, any) {
		ec := s.Switcher().Economic()
		ok := ec.PriceUSDPerMWh != nil && *ec.PriceUSDPerMWh == 121.5 && ec.HashpriceUSDPerPHDay != nil && *ec.HashpriceUSDPerPHDay == 47.25
		return ok, ec
	})
	if err := s.Close(); err != nil {
		t.Errorf("close: got %v, want nil", err)
	}
}
