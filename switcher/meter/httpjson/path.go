package httpjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Path is a parsed `field`: its segments, in order.
type Path []string

// ParsePath parses a dotted path such as "data.items.0.kw": one or more
// segments, none empty.
func ParsePath(s string) (Path, error) {
	if s == "" {
		return nil, errors.New(`the field path is empty; expected a dotted path such as "data.kw"`)
	}
	p := Path(strings.Split(s, "."))
	if slices.Contains(p, "") {
		return nil, fmt.Errorf("field path %q has an empty segment; expected a dotted path such as \"data.items.0.kw\"", s)
	}
	return p, nil
}

// String is the path as written.
func (p Path) String() string { return strings.Join(p, ".") }

// decimal is a number as a string may hold it: no hex, no underscores,
// no NaN or Inf.
var decimal = regexp.MustCompile(`^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$`)

// Extract finds the number at p in the JSON document body.
func Extract(body []byte, p Path) (float64, error) {
	if len(p) == 0 {
		return 0, errors.New("no field path")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return 0, fmt.Errorf("the body is not JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return 0, errors.New("the body holds more than one JSON value")
	}
	v := doc
	for i, seg := range p {
		next, err := step(v, seg)
		if err != nil {
			return 0, fmt.Errorf("field %s: %s%v", p.String(), at(p, i), err)
		}
		v = next
	}
	return number(v, p)
}

// at names the part of p a step failed in, when it is not the whole path.
func at(p Path, i int) string {
	if i == 0 {
		return ""
	}
	return "at " + p[:i].String() + ": "
}

// step goes from v to its child seg.
func step(v any, seg string) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		c, ok := v[seg]
		if !ok {
			return nil, fmt.Errorf("no key %q%s", seg, keysHint(v))
		}
		return c, nil
	case []any:
		n, err := strconv.Atoi(seg)
		if err != nil || n < 0 || strings.HasPrefix(seg, "+") {
			return nil, fmt.Errorf("an array, indexed by %q; expected an index from 0", seg)
		}
		if n >= len(v) {
			return nil, fmt.Errorf("index %d past the array's %d element(s)", n, len(v))
		}
		return v[n], nil
	}
	return nil, fmt.Errorf("%s has no key %q", kind(v), seg)
}

// keysHint lists an object's keys (at most 8) for a missing key's error.
func keysHint(m map[string]any) string {
	if len(m) == 0 {
		return " (the object is empty)"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, strconv.Quote(k))
	}
	slices.Sort(keys)
	more := ""
	if len(keys) > 8 {
		keys, more = keys[:8], ", ..."
	}
	return " (keys: " + strings.Join(keys, ", ") + more + ")"
}

// number is the value at the end of the path as a finite number.
func number(v any, p Path) (float64, error) {
	var s string
	switch v := v.(type) {
	case json.Number:
		s = v.String()
	case string:
		s = strings.TrimSpace(v)
		if !decimal.MatchString(s) {
			if len(s) > 32 {
				s = s[:29] + "..."
			}
			return 0, fmt.Errorf("field %s: the string %q is not a number", p.String(), s)
		}
	default:
		return 0, fmt.Errorf("field %s: %s, not a number", p.String(), kind(v))
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("field %s: %s is not a finite number", p.String(), s)
	}
	return f, nil
}

// kind names a decoded JSON value's type.
func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	}
	return fmt.Sprintf("a %T", v)
}
