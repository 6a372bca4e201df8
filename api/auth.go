package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hashgate/hashgate/config"
)

// authenticator checks bearer tokens. It keeps the SHA-256 of each secret
// and compares digests, so the comparison takes the same time whatever the
// presented token's length and content, and every token is compared (no
// early exit on a match).
type authenticator struct {
	tokens []authToken
}

type authToken struct {
	name   string
	role   string
	digest [sha256.Size]byte
}

func newAuthenticator(tokens []config.Token) (*authenticator, error) {
	a := &authenticator{}
	for i, t := range tokens {
		if t.Name == "" {
			t.Name = fmt.Sprintf("token-%d", i+1)
		}
		if t.Token == "" {
			continue // an empty secret never authenticates anyone
		}
		role := t.Role
		switch role {
		case "":
			role = config.RoleRead
		case config.RoleRead, config.RoleWrite:
		default:
			return nil, fmt.Errorf("api: token %q: role %q is neither %q nor %q", t.Name, t.Role, config.RoleRead, config.RoleWrite)
		}
		a.tokens = append(a.tokens, authToken{name: t.Name, role: role, digest: sha256.Sum256([]byte(t.Token))})
	}
	return a, nil
}

func (a *authenticator) any(role string) bool {
	for _, t := range a.tokens {
		if t.role == role {
			return true
		}
	}
	return false
}

// lookup returns the token presented, if any matches.
func (a *authenticator) lookup(secret string) (authToken, bool) {
	d := sha256.Sum256([]byte(secret))
	match := -1
	for i := range a.tokens {
		if subtle.ConstantTimeCompare(d[:], a.tokens[i].digest[:]) == 1 && match < 0 {
			match = i
		}
	}
	if match < 0 {
		return authToken{}, false
	}
	return a.tokens[match], true
}

// bearer extracts the token of "Authorization: Bearer TOKEN".
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

type whoKey struct{}

// who is the name of the token that authorized r ("" for none).
func who(r *http.Request) string {
	s, _ := r.Context().Value(whoKey{}).(string)
	return s
}

// authorize answers 401 or 403 and reports false unless r carries a token
// of the role asked ("" for any role).
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request, role string) (*http.Request, bool) {
	secret, ok := bearer(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="hashgate"`)
		writeError(w, http.StatusUnauthorized, "unauthorized: this request needs Authorization: Bearer TOKEN")
		return r, false
	}
	t, ok := h.auth.lookup(secret)
	if !ok {
		if h.limit.Allow("api: invalid token", time.Now()) {
			h.log.Warn().Str("remote", r.RemoteAddr).Str("method", r.Method).Str("path", r.URL.Path).Msg("api: invalid token")
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="hashgate", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "unauthorized: invalid token")
		return r, false
	}
	if role == config.RoleWrite && t.role != config.RoleWrite {
		if h.limit.Allow("api: read token refused a write", time.Now()) {
			h.log.Warn().Str("token", t.name).Str("method", r.Method).Str("path", r.URL.Path).Msg("api: read token refused a write")
		}
		writeError(w, http.StatusForbidden, fmt.Sprintf("forbidden: token %q is read-only", t.name))
		return r, false
	}
	return r.WithContext(context.WithValue(r.Context(), whoKey{}, t.name)), true
}

func (h *Handler) needWrite(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r, ok := h.authorize(w, r, config.RoleWrite); ok {
			next(w, r)
		}
	}
}

func (h *Handler) needToken(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r, ok := h.authorize(w, r, ""); ok {
			next(w, r)
		}
	}
}
