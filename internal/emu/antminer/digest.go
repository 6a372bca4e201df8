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

// params splits the header's comma-separated k=v / k="v" list.
func params(s string) map[string]string {
	out := map[string]string{}
	for len(out) < 32 {
		s = strings.TrimLeft(s, " \t,")
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return out
		}
		k := strings.ToLower(strings.TrimSpace(s[:eq]))
		s = strings.TrimLeft(s[eq+1:], " ")
		if strings.HasPrefix(s, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
			}
			out[k] = b.String()
			if i >= len(s) {
				return out
			}
			s = s[i+1:]
			continue
		}
		end := strings.IndexByte(s, ',')
		if end < 0 {
			end = len(s)
		}
		out[k], s = strings.TrimSpace(s[:end]), s[end:]
	}
	return out
}
