package switcher

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashgate/hashgate/config/tomlfile"
)

func TestParseInventory(t *testing.T) {
	data := "\xef\xbb\xbf# hall B, exported from the asset sheet\n" +
		"Site, Address ,NAME,model\n" +
		"\n" +
		"b1,10.0.0.5,acct.s19-001,S19\n" +
		",,,\n" +
		"b1,\" rig-2.hall-b \",acct.s19-002,S19\n" +
		"b1,10.0.0.7:8080,\"acct.s19,003\",S19\r\n" +
		"b2,[2001:db8::7]:4433,acct.m50-1,M50\n" +
		"b2,2001:db8::8,acct.m50-2,M50\n" +
		"b2,[2001:db8::9],acct.m50-3,M50\n" +
		"b2,pdu_4.site.,é.矿机,\n"
	rigs, err := ParseInventory("rigs.csv", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []InventoryRig{
		{"acct.s19-001", "10.0.0.5"},
		{"acct.s19-002", "rig-2.hall-b"},
		{"acct.s19,003", "10.0.0.7:8080"},
		{"acct.m50-1", "[2001:db8::7]:4433"},
		{"acct.m50-2", "2001:db8::8"},
		{"acct.m50-3", "2001:db8::9"},
		{"é.矿机", "pdu_4.site."},
	}
	if !reflect.DeepEqual(rigs, want) {
		t.Errorf("rigs:\n got %v\nwant %v", rigs, want)
	}

	// A header alone is an empty inventory, not an error.
	if rigs, err := ParseInventory("rigs.csv", []byte("name,address\n")); err != nil || len(rigs) != 0 {
		t.Errorf("header only: %v, %v; want no rigs and no error", rigs, err)
	}
}

// TestParseInventoryErrors lists every bad input with the error it gives.
func TestParseInventoryErrors(t *testing.T) {
	const h = "name,address\n"
	long := strings.Repeat("x", 300)
	for _, c := range []struct {
		name, data string
		want       []string
	}{
		{"empty file", "", []string{`1:1: no header line: the inventory starts with the column names, at least name,address`}},
		{"comments only", "# nothing\n\n", []string{`1:1: no header line: the inventory starts with the column names, at least name,address`}},
		{"no address column", "name,ip\nr1,10.0.0.1\n",
			[]string{`1:1: the header has no "address" column; found "name","ip"; the first line must name the columns, at least name,address`}},
		{"misspelled columns", "names,adress\n",
			[]string{
				`1:1: the header has no "name" column (did you mean "name" for "names"?); found "names","adress"; the first line must name the columns, at least name,address`,
				`1:1: the header has no "address" column (did you mean "address" for "adress"?); found "names","adress"; the first line must name the columns, at least name,address`,
			}},
		{"data first, no header", "acct.r1,10.0.0.1\n",
			[]string{
				`1:1: the header has no "name" column; found "acct.r1","10.0.0.1"; the first line must name the columns, at least name,address`,
				`1:1: the header has no "address" column; found "acct.r1","10.0.0.1"; the first line must name the columns, at least name,address`,
			}},
		{"column twice", "name,address,Name\n", []string{`1:14: column "name" twice in the header (columns 1 and 3)`}},
		{"short line", "model,name,address\nS19,r1\n", []string{`2:5: 2 fields, the header has name in column 2 and address in column 3`}},
		{"empty name", h + " ,10.0.0.1\n", []string{`2:1: name is empty; every rig needs the name it authorizes with (or any name, for a rig that never connects)`}},
		{"name too long", h + long + ",10.0.0.1\n", []string{`2:1: name "` + long[:61] + `...": a rig name is 1 to 256 bytes`}},
		{"name not UTF-8", h + "r\xff,10.0.0.1\n", []string{`2:1: name "r\xff": a rig name must be UTF-8`}},
		{"name with a control character", h + "\"r\x1b[31m\",10.0.0.1\n", []string{`2:1: name "r\x1b[31m": a rig name has no control characters (found U+001B)`}},
		{"duplicate name", h + "r1,10.0.0.1\nr2,10.0.0.2\n r1 ,10.0.0.3\n",
			[]string{`4:1: rig "r1" is listed twice, on lines 2 and 4; names must be unique`}},
		{"one address for two rigs", h + "r1,10.0.0.1\nr2,Rig-9.hall\nr3,10.0.0.1\nr4,rig-9.HALL\nr5,10.0.0.1:8080\n",
			[]string{
				`4:4: address "10.0.0.1" is also rig "r1"'s (line 2); one device must be listed once (rigs behind one NAT address need their own ports)`,
				`5:4: address "rig-9.HALL" is also rig "r2"'s (line 3); one device must be listed once (rigs behind one NAT address need their own ports)`,
			}},
		{"empty address", "address,name\n,r1\n",
			[]string{`2:1: address "": is empty; expected a host name or IP address, optionally with a port, such as 10.0.0.5, rig-17.hall-b or 10.0.0.5:8080`}},
		{"scheme", h + "r1,http://10.0.0.1\n",
			[]string{`2:4: address "http://10.0.0.1": has a scheme; write the host only (the actuator chooses the protocol); expected a host name or IP address, optionally with a port, such as 10.0.0.5, rig-17.hall-b or 10.0.0.5:8080`}},
		{"path", h + "r1,10.0.0.1/cgi-bin\n",
			[]string{`2:4: address "10.0.0.1/cgi-bin": has a path, query or user; expected a host name or IP address, optionally with a port, such as 10.0.0.5, rig-17.hall-b or 10.0.0.5:8080`}},
		{"user", h + "r1,root@10.0.0.1\n",
			[]string{`2:4: address "REDACTED@10.0.0.1": has a path, query or user; expected a host name or IP address, optionally with a port, such as 10.0.0.5, rig-17.hall-b or 10.0.0.5:8080`}},
		{"port zero", h + "r1,10.0.0.1:0\n",
			[]string{`2:4: address "10.0.0.1:0": port "0" is not a number from 1 to 65535; expected a host name or IP address, optionally with a port, such as 10.0.0.5, rig-17.hall-b or 10.0.0.5:8080`}},
		{"port too big", h + "r1,rig-1:70000\n",
			[]string{`2:4: address "rig-1:70000": port "70000" is not a number from 1 to 65535; expected a host name or IP address, optionally with a port, such as 10.0.0.5, rig-17.hall-b or 10.0.0.5:8080`}},
		{"named port", h + "r1,rig-1:http\n",
			[]string{`2:4: address "rig-1:http": port "http" is not a number from 1 to 65535; expected a host name or IP address, optionally with a port, such as 10.0.0.5, rig-17.hall-b or 10.0.0.5:8080`}},
		{"empty port", h + "r1,rig-1:\n",
			[]string{`2:4: address "rig-1:": port "" is not a number from 1 to 65535; expected a host name or IP address, optionally with a port, such as 10.0.0.5, rig-17.hall-b or 10.0.0.5:8080`}},
		{"port without host", h + "r1,:4028\n",
			[]string{`2:4: address ":4028": is not a host name (1 to 253 bytes); expected a host name or IP address, optionally with a port, such as 10.0.0.5, rig-17.hall-b or 10.0.0.5:8080`}},
		{"bad IPv6", h + "r1,2001:db8::zz\n",
			[]string{`2:4: address "2001:db8::zz": is not a valid IPv6 address; expected a host name or IP address, optionally with a port, such as 10.0.0.5, rig-17.hall-b or 10.0.0.5:8080`}},
		{"IPv4 in brackets", h + "r1,[10.0.0.1]:80\n",
			[]string{`2:4: address "[10.0.0.1]:80": brackets hold an IPv6 address; expected a host name or IP address, optionally with a port, such as 10.0.0.5, rig-17.hall-b or 10.0.0.5:8080`}},
		{"IPv4 in brackets, no port", h + "r1,[10.0.0.1]\n",
			[]string{`2:4: address "[10.0.0.1]": brackets hold an IPv6 address; expected a host name or IP address, optionally with a port, such as 10.0.0.5, rig-17.hall-b or 10.0.0.5:8080`}},
		{"unclosed bracket", h + "r1,[2001:db8::1\n",
			[]string{`2:4: address "[2001:db8::1": is not host:port; expected a host name or IP address, optionally with a port, such as 10.0.0.5, rig-17.hall-b or 10.0.0.5:8080`}},
		{"bad host name", h + "r1,rig 1.hall\nr2,-rig.hall\nr3,a..b\n",
			[]string{
				`2:4: address "rig 1.hall": is not a host name (' ' is not a letter, digit, '-' or '_'); expected a host name or IP address, optionally with a port, such as 10.0.0.5, rig-17.hall-b or 10.0.0.5:8080`,
				`3:4: address "-rig.hall": is not a host name (a label may not start or end with '-'); expected a host name or IP address, optionally with a port, such as 10.0.0.5, rig-17.hall-b or 10.0.0.5:8080`,
				`4:4: address "a..b": is not a host name (each dot-separated label is 1 to 63 bytes); expected a host name or IP address, optionally with a port, such as 10.0.0.5, rig-17.hall-b or 10.0.0.5:8080`,
			}},
		{"bare quote", h + "r\"1,10.0.0.1\nr2,10.0.0.2\n",
			[]string{`2:2: bare " in non-quoted-field (a field with a comma or a quote must be quoted, its quotes doubled: "a ""b"", c")`}},
		{"unterminated quote", h + "r1,10.0.0.1\n\"r2,10.0.0.2\nr3,10.0.0.3\n",
			[]string{`4:13: extraneous or missing " in quoted-field (a field with a comma or a quote must be quoted, its quotes doubled: "a ""b"", c")`}},
		{"every problem, in file order", "model,address,name\nS19,10.0.0.1,r1\nS19,http://x,r1\nS19,,\n,,\n",
			[]string{
				`3:5: address "http://x": has a scheme; write the host only (the actuator chooses the protocol); expected a host name or IP address, optionally with a port, such as 10.0.0.5, rig-17.hall-b or 10.0.0.5:8080`,
				`3:14: rig "r1" is listed twice, on lines 2 and 3; names must be unique`,
				`4:5: address "": is empty; expected a host name or IP address, optionally with a port, such as 10.0.0.5, rig-17.hall-b or 10.0.0.5:8080`,
				`4:6: name is empty; every rig needs the name it authorizes with (or any name, for a rig that never connects)`,
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rigs, err := ParseInventory("rigs.csv", []byte(c.data))
			var es tomlfile.Errors
			if !errors.As(err, &es) {
				t.Fatalf("got %v, %v; want tomlfile.Errors", rigs, err)
			}
			if rigs != nil {
				t.Errorf("an invalid inventory gave rigs %v; want none (refused whole)", rigs)
			}
			want := make([]string, len(c.want))
			for i, w := range c.want {
				want[i] = "rigs.csv:" + w
			}
			if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, want) {
				t.Errorf("errors:\n got %q\nwant %q", got, want)
			}
		})
	}
}

