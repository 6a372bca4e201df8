package tomlfile

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Decoder walks a decoded TOML document, reading values of the expected
// types and collecting every problem found with the position where it is
// written. The config file is read with it; other files of hashgate in TOML
// (the switcher's policy) use it too, so that they are checked the same way
// and report the same FILE:LINE:COL: message errors.
//
// Values are addressed by a table m (as decoded), the table's path and a key.
// Paths are dotted keys with array indexes: "proxy.listen", "pools[0].url",
// "group[2].workers[1]" (see [ParseDocument]). An error at a path is placed
// where the path is written, or else where its nearest written parent is (a
// table header, for a missing key), or else at 1:1.
//
// Each reader returns true when the key is present and of the right type (the
// value is then stored), and false when it is absent (nothing is recorded) or
// of the wrong type (an error is recorded).
type Decoder struct {
	file string
	dir  string
	pos  map[string]position
	errs Errors
}

// ParseDocument decodes a TOML document. path names the file in errors and
// is the base for relative paths ([Decoder.Resolve]). A syntax error gives
// Errors (with the one error the TOML decoder reports); otherwise it returns
// the document's root table and a Decoder to walk it with.
func ParseDocument(path string, data []byte) (root map[string]any, d *Decoder, err error) {
	if _, err := toml.Decode(string(data), &root); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			at := syntaxPosition(data, pe.Position)
			return nil, nil, Errors{{File: path, Line: at.Line, Col: at.Col, Msg: redactSyntaxError(lineOf(data, at.Line), pe.Message)}}
		}
		return nil, nil, Errors{{File: path, Line: 1, Col: 1, Msg: RedactURL(err.Error())}}
	}
	if root == nil {
		root = map[string]any{}
	}
	return root, &Decoder{file: path, dir: filepath.Dir(path), pos: locate(string(data))}, nil
}

// syntaxPosition is where a TOML syntax error is. The decoder's Line is one
// too far for an error found at a newline (its lexer has counted the newline
// already) while its Col is counted on the line before, so both are worked out
// again from the byte offset, which the decoder counts after a UTF-8 byte
// order mark.
func syntaxPosition(data []byte, p toml.Position) position {
	src := strings.TrimPrefix(string(data), "\xef\xbb\xbf")
	if p.Start < 0 || p.Start > len(src) || (p.Start == 0 && p.Line > 1) {
		return position{Line: max(p.Line, 1), Col: max(p.Col, 1)}
	}
	before := src[:p.Start]
	nl := strings.LastIndexByte(before, '\n')
	return position{Line: strings.Count(before, "\n") + 1, Col: p.Start - nl}
}

// lineOf is line n (1-based) of data, "" past the end.
func lineOf(data []byte, n int) string {
	src := string(data)
	for ; n > 1; n-- {
		i := strings.IndexByte(src, '\n')
		if i < 0 {
			return ""
		}
		src = src[i+1:]
	}
	line, _, _ := strings.Cut(src, "\n")
	return line
}

