package switcher

import (
	"path"
	"strings"
	"unicode/utf8"
)

// Worker globs use the syntax of path.Match — '*' any run of characters,
// '?' one character, '[a-z0-9]' and '[^0-9]' a class, '\' escapes the next
// character — except that '/' is an ordinary character: '*' matches any run
// of characters, '.' and '/' included, so "acct.*" matches "acct.hall-b/rack-3".
// Matching is case-sensitive, and a glob must match the whole name.

// validGlob reports whether pattern is a well-formed glob (path.Match syntax).
func validGlob(pattern string) error {
	_, err := path.Match(pattern, "")
	return err
}

// isLiteral reports whether pattern has no special character, so that it
// matches only itself.
func isLiteral(pattern string) bool {
	return !strings.ContainsAny(pattern, `*?[\`)
}

// glob is one compiled worker pattern of a group.
type glob struct {
	group  int    // index in Policy.Groups
	prefix string // the literal text before the first special character
	rest   string // the pattern after prefix
	star   bool   // rest is "*": any name starting with prefix matches
}

func compileGlob(group int, pattern string) glob {
	i := strings.IndexAny(pattern, `*?[\`)
	if i < 0 {
		i = len(pattern)
	}
	g := glob{group: group, prefix: pattern[:i], rest: pattern[i:]}
	g.star = g.rest == "*"
	return g
}

func (g *glob) match(name string) bool {
	if !strings.HasPrefix(name, g.prefix) {
		return false
	}
	return g.star || matchGlob(g.rest, name[len(g.prefix):])
}

// groupIndex finds a rig's group: exact worker names in a map, the other
// globs tried in file order.
type groupIndex struct {
	exact map[string]int // name -> index of the first group that lists it
	globs []glob         // in group order
}

func newGroupIndex(groups []Group) *groupIndex {
	x := &groupIndex{exact: make(map[string]int)}
	for i := range groups {
		for _, w := range groups[i].Workers {
			if isLiteral(w) {
				if _, dup := x.exact[w]; !dup {
					x.exact[w] = i
				}
				continue
			}
			x.globs = append(x.globs, compileGlob(i, w))
		}
	}
	return x
}

// find returns the index of the first group matching name, or -1.
func (x *groupIndex) find(name string) int {
	limit := -1
	if i, ok := x.exact[name]; ok {
		limit = i
	}
	for k := range x.globs {
		g := &x.globs[k]
		if limit >= 0 && g.group >= limit {
			break
		}
		if g.match(name) {
			return g.group
		}
	}
	return limit
}

// matchGlob reports whether name matches all of pattern, a pattern that
// validGlob accepts. It is path.Match with '/' an ordinary character (the
// structure is the standard library's).
func matchGlob(pattern, name string) bool {
Pattern:
	for len(pattern) > 0 {
		var star bool
		var chunk string
		star, chunk, pattern = scanChunk(pattern)
		if star && chunk == "" {
			// A trailing * matches the rest of the name.
			return true
		}
		// Look for a match at the current position.
		t, ok := matchChunk(chunk, name)
		// If we're the last chunk, make sure we've exhausted the name;
		// otherwise we'll give a false result even if we could still match
		// using the star.
		if ok && (len(t) == 0 || len(pattern) > 0) {
			name = t
			continue
		}
		if star {
			// Look for a match skipping i+1 bytes.
			for i := 0; i < len(name); i++ {
				t, ok := matchChunk(chunk, name[i+1:])
				if ok {
					// If we're the last chunk, make sure we exhausted the name.
					if len(pattern) == 0 && len(t) > 0 {
						continue
					}
					name = t
					continue Pattern
				}
			}
		}
		return false
	}
	return len(name) == 0
}

// scanChunk gets the next segment of pattern: a run of stars, then the
// non-star text after them.
func scanChunk(pattern string) (star bool, chunk, rest string) {
	for len(pattern) > 0 && pattern[0] == '*' {
		pattern = pattern[1:]
		star = true
	}
	inrange := false
	var i int
Scan:
	for i = 0; i < len(pattern); i++ {
		switch pattern[i] {
		case '\\':
			// Skip the escaped character.
			if i+1 < len(pattern) {
				i++
			}
		case '[':
			inrange = true
		case ']':
			inrange = false
		case '*':
			if !inrange {
				break Scan
			}
		}
	}
	return star, pattern[0:i], pattern[i:]
}

// matchChunk checks whether chunk matches the beginning of s and returns the
// rest of s.
func matchChunk(chunk, s string) (rest string, ok bool) {
	for len(chunk) > 0 {
		switch chunk[0] {
		case '[':
			if len(s) == 0 {
				return "", false
			}
			r, n := utf8.DecodeRuneInString(s)
			s = s[n:]
			chunk = chunk[1:]
			negated := false
			if len(chunk) > 0 && chunk[0] == '^' {
				negated = true
				chunk = chunk[1:]
			}
			match := false
			nrange := 0
			for {
				if len(chunk) > 0 && chunk[0] == ']' && nrange > 0 {
					chunk = chunk[1:]
					break
				}
				var lo, hi rune
				lo, chunk = getEsc(chunk)
				hi = lo
				if chunk[0] == '-' {
					hi, chunk = getEsc(chunk[1:])
				}
				if lo <= r && r <= hi {
					match = true
				}
				nrange++
			}
			if match == negated {
				return "", false
			}
		case '?':
			if len(s) == 0 {
				return "", false
			}
			_, n := utf8.DecodeRuneInString(s)
			s = s[n:]
			chunk = chunk[1:]
		case '\\':
			chunk = chunk[1:]
			fallthrough
		default:
			if len(s) == 0 || chunk[0] != s[0] {
				return "", false
			}
			s = s[1:]
			chunk = chunk[1:]
		}
	}
	return s, true
}

// getEsc gets a possibly escaped character from chunk, for a class.
func getEsc(chunk string) (r rune, rest string) {
	if chunk[0] == '\\' {
		chunk = chunk[1:]
	}
	r, n := utf8.DecodeRuneInString(chunk)
	return r, chunk[n:]
}