// TestParseInventoryBounds: the caps on problems listed, rigs and bytes.
func TestParseInventoryBounds(t *testing.T) {
	// Too many problems: the first ones are listed, and a note.
	var b strings.Builder
	b.WriteString("name,address\n")
	for i := range 500 {
		fmt.Fprintf(&b, "r%d,http://x\n", i)
	}
	_, err := ParseInventory("rigs.csv", []byte(b.String()))
	var es tomlfile.Errors
	if !errors.As(err, &es) || len(es) != maxInventoryErrors+1 {
		t.Fatalf("500 bad lines: %d errors, want %d (the cap and a note)", len(es), maxInventoryErrors+1)
	}
	if last := es[len(es)-1]; last.Line != maxInventoryErrors+2 || !strings.Contains(last.Msg, "more problems follow") {
		t.Errorf("the last error = %v; want the note at line %d", last, maxInventoryErrors+2)
	}

	// Too many rigs.
	b.Reset()
	b.WriteString("name,address\n")
	for i := range MaxInventoryRigs + 1 {
		fmt.Fprintf(&b, "r%d,10.%d.%d.%d\n", i, i>>16&255, i>>8&255, i&255)
	}
	_, err = ParseInventory("rigs.csv", []byte(b.String()))
	if want := fmt.Sprintf("rigs.csv:%d:1: more than %d rigs; an inventory holds at most %d", MaxInventoryRigs+2, MaxInventoryRigs, MaxInventoryRigs); err == nil || err.Error() != want {
		t.Errorf("%d rigs: %v; want %q", MaxInventoryRigs+1, err, want)
	}
	// Exactly the bound is fine.
	data := b.String()
	data = data[:strings.LastIndex(strings.TrimSuffix(data, "\n"), "\n")+1]
	if rigs, err := ParseInventory("rigs.csv", []byte(data)); err != nil || len(rigs) != MaxInventoryRigs {
		t.Errorf("%d rigs: %d, %v; want them all", MaxInventoryRigs, len(rigs), err)
	}

	// Too big, whatever it holds.
	big := make([]byte, MaxInventoryBytes+1)
	if _, err := ParseInventory("rigs.csv", big); err == nil || !strings.HasPrefix(err.Error(), "rigs.csv:1:1: the file is 33554433 bytes, more than the 32 MiB") {
		t.Errorf("a 32 MiB + 1 file: %v; want refused as too big", err)
	}
}