// Errors returns every problem recorded so far, in file order (nil if none).
func (d *Decoder) Errors() Errors {
	sort.SliceStable(d.errs, func(i, j int) bool {
		a, b := d.errs[i], d.errs[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return d.errs
}

// Err returns Errors() as an error, or nil when nothing was recorded.
func (d *Decoder) Err() error {
	if len(d.errs) == 0 {
		return nil
	}
	return d.Errors()
}

// at returns where path is written, or where its nearest written parent is
// (a table header, for a missing key), or 1:1.
func (d *Decoder) at(path string) position {
	for p := path; p != ""; p = parent(p) {
		if at, ok := d.pos[p]; ok {
			return at
		}
	}
	return position{Line: 1, Col: 1}
}

// Errorf records a problem at path.
func (d *Decoder) Errorf(path, format string, args ...any) {
	at := d.at(path)
	d.errs = append(d.errs, &Error{File: d.file, Line: at.Line, Col: at.Col, Msg: fmt.Sprintf(format, args...)})
}

// TypeErr records "PATH: expected WANT, got <the type and value of got>";
// for a secret (a password, a token) the type only.
func (d *Decoder) TypeErr(path, want string, got any) {
	what := describe(got)
	if isSecretPath(path) {
		switch got.(type) {
		case string, int64, float64, bool:
			what, _, _ = strings.Cut(what, " ")
			what += " (the value is not shown: it is a secret)"
		}
	}
	d.Errorf(path, "%s: expected %s, got %s", path, want, what)
}

// Resolve makes a path written in the file absolute, relative to the file's
// directory. "" stays "".
func (d *Decoder) Resolve(p string) string {
	if p == "" {
		return ""
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(d.dir, p)
	}
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	return p
}

// Unknown records every key of m (the table at path) not in known, with a
// suggestion when one of known is close to it.
func (d *Decoder) Unknown(path string, m map[string]any, known []string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if slices.Contains(known, k) {
			continue
		}
		kp := Join(path, k)
		what := "unknown key " + strconv.Quote(kp)
		if _, ok := m[k].(map[string]any); ok {
			what = "unknown table [" + kp + "]"
		}
		if s := closest(k, known); s != "" {
			d.Errorf(kp, "%s (did you mean %q?)", what, s)
		} else {
			d.Errorf(kp, "%s; known keys here: %s", what, strings.Join(known, ", "))
		}
	}
}

// Table returns m[key] if it is a table.
func (d *Decoder) Table(m map[string]any, path, key string) (map[string]any, bool) {
	v, ok := m[key]
	if !ok {
		return nil, false
	}
	kp := Join(path, key)
	t, ok := v.(map[string]any)
	if !ok {
		d.TypeErr(kp, "a table (["+kp+"])", v)
		return nil, false
	}
	return t, true
}

// Tables returns v, the value at path, as an array of tables; header is how
// the array is written, for the error ("[[pools]]"). Elements that are not
// tables are reported and nil in the result. It returns nil if v is not an
// array at all.
func (d *Decoder) Tables(path string, v any, header string) []map[string]any {
	switch t := v.(type) {
	case []map[string]any:
		return t
	case []any:
		out := make([]map[string]any, len(t))
		for i, e := range t {
			if m, ok := e.(map[string]any); ok {
				out[i] = m
			} else {
				d.TypeErr(path+"["+strconv.Itoa(i)+"]", "a table", e)
			}
		}
		return out
	}
	d.TypeErr(path, "an array of tables ("+header+")", v)
	return nil
}

// Str reads a string.
func (d *Decoder) Str(m map[string]any, path, key string, dst *string) bool {
	v, ok := m[key]
	if !ok {
		return false
	}
	s, ok := v.(string)
	if !ok {
		d.TypeErr(Join(path, key), "a string", v)
		return false
	}
	*dst = s
	return true
}

// Integer reads an integer (a float, even 2.0, is refused).
func (d *Decoder) Integer(m map[string]any, path, key string, dst *int) bool {
	v, ok := m[key]
	if !ok {
		return false
	}
	n, ok := v.(int64)
	if !ok {
		d.TypeErr(Join(path, key), "an integer", v)
		return false
	}
	*dst = int(n)
	return true
}

// Float reads a number: a float, or an integer. nan and inf are read as
// written; checking that a value is finite is the caller's.
func (d *Decoder) Float(m map[string]any, path, key string, dst *float64) bool {
	switch v := m[key].(type) {
	case nil:
		return false
	case float64:
		*dst = v
	case int64:
		*dst = float64(v)
	default:
		d.TypeErr(Join(path, key), "a number", v)
		return false
	}
	return true
}

// Bool reads true or false.
func (d *Decoder) Bool(m map[string]any, path, key string, dst *bool) bool {
	v, ok := m[key]
	if !ok {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		d.TypeErr(Join(path, key), "true or false", v)
		return false
	}
	*dst = b
	return true
}

// Duration reads a duration string such as "30s" (time.ParseDuration
// syntax), which must be greater than zero.
func (d *Decoder) Duration(m map[string]any, path, key string, dst *time.Duration) bool {
	return d.duration(m, path, key, dst, false)
}

// DurationOrZero reads a duration string such as "30s" that may be zero
// ("0s") but not negative.
func (d *Decoder) DurationOrZero(m map[string]any, path, key string, dst *time.Duration) bool {
	return d.duration(m, path, key, dst, true)
}

func (d *Decoder) duration(m map[string]any, path, key string, dst *time.Duration, zeroOK bool) bool {
	kp := Join(path, key)
	v, ok := m[key]
	if !ok {
		return false
	}
	s, ok := v.(string)
	if !ok {
		d.TypeErr(kp, `a duration string such as "30s"`, v)
		return false
	}
	dur, err := ParseDuration(s)
	if err != nil {
		d.Errorf(kp, "%s: %v", kp, err)
		return false
	}
	switch {
	case zeroOK && dur < 0:
		d.Errorf(kp, "%s: must not be negative, got %q", kp, s)
		return false
	case !zeroOK && dur <= 0:
		d.Errorf(kp, "%s: must be greater than 0, got %q", kp, s)
		return false
	}
	*dst = dur
	return true
}

// Join appends key to a path: Join("", "a") = "a", Join("a", "b") = "a.b".
func Join(path, key string) string { return join(path, key) }

// Index returns the path of element i of the array at path: "pools[2]".
func Index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// describe names a decoded TOML value's type, with the value when short.
func describe(v any) string {
	switch v := v.(type) {
	case string:
		if len(v) > 40 {
			v = v[:37] + "..."
		}
		return "string " + strconv.Quote(v)
	case int64:
		return "integer " + strconv.FormatInt(v, 10)
	case float64:
		return "float " + FormatFloat(v)
	case bool:
		return "boolean " + strconv.FormatBool(v)
	case []any:
		return "an array"
	case []map[string]any:
		return "an array of tables"
	case map[string]any:
		return "a table"
	case time.Time:
		return "a date-time"
	default:
		return fmt.Sprintf("a %T", v) // toml.LocalDate and the like
	}
}

// FormatFloat writes a number as TOML does: the shortest form that reads
// back the same ("2000", "3.25", "1e+12"), and nan, inf and -inf.
func FormatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// closest returns the known key nearest to k when it is close enough to be a
// likely typo, else "".
func closest(k string, known []string) string {
	best, bestDist := "", math.MaxInt
	for _, c := range known {
		if dist := EditDistance(k, c); dist < bestDist {
			best, bestDist = c, dist
		}
	}
	limit := 1
	switch {
	case len(k) > 10:
		limit = 3
	case len(k) > 4:
		limit = 2
	}
	if bestDist > limit {
		return ""
	}
	return best
}

// EditDistance is the Levenshtein distance of a and b, in bytes: what
// "did you mean" suggestions are judged by.
func EditDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Suggest returns the one of known nearest to k when it is close enough to
// be a likely typo of it, else "": the "did you mean" of Unknown, for other
// files of hashgate checked the same way (the rig inventory's header).
func Suggest(k string, known []string) string { return closest(k, known) }

// SetBase makes dir the base of relative paths ([Decoder.Resolve]) in
// place of the file's own directory: for a copy of a file kept elsewhere
// (the switcher's last good policy), whose paths are relative to the
// original.
func (d *Decoder) SetBase(dir string) { d.dir = dir }
