package tomlfile

import (
	"strconv"
	"strings"
)

// position is a 1-based line and byte column in the config file.
type position struct {
	Line, Col int
}

// locate maps every key of a TOML document to the position where it is
// written. The TOML decoder does not expose key positions (its MetaData keeps
// them private, and keeps only the last element of an array of tables), so
// this is a small scanner of its own. It runs only on documents the decoder
// has already accepted, so it does not check syntax, only follows it.
//
// Paths are dotted keys with array indexes: "proxy.listen",
// "proxy.allow[1]" (the element), "pools[0]" (the [[pools]] header),
// "pools[0].url", "api.tokens[1].role". A table header is recorded under the
// table's path; a dotted key also records each of its prefixes.
func locate(src string) map[string]position {
	l := &locator{
		src:    src,
		line:   1,
		col:    1,
		pos:    make(map[string]position),
		arrays: make(map[string]int),
	}
	// The decoder skips a UTF-8 byte order mark and counts columns after it.
	if strings.HasPrefix(src, "\xef\xbb\xbf") {
		l.i = 3
	}
	l.document()
	return l.pos
}

type locator struct {
	src       string
	i         int
	line, col int
	pos       map[string]position
	arrays    map[string]int // array-of-tables path -> number of elements so far
}

func (l *locator) eof() bool         { return l.i >= len(l.src) }
func (l *locator) has(s string) bool { return strings.HasPrefix(l.src[l.i:], s) }
func (l *locator) here() position    { return position{Line: l.line, Col: l.col} }
func (l *locator) is(c byte) bool    { return !l.eof() && l.src[l.i] == c }
func (l *locator) mark(p string, at position) {
	if _, ok := l.pos[p]; !ok {
		l.pos[p] = at
	}
}

func (l *locator) advance() {
	if l.eof() {
		return
	}
	if l.src[l.i] == '\n' {
		l.line++
		l.col = 1
	} else {
		l.col++
	}
	l.i++
}

func (l *locator) skip(n int) {
	for range n {
		l.advance()
	}
}

// skipSpace skips blanks within a line.
func (l *locator) skipSpace() {
	for l.is(' ') || l.is('\t') {
		l.advance()
	}
}

// skipBlank skips blanks, newlines and comments.
func (l *locator) skipBlank() {
	for !l.eof() {
		switch l.src[l.i] {
		case ' ', '\t', '\r', '\n':
			l.advance()
		case '#':
			for !l.eof() && l.src[l.i] != '\n' {
				l.advance()
			}
		default:
			return
		}
	}
}

func (l *locator) document() {
	table := ""
	for {
		l.skipBlank()
		if l.eof() {
			return
		}
		before := l.i
		at := l.here()
		switch {
		case l.has("[["):
			l.skip(2)
			key := l.key()
			l.skipSpace()
			if l.has("]]") {
				l.skip(2)
			}
			if len(key) == 0 {
				break
			}
			full := join(l.resolve(key[:len(key)-1], at), key[len(key)-1])
			n := l.arrays[full]
			l.arrays[full] = n + 1
			table = full + "[" + strconv.Itoa(n) + "]"
			l.mark(full, at)
			l.mark(table, at)
		case l.is('['):
			l.advance()
			key := l.key()
			l.skipSpace()
			if l.is(']') {
				l.advance()
			}
			table = l.resolve(key, at)
		default:
			l.keyValue(table)
		}
		if l.i == before {
			l.advance() // never loop on input this scanner does not follow
		}
	}
}

// resolve turns the key of a table header at position at into a path,
// indexing each part that is an array of tables by its latest element, and
// marks each table on the way that has no position yet.
func (l *locator) resolve(key []string, at position) string {
	p := ""
	for _, k := range key {
		p = join(p, k)
		if n := l.arrays[p]; n > 0 {
			p += "[" + strconv.Itoa(n-1) + "]"
		}
		l.mark(p, at)
	}
	return p
}

// keyValue reads "key = value" inside the table at path table.
func (l *locator) keyValue(table string) {
	at := l.here()
	key := l.key()
	if len(key) == 0 {
		return
	}
	p := table
	for _, k := range key {
		p = join(p, k)
		l.mark(p, at)
	}
	l.skipSpace()
	if l.is('=') {
		l.advance()
	}
	l.skipSpace()
	l.value(p)
}

// key reads a possibly dotted, possibly quoted key.
func (l *locator) key() []string {
	var parts []string
	for {
		l.skipSpace()
		switch {
		case l.is('"'):
			parts = append(parts, unquote(l.quoted('"')))
		case l.is('\''):
			parts = append(parts, l.quoted('\''))
		case !l.eof() && isBare(l.src[l.i]):
			start := l.i
			for !l.eof() && isBare(l.src[l.i]) {
				l.advance()
			}
			parts = append(parts, l.src[start:l.i])
		default:
			return parts
		}
		l.skipSpace()
		if !l.is('.') {
			return parts
		}
		l.advance()
	}
}

// quoted reads a one-line string delimited by q and returns its raw contents.
func (l *locator) quoted(q byte) string {
	l.advance()
	start := l.i
	for !l.eof() && l.src[l.i] != q && l.src[l.i] != '\n' {
		if q == '"' && l.src[l.i] == '\\' {
			l.advance()
		}
		l.advance()
	}
	s := l.src[start:min(l.i, len(l.src))]
	if l.is(q) {
		l.advance()
	}
	return s
}

// multiline skips a multi-line string opened by delim (""" or ”').
func (l *locator) multiline(delim string) {
	l.skip(3)
	for !l.eof() {
		if delim == `"""` && l.is('\\') {
			l.skip(2)
			continue
		}
		if l.has(delim) {
			l.skip(3)
			// Up to two quotes just before the delimiter belong to the string.
			for n := 0; n < 2 && l.is(delim[0]); n++ {
				l.advance()
			}
			return
		}
		l.advance()
	}
}

// value skips one value, recording the positions of array elements and of
// the keys of inline tables under path p.
func (l *locator) value(p string) {
	switch {
	case l.has(`"""`), l.has(`'''`):
		l.multiline(l.src[l.i : l.i+3])
	case l.is('"'), l.is('\''):
		l.quoted(l.src[l.i])
	case l.is('['):
		l.advance()
		for n := 0; ; n++ {
			l.skipBlank()
			if l.eof() {
				return
			}
			if l.is(']') {
				l.advance()
				return
			}
			before := l.i
			ep := p + "[" + strconv.Itoa(n) + "]"
			l.mark(ep, l.here())
			l.value(ep)
			l.skipBlank()
			if l.is(',') {
				l.advance()
			}
			if l.i == before {
				l.advance()
			}
		}
	case l.is('{'):
		l.advance()
		for {
			l.skipBlank()
			if l.eof() {
				return
			}
			if l.is('}') {
				l.advance()
				return
			}
			before := l.i
			l.keyValue(p)
			l.skipBlank()
			if l.is(',') {
				l.advance()
			}
			if l.i == before {
				l.advance()
			}
		}
	default: // number, boolean, date-time
		for !l.eof() && !strings.ContainsRune(",]}\n#", rune(l.src[l.i])) {
			l.advance()
		}
	}
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func unquote(raw string) string {
	if !strings.Contains(raw, `\`) {
		return raw
	}
	if s, err := strconv.Unquote(`"` + raw + `"`); err == nil {
		return s
	}
	return raw
}

func join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// parent strips the last ".key" or "[n]" from a path.
func parent(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}
