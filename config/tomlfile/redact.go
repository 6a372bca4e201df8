package tomlfile

import (
	"regexp"
	"strings"
)

// Secrets never appear in what hashgate prints, logs or serves: a pool URL
// may carry user:password@ (the config refuses it, but its error quotes the
// URL), and an error at a password or token key must not quote the value,
// nor a syntax error the line that holds it.

// Redacted stands for a secret in errors, logs and API output.
const Redacted = "REDACTED"

// RedactURL replaces the userinfo (user:password@) of every URL in s with
// REDACTED@: "stratum+tcp://acct:hunter2@pool:3333" gives
// "stratum+tcp://REDACTED@pool:3333". It takes free text (an error that
// quotes a URL) as well as a URL; s is returned as is when no URL in it has
// userinfo.
func RedactURL(s string) string {
	if !strings.Contains(s, "@") || !strings.Contains(s, "://") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "://")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		i += len("://")
		b.WriteString(s[:i])
		s = s[i:]
		// The authority ends at the path, query or fragment, or at what
		// cannot be in a URL written in text (a space, a quote).
		end := strings.IndexAny(s, "/?# \t\r\n\"'`<>")
		if end < 0 {
			end = len(s)
		}
		if at := strings.LastIndexByte(s[:end], '@'); at >= 0 {
			b.WriteString(Redacted)
			s = s[at:]
		}
	}
}

// secretKeys are the keys whose values are secrets: pools[].password,
// api.token, api.tokens[].token; and a password or secret written inline
// where the policy wants a file (actuator_options), refused but not shown.
var secretKeys = map[string]bool{"password": true, "token": true, "secret": true}

// isSecretPath says whether a value path ("pools[0].password") is a secret.
func isSecretPath(path string) bool {
	key := path[strings.LastIndexByte(path, '.')+1:]
	if i := strings.IndexByte(key, '['); i >= 0 {
		key = key[:i]
	}
	return secretKeys[key]
}

// secretLine matches a line that assigns a secret key, bare or quoted, at
// the start, in a dotted key or in an inline table.
var secretLine = regexp.MustCompile(`(^|[\s{,.])["']?(password|token|secret)["']?\s*=`)

// redactSyntaxError is the message of a TOML syntax error on line (the
// text of the line it is on): the decoder's own, unless the line assigns a
// secret, when the message would quote the value (an unquoted password is
// the usual cause).
func redactSyntaxError(line, msg string) string {
	if m := secretLine.FindStringSubmatch(line); m != nil {
		return "syntax error in the value of " + m[2] + " (not shown: it is a secret); write it as a quoted string: " +
			m[2] + ` = "..."`
	}
	return RedactURL(msg)
}
