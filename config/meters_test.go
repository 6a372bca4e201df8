package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashgate/hashgate/switcher/meter"
)

// meters is a config file of one [[meters]] table (line 1) whose keys
// are body (from line 2), and a pool after it.
func meters(body string) string { return "[[meters]]\n" + body + "\n" + pool }

const (
	modbusOK = "name = \"ai-racks\"\nmeasures = \"ai\"\nsource = \"modbus\"\naddress = \"10.0.0.5:502\"\nregister = 100\ntype = \"uint32\"\n"
	promOK   = "name = \"gpus\"\nmeasures = \"ai\"\nsource = \"prometheus\"\nurl = \"http://prom:9090\"\nquery = \"sum(x)\"\n"
	httpOK   = "name = \"site\"\nmeasures = \"site\"\nsource = \"http\"\nurl = \"http://meter/reading\"\nfield = \"data.kw\"\n"
)

// TestMeterErrors lists bad [[meters]] tables and every error each must
// give, as "LINE:COL: message".
func TestMeterErrors(t *testing.T) {
	tests := []struct {
		name, input string
		want        []string
	}{
		{"not an array of tables", "meters = 5\n" + pool,
			[]string{`1:1: meters: expected an array of tables ([[meters]]), got integer 5`}},
		{"unknown key", meters(modbusOK + "adress = \"x\""),
			[]string{`8:1: unknown key "meters[0].adress" (did you mean "address"?)`}},
		{"no name", meters("measures = \"ai\"\nsource = \"http\"\nurl = \"http://m/r\"\nfield = \"kw\""),
			[]string{`1:1: meters[0]: name is required, e.g. name = "ai-racks"`}},
		{"name with a space", meters(strings.Replace(httpOK, `"site"`, `"main meter"`, 1)),
			[]string{`2:1: meters[0].name: "main meter" must be 1 to 64 letters, digits, '-', '_' or '.', e.g. name = "ai-racks"`}},
		{"empty name", meters(strings.Replace(httpOK, `"site"`, `""`, 1)),
			[]string{`2:1: meters[0].name: "" must be 1 to 64 letters, digits, '-', '_' or '.', e.g. name = "ai-racks"`}},
		{"no measures", meters("name = \"m\"\nsource = \"http\"\nurl = \"http://m/r\"\nfield = \"kw\""),
			[]string{`1:1: meters[0]: measures is required, e.g. measures = "ai"`}},
		{"measures in capitals", meters(strings.Replace(modbusOK, `"ai"`, `"AI"`, 1)),
			[]string{`3:1: meters[0].measures: "AI" is not "ai": the kinds are written in lower case (any other word names a feeder)`}},
		{"no source", meters("name = \"m\"\nmeasures = \"site\""),
			[]string{`1:1: meters[0]: source is required: "modbus", "prometheus" or "http"`}},
		{"misspelt source", meters("name = \"m\"\nmeasures = \"site\"\nsource = \"modbu\""),
			[]string{`4:1: meters[0].source: "modbu" is not a source (did you mean "modbus"?); expected "modbus", "prometheus" or "http"`}},
		{"unknown source", meters("name = \"m\"\nmeasures = \"site\"\nsource = \"snmp\""),
			[]string{`4:1: meters[0].source: "snmp" is not a source; expected "modbus", "prometheus" or "http"`}},

		// Keys of another source.
		{"query on a modbus meter", meters(modbusOK + "query = \"up\""),
			[]string{`8:1: meters[0].query: not a key of a modbus meter (query is for source = "prometheus"); remove it`}},
		{"url on a modbus meter", meters(modbusOK + "url = \"http://m/r\""),
			[]string{`8:1: meters[0].url: not a key of a modbus meter (url is for source = "prometheus" or "http"); remove it`}},
		{"field on a prometheus meter", meters(promOK + "field = \"kw\""),
			[]string{`7:1: meters[0].field: not a key of a prometheus meter (field is for source = "http"); remove it`}},
		{"register on an http meter", meters(httpOK + "register = 3\nunit_id = 2"),
			[]string{
				`7:1: meters[0].register: not a key of an http meter (register is for source = "modbus"); remove it`,
				`8:1: meters[0].unit_id: not a key of an http meter (unit_id is for source = "modbus"); remove it`,
			}},

		// Modbus.
		{"modbus with nothing", meters("name = \"m\"\nmeasures = \"site\"\nsource = \"modbus\""),
			[]string{
				`1:1: meters[0]: address is required for a modbus meter, e.g. address = "10.0.0.5:502"`,
				`1:1: meters[0]: type is required for a modbus meter: "uint16", "int16", "uint32", "int32" or "float32" (32-bit types: high word first)`,
				`1:1: meters[0]: register is required for a modbus meter, e.g. register = 100 (0-based: the 40101 of a vendor's table is 100)`,
			}},
		{"address without a port", meters(strings.Replace(modbusOK, "10.0.0.5:502", "10.0.0.5", 1)),
			[]string{`5:1: meters[0].address: "10.0.0.5" is not host:port of a Modbus TCP server; expected e.g. "10.0.0.5:502"`}},
		{"address port 0", meters(strings.Replace(modbusOK, "10.0.0.5:502", "10.0.0.5:0", 1)),
			[]string{`5:1: meters[0].address: "10.0.0.5:0" is not host:port of a Modbus TCP server; expected e.g. "10.0.0.5:502"`}},
		{"unit id too big", meters(modbusOK + "unit_id = 300"),
			[]string{`8:1: meters[0].unit_id: must be between 0 and 255, got 300`}},
		{"register too big", meters(strings.Replace(modbusOK, "register = 100", "register = 70000", 1)),
			[]string{`6:1: meters[0].register: must be between 0 and 65534 (a 0-based holding register address), got 70000`}},
		{"register negative", meters(strings.Replace(modbusOK, "register = 100", "register = -1", 1)),
			[]string{`6:1: meters[0].register: must be between 0 and 65534 (a 0-based holding register address), got -1`}},
		{"register as a string", meters(strings.Replace(modbusOK, "register = 100", `register = "40101"`, 1)),
			[]string{`6:1: meters[0].register: expected an integer, got string "40101"`}},
		{"misspelt type", meters(strings.Replace(modbusOK, `"uint32"`, `"unit32"`, 1)),
			[]string{`7:1: meters[0].type: "unit32" is not a register type (did you mean "uint32"?); expected "uint16", "int16", "uint32", "int32" or "float32"`}},
		{"unknown type", meters(strings.Replace(modbusOK, `"uint32"`, `"double"`, 1)),
			[]string{`7:1: meters[0].type: "double" is not a register type; expected "uint16", "int16", "uint32", "int32" or "float32"`}},
		{"scale 0", meters(modbusOK + "scale = 0"),
			[]string{`8:1: meters[0].scale: must be a finite number other than 0 (the value read × scale = kW), got 0`}},
		{"scale nan", meters(modbusOK + "scale = nan"),
			[]string{`8:1: meters[0].scale: must be a finite number other than 0 (the value read × scale = kW), got nan`}},

		// Prometheus.
		{"prometheus with nothing", meters("name = \"m\"\nmeasures = \"ai\"\nsource = \"prometheus\""),
			[]string{
				`1:1: meters[0]: url is required for a prometheus meter, e.g. url = "http://prom:9090"`,
				`1:1: meters[0]: query is required for a prometheus meter, e.g. query = "sum(DCGM_FI_DEV_POWER_USAGE) / 1000"`,
			}},
		{"prometheus url without scheme", meters(strings.Replace(promOK, "http://prom:9090", "prom:9090", 1)),
			[]string{`5:1: meters[0].url: URL prom:9090: the scheme must be http or https; expected e.g. url = "http://prom:9090"`}},
		{"url with a password and a bad scheme", meters(strings.Replace(promOK, "http://prom:9090", "ftp://u:hunter2@prom:9090", 1)),
			[]string{`5:1: meters[0].url: URL ftp://REDACTED@prom:9090: the scheme must be http or https; expected e.g. url = "http://prom:9090"`}},
		{"empty query", meters(strings.Replace(promOK, `"sum(x)"`, `" "`, 1)),
			[]string{`6:1: meters[0].query: must not be empty; expected PromQL giving one number, e.g. "sum(DCGM_FI_DEV_POWER_USAGE) / 1000"`}},

		// HTTP.
		{"http without field", meters("name = \"m\"\nmeasures = \"ai\"\nsource = \"http\"\nurl = \"http://m/r\""),
			[]string{`1:1: meters[0]: field is required for an http meter, e.g. field = "data.kw" (a dotted path into the JSON)`}},
		{"http field with an empty segment", meters(strings.Replace(httpOK, `"data.kw"`, `"data..kw"`, 1)),
			[]string{`6:1: meters[0].field: field path "data..kw" has an empty segment; expected a dotted path such as "data.items.0.kw"`}},
		{"http url without host", meters(strings.Replace(httpOK, "http://meter/reading", "http:///reading", 1)),
			[]string{`5:1: meters[0].url: URL http:///reading has no host; expected e.g. url = "http://meter/reading"`}},

		// Timing.
		{"interval too short", meters(httpOK + "interval = \"10ms\""),
			[]string{`7:1: meters[0].interval: must be between 100ms and 1h0m0s, got "10ms"`}},
		{"interval not a duration", meters(httpOK + "interval = \"often\""),
			[]string{`7:1: meters[0].interval: invalid duration "often": expected a number with a unit, such as "30s", "5m" or "1h30m"`}},
		{"interval past the default stale_after", meters(httpOK + "interval = \"30s\""),
			[]string{`7:1: meters[0]: stale_after (default 10s) 10s must be longer than interval 30s: a meter read every 30s is stale only after a read is missed; set stale_after to a few intervals`}},
		{"stale_after not past interval", meters(httpOK + "interval = \"5s\"\nstale_after = \"5s\""),
			[]string{`8:1: meters[0]: stale_after 5s must be longer than interval 5s: a meter read every 5s is stale only after a read is missed; set stale_after to a few intervals`}},
		{"stale_after negative", meters(httpOK + "stale_after = \"-1s\""),
			[]string{`7:1: meters[0].stale_after: must be greater than 0, got "-1s"`}},

		// Several meters.
		{"duplicate names", meters(httpOK) + "[[meters]]\n" + strings.Replace(promOK, `"gpus"`, `"site"`, 1),
			[]string{`14:1: meters[1]: duplicate meter name "site" (also meters[0]); meter names must be unique`}},
		{"errors in the second meter", meters(httpOK) + "[[meters]]\n" + strings.Replace(modbusOK, "register = 100", "register = 1.5", 1),
			[]string{`18:1: meters[1].register: expected an integer, got float 1.5`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("hashgate.toml", []byte(tt.input))
			if err == nil {
				t.Fatalf("Parse accepted the config: %+v; want err != nil", c.Meters)
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error is %T, want Errors: %v", err, err)
			}
			var got []string
			for _, e := range errs {
				got = append(got, fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n  got  %s\n  want %s", strings.Join(got, "\n       "), strings.Join(tt.want, "\n       "))
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("an error shows the password: %v", err)
			}
		})
	}
}

func TestParseMeters(t *testing.T) {
	src := meters(modbusOK+"unit_id = 3\nscale = 0.1\ninterval = \"2s\"\nstale_after = \"30s\"") +
		"[[meters]]\n" + promOK + "\n[[meters]]\n" + strings.Replace(httpOK, "http://", "http://u:hunter2@", 1) + "scale = 0.001\n"
	c, err := Parse("hashgate.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []Meter{
		{Name: "ai-racks", Measures: "ai", Source: "modbus", Address: "10.0.0.5:502", UnitID: 3, Register: 100, Type: "uint32",
			Scale: 0.1, Interval: Duration{2 * time.Second}, StaleAfter: Duration{30 * time.Second}},
		{Name: "gpus", Measures: "ai", Source: "prometheus", UnitID: 1, Scale: 1, URL: "http://prom:9090", Query: "sum(x)",
			Interval: Duration{time.Second}, StaleAfter: Duration{10 * time.Second}},
		{Name: "site", Measures: "site", Source: "http", UnitID: 1, Scale: 0.001, URL: "http://u:hunter2@meter/reading", Field: "data.kw",
			Interval: Duration{time.Second}, StaleAfter: Duration{10 * time.Second}},
	}
	if !reflect.DeepEqual(c.Meters, want) {
		t.Fatalf("meters:\n got  %+v\n want %+v", c.Meters, want)
	}
	if got, want := c.Meters[0].Spec(), (meter.Spec{Name: "ai-racks", Measures: meter.AI, Interval: 2 * time.Second, StaleAfter: 30 * time.Second}); got != want {
		t.Errorf("Spec: got %+v, want %+v", got, want)
	}
	for i, want := range []string{
		"ai-racks (ai): modbus 10.0.0.5:502 unit 3 register 100 uint32 ×0.1, every 2s, stale after 30s",
		"gpus (ai): prometheus http://prom:9090 query sum(x), every 1s, stale after 10s",
		"site (site): http GET http://REDACTED@meter/reading field data.kw ×0.001, every 1s, stale after 10s",
	} {
		if got := c.Meters[i].Describe(); got != want {
			t.Errorf("Describe %d:\n got  %s\n want %s", i, got, want)
		}
	}
}

// hashgate check shows no API key a meter's URL carries in its query.
func TestMeterQueryKeyNotShown(t *testing.T) {
	src := meters(strings.Replace(httpOK, "http://meter/reading", "http://meter/reading?site=7&api_key=s3cr3tkey", 1))
	c, err := Parse("hashgate.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Meters[0].Describe(); strings.Contains(got, "s3cr3tkey") || !strings.Contains(got, "api_key=xxxxx") {
		t.Errorf("Describe: got %s, want the key hidden (api_key=xxxxx)", got)
	}
	bad := meters(strings.Replace(httpOK, "http://meter/reading", "ftp://meter/reading?api_key=s3cr3tkey", 1))
	if _, err := Parse("hashgate.toml", []byte(bad)); err == nil || strings.Contains(err.Error(), "s3cr3tkey") {
		t.Errorf("an ftp URL: got %v, want an error without the key", err)
	}
}

// A named feeder is any other word; no meters is none.
func TestMeterFeederAndNone(t *testing.T) {
	c, err := Parse("hashgate.toml", []byte(meters(strings.Replace(httpOK, `measures = "site"`, `measures = "hall-2.feeder"`, 1))))
	if err != nil || c.Meters[0].Measures != "hall-2.feeder" {
		t.Fatalf("a feeder: got %v, %+v; want measures hall-2.feeder", err, c)
	}
	c, err = Parse("hashgate.toml", []byte(pool))
	if err != nil || c.Meters != nil {
		t.Fatalf("no meters: got %v, %+v", err, c.Meters)
	}
}

func TestMeterWarnings(t *testing.T) {
	c, err := Parse("hashgate.toml", []byte(meters(strings.Replace(httpOK, `measures = "site"`, `measures = "minig"`, 1))))
	if err != nil {
		t.Fatal(err)
	}
	got := meterWarnings(c)
	want := []string{
		`meter "site": measures = "minig" names a feeder, read and shown but not used by cap mode; did you mean "mining"?`,
		"[[meters]] are set but switcher.policy is not: without a policy there is no switcher, so the meters are not read",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("warnings:\n got  %q\n want %q", got, want)
	}
	c.Switcher.Policy = "policy.toml"
	c.Meters[0].Measures = "ai"
	if got := meterWarnings(c); len(got) != 0 {
		t.Errorf("warnings of a good meter with a policy: got %q, want none", got)
	}
}

// The example config shows a [[meters]] table with every key, commented
// out; uncommented, it parses.
func TestExampleMeters(t *testing.T) {
	data, err := os.ReadFile("../examples/hashgate.toml")
	if err != nil {
		t.Fatal(err)
	}
	var block []string
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "# [[meters]]") {
			in = true
		}
		if in {
			if !strings.HasPrefix(line, "#") {
				break
			}
			block = append(block, strings.TrimPrefix(strings.TrimPrefix(line, "#"), " "))
		}
	}
	if len(block) == 0 {
		t.Fatalf("the example's commented [[meters]] table: got no lines in %d bytes, want some", len(data))
	}
	c, err := Parse("example.toml", []byte(strings.Join(block, "\n")+"\n"+pool))
	if err != nil {
		t.Fatalf("the example's [[meters]], uncommented: %v", err)
	}
	written := map[string]bool{}
	for _, line := range block {
		if k, _, ok := strings.Cut(line, " = "); ok {
			written[strings.TrimSpace(k)] = true
		}
	}
	for _, k := range meterKeys {
		if !written[k] {
			t.Errorf("the example's [[meters]] do not show %s; want written[k]", k)
		}
	}
	if len(c.Meters) < 2 {
		t.Errorf("the example's meters: got %d, want at least 2", len(c.Meters))
	}
}
