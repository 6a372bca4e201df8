package config

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// mqttTable is a valid [mqtt] table, placed after the [price] table under
// test so that its line numbers do not move.
const mqttTable = "\n[mqtt]\nbroker = \"tcp://10.0.0.9:1883\"\ntopic = \"g/s\"\nreply_topic = \"g/a\"\n"

// Every bad value of the [price] table and the errors it must give as
// "LINE:COL: message" (the [price] table starts on line 1; an [mqtt]
// table and the pool follow it).
func TestParsePriceErrors(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []string
	}{
		{"not a table", "price = 5\n",
			[]string{`1:1: price: expected a table ([price]), got integer 5`}},
		{"no source", "[price]\nurl = \"https://p.example/rt\"\nfield = \"price\"\n",
			[]string{`1:1: price: source is required: "http" (a JSON document read every interval) or "mqtt" (the [mqtt] subscription)`}},
		{"unknown source", "[price]\nsource = \"ftp\"\n",
			[]string{`2:1: price.source: "ftp" is not a price source; expected "http" or "mqtt"`}},
		{"source not a string", "[price]\nsource = 1\n",
			[]string{`2:1: price.source: expected a string, got integer 1`}},
		{"unknown key", "[price]\nsource = \"mqtt\"\nintervall = \"1m\"\n",
			[]string{`3:1: unknown key "price.intervall" (did you mean "interval"?)`}},
		{"http without url and field", "[price]\nsource = \"http\"\n",
			[]string{`1:1: price: url is required with source = "http", e.g. url = "https://prices.example/rt"`}},
		{"http without field", "[price]\nsource = \"http\"\nurl = \"https://p.example/rt\"\n",
			[]string{`1:1: price: field is required with url: a dotted path to the number in the JSON, e.g. field = "data.price"`}},
		{"bad urls and fields", "[price]\nsource = \"http\"\nurl = \"ftp://p.example/rt\"\nfield = \"data..price\"\nhashprice_url = \"https://me:pw@hp.example/x?key=SECRET\"\nhashprice_field = \"\"\n",
			[]string{
				`3:1: price.url "ftp://p.example/rt": scheme must be http or https`,
				`4:1: price.field "data..price": an empty name between dots; write names separated by single dots, e.g. "data.price"`,
				`6:1: price.hashprice_field "": must not be empty`,
			}},
		{"bad url with secrets", "[price]\nsource = \"http\"\nurl = \"ftp://me:pw@p.example/rt?key=SECRET\"\nfield = \"p\"\n",
			[]string{`3:1: price.url "ftp://p.example/rt": scheme must be http or https`}},
		{"relative url", "[price]\nsource = \"http\"\nurl = \"/rt?key=SECRET\"\nfield = \"p\"\n",
			[]string{`3:1: price.url "/rt": not an absolute URL such as https://prices.example/rt`}},
		{"types", "[price]\nsource = \"http\"\nurl = 5\nfield = [\"a\"]\ninterval = 60\nhashprice_interval = 1\n",
			[]string{
				`3:1: price.url: expected a string, got integer 5`,
				`4:1: price.field: expected a string, got an array`,
				`5:1: price.interval: expected a duration string such as "30s", got integer 60`,
				`6:1: price.hashprice_interval: expected a duration string such as "30s", got integer 1`,
			}},
		{"durations", "[price]\nsource = \"http\"\nurl = \"https://p.example/rt\"\nfield = \"p\"\ninterval = \"0s\"\nhashprice_interval = \"soon\"\n",
			[]string{
				`5:1: price.interval: must be greater than 0, got "0s"`,
				`6:1: price.hashprice_interval: invalid duration "soon": expected a number with a unit, such as "30s", "5m" or "1h30m"`,
			}},
		{"timeout is the poller's", "[price]\nsource = \"http\"\nurl = \"https://p.example/rt\"\nfield = \"p\"\ntimeout = \"10s\"\n",
			[]string{`5:1: unknown key "price.timeout"; known keys here: source, url, field, interval, hashprice_url, hashprice_field, hashprice_interval`}},
		{"http keys with mqtt", "[price]\nsource = \"mqtt\"\nurl = \"https://p.example/rt\"\nfield = \"p\"\ninterval = \"1m\"\n",
			[]string{
				`3:1: price.url: not taken with source = "mqtt": the price arrives on the [mqtt] subscription`,
				`4:1: price.field: not taken with source = "mqtt": the price arrives on the [mqtt] subscription`,
				`5:1: price.interval: not taken with source = "mqtt": the price arrives on the [mqtt] subscription`,
			}},
		{"hashprice field without url", "[price]\nsource = \"mqtt\"\nhashprice_field = \"hp\"\n",
			[]string{`3:1: price.hashprice_field: set without hashprice_url`}},
		{"hashprice url without field", "[price]\nsource = \"mqtt\"\nhashprice_url = \"https://hp.example/x\"\n",
			[]string{`1:1: price: hashprice_field is required with hashprice_url: a dotted path to the number in the JSON, e.g. hashprice_field = "data.price"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("h.toml", []byte(tt.input+mqttTable+pool))
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("got %v, want Errors", err)
			}
			var got []string
			for _, e := range errs {
				got = append(got, fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg))
				if strings.Contains(e.Error(), "SECRET") || strings.Contains(e.Error(), "pw@") {
					t.Errorf("error shows a secret: %s; want !strings.Contains(e.Error(), \"SECRET\"), !strings.Contains(e.Error(), \"pw@\")", e.Error())
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("errors:\n  got  %s\n  want %s", strings.Join(got, "\n       "), strings.Join(tt.want, "\n       "))
			}
		})
	}
}

func TestParsePriceMQTTNeedsMQTT(t *testing.T) {
	_, err := Parse("h.toml", []byte("[price]\nsource = \"mqtt\"\n"+pool))
	const want = `h.toml:2:1: price.source: "mqtt" needs the [mqtt] table: the price arrives on its subscription as {"price_usd_per_mwh": N}`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestParsePrice(t *testing.T) {
	c, err := Parse("h.toml", []byte(pool))
	if err != nil {
		t.Fatal(err)
	}
	if c.Price != (Price{}) {
		t.Errorf("no [price]: got %+v, want the zero value", c.Price)
	}
	c, err = Parse("h.toml", []byte("[price]\nsource = \"http\"\nurl = \"https://p.example/rt?key=k\"\nfield = \"data.rt.price\"\nhashprice_url = \"https://hp.example/x\"\nhashprice_field = \"hashprice\"\n"+pool))
	if err != nil {
		t.Fatal(err)
	}
	want := Price{Source: PriceHTTP, URL: "https://p.example/rt?key=k", Field: "data.rt.price",
		Interval:     Duration{DefaultPriceInterval},
		HashpriceURL: "https://hp.example/x", HashpriceField: "hashprice", HashpriceInterval: Duration{DefaultHashpriceInterval}}
	if c.Price != want {
		t.Errorf("http: got %+v, want %+v", c.Price, want)
	}
	c, err = Parse("h.toml", []byte("[price]\nsource = \"mqtt\"\nhashprice_interval = \"30m\"\nhashprice_url = \"http://hp/x\"\nhashprice_field = \"v\"\n"+mqttTable+pool))
	if err != nil {
		t.Fatal(err)
	}
	if c.Price.Source != PriceMQTT || c.Price.HashpriceInterval.Duration != 30*time.Minute {
		t.Errorf("mqtt: got %+v; want c.Price.Source == PriceMQTT, c.Price.HashpriceInterval.Duration == 30*time.Minute", c.Price)
	}
	if got := PriceURLForLog("https://u:p@p.example/rt?key=k#f"); got != "https://p.example/rt" {
		t.Errorf("PriceURLForLog: got %q, want https://p.example/rt", got)
	}
}

// FuzzParsePrice parses a [price] table: every error has a position, and
// an accepted http source has a URL and a well-formed field.
func FuzzParsePrice(f *testing.F) {
	f.Add("source = \"http\"\nurl = \"https://p.example/rt?key=k\"\nfield = \"data.price\"\ninterval = \"30s\"\n")
	f.Add("source = \"mqtt\"\nhashprice_url = \"http://u:p@hp/x\"\nhashprice_field = \"a.b\"\n")
	f.Add("source = \"http\"\nurl = \"http://[::1\"\nfield = \".\"\n")
	f.Fuzz(func(t *testing.T, table string) {
		c, err := Parse("fuzz.toml", []byte("[price]\n"+table+mqttTable+pool))
		if err != nil {
			var errs Errors
			if errors.As(err, &errs) {
				for _, e := range errs {
					if e.Line < 1 || e.Col < 1 {
						t.Fatalf("error without a position: %v; want e.Line >= 1, e.Col >= 1", e)
					}
				}
			}
			return
		}
		p := c.Price
		if p.Source == PriceHTTP && (p.URL == "" || CheckFieldPath(p.Field) != "" || p.Interval.Duration <= 0) {
			t.Fatalf("accepted an incomplete http source: %+v; want !(p.Source == PriceHTTP && (p.URL == \"\" || CheckFieldPath(p.Field) != \"\" || p.Interval.Duration <= 0))", p)
		}
		if p.HashpriceURL != "" && CheckFieldPath(p.HashpriceField) != "" {
			t.Fatalf("accepted a hashprice without a field: %+v; want !(p.HashpriceURL != \"\" && CheckFieldPath(p.HashpriceField) != \"\")", p)
		}
		if u, err := url.Parse(PriceURLForLog(p.URL)); p.URL != "" && (err != nil || u.User != nil || u.RawQuery != "") {
			t.Fatalf("PriceURLForLog(%q) = %q keeps a query or userinfo; want !(p.URL != \"\" && (err != nil || u.User != nil || u.RawQuery != \"\"))", p.URL, PriceURLForLog(p.URL))
		}
	})
}