func TestLoadInventory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rigs.csv")
	if _, err := LoadInventory(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v; want os.ErrNotExist", err)
	}
	if err := os.WriteFile(path, []byte("name,address\nr1,10.0.0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if rigs, err := LoadInventory(path); err != nil || len(rigs) != 1 || rigs[0] != (InventoryRig{"r1", "10.0.0.1"}) {
		t.Errorf("LoadInventory = %v, %v; want r1 at 10.0.0.1", rigs, err)
	}
	// A file past the bound is refused without reading it all.
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := LoadInventory(path); err == nil || !strings.HasPrefix(err.Error(), path+":1:1: the file is 33554433 bytes") {
		t.Errorf("a 1 GiB file: %v; want refused as too big", err)
	}
}

func FuzzParseInventory(f *testing.F) {
	for _, s := range []string{
		"name,address\nr1,10.0.0.1\n",
		"\xef\xbb\xbfmodel,Address,NAME\nS19,[2001:db8::1]:80,\"a,b\"\n\n,,\n# c\n",
		"name,address\nr1,http://x\nr1,10.0.0.1:0\n\"r2\n",
		"address,name\n2001:db8::1,é\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rigs, err := ParseInventory("f.csv", data)
		if err != nil {
			var es tomlfile.Errors
			if !errors.As(err, &es) || len(es) == 0 || len(es) > maxInventoryErrors+1 {
				t.Fatalf("error %v is not 1 to %d tomlfile.Errors; want errors.As(err, &es), len(es) != 0, len(es) <= maxInventoryErrors+1", err, maxInventoryErrors+1)
			}
			lines := strings.Count(string(data), "\n") + 1
			for _, e := range es {
				if e.Line < 1 || e.Line > lines || e.Col < 1 {
					t.Fatalf("error %v is outside the file (%d lines); want e.Line >= 1, e.Line <= lines, e.Col >= 1", e, lines)
				}
			}
			if rigs != nil {
				t.Fatalf("refused, yet rigs %v; want rigs == nil", rigs)
			}
			return
		}
		seen := make(map[string]bool)
		for _, r := range rigs {
			if seen[r.Name] {
				t.Fatalf("rig %q twice; want !seen[r.Name]", r.Name)
			}
			seen[r.Name] = true
			if r.Name == "" || strings.TrimSpace(r.Name) != r.Name {
				t.Fatalf("rig name %q not trimmed or empty; want r.Name != \"\", strings.TrimSpace(r.Name) == r.Name", r.Name)
			}
			if norm, err := checkRigAddress(r.Address); err != nil || norm != r.Address {
				t.Fatalf("rig address %q: checked again gives %q, %v; want err == nil, norm == r.Address", r.Address, norm, err)
			}
		}
	})
}

// BenchmarkParseInventory parses an inventory of 50,000 rigs with an
// extra column, as a large site's would be.
func BenchmarkParseInventory(b *testing.B) {
	var src strings.Builder
	src.WriteString("name,address,model\n")
	for i := range 50_000 {
		fmt.Fprintf(&src, "acct.hall%d-rig%05d,10.%d.%d.%d,S19j Pro\n", i/5000, i, i>>16&255, i>>8&255, i&255)
	}
	data := []byte(src.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rigs, err := ParseInventory("rigs.csv", data)
		if err != nil || len(rigs) != 50_000 {
			b.Fatalf("%d rigs, %v", len(rigs), err)
		}
	}
}
