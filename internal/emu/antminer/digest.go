package antminer

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
)

// auth wraps h with digest verification (RFC 2617, MD5, qop=auth), as
// lighttpd's mod_auth does on the stock firmware: no or a wrong
// Authorization header gets a 401 with a challenge.
func (r *Rig) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		hdr := req.Header.Get("Authorization")
		if hdr == "" {
			r.challenge(w)
			return
		}
		if !r.verify(req.Method, req.URL.RequestURI(), hdr) {
			r.dev.AuthFailed()
			r.challenge(w)
			return
		}
		h(w, req)
	}
}

func (r *Rig) challenge(w http.ResponseWriter) {
	r.mu.Lock()
	nonce := r.nonce
	r.mu.Unlock()
	w.Header().Set("WWW-Authenticate",
		fmt.Sprintf(`Digest realm="%s", charset="UTF-8", nonce="%s", qop="auth", algorithm="MD5"`, r.cfg.Realm, nonce))
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte("<html><head><title>401 Unauthorized</title></head><body><h1>401 Unauthorized</h1></body></html>\n"))
}

func (r *Rig) verify(method, uri, hdr string) bool {
	scheme, rest, _ := strings.Cut(hdr, " ")
	if !strings.EqualFold(scheme, "Digest") {
		return false
	}
	p := params(rest)
	r.mu.Lock()
	nonce := r.nonce
	r.mu.Unlock()
	if p["username"] != r.cfg.User || p["realm"] != r.cfg.Realm || p["nonce"] != nonce || p["uri"] != uri {
		return false
	}
	if alg := p["algorithm"]; alg != "" && !strings.EqualFold(alg, "MD5") {
		return false
	}
	if p["qop"] != "auth" || len(p["nc"]) != 8 || p["cnonce"] == "" {
		return false
	}
	ha1 := md5hex(r.cfg.User + ":" + r.cfg.Realm + ":" + r.cfg.Password)
	ha2 := md5hex(method + ":" + uri)
	want := md5hex(strings.Join([]string{ha1, nonce, p["nc"], p["cnonce"], "auth", ha2}, ":"))
	return p["response"] == want
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// maxParams bounds the parameters read from one header.
const maxParams = 32

// params reads a digest header's parameter list (after the scheme) into
// a map, keys in lower case: k=token up to the next comma, or
// k="quoted string" with backslash escapes (RFC 7616 section 3.4).
// Malformed input yields what was read before the fault; the verifier
// then finds a field missing and refuses.
//
// It is the server's own reader, written apart from the driver's
// (switcher/antminer parseParams) on purpose and in another form (one
// pass of a small state machine over the bytes), so that a fault in the
// driver's header is caught here, not mirrored: the emulator must
// refuse what a real lighttpd would refuse.
func params(s string) map[string]string {
	const (
		inKey    = iota // reading a key, up to '='
		atValue         // after '=', before the value
		inToken         // an unquoted value, up to ','
		inQuoted        // a quoted value, up to the closing '"'
	)
	out := map[string]string{}
	var key, val strings.Builder
	state, escaped := inKey, false
	put := func(v string) bool {
		out[strings.ToLower(strings.TrimSpace(key.String()))] = v
		key.Reset()
		val.Reset()
		state = inKey
		return len(out) < maxParams
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch state {
		case inKey:
			switch {
			case c == '=' && strings.TrimSpace(key.String()) == "":
				return out
			case c == '=':
				state = atValue
			case key.Len() > 0 || (c != ' ' && c != '\t' && c != ','):
				key.WriteByte(c)
			}
		case atValue:
			switch c {
			case ' ':
			case '"':
				state = inQuoted
			case ',':
				if !put("") {
					return out
				}
			default:
				state = inToken
				val.WriteByte(c)
			}
		case inToken:
			if c != ',' {
				val.WriteByte(c)
			} else if !put(strings.TrimSpace(val.String())) {
				return out
			}
		case inQuoted:
			switch {
			case escaped:
				val.WriteByte(c)
				escaped = false
			case c == '\\' && i+1 < len(s):
				escaped = true
			case c == '"':
				if !put(val.String()) {
					return out
				}
			default:
				val.WriteByte(c)
			}
		}
	}
	switch state {
	case atValue, inToken:
		put(strings.TrimSpace(val.String()))
	case inQuoted:
		put(val.String())
	}
	return out
}
