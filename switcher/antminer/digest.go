package antminer

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
)

// challenge is a server's HTTP digest challenge (RFC 7616, RFC 2617):
// what the next Authorization header is computed from. It is the
// driver's per-rig session: reusing it saves the 401 round trip on
// every call; nc counts the requests made with its nonce.
type challenge struct {
	realm     string
	nonce     string
	opaque    string
	algorithm string // "MD5" (default), "MD5-sess", "SHA-256", "SHA-256-sess"
	qop       string // "auth", or "" for the RFC 2069 form
	stale     bool
	nc        uint32
}

var errChallenge = errors.New("bad digest challenge")

// parseChallenge reads a WWW-Authenticate header value. It accepts only
// the Digest scheme with qop "auth" (or no qop) and an MD5 or SHA-256
// algorithm: anything else cannot be answered.
func parseChallenge(h string) (challenge, error) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if !strings.EqualFold(scheme, "Digest") {
		return challenge{}, fmt.Errorf("%w: scheme %.20q", errChallenge, scheme)
	}
	params, err := parseParams(rest)
	if err != nil {
		return challenge{}, err
	}
	c := challenge{realm: params["realm"], nonce: params["nonce"], opaque: params["opaque"],
		algorithm: params["algorithm"], stale: strings.EqualFold(params["stale"], "true")}
	if c.nonce == "" {
		return challenge{}, fmt.Errorf("%w: no nonce", errChallenge)
	}
	if c.algorithm == "" {
		c.algorithm = "MD5"
	}
	if newHash(c.algorithm) == nil {
		return challenge{}, fmt.Errorf("%w: algorithm %.20q", errChallenge, c.algorithm)
	}
	if q, ok := params["qop"]; ok {
		for _, v := range strings.Split(q, ",") {
			if strings.TrimSpace(v) == "auth" {
				c.qop = "auth"
			}
		}
		if c.qop == "" {
			return challenge{}, fmt.Errorf("%w: qop %.20q", errChallenge, q)
		}
	}
	return c, nil
}

// parseParams splits `k=v, k="quoted, \"v\""` into a map (keys lower
// case). It is also what the emulator's tests use to read our header.
func parseParams(s string) (map[string]string, error) {
	out := map[string]string{}
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			return out, nil
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return nil, fmt.Errorf("%w: parameter without value", errChallenge)
		}
		key := strings.ToLower(strings.TrimSpace(s[:eq]))
		s = strings.TrimLeft(s[eq+1:], " \t")
		var val string
		if strings.HasPrefix(s, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("%w: unterminated quote", errChallenge)
			}
			val, s = b.String(), s[i+1:]
		} else {
			end := strings.IndexByte(s, ',')
			if end < 0 {
				end = len(s)
			}
			val, s = strings.TrimSpace(s[:end]), s[end:]
		}
		if len(out) >= 32 {
			return nil, fmt.Errorf("%w: too many parameters", errChallenge)
		}
		out[key] = val
	}
}

func newHash(algorithm string) func() hash.Hash {
	switch strings.ToUpper(algorithm) {
	case "MD5", "MD5-SESS":
		return md5.New
	case "SHA-256", "SHA-256-SESS":
		return sha256.New
	}
	return nil
}

func hexHash(h func() hash.Hash, parts ...string) string {
	d := h()
	for i, p := range parts {
		if i > 0 {
			d.Write(colon)
		}
		d.Write([]byte(p))
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(d.Sum(sum[:0]))
}

var colon = []byte{':'}

// authorization computes the Authorization header for one request and
// advances the nonce count.
func (c *challenge) authorization(method, uri, user, pass string) string {
	return c.authorizationWith(newCnonce(), method, uri, user, pass)
}

func (c *challenge) authorizationWith(cnonce, method, uri, user, pass string) string {
	h := newHash(c.algorithm)
	c.nc++
	var ncb [8]byte
	nc := string(hex.AppendEncode(ncb[:0], []byte{byte(c.nc >> 24), byte(c.nc >> 16), byte(c.nc >> 8), byte(c.nc)}))
	ha1 := hexHash(h, user, c.realm, pass)
	if strings.HasSuffix(strings.ToUpper(c.algorithm), "-SESS") {
		ha1 = hexHash(h, ha1, c.nonce, cnonce)
	}
	ha2 := hexHash(h, method, uri)
	var resp string
	if c.qop == "" {
		resp = hexHash(h, ha1, c.nonce, ha2)
	} else {
		resp = hexHash(h, ha1, c.nonce, nc, cnonce, c.qop, ha2)
	}
	b := make([]byte, 0, 256)
	b = append(b, "Digest username="...)
	b = appendQuoted(b, user)
	b = append(b, ", realm="...)
	b = appendQuoted(b, c.realm)
	b = append(b, ", nonce="...)
	b = appendQuoted(b, c.nonce)
	b = append(b, ", uri="...)
	b = appendQuoted(b, uri)
	b = append(b, ", algorithm="...)
	b = append(b, c.algorithm...)
	b = append(b, `, response="`...)
	b = append(b, resp...)
	b = append(b, '"')
	if c.qop != "" {
		b = append(b, ", qop="...)
		b = append(b, c.qop...)
		b = append(b, ", nc="...)
		b = append(b, nc...)
		b = append(b, `, cnonce="`...)
		b = append(b, cnonce...)
		b = append(b, '"')
	}
	if c.opaque != "" {
		b = append(b, ", opaque="...)
		b = appendQuoted(b, c.opaque)
	}
	return string(b)
}

// appendQuoted appends s as a quoted string, backslash and quote escaped.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' || s[i] == '"' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

func newCnonce() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
