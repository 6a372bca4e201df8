package switcher

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/hashgate/hashgate/config/tomlfile"
	"github.com/hashgate/hashgate/internal/rigname"
)

// Bounds of the rig inventory: far above any site (a 100 MW site is some
// 30,000 rigs), low enough that a wrong file (a log, a disk image) is
// refused before it costs memory.
const (
	MaxInventoryRigs  = 200_000
	MaxInventoryBytes = 32 << 20
	// maxInventoryErrors caps the problems listed for one file: a file
	// that is wrong throughout (the wrong column order, another file) is
	// described by its first ones.
	maxInventoryErrors = 100
)

// Columns of the inventory the switcher reads; others are ignored.
var inventoryColumns = []string{"name", "address"}

// LoadInventory reads and validates the rig inventory at path. A file that
// cannot be read gives the os error; an invalid one (or one larger than
// MaxInventoryBytes) gives tomlfile.Errors.
func LoadInventory(path string) ([]InventoryRig, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxInventoryBytes+1))
	if err != nil {
		return nil, err
	}
	return ParseInventory(path, data)
}

// ParseInventory parses and validates a rig inventory's contents; path
// names the file in errors. An invalid inventory is refused whole: the
// error is then tomlfile.Errors, each problem as FILE:LINE:COL: message (the
// column of the field at fault), in file order, at most 100 of them.
//
// The format is CSV (RFC 4180, as encoding/csv reads it: fields may be
// quoted, a quoted field may hold commas). The first line that is not
// blank or a comment is the header: column names, matched without regard
// to case or surrounding spaces; it must have name and address, in any
// order, and may have others, which are ignored (a site's own asset
// columns). Then one rig a line:
//   - name: the worker name the rig authorizes with through the proxy (or
//     any name, for a rig that never does), by the one rule of
//     internal/rigname; unique in the file (a second line with the same
//     name is refused, naming both lines);
//   - address: the host name or IP address of its management interface,
//     optionally with a port (host:port, [v6]:port) to override the
//     firmware's default; no scheme, no path.
//
// Spaces around a field are trimmed. Blank lines, lines whose fields are
// all empty (a spreadsheet's trailing rows), lines starting with '#'
// (comments) and a UTF-8 byte order mark are skipped; columns on the first
// line are counted after the mark. At most MaxInventoryRigs rigs and
// MaxInventoryBytes bytes.
func ParseInventory(path string, data []byte) ([]InventoryRig, error) {
	name := path
	if name == "" {
		name = "<inventory>"
	}
	p := inventoryParser{file: name, seen: make(map[string]int), addrs: make(map[string]int), addrName: make(map[int]string)}
	if len(data) > MaxInventoryBytes {
		p.errorf(1, 1, "the file is %d bytes, more than the %d MiB an inventory may be; is it the right file?", len(data), MaxInventoryBytes>>20)
		return nil, p.errs
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1 // checked here, with a better message
	r.Comment = '#'
	r.ReuseRecord = true
	rigs := p.parse(r)
	if len(p.errs) > 0 {
		listed := p.errs
		if p.full {
			listed = listed[:len(listed)-1] // the note stays last
		}
		slices.SortStableFunc(listed, func(a, b *tomlfile.Error) int {
			return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
		})
		return nil, p.errs
	}
	return rigs, nil
}

type inventoryParser struct {
	file       string
	errs       tomlfile.Errors
	full       bool           // maxInventoryErrors reached: nothing more is recorded
	nameCol    int            // index of the name column
	addressCol int            // index of the address column
	seen       map[string]int // rig name -> its line
	addrs      map[string]int // normalized address (lower case) -> its line
	addrName   map[int]string // a line -> the rig named on it (for addrs)
}

func (p *inventoryParser) errorf(line, col int, format string, args ...any) {
	if p.full {
		return
	}
	if len(p.errs) == maxInventoryErrors {
		p.full = true
		format, args = "more problems follow, not listed: fix these first", nil
	}
	p.errs = append(p.errs, &tomlfile.Error{File: p.file, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

// parse reads the header, then the rigs.
func (p *inventoryParser) parse(r *csv.Reader) []InventoryRig {
	var rigs []InventoryRig
	header := false
	lastLine := 0
	for !p.full {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) || pe.Line <= lastLine {
				p.errorf(max(lastLine, 1), 1, "%v", err) // not expected: stop rather than loop
				break
			}
			lastLine = pe.Line
			p.errorf(pe.Line, max(pe.Column, 1), "%v (a field with a comma or a quote must be quoted, its quotes doubled: \"a \"\"b\"\", c\")", pe.Err)
			continue
		}
		line, _ := r.FieldPos(0)
		lastLine = line
		if blankRecord(rec) {
			continue
		}
		if !header {
			header = true
			if !p.header(r, rec) {
				return nil
			}
			continue
		}
		if len(rigs) == MaxInventoryRigs {
			p.errorf(line, 1, "more than %d rigs; an inventory holds at most %d", MaxInventoryRigs, MaxInventoryRigs)
			break
		}
		if rig, ok := p.rig(r, rec, line); ok {
			rigs = append(rigs, rig)
		}
	}
	if !header && len(p.errs) == 0 {
		p.errorf(1, 1, "no header line: the inventory starts with the column names, at least name,address")
	}
	return rigs
}

// blankRecord reports a line with no field written.
func blankRecord(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// header finds the name and address columns.
func (p *inventoryParser) header(r *csv.Reader, rec []string) bool {
	p.nameCol, p.addressCol = -1, -1
	ok := true
	var found []string
	for i, f := range rec {
		col := strings.ToLower(strings.TrimSpace(f))
		found = append(found, col)
		line, at := r.FieldPos(i)
		var dst *int
		switch col {
		case "name":
			dst = &p.nameCol
		case "address":
			dst = &p.addressCol
		default:
			continue
		}
		if *dst >= 0 {
			p.errorf(line, at, "column %q twice in the header (columns %d and %d)", col, *dst+1, i+1)
			ok = false
			continue
		}
		*dst = i
	}
	line, _ := r.FieldPos(0)
	for _, want := range inventoryColumns {
		if (want == "name" && p.nameCol >= 0) || (want == "address" && p.addressCol >= 0) {
			continue
		}
		ok = false
		hint := ""
		for _, f := range found {
			if tomlfile.Suggest(f, inventoryColumns) == want {
				hint = fmt.Sprintf(" (did you mean %q for %q?)", want, f)
				break
			}
		}
		p.errorf(line, 1, "the header has no %q column%s; found %s; the first line must name the columns, at least name,address",
			want, hint, strings.Join(quoteEach(found), ","))
	}
	return ok
}

func quoteEach(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = strconv.Quote(shorten(s))
	}
	return out
}

// shorten cuts a value quoted in an error to a readable length.
func shorten(s string) string {
	if len(s) > 64 {
		return s[:61] + "..."
	}
	return s
}

// rig reads one rig's line.
func (p *inventoryParser) rig(r *csv.Reader, rec []string, line int) (InventoryRig, bool) {
	if need := max(p.nameCol, p.addressCol) + 1; len(rec) < need {
		_, col := r.FieldPos(len(rec) - 1)
		p.errorf(line, col, "%d fields, the header has name in column %d and address in column %d", len(rec), p.nameCol+1, p.addressCol+1)
		return InventoryRig{}, false
	}
	name := strings.TrimSpace(rec[p.nameCol])
	addr := strings.TrimSpace(rec[p.addressCol])
	_, nameAt := r.FieldPos(p.nameCol)
	_, addrAt := r.FieldPos(p.addressCol)
	ok := true
	switch err := rigname.Check(name); {
	case name == "":
		p.errorf(line, nameAt, "name is empty; every rig needs the name it authorizes with (or any name, for a rig that never connects)")
		ok = false
	case err != nil:
		p.errorf(line, nameAt, "name %q: %v", shorten(name), err)
		ok = false
	default:
		if first, dup := p.seen[name]; dup {
			p.errorf(line, nameAt, "rig %q is listed twice, on lines %d and %d; names must be unique", shorten(name), first, line)
			ok = false
		} else {
			p.seen[name] = line
		}
	}
	norm, err := checkRigAddress(addr)
	if err != nil {
		p.errorf(line, addrAt, "address %q: %v", shorten(redactUser(addr)), err)
		ok = false
	} else if !p.uniqueAddress(norm, name, line, addrAt) {
		ok = false
	}
	return InventoryRig{Name: name, Address: norm}, ok
}

// uniqueAddress refuses a management address listed for a second rig:
// one device under two names would be counted twice and sent every
// command twice, and the two readings would be the same device's.
// Addresses compare as written once normalized, host names without
// regard to case (10.0.0.5 and 10.0.0.5:80 are not judged the same: a
// port may lead to another device behind a NAT).
func (p *inventoryParser) uniqueAddress(norm, name string, line, col int) bool {
	key := strings.ToLower(norm)
	if first, dup := p.addrs[key]; dup {
		p.errorf(line, col, "address %q is also rig %q's (line %d); one device must be listed once (rigs behind one NAT address need their own ports)",
			shorten(norm), shorten(p.addrName[first]), first)
		return false
	}
	p.addrs[key], p.addrName[line] = line, name
	return true
}

// redactUser is an address as an error quotes it: what precedes an '@'
// (a user, a password) replaced by REDACTED.
func redactUser(s string) string {
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		scheme := ""
		if j := strings.Index(s[:i], "://"); j >= 0 {
			scheme = s[:j+3]
		}
		return scheme + tomlfile.Redacted + s[i:]
	}
	return s
}

// checkRigAddress checks a rig's management address: a host name or IP,
// optionally with a port. It returns the address as the drivers take it
// (host, or host:port; an IPv6 address without a port unbracketed).
func checkRigAddress(s string) (string, error) {
	const want = "expected a host name or IP address, optionally with a port, such as 10.0.0.5, rig-17.hall-b or 10.0.0.5:8080"
	switch {
	case s == "":
		return "", errors.New("is empty; " + want)
	case strings.Contains(s, "://"):
		return "", errors.New("has a scheme; write the host only (the actuator chooses the protocol); " + want)
	case strings.ContainsAny(s, "/?#@"):
		return "", errors.New("has a path, query or user; " + want)
	}
	host, port := s, ""
	switch {
	case strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]"):
		host = s[1 : len(s)-1]
		if a, err := netip.ParseAddr(host); err != nil || !a.Is6() {
			return "", errors.New("brackets hold an IPv6 address; " + want)
		}
		return host, nil
	case strings.HasPrefix(s, "[") || strings.Count(s, ":") == 1:
		h, ps, err := net.SplitHostPort(s)
		if err != nil {
			return "", errors.New("is not host:port; " + want)
		}
		n, err := strconv.Atoi(ps)
		if err != nil || n < 1 || n > 65535 || ps != strconv.Itoa(n) {
			return "", fmt.Errorf("port %q is not a number from 1 to 65535; %s", ps, want)
		}
		host, port = h, ps
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if port != "" && a.Is6() && !strings.HasPrefix(s, "[") {
			return "", errors.New("an IPv6 address with a port is written [address]:port; " + want)
		}
		if port != "" && a.Is4() && strings.HasPrefix(s, "[") {
			return "", errors.New("brackets hold an IPv6 address; " + want)
		}
		if port == "" {
			return host, nil
		}
		return net.JoinHostPort(host, port), nil
	}
	if strings.Contains(host, ":") || strings.HasPrefix(s, "[") {
		return "", errors.New("is not a valid IPv6 address; " + want)
	}
	if err := checkHostName(host); err != nil {
		return "", fmt.Errorf("%v; %s", err, want)
	}
	return s, nil
}

// checkHostName checks a DNS name: labels of letters, digits, '-' and '_'
// (internal names use it), 1 to 63 bytes, not starting or ending with '-';
// 253 bytes at most, a trailing dot allowed.
func checkHostName(h string) error {
	name := strings.TrimSuffix(h, ".")
	if name == "" || len(name) > 253 {
		return errors.New("is not a host name (1 to 253 bytes)")
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return errors.New("is not a host name (each dot-separated label is 1 to 63 bytes)")
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return errors.New("is not a host name (a label may not start or end with '-')")
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("is not a host name (%q is not a letter, digit, '-' or '_')", c)
			}
		}
	}
	return nil
}
