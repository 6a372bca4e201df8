// Package tomlfile reads hashgate's TOML files (the config file, the
// switcher's policy) the one way: a Decoder walks the decoded document
// and records every problem where it is written, as FILE:LINE:COL:
// message (Errors), with "did you mean" suggestions for unknown keys,
// durations as "30s", and secrets (passwords, tokens, a URL's user:pass@)
// never quoted back. It knows no key of any file: package config reads
// the config file with it, package switcher its policy, so neither
// depends on the other for it.
package tomlfile
